package progcache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/specjson"
)

// External is a compiler in another program: myctr-seccomp, which links
// libseccomp, so that the Go programs that use its output need no cgo
// (see cmd/myctr-seccomp).
type External struct {
	Path string
	// ID names it for Program: the file's identity (path, device, inode,
	// size, modification time). Another build of it, which may link
	// another libseccomp, is another compiler, known without starting it.
	ID string
}

// NewExternal is the compiler at path.
func NewExternal(path string) (*External, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("seccomp compiler: %w", err)
	}
	id := fmt.Sprintf("%s %d:%d %d %d.%09d", path, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	return &External{Path: path, ID: id}, nil
}

// Compile runs the program on s: the section as JSON on its stdin, the
// Compiled as JSON on its stdout, an error as "Error: ..." on its stderr.
func (e *External) Compile(s *specs.LinuxSeccomp) (*Compiled, error) {
	in, err := specjson.AppendLinuxSeccomp(nil, s)
	if err != nil {
		return nil, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(e.Path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(strings.TrimPrefix(errOut.String(), "Error: ")); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("%s: %w", e.Path, err)
	}
	var c Compiled
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || len(c.Filter.Program) == 0 || len(c.Filter.Program)%8 != 0 {
		return nil, fmt.Errorf("%s: no program in its output (%v)", e.Path, err)
	}
	return &c, nil
}
