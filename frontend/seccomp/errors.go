package seccomp

import "errors"

var (
	// ErrProfile is a profile file that cannot be read or decoded.
	ErrProfile = errors.New("seccomp profile")
	// ErrInvalid is a profile that decodes but names an action,
	// operator, flag or architecture that does not exist.
	ErrInvalid = errors.New("invalid seccomp profile")
	// ErrOption is a --security-opt seccomp= value myctr cannot use.
	ErrOption = errors.New("invalid seccomp option")
)
