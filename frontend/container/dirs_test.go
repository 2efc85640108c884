package container

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// stickyTmp is a fresh TMPDIR like /tmp (world-writable, sticky), with
// XDG_RUNTIME_DIR unset, so that the fallback run root lands in it.
func stickyTmp(t *testing.T) string {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	return tmp
}

func fallbackDirs(t *testing.T) Dirs {
	return Dirs{Root: filepath.Join(t.TempDir(), "root"), RunRoot: fallbackRunRoot()}
}

func TestFallbackRunRoot(t *testing.T) {
	tmp := stickyTmp(t)
	want := filepath.Join(tmp, "myctr-run-"+strconv.Itoa(os.Getuid()))
	if got := fallbackRunRoot(); got != want {
		t.Fatalf("fallbackRunRoot = %s, want %s", got, want)
	}
	if os.Geteuid() != 0 {
		if got := DefaultDirs().RunRoot; got != want {
			t.Errorf("DefaultDirs().RunRoot = %s, want %s", got, want)
		}
	}

	t.Run("created private", func(t *testing.T) {
		stickyTmp(t)
		old := syscall.Umask(0)
		defer syscall.Umask(old)
		d := fallbackDirs(t)
		for i := 0; i < 2; i++ {
			if err := d.Ensure(); err != nil {
				t.Fatalf("Ensure %d: %v", i, err)
			}
		}
		fi, err := os.Lstat(d.RunRoot)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("run root: %v, %v; want a directory, mode 0700 whatever the umask", fi.Mode(), err)
		}
	})

	refused := []struct {
		name  string
		plant func(t *testing.T, p string)
	}{
		{"symlink to a directory", func(t *testing.T, p string) {
			target := t.TempDir()
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, p string) {
			if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere"), p); err != nil {
				t.Fatal(err)
			}
		}},
		{"open to all", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
		{"a file", func(t *testing.T, p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's", func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory to another uid")
			}
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			stickyTmp(t)
			d := fallbackDirs(t)
			tc.plant(t, d.RunRoot)
			err := d.Ensure()
			var ud *UnsafeDirError
			if !errors.Is(err, ErrUnsafeRunRoot) || !errors.As(err, &ud) || ud.Path != d.RunRoot || ud.Hint == "" {
				t.Fatalf("Ensure: %v; want an UnsafeDirError naming %s with a hint", err, d.RunRoot)
			}
			t.Logf("error (for the record): %v", err)
			if target, err := os.Readlink(d.RunRoot); err == nil {
				if ents, _ := os.ReadDir(target); len(ents) != 0 {
					t.Errorf("Ensure wrote through the symlink: %v", ents)
				}
			}
		})
	}

	t.Run("parent writable by others, not sticky", func(t *testing.T) {
		tmp := stickyTmp(t)
		if err := os.Chmod(tmp, 0o777); err != nil {
			t.Fatal(err)
		}
		err := fallbackDirs(t).Ensure()
		if !errors.Is(err, ErrUnsafeRunRoot) {
			t.Fatalf("Ensure: %v; want ErrUnsafeRunRoot", err)
		}
	})

	t.Run("explicit run root is followed", func(t *testing.T) {
		stickyTmp(t)
		real := t.TempDir()
		link := filepath.Join(t.TempDir(), "run")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		d := Dirs{Root: filepath.Join(t.TempDir(), "root"), RunRoot: link}
		if err := d.Ensure(); err != nil {
			t.Fatalf("Ensure of a --runroot that is the user's symlink: %v", err)
		}
	})
}

// TestRunDirNoFollow: the per-container runtime directories and files are
// never reached through a symlink found in the run root.
func TestRunDirNoFollow(t *testing.T) {
	runRoot := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(runRoot, "containers", "id1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(runRoot, "containers", "id1", "userdata")); err != nil {
		t.Fatal(err)
	}
	if _, err := openRunPath(runRoot, "containers/id1/userdata"); !errors.Is(err, ErrUnsafeRunRoot) {
		t.Errorf("openRunPath through a symlink: %v, want ErrUnsafeRunRoot", err)
	}
	// A symlink at a file's name is replaced, not written through.
	dir, err := openRunPath(runRoot, "containers/id2/userdata")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("orig"), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(runRoot, "containers", "id2", "userdata", "hosts")
	if err := os.Symlink(victim, hosts); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(runRoot, "containers", "id2", "userdata", ".hosts.tmp")); err != nil {
		t.Fatal(err)
	}
	if err := writeRunFile(dir, "hosts", []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatalf("writeRunFile: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "orig" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, err := os.Lstat(hosts); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("hosts: %v, %v; want a regular file", fi, err)
	}
}

// TestDefaultDirsInUnshare: inside `myctr unshare` (uid 0 of the user's
// namespace) the user's own directories are kept, as for the user.
func TestDefaultDirsInUnshare(t *testing.T) {
	data, run := t.TempDir(), t.TempDir()
	t.Setenv("MYCTR_UNSHARE", "1")
	t.Setenv("XDG_DATA_HOME", data)
	t.Setenv("XDG_RUNTIME_DIR", run)
	d := DefaultDirs()
	if d.Root != filepath.Join(data, "myctr") || d.RunRoot != filepath.Join(run, "myctr") {
		t.Errorf("DefaultDirs() = %+v, want below %s and %s", d, data, run)
	}
}
