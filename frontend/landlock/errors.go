package landlock

import "errors"

var (
	// ErrOption is a landlock= or landlock-strict option that does not
	// parse.
	ErrOption = errors.New("invalid landlock option")
	// ErrUnsupported is a kernel that cannot enforce every rule of a
	// container run with landlock-strict.
	ErrUnsupported = errors.New("landlock not enforceable")
	// ErrPath is a rule's path that does not exist in the container.
	ErrPath = errors.New("no such path in the container")
)
