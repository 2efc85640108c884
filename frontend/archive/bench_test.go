package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// benchLayer builds an uncompressed layer shaped like a distribution's
// /usr: dirs directories of files small files each (4 KiB bodies), and one
// large file, so that per-entry costs (path resolution, metadata) and
// plain copying both show.
func benchLayer(b *testing.B, dirs, files int, large int64) []byte {
	b.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	body := bytes.Repeat([]byte("x"), 4096)
	add := func(h *tar.Header, data []byte) {
		h.ModTime = mtime
		if err := tw.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	add(&tar.Header{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "usr/share/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	for d := 0; d < dirs; d++ {
		dir := fmt.Sprintf("usr/share/pkg%04d/", d)
		add(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
		for f := 0; f < files; f++ {
			add(&tar.Header{Name: fmt.Sprintf("%sfile%03d", dir, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body)
		}
		add(&tar.Header{Name: dir + "link", Typeflag: tar.TypeSymlink, Linkname: "file000", Mode: 0o777}, nil)
	}
	big := bytes.Repeat([]byte("y"), int(large))
	add(&tar.Header{Name: "usr/lib/big.so", Typeflag: tar.TypeReg, Mode: 0o755, Size: large}, big)
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkUnpackLayer unpacks a 200 MB layer of about 40,000 entries
// (mostly 4 KiB files) into a fresh directory per iteration.
func BenchmarkUnpackLayer(b *testing.B) {
	layer := benchLayer(b, 400, 100, 32<<20)
	b.SetBytes(int64(len(layer)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dest, err := os.MkdirTemp(b.TempDir(), "layer")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Unpack(bytes.NewReader(layer), dest, Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}
