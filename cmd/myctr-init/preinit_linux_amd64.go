//go:build !cgo

package main

// Built without cgo (make build, on amd64), myctr-init has no C library:
// its entry point runs the stages' C constructor (see preinit).
import _ "github.com/myctr/myctr/frontend/nsexec/preinit"
