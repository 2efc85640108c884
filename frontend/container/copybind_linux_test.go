package container

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestBindOf: the deepest directory bind that holds a path, the path
// made relative to it with its trailing "/" or "/." kept; file binds and
// paths outside every bind go to the overlay.
func TestBindOf(t *testing.T) {
	dir := t.TempDir()
	outer, inner := filepath.Join(dir, "outer"), filepath.Join(dir, "inner")
	file := filepath.Join(dir, "hosts")
	os.Mkdir(outer, 0o755)
	os.Mkdir(inner, 0o755)
	os.WriteFile(file, nil, 0o644)
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/data", Type: "bind", Source: outer, Options: []string{"rbind"}},
		{Destination: "/data/sub", Type: "bind", Source: inner, Options: []string{"rbind", "ro"}},
		{Destination: "/etc/hosts", Type: "bind", Source: file, Options: []string{"rbind"}},
	}
	for _, c := range []struct {
		cwd, p   string
		src, rel string // src "": the overlay
		ro       bool
	}{
		{"/", "/data/sub", inner, "/sub", true},
		{"/", "/data/sub/x/", inner, "/sub/x/", true},
		{"/", "/data/subway", outer, "/data/subway", false},
		{"/data", "sub/.", inner, "/sub/.", true},
		{"/", "/data/a/../sub/f", inner, "/sub/f", true},
		{"/", "/data", outer, "/data", false},
		{"/", "/etc/hosts", "", "", false},
		{"/", "/proc/1", "", "", false},
		{"/", "/tmp", "", "", false},
	} {
		b, rel, ok := bindOf(mounts, c.cwd, c.p)
		if c.src == "" {
			if ok {
				t.Errorf("bindOf(%q, %q) = %+v %q, want the overlay", c.cwd, c.p, b, rel)
			}
			continue
		}
		if !ok || b.Source != c.src || rel != c.rel || b.ReadOnly != c.ro {
			t.Errorf("bindOf(%q, %q) = %+v %q %v, want %s %q ro=%v", c.cwd, c.p, b, rel, ok, c.src, c.rel, c.ro)
		}
	}
}
