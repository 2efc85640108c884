//go:build cgo

package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/myctr/myctr/frontend/seccomp/progcache"
)

// Program is the compiled filter of s, read from dir (the run root's
// seccomp/, made if missing) when an earlier start left it there, else
// compiled and stored there (progcache.Program). Its name is a digest of
// the section (which holds the profile's rules after the capability,
// architecture and kernel conditions were applied, so --cap-add and
// --cap-drop give another name), the libseccomp version and the kernel
// release.
//
// Why this is safe: dir is in the user's own run root (0700, checked at
// start); only the user, who could load any filter anyway, can write it;
// no container sees it.
//
// This build links libseccomp (cgo): the compiler is in this process. A
// build without cgo has myctr-seccomp compile (cache_nocgo_linux.go).
func Program(dir string, s *specs.LinuxSeccomp) (*Compiled, error) {
	return progcache.Program(dir, Compiler(), s, Compile)
}

// Compiler names the compiler linked here for progcache: libseccomp and
// its version.
func Compiler() string {
	maj, min, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("libseccomp %d.%d.%d", maj, min, micro)
}
