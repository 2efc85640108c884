package container

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestChangesOf reads an upper directory against one layer: added,
// changed, the paths every start makes left out, and an opaque directory
// deleting what the layer held in it. (Whiteouts, character devices
// 0/0, need privilege to make: the integration tests cover them.)
func TestChangesOf(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	mk := func(root string, files ...string) { writeFiles(t, root, files...) }
	mk(lower, "etc/passwd", "etc/group", "opq/old", "opq/kept")
	mk(upper, "etc/passwd", "etc/hosts", "new/f", "opq/kept", "opq/fresh", "run/.containerenv")
	if err := unix.Setxattr(filepath.Join(upper, "opq"), "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("user xattrs are not supported here (%v): no opaque directory to read", err)
	}
	got, err := changesOf(upper, []string{lower}, true)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.String())
	}
	want := []string{"C /etc", "C /etc/passwd", "A /new", "A /new/f", "C /opq", "C /opq/kept", "A /opq/fresh", "D /opq/old"}
	slices.Sort(want)
	sortedByPath := slices.IsSortedFunc(got, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if !sortedByPath {
		t.Errorf("not sorted by path: %q", lines)
	}
	gotSorted := slices.Clone(lines)
	slices.Sort(gotSorted)
	if !slices.Equal(gotSorted, want) {
		t.Errorf("changes %q, want %q", lines, want)
	}
}

// TestLayerChanges: an image's top layer against the layers below it,
// bottom first as an image lists them; nothing is left out as a runtime
// path (an image's /etc/hosts is its own).
func TestLayerChanges(t *testing.T) {
	base, mid, top := t.TempDir(), t.TempDir(), t.TempDir()
	for root, files := range map[string][]string{base: {"etc/passwd"}, mid: {"etc/group"}, top: {"etc/group", "etc/hosts", "app/run"}} {
		writeFiles(t, root, files...)
	}
	got, err := LayerChanges([]string{base, mid, top})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.String())
	}
	if want := []string{"A /app", "A /app/run", "C /etc", "C /etc/group", "A /etc/hosts"}; !slices.Equal(lines, want) {
		t.Errorf("changes %q, want %q", lines, want)
	}
	if got, err := LayerChanges(nil); err != nil || got != nil {
		t.Errorf("no layers: %v, %v", got, err)
	}
}

// writeFiles makes each file (its name as its content) under root.
func writeFiles(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
