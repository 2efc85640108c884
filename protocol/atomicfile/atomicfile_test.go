package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// leftovers lists the temporary files in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteFileReplacesContentAndMode(t *testing.T) {
	old := syscall.Umask(0o077) // the mode must not depend on it
	defer syscall.Umask(old)
	for _, tc := range []struct {
		name string
		old  []byte // nil: no file before
		new  []byte
		perm fs.FileMode
	}{
		{"new file 0600", nil, []byte("one"), 0o600},
		{"new file 0644", nil, []byte("one"), 0o644},
		{"replace longer by shorter", []byte("a long old content"), []byte("new"), 0o640},
		{"replace by empty", []byte("old"), []byte{}, 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if tc.old != nil {
				if err := os.WriteFile(p, tc.old, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(p, tc.new, tc.perm); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, tc.new) {
				t.Errorf("content %q, %v; want %q", got, err, tc.new)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.perm)
			}
			if l := leftovers(t, dir); l != nil {
				t.Errorf("temporary files left: %q", l)
			}
		})
	}
}

func TestWriteStreams(t *testing.T) {
	p := filepath.Join(t.TempDir(), "archive.tar")
	err := Write(p, 0o644, func(w io.Writer) error {
		for i := 0; i < 3; i++ {
			if _, err := io.WriteString(w, "part;"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "part;part;part;" {
		t.Errorf("content %q", got)
	}
}

// A writer that fails half-way leaves the old content and no temporary.
func TestWriteFailingWriterKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "record.json")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full, say")
	err := Write(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half of the new")
		return boom
	})
	if err != boom {
		t.Fatalf("error %v, want the writer's own %v", err, boom)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("content %q after a failed write, want the old one", got)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary files left: %q", l)
	}
}

// A rename that fails (here: a directory has the final name) is reported
// and leaves no temporary; the directory is not synced for nothing.
func TestWriteFailingRename(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "taken")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	synced := 0
	defer func(f func(string) error) { syncDir = f }(syncDir)
	syncDir = func(string) error { synced++; return nil }

	err := WriteFile(p, []byte("x"), 0o600)
	// os.Rename refuses a directory as the new name (EEXIST); rename(2)
	// itself would say EISDIR.
	if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("error %v, want the rename's", err)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary files left: %q", l)
	}
	if synced != 0 {
		t.Errorf("directory synced %d times after a failed rename", synced)
	}
}

// The rename seam: its error is returned as is (wrapped).
func TestWriteReturnsRenameError(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("rename failed")
	defer func(f func(string, string) error) { rename = f }(rename)
	rename = func(string, string) error { return boom }
	if err := WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); !errors.Is(err, boom) {
		t.Fatalf("error %v, want one wrapping %v", err, boom)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary files left: %q", l)
	}
}

// After the rename, the file's directory is synced, and a failure to sync
// it is an error: the caller must not believe the write is durable.
func TestWriteSyncsDirectory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	var synced []string
	var renamed bool
	defer func(f func(string, string) error) { rename = f }(rename)
	defer func(f func(string) error) { syncDir = f }(syncDir)
	rename = func(a, b string) error { renamed = true; return os.Rename(a, b) }
	syncDir = func(d string) error {
		if !renamed {
			t.Error("directory synced before the rename")
		}
		synced = append(synced, d)
		return nil
	}
	if err := WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Errorf("synced %q, want [%q]", synced, dir)
	}

	boom := errors.New("EIO")
	syncDir = func(string) error { return boom }
	if err := WriteFile(p, []byte("y"), 0o600); !errors.Is(err, boom) {
		t.Errorf("error %v, want one wrapping %v", err, boom)
	}
}

// WriteFileNoDirSync and WriteFileVolatile replace the file as WriteFile
// does, but leave the directory unsynced.
func TestWriteFileNoDirSync(t *testing.T) {
	for name, write := range map[string]func(string, []byte, fs.FileMode) error{
		"WriteFileNoDirSync": WriteFileNoDirSync, "WriteFileVolatile": WriteFileVolatile,
	} {
		t.Run(name, func(t *testing.T) { testNoDirSync(t, write) })
	}
}

func testNoDirSync(t *testing.T, write func(string, []byte, fs.FileMode) error) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	defer func(f func(string) error) { syncDir = f }(syncDir)
	syncDir = func(string) error { t.Error("directory synced"); return nil }
	for _, content := range []string{"one", "two"} {
		if err := write(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("content %q, %v; want %q", got, err, content)
		}
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary files left: %q", l)
	}
}

// The real directory sync works on a real directory and fails on a
// missing one.
func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncDir of a missing directory: %v", err)
	}
}

// Readers that open the file while writers replace it again and again see
// one whole version each time, never a partial or empty file.
func TestReadersNeverSeePartialFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	versions := [][]byte{
		bytes.Repeat([]byte("a"), 64<<10),
		bytes.Repeat([]byte("b"), 3),
		bytes.Repeat([]byte("c"), 200<<10),
	}
	if err := WriteFile(p, versions[0], 0o600); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				v := versions[(w+i)%len(versions)]
				// A writer that hands out the content in small pieces, so a
				// reader of the final name would catch a partial one.
				err := Write(p, 0o600, func(out io.Writer) error {
					for r := bytes.NewReader(v); r.Len() > 0; {
						if _, err := io.CopyN(out, r, 4096); err != nil && err != io.EOF {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for !stop.Load() {
				got, err := os.ReadFile(p)
				if err != nil {
					errs <- err
					return
				}
				if !isVersion(got, versions) {
					errs <- fmt.Errorf("a reader saw a partial file of %d bytes", len(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l := leftovers(t, dir); l != nil {
		t.Errorf("temporary files left: %q", l)
	}
}

func isVersion(b []byte, versions [][]byte) bool {
	for _, v := range versions {
		if bytes.Equal(b, v) {
			return true
		}
	}
	return false
}

// The temporary name starts with TempPrefix (the sweeps of crash
// leftovers rely on it) and stays a valid file name for a long final name.
func TestTempName(t *testing.T) {
	dir := t.TempDir()
	f, err := createTemp(dir, strings.Repeat("n", 250))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := filepath.Base(f.Name())
	if !strings.HasPrefix(base, TempPrefix) || len(base) > 255 {
		t.Errorf("temporary name %q", base)
	}
	st, _ := f.Stat()
	if st.Mode().Perm() != 0o600&^currentUmask() {
		t.Errorf("temporary created with mode %v", st.Mode().Perm())
	}
}

func currentUmask() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}

// The cost of each durability step for a record of container.json's size
// (a few KB), on whatever file system holds the test's temporary directory
// (a tmpfs makes every fsync free: point TMPDIR at a disk).
func BenchmarkReplace(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 4096)
	for _, bc := range []struct {
		name  string
		write func(string, []byte, fs.FileMode) error
	}{
		{"rename only", func(p string, d []byte, m fs.FileMode) error {
			tmp := p + ".tmp"
			if err := os.WriteFile(tmp, d, m); err != nil {
				return err
			}
			return os.Rename(tmp, p)
		}},
		{"WriteFileVolatile", WriteFileVolatile},
		{"WriteFileNoDirSync", WriteFileNoDirSync},
		{"WriteFile", WriteFile},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "container.json")
			for b.Loop() {
				if err := bc.write(p, data, 0o600); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
