package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestUnpackCopyOptions: the options of a cp stream. Plain extracts
// ".wh." names as files (a copy deletes nothing); KeepKinds refuses to
// replace a directory with a file and a file with a directory, and lets a
// file replace a file.
func TestUnpackCopyOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		entries []entry
		want    []string // paths that exist after
		gone    []string // paths that do not
		err     error
	}{
		{name: "plain keeps whiteout names", opts: Options{Plain: true},
			entries: []entry{file(".wh.keep", "x"), file("d/.wh..wh..opq", "y")},
			want:    []string{".wh.keep", "keep", "d/.wh..wh..opq"}},
		{name: "file over directory", opts: Options{KeepKinds: true},
			entries: []entry{file("adir", "x")}, want: []string{"adir/inside"}, err: ErrKindClash},
		{name: "directory over file", opts: Options{KeepKinds: true},
			entries: []entry{dir("keep")}, want: []string{"keep"}, err: ErrKindClash},
		{name: "file over file", opts: Options{KeepKinds: true},
			entries: []entry{file("keep", "new")}, want: []string{"keep"}},
		{name: "file over directory, overwrite", opts: Options{},
			entries: []entry{file("adir", "x")}, gone: []string{"adir/inside"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			os.WriteFile(filepath.Join(dest, "keep"), []byte("old"), 0o644)
			os.MkdirAll(filepath.Join(dest, "adir"), 0o755)
			os.WriteFile(filepath.Join(dest, "adir", "inside"), nil, 0o644)
			err := Unpack(bytes.NewReader(makeTar(t, tt.entries)), dest, tt.opts)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Unpack = %v, want %v", err, tt.err)
			}
			for _, p := range tt.want {
				if _, err := os.Lstat(filepath.Join(dest, p)); err != nil {
					t.Errorf("want %s: %v", p, err)
				}
			}
			for _, p := range tt.gone {
				if _, err := os.Lstat(filepath.Join(dest, p)); err == nil {
					t.Errorf("%s is still there", p)
				}
			}
		})
	}
}
