//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCpStoppedAcrossMounts: cp with a container that is not running goes
// through its volumes and binds, the deepest one that holds the path, in
// both directions; nothing lands in the volume the mount point sits on,
// and a read-only bind stays unwritten.
func TestCpStoppedAcrossMounts(t *testing.T) {
	v1, v2 := volName(t, "outer"), volName(t, "inner")
	mustMyctr(t, "volume", "create", v1)
	mustMyctr(t, "volume", "create", v2)
	m1, m2 := volumeInspect(t, v1).Mountpoint, volumeInspect(t, v2).Mountpoint
	host, bind, ro := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("into the mount\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := ctrName(t, "")
	mustMyctr(t, "create", "--name", name, "-v", v1+":/data", "-v", v2+":/data/sub",
		"-v", bind+":/data/bind", "-v", ro+":/ro:ro", image, "true")

	mustCp(t, filepath.Join(host, "f"), name+":/data/sub")
	mustCp(t, filepath.Join(host, "f"), name+":/data/bind/g")
	if got := readFile(t, filepath.Join(m2, "f")); got != "into the mount\n" {
		t.Errorf("cp into /data/sub: the inner volume has %q", got)
	}
	if got := readFile(t, filepath.Join(bind, "g")); got != "into the mount\n" {
		t.Errorf("cp into /data/bind/g: the bind's source has %q", got)
	}
	if ents, err := os.ReadDir(m1); err != nil || len(ents) != 0 {
		t.Errorf("the outer volume holds %v (%v), want nothing", ents, err)
	}

	// Out of a mount, and the mount point itself by its name.
	out := t.TempDir()
	mustCp(t, name+":/data/sub/f", filepath.Join(out, "back"))
	if got := readFile(t, filepath.Join(out, "back")); got != "into the mount\n" {
		t.Errorf("cp out of /data/sub/f: %q", got)
	}
	mustCp(t, name+":/data/bind", out)
	if got := readFile(t, filepath.Join(out, "bind", "g")); got != "into the mount\n" {
		t.Errorf("cp out of /data/bind: bind/g has %q", got)
	}

	if o, e, code := myctr(t, "cp", filepath.Join(host, "f"), name+":/ro/"); code == 0 || !strings.Contains(e, "read-only") {
		t.Errorf("cp into a read-only bind: exit %d, want a read-only error\nstdout: %s\nstderr: %s", code, o, e)
	}
	if _, err := os.Stat(filepath.Join(ro, "f")); err == nil {
		t.Errorf("cp wrote into a read-only bind's source")
	}

	// Started, the container sees what was copied where it was copied.
	mustMyctr(t, "rm", name)
	mustMyctr(t, "volume", "inspect", v2)
	got := mustMyctr(t, "run", "--rm", "-v", v1+":/data", "-v", v2+":/data/sub", image, "cat", "/data/sub/f")
	if got != "into the mount\n" {
		t.Errorf("a container with the volumes reads %q", got)
	}
}
