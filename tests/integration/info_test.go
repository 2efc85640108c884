//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestInfoStore reads info's store keys as Podman's tests do: the driver
// asked for, its options (none), and where volumes go under --root.
func TestInfoStore(t *testing.T) {
	dir, err := os.MkdirTemp(tmpRoot, "info-")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "nothing-here")
	got := mustMyctr(t, "--storage-driver=vfs", "--root", root, "--runroot", filepath.Join(dir, "run"),
		"info", "--format", "{{ .Store.GraphOptions }} {{.Store.GraphDriverName}} {{.Store.VolumePath}}")
	if want := "map[] vfs " + filepath.Join(root, "volumes") + "\n"; got != want {
		t.Errorf("info --format under --root: %q, want %q", got, want)
	}
	var info struct {
		Store struct {
			GraphDriverName string
			GraphOptions    map[string]string
		}
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Store.GraphDriverName != "overlay" || info.Store.GraphOptions == nil || len(info.Store.GraphOptions) != 0 {
		t.Errorf("info store: %+v, want overlay and empty graphOptions", info.Store)
	}
}
