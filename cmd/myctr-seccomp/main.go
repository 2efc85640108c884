// Command myctr-seccomp compiles an OCI seccomp section (linux.seccomp of
// a runtime spec, as JSON on stdin) into the BPF program the kernel loads,
// with libseccomp, and writes it as JSON on stdout (progcache.Compiled).
// myctr-runtime, a Go program without cgo, starts it for a profile it has
// not compiled since the last boot and keeps the program in its root
// (frontend/seccomp/progcache): every other runtime command, and every
// container whose profile was compiled once, starts without libseccomp and
// without cgo's and the C library's start-up. Installed beside
// myctr-runtime or in ../libexec/myctr.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/seccomp"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(seccomp.Compiler())
		return
	}
	if len(os.Args) != 1 {
		fail(fmt.Errorf("usage: %s < SECTION.json (myctr-runtime starts it)", os.Args[0]))
	}
	var s specs.LinuxSeccomp
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		fail(fmt.Errorf("read the seccomp section: %w", err))
	}
	c, err := seccomp.Compile(&s)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(c); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "Error: "+err.Error())
	os.Exit(1)
}
