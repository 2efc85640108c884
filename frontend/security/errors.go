package security

import "errors"

// ErrUnknownCap is a capability name the kernel does not define.
var ErrUnknownCap = errors.New("unknown capability")
