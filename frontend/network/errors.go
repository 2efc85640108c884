package network

import (
	"errors"
	"fmt"
)

var (
	// ErrNoNetworkTool means neither pasta nor slirp4netns (or not the
	// requested one) is installed.
	ErrNoNetworkTool = errors.New("no rootless network tool found")
	// ErrPortInUse means a host port to publish is already bound.
	ErrPortInUse = errors.New("host port already in use")
	// ErrPrivilegedPort means a host port is below
	// net.ipv4.ip_unprivileged_port_start.
	ErrPrivilegedPort = errors.New("host port is privileged")
	// ErrInvalidPublish means a -p value does not parse.
	ErrInvalidPublish = errors.New("invalid port publication")
	// ErrInvalidOption means a --network MODE:OPTION is unknown or has a
	// bad value, or a Config field is out of range.
	ErrInvalidOption = errors.New("invalid network option")
	// ErrUnsupported means the mode cannot do what the configuration asks.
	ErrUnsupported = errors.New("not supported by this network mode")
	// ErrStart means the tool or its watcher failed to start or to
	// configure the namespace.
	ErrStart = errors.New("network start failed")
	// ErrNoProcess means the target process is gone.
	ErrNoProcess = errors.New("target process not found")
)

// Error is an error with a hint for people: the CLI prints Error() after
// "Error:" and Hint() after "Hint:".
type Error struct {
	Err  error  // the wrapped cause; errors.Is finds the sentinel in it
	Msg  string // what failed
	Hint string // what to do about it; may be empty
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return fmt.Sprintf("%s: %v", e.Msg, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Hint returns the hint of the first *Error in err's chain that has one.
func Hint(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}

func hinted(err error, hint, format string, args ...any) error {
	return &Error{Err: err, Msg: fmt.Sprintf(format, args...), Hint: hint}
}
