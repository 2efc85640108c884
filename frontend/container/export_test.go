package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteTreeTar checks the names of an exported root: relative to the
// root, no entry for the root itself, directories with a trailing slash,
// symlinks stored as such, and no PAX header where USTAR does.
func TestWriteTreeTar(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTreeTar(&buf, dir); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if len(h.PAXRecords) != 0 || h.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: PAX records %v, time %v: want a plain header, whole seconds", h.Name, h.PAXRecords, h.ModTime)
		}
		if h.Name == "link" && (h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/passwd") {
			t.Errorf("link: type %c target %q, want a symlink to /etc/passwd", h.Typeflag, h.Linkname)
		}
	}
	want := []string{"etc/", "etc/passwd", "etc/sub/", "link"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
}
