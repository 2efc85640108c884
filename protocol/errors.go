package protocol

import (
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// ErrorPrefix starts every D-Bus error name of the helper.
const ErrorPrefix = Interface + ".Error."

// Error is a helper error: a D-Bus error name with a message and, for
// NotAuthorized, the polkit action that was refused. errors.Is matches it
// against the sentinels below by name.
type Error struct {
	Name    string // ErrorPrefix + "InvalidArgs", ...
	Message string
	Action  string // NotAuthorized: the polkit action id
}

// Sentinels, one per error name; compare with errors.Is.
var (
	// ErrNotAuthorized: polkit refused the method's action (or polkit is
	// not running).
	ErrNotAuthorized = &Error{Name: ErrorPrefix + "NotAuthorized"}
	// ErrNotOwner: a namespace passed in is not the caller's (the user
	// namespace is owned by another uid, or the network namespace does not
	// belong to it).
	ErrNotOwner = &Error{Name: ErrorPrefix + "NotOwner"}
	// ErrInvalidArgs: an argument or option is malformed or unknown.
	ErrInvalidArgs = &Error{Name: ErrorPrefix + "InvalidArgs"}
	// ErrLimitExceeded: a per-user quota of the helper's configuration, or
	// the bridge's address pool, is used up.
	ErrLimitExceeded = &Error{Name: ErrorPrefix + "LimitExceeded"}
	// ErrUnsupported: the helper or host cannot do this (an unknown
	// bridge, a kernel without nf_tables).
	ErrUnsupported = &Error{Name: ErrorPrefix + "Unsupported"}
	// ErrNotFound: the caller has no such container or port. A caller
	// never sees another user's objects, so this is also what naming one
	// of them gives.
	ErrNotFound = &Error{Name: ErrorPrefix + "NotFound"}
	// ErrConflict: the host port is already published (by anyone), or the
	// container is attached with other namespaces.
	ErrConflict = &Error{Name: ErrorPrefix + "Conflict"}
	// ErrFailed: the helper failed (a kernel call, its state directory).
	ErrFailed = &Error{Name: ErrorPrefix + "Failed"}
	// ErrRestarting: the helper had given up its bus name (idle, SIGTERM)
	// and did nothing; calling again starts the next helper.
	ErrRestarting = &Error{Name: ErrorPrefix + "Restarting"}
)

var sentinels = []*Error{ErrNotAuthorized, ErrNotOwner, ErrInvalidArgs, ErrLimitExceeded,
	ErrUnsupported, ErrNotFound, ErrConflict, ErrFailed, ErrRestarting}

// ErrorNames lists every error name the helper returns.
func ErrorNames() []string {
	out := make([]string, len(sentinels))
	for i, s := range sentinels {
		out[i] = s.Name
	}
	return out
}

func (e *Error) Error() string {
	short := strings.TrimPrefix(e.Name, ErrorPrefix)
	if e.Message == "" {
		return short
	}
	return e.Message
}

// Is matches errors of the same name.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Name == e.Name
}

// Errorf makes an error of kind's name with a formatted message.
func Errorf(kind *Error, format string, args ...any) *Error {
	return &Error{Name: kind.Name, Message: fmt.Sprintf(format, args...)}
}

// NotAuthorized makes the error for a refused polkit action.
func NotAuthorized(action, message string) *Error {
	return &Error{Name: ErrNotAuthorized.Name, Message: message, Action: action}
}

// DBusError is e as a D-Bus error reply. The body is (s message) or, for
// NotAuthorized, (s message, s action).
func (e *Error) DBusError() *dbus.Error {
	body := []any{e.Message}
	if e.Action != "" {
		body = append(body, e.Action)
	}
	return &dbus.Error{Name: e.Name, Body: body}
}

// ToDBus turns any error into a D-Bus error reply: an *Error keeps its
// name, anything else becomes Failed.
func ToDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.DBusError()
	}
	return Errorf(ErrFailed, "%v", err).DBusError()
}

// FromDBus turns an error returned by a call to the helper back into an
// *Error when it carries one of the helper's error names; other errors
// (the bus's own, such as ServiceUnknown) are returned unchanged.
func FromDBus(err error) error {
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &dep):
		de = *dep
	case errors.As(err, &de):
	default:
		return err
	}
	if !strings.HasPrefix(de.Name, ErrorPrefix) {
		return err
	}
	e := &Error{Name: de.Name}
	if len(de.Body) > 0 {
		e.Message, _ = de.Body[0].(string)
	}
	if len(de.Body) > 1 {
		e.Action, _ = de.Body[1].(string)
	}
	return e
}
