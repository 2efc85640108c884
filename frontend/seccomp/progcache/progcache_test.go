package progcache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/security"
)

// TestProgram: a program is compiled once per section and compiler, then
// read back from this process's memory or from the directory; another
// compiler or another section is another entry; an entry that does not
// decode, or holds no program, is compiled again; a compiler's error is
// returned, and nothing is kept of it.
func TestProgram(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	calls := 0
	compile := func(s *specs.LinuxSeccomp) (*Compiled, error) {
		calls++
		if s.DefaultAction == "bad" {
			return nil, errors.New("no such action")
		}
		return &Compiled{Filter: security.SeccompFilter{Program: []byte("program of " + string(s.DefaultAction))}}, nil
	}
	allow := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	get := func(compiler string, s *specs.LinuxSeccomp) string {
		t.Helper()
		c, err := Program(dir, compiler, s, compile)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Filter.Program)
	}
	entries := func() int {
		ents, _ := os.ReadDir(dir)
		return len(ents)
	}
	if got := get("c 1", allow); got != "program of SCMP_ACT_ALLOW" || calls != 1 || entries() != 1 {
		t.Fatalf("first: %q, %d compiles, %d entries", got, calls, entries())
	}
	get("c 1", allow)
	Forget()
	if got := get("c 1", allow); got != "program of SCMP_ACT_ALLOW" || calls != 1 {
		t.Fatalf("again: %q, %d compiles; want the cached program", got, calls)
	}
	get("c 2", allow)
	get("c 1", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno})
	if calls != 3 || entries() != 3 {
		t.Fatalf("another compiler and another section: %d compiles, %d entries; want 3 and 3", calls, entries())
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(`{"Filter":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	Forget()
	get("c 1", allow)
	if calls != 4 {
		t.Fatalf("an entry without a program: %d compiles, want it compiled again", calls)
	}
	if _, err := Program(dir, "c 1", &specs.LinuxSeccomp{DefaultAction: "bad"}, compile); err == nil {
		t.Fatal("the compiler's error is lost")
	}
	if entries() != 3 {
		t.Fatalf("a failed compile left an entry: %d", entries())
	}
	// A directory that cannot be made: the program is still returned.
	Forget()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Program(filepath.Join(file, "cache"), "c 1", allow, compile); err != nil || len(c.Filter.Program) == 0 {
		t.Fatalf("without a cache: %v, %v", c, err)
	}
}
