package diskusage

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeSize(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("a", 100)
	write("sub/b", 20)
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "a-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(dir, "sym")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want int64
	}{
		{dir, 120}, // the hard link and the symlink count nothing more
		{filepath.Join(dir, "sub"), 120},
		{filepath.Join(dir, "missing"), 0},
	} {
		if got := TreeSize(tc.dir); got != tc.want {
			t.Errorf("TreeSize(%s) = %d, want %d", tc.dir, got, tc.want)
		}
	}
}
