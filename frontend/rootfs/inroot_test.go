package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTargetSymlinkSwapped: a directory on the way to a mount point that
// is swapped for a symlink out of the root after the path was checked
// (what a container sharing a volume could do) does not make the mount
// point outside the root: it is made where the symlink leads inside the
// root, or refused where that is nowhere (the path the symlink names does
// not exist inside the root). Made by path, it would land in outside.
func TestTargetSymlinkSwapped(t *testing.T) {
	for _, tt := range []struct {
		name     string
		file     bool
		dangling bool // the symlink's target does not exist inside the root
	}{{"directory", false, false}, {"file", true, false}, {"directory, dangling", false, true}, {"file, dangling", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			dirs := []string{filepath.Join(root, "data", "x"), outside}
			if !tt.dangling {
				dirs = append(dirs, filepath.Join(root, outside))
			}
			for _, d := range dirs {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			afterResolve = func() {
				x := filepath.Join(root, "data", "x")
				if err := os.Remove(x); err != nil {
					t.Error(err)
				}
				if err := os.Symlink(outside, x); err != nil {
					t.Error(err)
				}
			}
			defer func() { afterResolve = nil }()
			mp, err := target(root, "/data/x/y", tt.file)
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("the mount point was made outside the root: %s holds %v", outside, ents)
			}
			if err != nil && tt.dangling {
				return // refused
			}
			if err != nil {
				t.Fatalf("target: %v", err)
			}
			defer mp.Close()
			inside := filepath.Join(root, outside, "y")
			fi, err := os.Lstat(inside)
			if err != nil {
				t.Fatalf("the mount point is not where the symlink leads inside the root: %v", err)
			}
			if fi.IsDir() == tt.file {
				t.Errorf("%s: directory %v, want %v", inside, fi.IsDir(), !tt.file)
			}
			var st1, st2 os.FileInfo
			if st1, err = mp.f.Stat(); err == nil {
				st2, err = os.Stat(inside)
			}
			if err != nil || !os.SameFile(st1, st2) {
				t.Errorf("the handle is not the mount point made inside the root (%v)", err)
			}
		})
	}
}
