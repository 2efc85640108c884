//go:build !cgo

package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/seccomp/progcache"
)

// Program is the compiled filter of s, read from dir when an earlier
// start left it there, else compiled and stored there (progcache.Program).
//
// This build links no libseccomp (myctr built without cgo, as make builds
// it on amd64): myctr-seccomp, installed beside myctr or in
// ../libexec/myctr, compiles the profiles this user's containers use,
// each once per boot (the run root, dir's parent, is a tmpfs); every
// other start reads the program. See cache_linux.go for why the cache is
// safe.
func Program(dir string, s *specs.LinuxSeccomp) (*Compiled, error) {
	path := nsexec.Companion("myctr-seccomp")
	if path == "" {
		return nil, &MissingCompilerError{}
	}
	ext, err := progcache.NewExternal(path)
	if err != nil {
		return nil, err
	}
	return progcache.Program(dir, ext.ID, s, ext.Compile)
}

// MissingCompilerError: a profile to compile, and no myctr-seccomp.
type MissingCompilerError struct{}

func (*MissingCompilerError) Error() string {
	return "compiling a seccomp profile needs myctr-seccomp, which is not installed beside myctr or in ../libexec/myctr"
}

// Hint says the fix.
func (*MissingCompilerError) Hint() string {
	return "install myctr with make install, which puts myctr-seccomp in libexec/myctr; or run the container with --security-opt seccomp=unconfined"
}
