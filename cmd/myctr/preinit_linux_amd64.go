//go:build !cgo

package main

// Built without cgo (make build, on amd64), myctr has no C library: its
// entry point runs the stages' C constructor (see preinit) for the
// stages it runs itself (stages, below main), and myctr-seccomp compiles
// its seccomp profiles (frontend/seccomp). Every command so starts
// without the C library's and cgo's start-up.
import _ "github.com/myctr/myctr/frontend/nsexec/preinit"
