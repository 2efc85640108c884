// Package progcache keeps compiled seccomp programs in a directory, each
// named by a digest of the OCI section it was compiled from, of the
// compiler that compiled it (its name and version, which the caller
// gives) and of the kernel's release: a start reads a file of a few
// kilobytes where compiling Docker's default profile with libseccomp
// takes about 50 ms. It links no libseccomp: myctr-runtime, a program
// without cgo, uses it with myctr-seccomp as the compiler; myctr's
// frontend through seccomp.Program, with libseccomp linked in.
package progcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/security"
	"github.com/myctr/myctr/frontend/specjson"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// Compiled is a profile's program and what compiling it skipped.
type Compiled struct {
	Filter security.SeccompFilter
	// Unknown are the syscall names libseccomp does not know (newer than
	// it, or misspelt): skipped, as Docker skips them.
	Unknown []string `json:",omitempty"`
}

// format changes whenever a compiler would make another program from the
// same section (the stub, the rules' translation, the file's layout).
const format = "myctr-seccomp-1"

// memo keeps what this process compiled or read: run creates, then
// launches, the same section.
var memo sync.Map // digest → *Compiled

// Program is the compiled filter of s, read from dir (made if missing)
// when an earlier start left it there, else compiled by compile and
// stored there. compiler names the compiler and its version: a program
// another compiler made is never taken for its.
//
// Why this is safe: dir is the caller's own (the run root's, or the
// runtime root's; each caller checks that nobody else may write it); only
// its owner, who could load any filter anyway, can write it; no container
// sees it. An entry that does not decode, or holds no program, is compiled
// again.
func Program(dir, compiler string, s *specs.LinuxSeccomp, compile func(*specs.LinuxSeccomp) (*Compiled, error)) (*Compiled, error) {
	key, err := digest(compiler, s)
	if err != nil {
		return nil, err
	}
	if c, ok := memo.Load(key); ok {
		return c.(*Compiled), nil
	}
	path := filepath.Join(dir, key+".json")
	if b, err := os.ReadFile(path); err == nil {
		var c Compiled
		if json.Unmarshal(b, &c) == nil && len(c.Filter.Program) > 0 {
			memo.Store(key, &c)
			return &c, nil
		}
	}
	c, err := compile(s)
	if err != nil {
		return nil, err
	}
	memo.Store(key, c)
	// A cache that cannot be written costs the next start a compile,
	// nothing more.
	_ = store(dir, path, c)
	return c, nil
}

func digest(compiler string, s *specs.LinuxSeccomp) (string, error) {
	b, err := specjson.AppendLinuxSeccomp(nil, s)
	if err != nil {
		return "", fmt.Errorf("seccomp: %w", err)
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", format, compiler, unix.ByteSliceToString(uts.Release[:]))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// store writes the entry to a new file and renames it into place, so a
// reader sees a whole entry or none.
func store(dir, path string, c *Compiled) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

// Forget drops what this process remembers, so that the next Program
// reads its directory again: for the tests and benchmarks of the cache.
func Forget() { memo.Clear() }
