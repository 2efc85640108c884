//go:build !cgo

package main

// Built without cgo (make build, on amd64), myctr-runtime has no C
// library: its entry point runs the stages' C constructor (see preinit),
// for the init stage it runs itself where myctr-init is not beside it.
import _ "github.com/myctr/myctr/frontend/nsexec/preinit"
