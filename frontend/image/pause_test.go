package image

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The pause image holds the binary as /catatonit (0755, byte for byte),
// runs it as catatonit -P, and is made once: a second call finds it.
func TestPauseImage(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, filepath.Join(root, "storage"))
	bin := filepath.Join(root, "myctr-init")
	content := []byte("\x7fELF not really, but bytes to copy")
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	const name = "localhost/podman-pause:1.2.3-1700000000"
	img, err := s.PauseImage(name, bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(img.Names, name) {
		t.Errorf("names %v, want %s", img.Names, name)
	}
	if got := img.Config.Config.Entrypoint; !slices.Equal(got, PauseEntrypoint) {
		t.Errorf("entrypoint %q, want %q", got, PauseEntrypoint)
	}
	if len(img.LayerDirs) != 1 {
		t.Fatalf("layers %v, want one", img.LayerDirs)
	}
	f := filepath.Join(img.LayerDirs[0], "catatonit")
	got, err := os.ReadFile(f)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("/catatonit in the layer: %q, %v", got, err)
	}
	if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("/catatonit mode: %v, %v", fi, err)
	}
	again, err := s.PauseImage(name, filepath.Join(root, "not-there"))
	if err != nil || again.ID != img.ID {
		t.Errorf("second PauseImage: %v, %v; want the same image without reading the binary", again, err)
	}
	if _, err := s.PauseImage("localhost/podman-pause:other", filepath.Join(root, "not-there")); err == nil {
		t.Error("a missing binary made an image")
	}
}
