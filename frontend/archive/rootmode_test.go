package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRootMode: Unpack reports the mode of a "./" entry and nothing for a
// layer without one, and RootMode takes the topmost recorded mode over
// the layers above it, as containers/storage lets a layer inherit its
// parent's root.
func TestRootMode(t *testing.T) {
	base, upper := t.TempDir(), t.TempDir()
	t.Cleanup(func() { os.Chmod(base, 0o755) }) // for a non-root test run
	root := dir("./")
	root.mode = 0o555
	var mode *os.FileMode
	if err := Unpack(bytes.NewReader(makeTar(t, []entry{root, file("etc/os-release", "x")})), base, Options{RootMode: &mode}); err != nil {
		t.Fatal(err)
	}
	if mode == nil || *mode != 0o555 {
		t.Fatalf("root mode of a layer with ./ 0555: %v", mode)
	}
	mode = nil
	if err := Unpack(bytes.NewReader(makeTar(t, []entry{file("added", "y")})), upper, Options{RootMode: &mode}); err != nil {
		t.Fatal(err)
	}
	if mode != nil {
		t.Fatalf("a layer without ./ reported root mode %o", *mode)
	}
	os.Chmod(upper, 0o755)
	lowers := []string{upper, base} // topmost first
	if got := RootMode(lowers); got != 0o755 {
		t.Errorf("nothing recorded: %o, want the top layer's own 755", got)
	}
	if err := os.WriteFile(base+RootModeSuffix, []byte("555\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := RootMode(lowers); got != 0o555 {
		t.Errorf("the base layer recorded 555, the one above none: %o, want 555", got)
	}
	if err := os.WriteFile(upper+RootModeSuffix, []byte("711\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := RootMode(lowers); got != 0o711 {
		t.Errorf("the top layer recorded 711: %o", got)
	}
	if got := RootMode([]string{filepath.Join(t.TempDir(), "gone")}); got != 0o755 {
		t.Errorf("no layer: %o, want 755", got)
	}
}
