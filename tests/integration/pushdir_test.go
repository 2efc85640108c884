//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPushDir: push to dir:PATH writes containers/image's dir: layout, as
// Podman's push does: the version file, manifest.json (the local manifest
// digest), and each blob under its digest's hex, which skopeo reads back;
// an earlier copy there is replaced, and a directory holding anything
// else is refused. The events log names the image and the destination.
func TestPushDir(t *testing.T) {
	since := time.Now().Add(-time.Second).Format(time.RFC3339)
	src := newImage(t, "it-pushdir:1")
	dir := filepath.Join(t.TempDir(), "copy")
	for i := 0; i < 2; i++ { // the second replaces the first
		if _, errOut, code := myctr(t, "push", "it-pushdir:1", "dir:"+dir); code != 0 || !strings.Contains(errOut, "Copying blob sha256:") {
			t.Fatalf("push to dir: exit %d, stderr %q", code, errOut)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "version")); string(b) != "Directory Transport Version: 1.1\n" {
		t.Errorf("version file: %q", b)
	}
	mf, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := sha256.Sum256(mf); "sha256:"+hex.EncodeToString(d[:]) != src.Digest {
		t.Errorf("manifest.json's digest is sha256:%x, want the local %s", d, src.Digest)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, e := range ents {
		if e.Name() == "version" || e.Name() == "manifest.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if d := sha256.Sum256(b); hex.EncodeToString(d[:]) != e.Name() {
			t.Errorf("blob %s has digest %x", e.Name(), d)
		}
		blobs++
	}
	if _, err := os.Stat(filepath.Join(dir, src.Id)); err != nil || blobs < 2 {
		t.Errorf("the copy holds %d blobs (config %s: %v), want the config and the layers", blobs, src.Id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "skopeo", "inspect", "dir:"+dir).Output()
	if err != nil {
		t.Fatalf("skopeo inspect dir:%s: %v", dir, err)
	}
	var info struct{ Digest string }
	if err := json.Unmarshal(out, &info); err != nil || info.Digest != src.Digest {
		t.Errorf("skopeo reads digest %q (%v) from the copy, want %s", info.Digest, err, src.Digest)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "mine"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := myctr(t, "push", "it-pushdir:1", "dir:"+other); code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, "not empty") {
		t.Errorf("push into a directory of other files: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "mine")); string(b) != "keep" {
		t.Errorf("the refused push changed the directory's file: %q", b)
	}

	evs := mustMyctr(t, "events", "--stream=false", "--since", since, "--filter", "type=image", "--filter", "event=push", "--format", "{{.ID}} {{.Name}}")
	if want := src.Id + " dir:" + dir; !strings.Contains(evs, want) {
		t.Errorf("push events %q, want %q", evs, want)
	}
}
