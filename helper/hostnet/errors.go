package hostnet

import "errors"

// Sentinels; compare with errors.Is.
var (
	// ErrExists: AddVeth was asked for an interface name that is taken.
	ErrExists = errors.New("interface exists")
	// ErrNoNftables: the kernel lacks nf_tables or one of the parts the
	// rules use (nat chains, fib, masquerade).
	ErrNoNftables = errors.New("nf_tables is not available")
	// ErrInvalid: a name, address, port or protocol is malformed, or names
	// an object this package does not manage.
	ErrInvalid = errors.New("invalid argument")
	// ErrPortInUse: a host port to publish is bound by someone else in the
	// Host's namespace.
	ErrPortInUse = errors.New("host port in use")
)
