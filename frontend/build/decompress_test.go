package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// TestDecompress: ADD extracts a tar compressed as Docker's and Podman's
// ADD extract it (gzip, bzip2, xz; zstd as Podman), and copies anything
// else as it is.
func TestDecompress(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	body := []byte("inside\n")
	tw.WriteHeader(&tar.Header{Name: "sub/file", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
	tw.Write(body)
	tw.Close()

	compress := map[string]func(io.Writer) io.WriteCloser{
		"plain": func(w io.Writer) io.WriteCloser { return nopCloser{w} },
		"gzip":  func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"xz": func(w io.Writer) io.WriteCloser {
			x, err := xz.NewWriter(w)
			if err != nil {
				t.Fatal(err)
			}
			return x
		},
		"zstd": func(w io.Writer) io.WriteCloser {
			z, err := zstd.NewWriter(w)
			if err != nil {
				t.Fatal(err)
			}
			return z
		},
	}
	dir := t.TempDir()
	for name, c := range compress {
		var buf bytes.Buffer
		w := c(&buf)
		w.Write(plain.Bytes())
		w.Close()
		p := filepath.Join(dir, name+".tar")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if !isArchive(p) {
			t.Errorf("%s: not taken for a tar", name)
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := decompress(bufio.NewReader(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		closeReader(r)
		f.Close()
		if err != nil || !bytes.Equal(got, plain.Bytes()) {
			t.Errorf("%s: decompressed %d bytes (%v), want the %d of the tar", name, len(got), err, plain.Len())
		}
	}
	// Compressed, but not a tar: copied as it is.
	var buf bytes.Buffer
	x, _ := xz.NewWriter(&buf)
	x.Write([]byte("just text, not a tar\n"))
	x.Close()
	p := filepath.Join(dir, "text.xz")
	os.WriteFile(p, buf.Bytes(), 0o644)
	if isArchive(p) {
		t.Error("an xz file that is not a tar is taken for one")
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
