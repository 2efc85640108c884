package container

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/myctr/myctr/frontend/archive"
)

// TestPlaceCopy checks cp's placement rules on plain directories, with
// streams made by WriteCopyTar, as the host side of a copy uses them.
func TestPlaceCopy(t *testing.T) {
	tests := []struct {
		name      string
		src       string // below the source tree: "f" (a file) or "d" (a directory), "d/."
		dest      string // below the destination tree
		overwrite bool
		want      []string // files that must exist after, below the destination tree
		err       error
	}{
		{name: "file into a directory", src: "f", dest: "dir", want: []string{"dir/f"}},
		{name: "file to a new name", src: "f", dest: "new", want: []string{"new"}},
		{name: "file over a file", src: "f", dest: "file", want: []string{"file"}},
		{name: "file into a missing directory", src: "f", dest: "missing/", err: ErrCopyNotFound},
		{name: "file below a missing parent", src: "f", dest: "missing/x", err: ErrCopyNotFound},
		{name: "file through a dangling link", src: "f", dest: "dangling", want: []string{"target"}},
		{name: "directory into a directory", src: "d", dest: "dir", want: []string{"dir/d/a", "dir/d/sub/b"}},
		{name: "directory to a new name", src: "d", dest: "newdir", want: []string{"newdir/a", "newdir/sub/b"}},
		{name: "contents into a directory", src: "d/.", dest: "dir", want: []string{"dir/a", "dir/sub/b"}},
		{name: "contents to a new name", src: "d/.", dest: "newdir", want: []string{"newdir/a", "newdir/sub/b"}},
		{name: "directory onto a file", src: "d", dest: "file", err: ErrCopyDirToFile},
		{name: "file onto a directory", src: "f", dest: "clash", err: archive.ErrKindClash},
		{name: "file onto a directory, --overwrite", src: "f", dest: "clash", overwrite: true, want: []string{"clash/f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcDir, destDir := t.TempDir(), t.TempDir()
			for p, body := range map[string]string{"f": "file\n", "d/a": "a\n", "d/sub/b": "b\n"} {
				os.MkdirAll(filepath.Join(srcDir, filepath.Dir(p)), 0o755)
				os.WriteFile(filepath.Join(srcDir, p), []byte(body), 0o644)
			}
			os.MkdirAll(filepath.Join(destDir, "dir"), 0o755)
			os.MkdirAll(filepath.Join(destDir, "clash", "f"), 0o755)
			os.WriteFile(filepath.Join(destDir, "file"), []byte("old\n"), 0o644)
			os.Symlink("target", filepath.Join(destDir, "dangling"))

			var stream bytes.Buffer
			src := srcDir + "/" + tt.src // not Join, which drops a trailing "/."
			if err := WriteCopyTar(&stream, src, true); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(destDir, tt.dest)
			if len(tt.dest) > 0 && tt.dest[len(tt.dest)-1] == '/' {
				dest += "/"
			}
			err := PlaceCopy(&stream, CopyPlace{Dest: dest, Contents: CopyContents(src), Overwrite: tt.overwrite})
			if !errors.Is(err, tt.err) {
				t.Fatalf("PlaceCopy = %v, want %v", err, tt.err)
			}
			for _, w := range tt.want {
				if _, err := os.Stat(filepath.Join(destDir, w)); err != nil {
					t.Errorf("want %s: %v", w, err)
				}
			}
		})
	}
}
