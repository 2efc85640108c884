package netplumb

import "errors"

// Sentinels; compare with errors.Is.
var (
	// ErrInvalid: a name, address, MTU or namespace descriptor is
	// malformed, or names a link of a kind this package does not manage.
	ErrInvalid = errors.New("invalid argument")
	// ErrExists: a link name to create is taken (in N, or the peer's name
	// in the container's namespace), or a link of the bridge's name is not
	// a bridge.
	ErrExists = errors.New("interface exists")
)
