//go:build integration

package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPITag: `docker tag` names an image (a name with slashes too), and
// the image runs by its new name; an unknown image is Docker's error.
func TestAPITag(t *testing.T) {
	a := startAPIService(t)
	img := newImage(t, "it-api-tag:1")
	a.mustDocker(t, "tag", "it-api-tag:1", "localhost/it-api/tagged:2")
	if got := mustFindImage(t, "localhost/it-api/tagged:2"); got.Id != img.Id {
		t.Errorf("the new name is image %s, want %s", got.Id, img.Id)
	}
	out := a.mustDocker(t, "run", "--rm", "--network", "none", "localhost/it-api/tagged:2", "echo", "tag-ok")
	if !strings.Contains(out, "tag-ok") {
		t.Errorf("run by the new name: %q", out)
	}
	out = a.mustDocker(t, "image", "inspect", "--format", "{{.Id}}", "localhost/it-api/tagged:2")
	if !strings.Contains(out, img.Id) {
		t.Errorf("inspect by a name with slashes: %q", out)
	}
	_, errOut, code := a.docker(t, time.Minute, "tag", "no-such-image-api-tag", "x:1")
	if code == 0 || !strings.Contains(errOut, "No such image") {
		t.Errorf("docker tag of an unknown image: exit %d stderr %q", code, errOut)
	}
}

// TestAPISaveLoad: `docker save` writes a docker-archive, `docker load`
// adds it back after rmi, and the loaded image runs.
func TestAPISaveLoad(t *testing.T) {
	a := startAPIService(t)
	img := newImage(t, "it-api-save:1")
	f := filepath.Join(t.TempDir(), "f.tar")
	a.mustDocker(t, "save", "-o", f, "it-api-save:1")
	a.mustDocker(t, "rmi", "it-api-save:1")
	if _, ok := findImage(t, img.Id); ok {
		t.Fatalf("docker rmi left %s", img.Id)
	}
	out := a.mustDocker(t, "load", "-i", f)
	if !strings.Contains(out, "Loaded image: localhost/it-api-save:1") {
		t.Errorf("docker load output: %q", out)
	}
	if got := mustFindImage(t, "localhost/it-api-save:1"); got.Id != img.Id {
		t.Errorf("loaded %s, want %s", got.Id, img.Id)
	}
	out = a.mustDocker(t, "run", "--rm", "--network", "none", "it-api-save:1", "echo", "loaded-ok")
	if !strings.Contains(out, "loaded-ok") {
		t.Errorf("run of the loaded image: %q", out)
	}
	_, errOut, code := a.docker(t, time.Minute, "save", "-o", f, "no-such-image-api-save")
	if code == 0 || !strings.Contains(errOut, "No such image") {
		t.Errorf("docker save of an unknown image: exit %d stderr %q", code, errOut)
	}
}

// TestAPIImagePrune: `docker image prune -f` removes a dangling image and
// keeps named ones.
func TestAPIImagePrune(t *testing.T) {
	a := startAPIService(t)
	id := newImage(t, "it-api-prune-gone:1").Id
	mustMyctr(t, "untag", "it-api-prune-gone:1")
	named := newImage(t, "it-api-prune-keep:1")
	out := a.mustDocker(t, "image", "prune", "-f")
	if !strings.Contains(out, id) {
		t.Errorf("docker image prune output lacks %s: %q", id, out)
	}
	if _, ok := findImage(t, id); ok {
		t.Errorf("the dangling image %s is left", id)
	}
	if _, ok := findImage(t, named.Id); !ok {
		t.Errorf("prune removed the named image")
	}
}
