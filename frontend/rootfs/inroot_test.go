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

// TestTargetExisting: a mount point that exists is found by the fast path,
// through symlinks resolved inside the root (an absolute one leads to the
// root's own directory of that name, not the host's), and a path that is
// missing, or is a file where a directory is wanted, goes to the full path,
// which makes it or refuses it as before.
func TestTargetExisting(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "proc"), filepath.Join(root, "etc"), filepath.Join(root, outside), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "hosts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	same := func(mp *mountPoint, want string) {
		t.Helper()
		st1, err := mp.f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		st2, err := os.Stat(want)
		if err != nil || !os.SameFile(st1, st2) {
			t.Errorf("the handle is not %s (%v)", want, err)
		}
	}
	for _, tt := range []struct {
		dest string
		file bool
		want string
	}{
		{"/proc", false, filepath.Join(root, "proc")},
		{"proc/", false, filepath.Join(root, "proc")},
		{"/link", false, filepath.Join(root, outside)},
		{"/../../link", false, filepath.Join(root, outside)},
		{"/etc/hosts", true, filepath.Join(root, "etc", "hosts")},
	} {
		mp := existingTarget(root, tt.dest, tt.file)
		if mp == nil {
			t.Errorf("%s: not found by the fast path", tt.dest)
			continue
		}
		same(mp, tt.want)
		// After a mount the handle of what is on top is found again
		// inside the root from the same name.
		top, err := mp.open()
		if err != nil {
			t.Errorf("%s: open again: %v", tt.dest, err)
		} else {
			st1, _ := top.Stat()
			st2, _ := mp.f.Stat()
			if !os.SameFile(st1, st2) {
				t.Errorf("%s: opened again, another file", tt.dest)
			}
			top.Close()
		}
		mp.Close()
	}
	for _, tt := range []struct {
		dest string
		file bool
	}{{"/missing", false}, {"/etc/missing", true}, {"/etc/hosts", false}} {
		if mp := existingTarget(root, tt.dest, tt.file); mp != nil {
			mp.Close()
			t.Errorf("%s (file %v): taken by the fast path", tt.dest, tt.file)
		}
	}
	// The full path makes what is missing, and still refuses a file where
	// a directory is wanted.
	mp, err := target(root, "/missing/sub", false)
	if err != nil {
		t.Fatal(err)
	}
	same(mp, filepath.Join(root, "missing", "sub"))
	mp.Close()
	if mp, err := target(root, "/etc/hosts", false); err == nil {
		mp.Close()
		t.Error("a file taken as a directory mount point")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was made outside the root: %v", ents)
	}
}

// TestNewFileTarget: target's fast path for a missing file makes it in
// its directory found inside the root, and declines (nil, nothing made)
// where the directory is missing or the name is taken, a symlink out of
// the root included; a directory that is a symlink out of the root
// leads to the root's own directory of that name.
func TestNewFileTarget(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "dev"), outside, filepath.Join(root, outside)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "taken"), filepath.Join(root, "dev", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	mp := newFileTarget(root, "/dev/null")
	if mp == nil {
		t.Fatal("a missing file in an existing directory: nil")
	}
	st1, err1 := mp.f.Stat()
	st2, err2 := os.Lstat(filepath.Join(root, "dev", "null"))
	mp.Close()
	if err1 != nil || err2 != nil || !os.SameFile(st1, st2) || !st2.Mode().IsRegular() {
		t.Errorf("the handle is not the file made in the root's /dev (%v, %v)", err1, err2)
	}
	for _, dest := range []string{"/dev/null", "/dev/link", "/missing/x", "/", "/dev/.."} {
		if mp := newFileTarget(root, dest); mp != nil {
			mp.Close()
			t.Errorf("%s: a mount point, want nil", dest)
		}
	}
	mp = newFileTarget(root, "/escape/y")
	if mp == nil {
		t.Fatal("/escape/y: nil")
	}
	mp.Close()
	if _, err := os.Lstat(filepath.Join(root, outside, "y")); err != nil {
		t.Errorf("not made in the root's own directory: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("made outside the root: %v", ents)
	}
}
