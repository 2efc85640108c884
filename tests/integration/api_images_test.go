//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeContext writes files (name -> content) into a new directory.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAPIBuild: `docker build` with the classic builder (as the docker
// CLI 20.10 uses unless told otherwise) builds through POST /build: the
// steps stream, build args and labels apply, and the image runs.
func TestAPIBuild(t *testing.T) {
	t.Setenv("DOCKER_BUILDKIT", "0")
	a := startAPIService(t)
	dir := writeContext(t, map[string]string{
		"Containerfile": "FROM " + imageFull + "\nARG X\nCOPY hello.txt /hello.txt\nRUN echo \"x=$X\" > /file && cat /hello.txt >> /file\n",
		"hello.txt":     "hello from the context\n",
	})
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-api-build:1", "it-api-build:2") })
	out, errOut, code := a.docker(t, 3*time.Minute, "build", "-t", "it-api-build:1", "-t", "it-api-build:2",
		"--build-arg", "X=1", "--label", "a=b", "-f", filepath.Join(dir, "Containerfile"), dir)
	t.Logf("docker build output:\n%s\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("docker build: exit %d", code)
	}
	for _, want := range []string{"Step 1/4 : FROM " + imageFull, "Successfully built", "Successfully tagged it-api-build:1\nSuccessfully tagged it-api-build:2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker build output lacks %q", want)
		}
	}
	out = a.mustDocker(t, "run", "--rm", "--network", "none", "it-api-build:1", "cat", "/file")
	if out != "x=1\nhello from the context\n" {
		t.Errorf("/file of the built image: %q", out)
	}
	out = a.mustDocker(t, "image", "inspect", "--format", "{{index .Config.Labels \"a\"}}", "it-api-build:2")
	if strings.TrimSpace(out) != "b" {
		t.Errorf("label a of the built image: %q, want b", out)
	}
	// A Containerfile outside the context travels in the context's tar
	// under a name the docker CLI makes up.
	other := writeContext(t, map[string]string{"Df": "FROM " + imageFull + "\nCOPY hello.txt /elsewhere.txt\n"})
	a.mustDocker(t, "build", "-t", "it-api-build:2", "-f", filepath.Join(other, "Df"), dir)
	out = a.mustDocker(t, "run", "--rm", "--network", "none", "it-api-build:2", "cat", "/elsewhere.txt")
	if out != "hello from the context\n" {
		t.Errorf("/elsewhere.txt of the image built with -f outside the context: %q", out)
	}
	// -q prints the image id alone.
	out = a.mustDocker(t, "build", "-q", "-t", "it-api-build:1", "--build-arg", "X=1", "-f", filepath.Join(dir, "Containerfile"), dir)
	if id := strings.TrimSpace(out); !strings.HasPrefix(id, "sha256:") || strings.Contains(id, "\n") {
		t.Errorf("docker build -q: %q, want the image id", out)
	}
}

// TestAPIBuildPullsBase: `docker build` of a Containerfile whose base is
// only in a registry pulls it (as dockerd does), and --pull pulls it again.
func TestAPIBuildPullsBase(t *testing.T) {
	t.Setenv("DOCKER_BUILDKIT", "0")
	reg := startRegistry(t, false)
	base := reg + "/it/api-build-base:1"
	newImage(t, "it-api-build-base-src:1")
	archive := filepath.Join(t.TempDir(), "base.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-api-build-base-src:1")
	skopeoPush(t, archive, base, "")
	mustMyctr(t, "rmi", "it-api-build-base-src:1")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-api-build-pulled:1", base) })
	a := startAPIService(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo built > /built\n"})
	for _, args := range [][]string{{"build", "-t", "it-api-build-pulled:1", dir}, {"build", "--pull", "-t", "it-api-build-pulled:1", dir}} {
		out, errOut, code := a.docker(t, 3*time.Minute, args...)
		if code != 0 || !strings.Contains(out, "Copying blob") {
			t.Errorf("docker %s: exit %d, the base's pull not in its output:\n%s\n%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", "it-api-build-pulled:1", "cat", "/built"); out != "built\n" {
		t.Errorf("/built of the image built on a pulled base: %q", out)
	}
}

// TestAPIBuildBadInstruction: a Containerfile error fails the build and
// names the file and line, without the service's temporary directory.
// DOCKER_BUILDKIT is unset: the docker CLI picks its classic builder by
// itself, since the service announces no BuildKit.
func TestAPIBuildBadInstruction(t *testing.T) {
	t.Setenv("DOCKER_BUILDKIT", "")
	os.Unsetenv("DOCKER_BUILDKIT")
	a := startAPIService(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + imageFull + "\nRUN true\nNOSUCHINSTRUCTION x\n",
	})
	out, errOut, code := a.docker(t, 3*time.Minute, "build", "-t", "it-api-build-bad:1", dir)
	all := out + errOut
	t.Logf("docker build output:\n%s", all)
	if code == 0 {
		t.Fatal("docker build of a bad Containerfile succeeded")
	}
	if !strings.Contains(all, "Dockerfile:3") && !strings.Contains(all, "line 3") {
		t.Errorf("the error does not name line 3 of the Dockerfile")
	}
	if strings.Contains(all, "build-contexts") {
		t.Errorf("the error names the service's temporary directory")
	}
	if strings.Contains(all, "session") || strings.Contains(all, "BuildKit") {
		t.Errorf("the docker CLI tried BuildKit")
	}
	if _, ok := findImage(t, "localhost/it-api-build-bad:1"); ok {
		t.Errorf("a failed build left an image")
	}
	// A failing RUN fails the build too.
	dir = writeContext(t, map[string]string{"Dockerfile": "FROM " + imageFull + "\nRUN exit 3\n"})
	_, _, code = a.docker(t, 3*time.Minute, "build", dir)
	if code == 0 {
		t.Error("docker build with a failing RUN succeeded")
	}
}

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

// TestAPILoginPush: docker login checks the credentials against a
// registry that asks for them (a wrong password fails) and keeps them on
// the client's side; docker push and pull then send them, and the
// service itself recorded nothing (myctr pull, with only the service's
// files, is refused).
func TestAPILoginPush(t *testing.T) {
	a := startAPIService(t)
	reg := startRegistry(t, true)
	src := newImage(t, "it-api-push:1")
	defer myctr(t, "rmi", "-f", src.Id)
	remote := reg + "/it/pushed:1"
	a.mustDocker(t, "tag", "it-api-push:1", remote)

	if out, errOut, code := a.docker(t, time.Minute, "push", remote); code == 0 {
		t.Errorf("docker push before login: exit 0, want a refusal\n%s%s", out, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "login", reg, "-u", itUser, "-p", "wrong-password"); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("docker login with a wrong password: exit %d stderr %q, want a refusal naming 401", code, errOut)
	}
	if out := a.mustDocker(t, "login", reg, "-u", itUser, "-p", itPassword); !strings.Contains(out, "Login Succeeded") {
		t.Errorf("docker login: %q", out)
	}
	out := a.mustDocker(t, "push", remote)
	if !strings.Contains(out, "1: digest: sha256:") {
		t.Errorf("docker push output: %q, want the tag's digest", out)
	}

	// The image is in the registry: pulled back, it is the same image.
	mustMyctr(t, "rmi", "-f", src.Id)
	if _, errOut, code := myctr(t, "pull", remote); code == 0 || !strings.Contains(strings.ToLower(errOut), "unauthorized") {
		t.Errorf("myctr pull without its own login: exit %d stderr %q, want unauthorized (the service keeps no credentials)", code, errOut)
	}
	a.mustDocker(t, "pull", remote)
	if got := mustFindImage(t, remote); got.Id != src.Id {
		t.Errorf("pulled back %s, want %s", got.Id, src.Id)
	}
}

// TestAPICommit: docker commit makes an image of a container's changes,
// with --change, --author and a name, that runs; an unknown container and
// a change myctr does not take are refused.
func TestAPICommit(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "commit")
	img := "localhost/it-api-commit:1"
	a.mustDocker(t, "run", "--name", name, "--network", "none", imageFull, "sh", "-c", "echo made-in-container > /made")
	defer myctr(t, "rm", "-f", name)
	defer myctr(t, "rmi", "-f", img)
	out := a.mustDocker(t, "commit", "-a", "it-author", "-c", `CMD ["cat", "/made"]`, "-c", "ENV COMMITTED=yes", name, img)
	if !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
		t.Errorf("docker commit: %q, want the image's id", out)
	}
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", img); out != "made-in-container\n" {
		t.Errorf("the committed image's CMD: %q, want the container's file", out)
	}
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", img, "sh", "-c", "echo $COMMITTED"); out != "yes\n" {
		t.Errorf("the committed image's ENV: %q", out)
	}
	if out := a.mustDocker(t, "image", "inspect", "--format", "{{.Author}}", img); strings.TrimSpace(out) != "it-author" {
		t.Errorf("the committed image's author: %q", out)
	}
	if _, errOut, code := a.docker(t, time.Minute, "commit", "no-such-container-api", img); code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("commit of an unknown container: exit %d stderr %q", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "commit", "-c", "RUN true", name, img); code == 0 || !strings.Contains(errOut, "invalid change") {
		t.Errorf("commit with a RUN change: exit %d stderr %q, want invalid change", code, errOut)
	}
}
