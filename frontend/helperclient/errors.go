package helperclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/myctr/myctr/protocol"
)

// Sentinels of the client; compare with errors.Is. The helper's own errors
// come back as the protocol package's sentinels (protocol.ErrNotAuthorized
// and the others).
var (
	// ErrNoBus: the system bus cannot be reached (no dbus-daemon, or
	// DBUS_SYSTEM_BUS_ADDRESS names nothing that answers).
	ErrNoBus = errors.New("cannot connect to the system D-Bus")
	// ErrNotInstalled: nobody owns org.myctr.Helper1 and the bus cannot
	// activate it (org.freedesktop.DBus.Error.ServiceUnknown): the helper,
	// or its D-Bus activation file, is not installed.
	ErrNotInstalled = errors.New("myctr-helper is not installed")
	// ErrNotStarted: the bus knows the helper but failed to start it
	// (org.freedesktop.DBus.Error.Spawn.*).
	ErrNotStarted = errors.New("myctr-helper could not be started")
	// ErrPolkitNotRunning: the helper refused a call and polkit
	// (org.freedesktop.PolicyKit1) is neither running nor activatable on
	// the bus, so nobody could have authorized it. It is returned wrapped
	// together with protocol.ErrNotAuthorized.
	ErrPolkitNotRunning = errors.New("polkit is not running")
	// ErrMissingFeature: the helper does not serve a feature this
	// frontend needs (an older helper).
	ErrMissingFeature = errors.New("myctr-helper lacks a feature")
	// ErrNoReply: the helper did not answer in time.
	ErrNoReply = errors.New("no reply from myctr-helper")
)

// local names this package's sentinels for Kind and Rebuild.
var local = []struct {
	name string
	err  error
}{
	// ErrPolkitNotRunning first: it comes wrapped with ErrNotAuthorized.
	{"helperclient.PolkitNotRunning", ErrPolkitNotRunning},
	{"helperclient.NoBus", ErrNoBus},
	{"helperclient.NotInstalled", ErrNotInstalled},
	{"helperclient.NotStarted", ErrNotStarted},
	{"helperclient.MissingFeature", ErrMissingFeature},
	{"helperclient.NoReply", ErrNoReply},
}

// Kind names the sentinel err wraps (one of this package's, or a helper
// error name of the protocol) and, for NotAuthorized, the polkit action:
// what a process that reports err as text to another (the monitor of a
// detached container to the CLI) sends along for Rebuild. It returns ""
// for other errors.
func Kind(err error) (name, action string) {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		name, action = pe.Name, pe.Action
	}
	for _, l := range local {
		if errors.Is(err, l.err) {
			return l.name, action
		}
	}
	return name, action
}

// Rebuild makes an error with the text msg that errors.Is and errors.As
// match as they matched the error Kind named.
func Rebuild(msg, name, action string) error {
	var cause error
	if strings.HasPrefix(name, protocol.ErrorPrefix) {
		cause = &protocol.Error{Name: name, Action: action}
	}
	for _, l := range local {
		if l.name == name {
			cause = l.err
			if l.err == ErrPolkitNotRunning {
				cause = fmt.Errorf("%w: %w", ErrPolkitNotRunning, &protocol.Error{Name: protocol.ErrNotAuthorized.Name, Action: action})
			}
		}
	}
	return &rebuilt{msg: msg, cause: cause}
}

// rebuilt is an error received as text, with the sentinel it wrapped.
type rebuilt struct {
	msg   string
	cause error
}

func (r *rebuilt) Error() string { return r.msg }
func (r *rebuilt) Unwrap() error { return r.cause }
