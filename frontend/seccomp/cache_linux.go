package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/myctr/myctr/protocol/atomicfile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// cacheFormat changes whenever Compile would make another program from
// the same section (the stub, the rules' translation, the file's layout).
const cacheFormat = "myctr-seccomp-1"

// memo keeps what this process compiled or read: run creates, then
// launches, the same section.
var memo sync.Map // digest → *Compiled

// Program is the compiled filter of s, read from dir (the run root's
// seccomp/, made if missing) when an earlier start left it there, else
// compiled and stored there. Its name is a digest of the section (which
// holds the profile's rules after the capability, architecture and kernel
// conditions were applied, so --cap-add and --cap-drop give another
// name), the libseccomp version and the kernel release.
//
// Why this is safe: dir is in the user's own run root (0700, checked at
// start); only the user, who could load any filter anyway, can write it;
// no container sees it.
func Program(dir string, s *specs.LinuxSeccomp) (*Compiled, error) {
	key, err := digest(s)
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
	c, err := Compile(s)
	if err != nil {
		return nil, err
	}
	memo.Store(key, c)
	// A cache that cannot be written costs the next start a compile,
	// nothing more.
	_ = store(dir, path, c)
	return c, nil
}

func digest(s *specs.LinuxSeccomp) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("seccomp: %w", err)
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	maj, min, micro := libseccomp.GetLibraryVersion()
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d.%d.%d\n%s\n", cacheFormat, maj, min, micro, unix.ByteSliceToString(uts.Release[:]))
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
