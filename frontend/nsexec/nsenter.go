package nsexec

// The C constructor in nsenter.c runs before the Go runtime starts in every
// process of this binary; it does nothing unless _MYCTR_JOIN_PIDFD is set.

// #cgo CFLAGS: -Wall -O2
import "C"
