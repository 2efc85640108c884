package netstore

import "errors"

// Sentinels; compare with errors.Is. Where Podman has a text for the same
// failure, the text is Podman's (libnetwork's and libpod's define
// package), which scripts match on.
var (
	ErrNoSuchNetwork = errors.New("network not found")
	ErrExists        = errors.New("network already exists")
	ErrInUse         = errors.New("network is being used")
	ErrAmbiguous     = errors.New("more than one result for network ID")
	ErrInvalidArg    = errors.New("invalid argument")
	// ErrReservedName: the name means something else to --network.
	ErrReservedName = errors.New("reserved network name")
	// ErrSubnetUsed: the subnet overlaps another named network's.
	ErrSubnetUsed = errors.New("subnet is already used by another network")
	// ErrNoFreeSubnet: every /24 of DefaultPool overlaps a network.
	ErrNoFreeSubnet = errors.New("could not find free subnet from subnet pools")
)

// worded is an error of a sentinel's kind whose text is given whole: where
// Podman's text has no sentinel's at its end.
type worded struct {
	text string
	is   error
}

func (w *worded) Error() string { return w.text }
func (w *worded) Unwrap() error { return w.is }
