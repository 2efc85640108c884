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
	if !smallTree(dir, 10) {
		t.Error("a tree of 10 entries is not small at 10")
	}
	if smallTree(dir, 9) {
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
	if smallTree(big, smallTreeEntries) {
		t.Error("100 files are a small tree")
	}
	if smallTree(filepath.Join(big, "missing"), smallTreeEntries) {
		t.Error("a missing directory is a small tree")
	}
}
