//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	registryBin = "/usr/bin/docker-registry" // Debian's docker-registry (distribution 2.8)
	// The test registry's only account. The hash is bcrypt (cost 4) of
	// itPassword, as htpasswd -B would write it.
	itUser     = "it-user"
	itPassword = "it-pass-123"
	itHtpasswd = itUser + ":$2b$04$UWsu0ahBv6k0k/IUtuQQ8eaSY.p77IV92nnqOVjZcjb4UWKQJC5XK\n"
)

// startRegistry runs a real registry as the test user on a free loopback
// port, with storage in a temporary directory, and stops it when the test
// ends. With auth, it asks for itUser's basic authentication.
func startRegistry(t *testing.T, auth bool) string {
	t.Helper()
	if _, err := os.Stat(registryBin); err != nil {
		t.Fatalf("needs %s (apt-get install docker-registry; tests/setup/deps.sh does): %v", registryBin, err)
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("needs skopeo to push test images (tests/setup/deps.sh installs it): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), addr)
	if auth {
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(itHtpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: myctr-test\n    path: %s\n", pw)
	}
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	cmd := exec.Command(registryBin, "serve", confPath)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", registryBin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("registry log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return addr
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("registry exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry not answering on %s after 15 s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(pollInterval)
	}
}

// skopeoPush copies an OCI archive into the registry, over plain HTTP.
func skopeoPush(t *testing.T, archive, dest string, creds string) {
	t.Helper()
	args := []string{"--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"}
	if creds != "" {
		args = append(args, "--dest-creds", creds)
	}
	args = append(args, "oci-archive:"+archive, "docker://"+dest)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "skopeo", args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// myctrEnv runs myctr with extra environment and stdin.
func myctrEnv(t *testing.T, env []string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		e.WriteString(err.Error())
	}
	t.Logf("myctr %s -> exit %d", strings.Join(args, " "), code)
	return o.String(), e.String(), code
}

// ImageEntry is one object of `images --format json`.
type ImageEntry struct {
	Id     string
	Names  []string
	Digest string
}

func imagesJSON(t *testing.T) []ImageEntry {
	t.Helper()
	var list []ImageEntry
	out := mustMyctr(t, "images", "--format", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("images --format json: %v\n%s", err, out)
	}
	return list
}

// findImage returns the image with that name or id, if any.
func findImage(t *testing.T, ref string) (ImageEntry, bool) {
	t.Helper()
	for _, img := range imagesJSON(t) {
		if img.Id == ref {
			return img, true
		}
		for _, n := range img.Names {
			if n == ref {
				return img, true
			}
		}
	}
	return ImageEntry{}, false
}

func mustFindImage(t *testing.T, ref string) ImageEntry {
	t.Helper()
	img, ok := findImage(t, ref)
	if !ok {
		t.Fatalf("no image %s in `myctr images`", ref)
	}
	return img
}

// newImage imports a fresh busybox image (its own layer: the tar's
// timestamps differ) as name and returns it.
func newImage(t *testing.T, name string) ImageEntry {
	t.Helper()
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := writeBusyboxTar(tarball); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(mustMyctr(t, "import", tarball, name))
	img := mustFindImage(t, id)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", id) })
	return img
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func TestPullFromRegistry(t *testing.T) {
	reg := startRegistry(t, false)
	src := newImage(t, "it-pull-src:1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-pull-src:1")
	remote := reg + "/it/app:1"
	skopeoPush(t, archive, remote, "")
	// Delete the source: its layer goes, so the pull must fetch and unpack it.
	mustMyctr(t, "rmi", "it-pull-src:1")
	if _, ok := findImage(t, src.Id); ok {
		t.Fatalf("image %s still there after rmi", src.Id)
	}

	out, errOut, code := myctr(t, "pull", remote)
	if code != 0 {
		t.Fatalf("pull: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := lastLine(out); got != src.Id {
		t.Errorf("pull printed %q, want the image id %s", got, src.Id)
	}
	if !strings.Contains(errOut, "Copying blob sha256:") || !strings.Contains(errOut, " done") {
		t.Errorf("pull progress (not a terminal: one line per blob):\n%s", errOut)
	}
	got := mustFindImage(t, remote)
	if got.Id != src.Id || got.Digest != src.Digest {
		t.Errorf("pulled id %s digest %s, want %s %s (save and push keep both)", got.Id, got.Digest, src.Id, src.Digest)
	}
	if out := mustMyctr(t, "run", "--rm", remote, "cat", "/etc/passwd"); !strings.Contains(out, "root:x:0:0") {
		t.Errorf("run of the pulled image: %q", out)
	}

	// Again, quietly: nothing to fetch, only the id.
	out = mustMyctr(t, "pull", "-q", remote)
	if strings.TrimSpace(out) != src.Id {
		t.Errorf("pull -q printed %q", out)
	}
	// A short name through unqualified-search-registries.
	conf := filepath.Join(t.TempDir(), "registries.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("unqualified-search-registries = [%q]\n", reg)), 0o644)
	out, errOut, code = myctrEnv(t, []string{"CONTAINERS_REGISTRIES_CONF=" + conf}, nil, "pull", "-q", "it/app:1")
	if code != 0 || strings.TrimSpace(out) != src.Id {
		t.Errorf("pull of a short name: exit %d %q %s", code, out, errOut)
	}
	_, errOut, code = myctrEnv(t, []string{"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(t.TempDir(), "none.conf")}, nil, "pull", "it/app:1")
	if code != 125 || !strings.Contains(errOut, "Hint:") {
		t.Errorf("pull of a short name without search registries: exit %d, stderr %s", code, errOut)
	}
	_, errOut, code = myctr(t, "pull", reg+"/it/nothing:1")
	if code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("pull of a missing image: exit %d, stderr %s", code, errOut)
	}
	mustMyctr(t, "rmi", remote)
}

func TestPullLoginLogout(t *testing.T) {
	reg := startRegistry(t, true)
	runtimeDir := t.TempDir()
	env := []string{"XDG_RUNTIME_DIR=" + runtimeDir, "REGISTRY_AUTH_FILE="}
	src := newImage(t, "it-auth-src:1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-auth-src:1")
	remote := reg + "/it/private:1"
	skopeoPush(t, archive, remote, itUser+":"+itPassword)

	_, errOut, code := myctrEnv(t, env, nil, "pull", remote)
	if code != 125 || !strings.Contains(errOut, "myctr login") {
		t.Errorf("pull without credentials: exit %d, stderr %s", code, errOut)
	}
	_, errOut, code = myctrEnv(t, env, []byte("wrong\n"), "login", "-u", itUser, "--password-stdin", reg)
	if code == 0 {
		t.Errorf("login with a wrong password succeeded: %s", errOut)
	}
	authFile := filepath.Join(runtimeDir, "containers", "auth.json")
	out, errOut, code := myctrEnv(t, env, []byte(itPassword+"\n"), "login", "-u", itUser, "--password-stdin", reg)
	if code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	fi, err := os.Stat(authFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth file %s: %v %v", authFile, fi, err)
	}
	out, errOut, code = myctrEnv(t, env, nil, "pull", "-q", remote)
	if code != 0 || strings.TrimSpace(out) != src.Id {
		t.Fatalf("pull after login: exit %d %q %s", code, out, errOut)
	}
	if _, _, code := myctrEnv(t, env, nil, "logout", reg); code != 0 {
		t.Errorf("logout: exit %d", code)
	}
	if b, _ := os.ReadFile(authFile); strings.Contains(string(b), reg) {
		t.Errorf("auth file after logout: %s", b)
	}
	mustMyctr(t, "rmi", remote)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, format := range []string{"oci-archive", "docker-archive"} {
		t.Run(format, func(t *testing.T) {
			name := "localhost/it-saveload-" + strings.TrimSuffix(format, "-archive") + ":1"
			src := newImage(t, name)
			archive := filepath.Join(t.TempDir(), "img.tar")
			mustMyctr(t, "save", "--format", format, "-o", archive, name)
			mustMyctr(t, "rmi", name)
			out := mustMyctr(t, "load", "-i", archive)
			if !strings.Contains(out, "Loaded image: "+name) {
				t.Errorf("load printed %q", out)
			}
			got := mustFindImage(t, name)
			if got.Id != src.Id {
				t.Errorf("loaded id %s, want %s", got.Id, src.Id)
			}
			if format == "oci-archive" && got.Digest != src.Digest {
				t.Errorf("loaded digest %s, want %s", got.Digest, src.Digest)
			}
			if out := mustMyctr(t, "run", "--rm", name, "echo", "loaded"); strings.TrimSpace(out) != "loaded" {
				t.Errorf("run of the loaded image: %q", out)
			}
			// From standard input too.
			data, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			if out, errOut, code := myctrEnv(t, nil, data, "load"); code != 0 || !strings.Contains(out, name) {
				t.Errorf("load from stdin: exit %d %q %s", code, out, errOut)
			}
			// From a URL, as Podman's load -i URL (a server on loopback).
			srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(archive))))
			defer srv.Close()
			mustMyctr(t, "rmi", name)
			if out, errOut, code := myctr(t, "load", "-i", srv.URL+"/img.tar"); code != 0 || !strings.Contains(out, "Loaded image: "+name) {
				t.Errorf("load -i URL: exit %d %q %s", code, out, errOut)
			}
			if _, errOut, code := myctr(t, "load", "-i", srv.URL+"/none.tar"); code == 0 || !strings.Contains(errOut, "404 Not Found") {
				t.Errorf("load -i of a URL not there: exit %d %q", code, errOut)
			}
			// Saved by ID, as with Podman's save, it loads without a name.
			mustMyctr(t, "save", "--format", format, "-o", archive, src.Id[:12])
			mustMyctr(t, "rmi", name)
			mustMyctr(t, "load", "-i", archive)
			if got := mustFindImage(t, src.Id); len(got.Names) != 0 {
				t.Errorf("saved by ID, loaded with names %v, want none", got.Names)
			}
			mustMyctr(t, "rmi", src.Id)
		})
	}
	// Neither archive format: Podman's words, which scripts match.
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not an archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := myctr(t, "load", "-i", junk); code != 125 || !strings.Contains(errOut, "payload does not match any of the supported image formats") {
		t.Errorf("load of a junk file: exit %d stderr %q", code, errOut)
	}
	// The docker default, of the test image itself, is a tar with manifest.json.
	archive := filepath.Join(t.TempDir(), "bb.tar")
	mustMyctr(t, "save", "-o", archive, image)
	if names := tarNames(t, archive); !contains(names, "manifest.json") {
		t.Errorf("default save format: members %v, want a docker-archive", names)
	}
}

// TestArchiveTransports: run, create and pull of docker-archive:PATH and
// oci-archive:PATH load the archive (with a load's progress on stderr,
// as Podman's) and use its image; the transport must match the archive.
func TestArchiveTransports(t *testing.T) {
	for _, format := range []string{"docker-archive", "oci-archive"} {
		t.Run(format, func(t *testing.T) {
			name := "localhost/it-transport-" + strings.TrimSuffix(format, "-archive") + ":1"
			src := newImage(t, name)
			archive := filepath.Join(t.TempDir(), "img.tar")
			mustMyctr(t, "save", "--quiet", "--format", format, "-o", archive, name)
			mustMyctr(t, "rmi", name)
			out, errOut, code := myctr(t, "run", "--rm", format+":"+archive, "echo", "from-archive")
			if code != 0 || out != "from-archive\n" {
				t.Fatalf("run %s:PATH: exit %d, stdout %q, stderr %q", format, code, out, errOut)
			}
			lines := strings.Split(errOut, "\n")
			if lines[0] != "Getting image source signatures" || !strings.Contains(errOut, "\nCopying blob sha256:") ||
				!strings.Contains(errOut, "\nCopying config sha256:") || !strings.Contains(errOut, "\nWriting manifest to image destination\n") {
				t.Errorf("run %s:PATH printed on stderr:\n%s", format, errOut)
			}
			if got := mustFindImage(t, name); got.Id != src.Id {
				t.Errorf("the image run from the archive is %s, want %s", got.Id, src.Id)
			}
			mustMyctr(t, "rmi", name)
			out = mustMyctr(t, "pull", "-q", format+":"+archive)
			if got := mustFindImage(t, name); strings.TrimSpace(out) != got.Id {
				t.Errorf("pull -q %s:PATH printed %q, want the id %s", format, out, got.Id)
			}
			other := map[string]string{"docker-archive": "oci-archive", "oci-archive": "docker-archive"}[format]
			if _, e, code := myctr(t, "create", other+":"+archive); code != 125 || !strings.Contains(e, "not a "+other) {
				t.Errorf("create %s: of a %s: exit %d, %q", other, format, code, e)
			}
			if _, e, code := myctr(t, "run", "--rm", format+":"+archive+".missing"); code != 125 || !strings.Contains(e, ".missing") {
				t.Errorf("run of a missing archive: exit %d, %q", code, e)
			}
			mustMyctr(t, "rmi", name)
		})
	}
}

func TestImageTagAndPrune(t *testing.T) {
	bb := mustFindImage(t, imageFull)
	mustMyctr(t, "tag", image, "it-tag:a", "quay.io/it/tag:b")
	for _, n := range []string{"localhost/it-tag:a", "quay.io/it/tag:b"} {
		if got := mustFindImage(t, n); got.Id != bb.Id {
			t.Errorf("%s is %s, want %s", n, got.Id, bb.Id)
		}
	}
	out := mustMyctr(t, "rmi", "it-tag:a")
	if !strings.Contains(out, "Untagged: localhost/it-tag:a") || strings.Contains(out, "Deleted") {
		t.Errorf("rmi of one name printed %q", out)
	}
	if got := mustFindImage(t, imageFull); got.Id != bb.Id {
		t.Errorf("test image changed")
	}
	mustMyctr(t, "image", "rm", "quay.io/it/tag:b")
	if out := mustMyctr(t, "image", "ls", "-q"); !strings.Contains(out, bb.Id[:12]) {
		t.Errorf("image ls -q: %q", out)
	}

	// A dangling image: loaded from an archive without names.
	src := newImage(t, "it-dangling:1")
	archive := filepath.Join(t.TempDir(), "d.tar")
	mustMyctr(t, "save", "-o", archive, "it-dangling:1")
	mustMyctr(t, "rmi", "it-dangling:1")
	unnamed := filepath.Join(t.TempDir(), "unnamed.tar")
	stripRepoTags(t, archive, unnamed)
	out = mustMyctr(t, "load", "-i", unnamed)
	if strings.TrimSpace(out) != "Loaded image: sha256:"+src.Id {
		t.Errorf("load of an unnamed image printed %q", out)
	}
	// In use by a container: kept.
	ctr := ctrName(t, "user")
	mustMyctr(t, "run", "--name", ctr, src.Id, "true")
	if out := mustMyctr(t, "image", "prune"); strings.Contains(out, src.Id) {
		t.Errorf("prune removed an image a container uses: %q", out)
	}
	if _, ok := findImage(t, src.Id); !ok {
		t.Fatalf("dangling image in use is gone")
	}
	mustMyctr(t, "rm", ctr)
	if out := mustMyctr(t, "image", "prune"); strings.TrimSpace(out) != src.Id {
		t.Errorf("prune printed %q, want %s", out, src.Id)
	}
	if _, ok := findImage(t, src.Id); ok {
		t.Errorf("dangling image still listed after prune")
	}
	if _, ok := findImage(t, imageFull); !ok {
		t.Errorf("prune removed the named test image")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// stripRepoTags copies a docker-archive, dropping the names from its
// manifest.json.
func stripRepoTags(t *testing.T, in, out string) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	tr := tar.NewReader(f)
	tw := tar.NewWriter(o)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			var m []map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, e := range m {
				delete(e, "RepoTags")
			}
			b, _ = json.Marshal(m)
			h.Size = int64(len(b))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunPullPolicy: run pulls an image that is not here (--pull=missing,
// the default, as Podman), and --pull=never, always and newer do what
// Podman's do.
func TestRunPullPolicy(t *testing.T) {
	reg := startRegistry(t, false)
	src := newImage(t, "it-runpull-src:1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-runpull-src:1")
	remote := reg + "/it/runpull:1"
	skopeoPush(t, archive, remote, "")
	mustMyctr(t, "rmi", "it-runpull-src:1")

	_, errOut, code := myctr(t, "run", "--rm", "--pull=never", remote, "true")
	// Podman's exact line, which scripts match: no Hint.
	if code != 125 || errOut != "Error: "+remote+": image not known\n" {
		t.Errorf("--pull=never of an image not here: exit %d, stderr %q", code, errOut)
	}
	out, errOut, code := myctr(t, "run", "--rm", "--network", "none", remote, "echo", "ran")
	if code != 0 || out != "ran\n" || !strings.Contains(errOut, "Copying blob") {
		t.Fatalf("run of an image not here: exit %d, stdout %q, stderr %q; want it pulled (progress on stderr) and run", code, out, errOut)
	}
	if got := mustFindImage(t, remote); got.Id != src.Id {
		t.Errorf("run pulled %s, want %s", got.Id, src.Id)
	}
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", remote) })
	if _, errOut, _ := myctr(t, "run", "--rm", "--network", "none", remote, "true"); strings.Contains(errOut, "Copying") {
		t.Errorf("a second run pulled again: %q", errOut)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--pull=always", "-q", remote, "true"); code != 0 || errOut != "" {
		t.Errorf("--pull=always -q: exit %d, stderr %q", code, errOut)
	}
	// A registry that does not answer: newer keeps the local image,
	// always fails.
	gone := "127.0.0.1:1/it/runpull:1"
	mustMyctr(t, "tag", remote, gone)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", gone) })
	out, errOut, code = myctr(t, "run", "--rm", "--network", "none", "--pull=newer", gone, "echo", "local")
	if code != 0 || out != "local\n" || !strings.Contains(errOut, "Warning:") {
		t.Errorf("--pull=newer without the registry: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, _, code := myctr(t, "run", "--rm", "--network", "none", "--pull=always", gone, "true"); code != 125 {
		t.Errorf("--pull=always without the registry: exit %d, want 125", code)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--pull=sometimes", remote, "true"); code != 125 || !strings.Contains(errOut, "--pull") {
		t.Errorf("--pull=sometimes: exit %d, stderr %q", code, errOut)
	}
}

// TestPush: push copies a local image to the registry byte for byte:
// skopeo inspect sees the local manifest digest, and a pull into an empty
// store gives the same image id. A short name needs a destination.
func TestPush(t *testing.T) {
	reg := startRegistry(t, false)
	src := newImage(t, "it-push-src:1")
	dest := reg + "/it/pushed:2"
	digestFile := filepath.Join(t.TempDir(), "digest")
	_, errOut, code := myctr(t, "push", "--digestfile", digestFile, "it-push-src:1", "docker://"+dest)
	if code != 0 || !strings.Contains(errOut, "Copying blob sha256:") || !strings.Contains(errOut, "Writing manifest") {
		t.Fatalf("push: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(digestFile); string(b) != src.Digest {
		t.Errorf("--digestfile holds %q, want %s", b, src.Digest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "skopeo", "inspect", "--tls-verify=false", "docker://"+dest).Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var info struct{ Digest string }
	if err := json.Unmarshal(out, &info); err != nil || info.Digest != src.Digest {
		t.Errorf("the registry has digest %q (%v), want the local %s", info.Digest, err, src.Digest)
	}
	mustMyctr(t, "rmi", "it-push-src:1")
	if id := lastLine(mustMyctr(t, "pull", "-q", dest)); id != src.Id {
		t.Errorf("pulled back %s, want %s", id, src.Id)
	}
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", dest) })
	if _, errOut, code := myctr(t, "push", dest[len(reg)+1:]); code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("push of a name that is not here: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "push", dest, "127.0.0.1:1/it/pushed:2"); code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("push to a registry that does not answer: exit %d, stderr %q", code, errOut)
	}
}
