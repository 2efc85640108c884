package progcache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeCompiler writes a shell script that plays myctr-seccomp: it keeps
// its stdin in DIR/in, then runs body.
func fakeCompiler(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "myctr-seccomp")
	script := "#!/bin/sh\ncat > " + filepath.Join(dir, "in") + "\n" + body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExternal: the section goes to the program as JSON on stdin; its
// program comes back; its "Error: ..." line is the error; output without
// a whole program is refused; another file is another compiler.
func TestExternal(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	ok := fakeCompiler(t, `echo '{"Filter":{"Program":"AQIDBAUGBwg="},"Unknown":["newcall"]}'`)
	e, err := NewExternal(ok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID, ok+" ") {
		t.Errorf("ID %q does not name the file", e.ID)
	}
	c, err := e.Compile(s)
	if err != nil || len(c.Filter.Program) != 8 || len(c.Unknown) != 1 {
		t.Fatalf("Compile: %+v, %v; want the 8-byte program and one unknown name", c, err)
	}
	in, err := os.ReadFile(filepath.Join(filepath.Dir(ok), "in"))
	if err != nil || !strings.Contains(string(in), `"defaultAction":"SCMP_ACT_ERRNO"`) {
		t.Errorf("the program read %q, %v; want the section as JSON", in, err)
	}

	for body, want := range map[string]string{
		`echo "Error: unknown action SCMP_ACT_NOPE" >&2; exit 1`: "unknown action SCMP_ACT_NOPE",
		`exit 3`:                               "exit status 3",
		`echo '{"Filter":{"Program":"AQID"}}'`: "no program in its output",
		`echo 'not json'`:                      "no program in its output",
	} {
		e, err := NewExternal(fakeCompiler(t, body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Compile(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}

	other := fakeCompiler(t, `echo '{"Filter":{"Program":"AQIDBAUGBwg="}}'`)
	e2, err := NewExternal(other)
	if err != nil {
		t.Fatal(err)
	}
	if e2.ID == e.ID {
		t.Error("two files have one compiler ID")
	}
	if _, err := NewExternal(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("NewExternal of a missing file succeeded")
	}
}
