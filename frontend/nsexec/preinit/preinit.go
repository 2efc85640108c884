//go:build linux && amd64 && !cgo

// Package preinit runs the stages' C constructor (frontend/nsexec/nsenter.c)
// in a pure Go program (myctr-init, myctr-runtime and myctr, as make builds
// them on amd64), which its import makes a program with no C library: the ELF entry point is _myctr_entry (entry_linux_amd64.s,
// chosen with the linker's -E), which calls the constructor on the stack
// the kernel made, then jumps to the Go runtime's own entry. The
// constructor so runs before the Go runtime starts any thread, as the C
// library runs it in the cgo builds, and a container start pays neither
// for the C library's start-up nor for cgo's (about 0.5 ms per process
// here, measured on a program that does nothing).
//
// The constructor is nsenter_linux_amd64.syso, compiled from nsenter.c by
// build.sh (make build does it; the file is not kept in the tree). Its
// init checks that the binary's entry point is _myctr_entry: a program
// linked without -E would run its stages without their namespaces, and
// refuses to instead.
package preinit

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// atEntry is the auxiliary vector's key for the program's entry point
// (AT_ENTRY in <elf.h>).
const atEntry = 9

// entry returns _myctr_entry's address.
func entry() uintptr

func init() {
	if !entered() {
		os.Stderr.WriteString("Error: " + os.Args[0] + " was linked without its entry point _myctr_entry, so the namespaces' constructor never ran\nHint: build it with make (go build -ldflags=-E=_myctr_entry)\n")
		os.Exit(nsexec.ExitSetup)
	}
	nsexec.ConstructorRan()
}

// entered reports whether the kernel entered this process at _myctr_entry
// (the auxiliary vector's AT_ENTRY).
func entered() bool {
	auxv, err := unix.Auxv()
	if err != nil {
		return false
	}
	for _, kv := range auxv {
		if kv[0] == atEntry {
			return kv[1] == entry()
		}
	}
	return false
}
