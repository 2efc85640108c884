package userns

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoMapper means newuidmap or newgidmap is not installed.
var ErrNoMapper = errors.New("not found in PATH (install the uidmap package)")

// MapperError is a failed newuidmap/newgidmap run, with what it printed.
type MapperError struct {
	Tool   string
	Args   []string
	Output string
	Err    error
}

func (e *MapperError) Error() string {
	return fmt.Sprintf("%s %s: %v: %s", e.Tool, strings.Join(e.Args, " "), e.Err, e.Output)
}

func (e *MapperError) Unwrap() error { return e.Err }

// ErrInvalidMode is a --userns value myctr cannot read.
var ErrInvalidMode = errors.New("invalid --userns")

// ErrModeUnsupported is a --userns mode Podman has and myctr does not.
var ErrModeUnsupported = errors.New("unsupported user namespace mode")

// ErrRootlessMode is a rootless-only --userns mode asked for by root.
var ErrRootlessMode = errors.New("only for rootless containers")

// ErrNoRange means the mode needs a subordinate range the user lacks.
var ErrNoRange = errors.New("needs a subordinate id range in /etc/subuid and /etc/subgid")

// HintError is an error with the fix a person can apply (cli prints it
// as "Hint:").
type HintError struct {
	Err error
	Fix string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }
func (e *HintError) Hint() string  { return e.Fix }
