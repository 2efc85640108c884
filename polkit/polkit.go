package polkit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of polkit's authority.
const (
	BusName    = "org.freedesktop.PolicyKit1"
	ObjectPath = "/org/freedesktop/PolicyKit1/Authority"
	Interface  = "org.freedesktop.PolicyKit1.Authority"
)

// CheckAuthorization flags.
const (
	// FlagAllowUserInteraction lets polkit ask the subject's
	// authentication agent (a password prompt) before it answers.
	FlagAllowUserInteraction uint32 = 1
)

// ErrUnavailable: polkit is not on the bus and cannot be activated, so no
// one can authorize anything.
var ErrUnavailable = errors.New("polkit is not running (" + BusName + " is not on the bus)")

// Result is polkit's answer to one check.
type Result int

const (
	// Denied: the subject may not do it.
	Denied Result = iota
	// Authorized: the subject may do it.
	Authorized
	// Challenge: the subject could do it after authenticating, but no
	// authentication happened (no agent, or interaction was not allowed).
	Challenge
)

func (r Result) String() string {
	switch r {
	case Authorized:
		return "authorized"
	case Challenge:
		return "authentication required"
	}
	return "denied"
}

// subject is polkit's (sa{sv}) subject.
type subject struct {
	Kind    string
	Details map[string]dbus.Variant
}

// reply is CheckAuthorization's (bba{ss}) result.
type reply struct {
	IsAuthorized bool
	IsChallenge  bool
	Details      map[string]string
}

// Authority asks polkit's authority over one bus connection.
type Authority struct {
	conn *dbus.Conn
}

// New returns an Authority that calls polkit over conn (the system bus).
func New(conn *dbus.Conn) *Authority {
	return &Authority{conn: conn}
}

var cancelSeq atomic.Uint64

// CheckBusName asks whether the bus connection busName (a unique name
// such as ":1.42") may do action. The subject is of kind
// "system-bus-name": polkit itself resolves the name to the process and
// user behind it, so no PID (which could be recycled) is involved. details
// go to polkit (and its rules) as they are. With interactive, polkit may
// prompt through the subject's authentication agent, which can take
// minutes: ctx bounds the wait, and cancelling it cancels the check.
func (a *Authority) CheckBusName(ctx context.Context, busName, action string, details map[string]string, interactive bool) (Result, error) {
	subj := subject{Kind: "system-bus-name", Details: map[string]dbus.Variant{"name": dbus.MakeVariant(busName)}}
	if details == nil {
		details = map[string]string{}
	}
	var flags uint32
	if interactive {
		flags |= FlagAllowUserInteraction
	}
	cancelID := "myctr-" + strconv.FormatUint(cancelSeq.Add(1), 10)
	obj := a.conn.Object(BusName, ObjectPath)
	call := obj.CallWithContext(ctx, Interface+".CheckAuthorization", 0, subj, action, details, flags, cancelID)
	if call.Err != nil {
		if ctx.Err() != nil {
			// Polkit may still be prompting; tell it to stop. The
			// reply does not matter.
			obj.Go(Interface+".CancelCheckAuthorization", dbus.FlagNoReplyExpected, nil, cancelID)
			return Denied, fmt.Errorf("polkit check of %s: %w", action, ctx.Err())
		}
		if unavailable(call.Err) {
			return Denied, fmt.Errorf("%w: %v", ErrUnavailable, call.Err)
		}
		return Denied, fmt.Errorf("polkit check of %s: %w", action, call.Err)
	}
	var r reply
	if err := call.Store(&r); err != nil {
		return Denied, fmt.Errorf("polkit check of %s: reply: %w", action, err)
	}
	switch {
	case r.IsAuthorized:
		return Authorized, nil
	case r.IsChallenge:
		return Challenge, nil
	}
	return Denied, nil
}

// unavailable reports whether err says that nobody owns polkit's name and
// the bus cannot start it.
func unavailable(err error) bool {
	var name string
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &dep):
		name = dep.Name
	case errors.As(err, &de):
		name = de.Name
	default:
		return false
	}
	switch name {
	case "org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
		"org.freedesktop.DBus.Error.Spawn.ExecFailed",
		"org.freedesktop.DBus.Error.Spawn.ChildExited",
		"org.freedesktop.DBus.Error.Spawn.ChildSignaled",
		"org.freedesktop.DBus.Error.Spawn.Failed":
		return true
	}
	return false
}
