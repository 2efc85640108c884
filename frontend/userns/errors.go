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
