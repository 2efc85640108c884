package container

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSmallTree(t *testing.T) {
	dir := t.TempDir()
	// A container's directory after a short --rm run: a few files, and
	// overlayfs's work/work, mode 000.
	for _, d := range []string{"upper/etc", "upper/run", "work/work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"config.json", "container.json", "ctr.log", "upper/run/.containerenv"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "work/work"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "work/work"), 0o755) })
	// The root, 5 directories below it, 4 files: 10 entries.
	if small, own := smallTree(dir, 10); !small || !own {
		t.Errorf("a tree of 10 entries, all ours, at 10: small %v, own %v", small, own)
	}
	if small, _ := smallTree(dir, 9); small {
		t.Error("a tree of 10 entries is small at 9")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("the small tree was not removable in the foreground: %v", err)
	}

	big := t.TempDir()
	for i := range 100 {
		if err := os.WriteFile(filepath.Join(big, fmt.Sprint(i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if small, _ := smallTree(big, smallTreeEntries); small {
		t.Error("100 files are a small tree")
	}
	if small, _ := smallTree(filepath.Join(big, "missing"), smallTreeEntries); small {
		t.Error("a missing directory is a small tree")
	}
}

// TestSmallTreeOwner: a directory of another id (what a container's
// process made as one of its subordinate ids) makes the tree one this
// user may not delete alone: remove keeps it from the monitor.
func TestSmallTreeOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a directory of another owner needs root")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "upper", "home")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if small, own := smallTree(dir, smallTreeEntries); !small || !own {
		t.Fatalf("our own tree: small %v, own %v", small, own)
	}
	if err := os.Lchown(sub, 100999, 100999); err != nil {
		t.Fatal(err)
	}
	if small, own := smallTree(dir, smallTreeEntries); !small || own {
		t.Errorf("a directory of uid 100999 in it: small %v, own %v; want small and not own", small, own)
	}
}
