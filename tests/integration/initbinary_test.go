//go:build integration

package integration

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestInitBinaryWithoutLibc: on amd64, make build's myctr-init, myctr-runtime,
// myctr and myctr-full are pure Go programs (no cgo, no C library, no interpreter)
// whose ELF entry point is _myctr_entry, the stub that runs the stages' C
// constructor before the Go runtime (frontend/nsexec/preinit). Every
// container in this tier is started through them; this test pins that
// they are that build, and that each refuses to run in a copy whose entry
// point is the Go runtime's (a stage would run without its namespaces).
func TestInitBinaryWithoutLibc(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("myctr-init, myctr-runtime and myctr are the cgo builds on %s", runtime.GOARCH)
	}
	dir := filepath.Dir(os.Getenv("MYCTR_BIN"))
	for _, name := range []string{"myctr-init", "myctr-runtime", "myctr", "myctr-full"} {
		t.Run(name, func(t *testing.T) { checkWithoutLibc(t, filepath.Join(dir, name)) })
	}
}

// buildInfo reads the Go build information of the binary p: its module
// dependencies, and its build settings by key (-tags, CGO_ENABLED...).
func buildInfo(t *testing.T, p string) (deps []*debug.Module, settings map[string]string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	settings = map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	return bi.Deps, settings
}

func checkWithoutLibc(t *testing.T, p string) {
	_, settings := buildInfo(t, p)
	if cgo := settings["CGO_ENABLED"]; cgo != "0" {
		t.Errorf("%s: CGO_ENABLED=%q, want 0", p, cgo)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v segment: it is not static", p, prog.Type)
		}
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var entry, rt0 uint64
	for _, s := range syms {
		switch s.Name {
		case "_myctr_entry":
			entry = s.Value
		case "_rt0_amd64_linux":
			rt0 = s.Value
		}
		if strings.HasPrefix(s.Name, "seccomp_") {
			t.Errorf("%s links libseccomp (%s): myctr-seccomp compiles the profiles", p, s.Name)
			break
		}
	}
	if entry == 0 || f.Entry != entry {
		t.Fatalf("%s: entry point %#x, want _myctr_entry (%#x)", p, f.Entry, entry)
	}

	// The same file with its entry point set to the Go runtime's: the
	// constructor never runs, and the stage says so instead of running
	// without its namespaces.
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// e_entry is at offset 24 of a 64-bit ELF header, little-endian here.
	for i := 0; i < 8; i++ {
		b[24+i] = byte(rt0 >> (8 * i))
	}
	bad := filepath.Join(t.TempDir(), filepath.Base(p))
	if err := os.WriteFile(bad, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bad)
	cmd.Env = []string{"_MYCTR_STAGE=exec", "_MYCTR_JOIN_PIDFD=3", "_MYCTR_JOIN_NS=user"}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 125 || !strings.Contains(string(out), "linked without its entry point _myctr_entry") {
		t.Errorf("the copy entered at the Go runtime: exit %d, %q, want 125 and the entry point named", code, out)
	}
}
