package nsexec

// The C constructor in nsenter.c runs before the Go runtime starts in every
// process of this binary; it does nothing unless myctr's environment names
// a stage (_MYCTR_STAGE=init) or namespaces to join (_MYCTR_JOIN_PIDFD).

// #cgo CFLAGS: -Wall -O2
import "C"

// constructorRan: in a cgo build, the C library has run the constructor
// of nsenter.c before the Go runtime started.
var constructorRan = true
