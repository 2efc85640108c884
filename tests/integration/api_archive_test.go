//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiHTTP is a client of the service's socket, for what the docker CLI
// does not show (status codes, headers).
func (a *apiService) apiHTTP() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", a.sock)
	}}}
}

// TestAPICp drives `docker cp` both ways through the service, into a
// running and a stopped container, and checks HEAD's stat and 404.
func TestAPICp(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "cp")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "1000")
	t.Cleanup(func() { _, _, _ = a.docker(t, time.Minute, "rm", "-f", name) })
	host := t.TempDir()

	// A file in, read back by the container.
	in := filepath.Join(host, "in.txt")
	if err := os.WriteFile(in, []byte("hello-in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.mustDocker(t, "cp", in, name+":/tmp/in.txt")
	if out := a.mustDocker(t, "exec", name, "cat", "/tmp/in.txt"); out != "hello-in\n" {
		t.Errorf("the copied file in the container: %q", out)
	}
	// Into an existing directory: the file keeps its name.
	a.mustDocker(t, "cp", in, name+":/tmp/")
	if out := a.mustDocker(t, "exec", name, "cat", "/tmp/in.txt"); out != "hello-in\n" {
		t.Errorf("copied into /tmp/: %q", out)
	}

	// A file and a directory out.
	a.mustDocker(t, "exec", name, "sh", "-c", "mkdir -p /tmp/d/sub && echo a > /tmp/d/a && echo b > /tmp/d/sub/b && echo f-out > /tmp/f")
	a.mustDocker(t, "cp", name+":/tmp/f", filepath.Join(host, "f"))
	if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "f-out\n" {
		t.Errorf("file out: %q %v", b, err)
	}
	a.mustDocker(t, "cp", name+":/tmp/d", filepath.Join(host, "dout"))
	for p, want := range map[string]string{"dout/a": "a\n", "dout/sub/b": "b\n"} {
		if b, err := os.ReadFile(filepath.Join(host, p)); err != nil || string(b) != want {
			t.Errorf("directory out, %s: %q %v, want %q", p, b, err, want)
		}
	}

	// DIR/.: what the directory holds, into a new and an existing one.
	a.mustDocker(t, "cp", name+":/tmp/d/.", filepath.Join(host, "dnew"))
	if err := os.Mkdir(filepath.Join(host, "dold"), 0o755); err != nil {
		t.Fatal(err)
	}
	a.mustDocker(t, "cp", name+":/tmp/d/.", filepath.Join(host, "dold"))
	for _, p := range []string{"dnew/a", "dnew/sub/b", "dold/a", "dold/sub/b"} {
		if _, err := os.Stat(filepath.Join(host, p)); err != nil {
			t.Errorf("docker cp CTR:/tmp/d/.: %v", err)
		}
	}

	// A missing path: docker's error.
	_, errOut, code := a.docker(t, time.Minute, "cp", name+":/no/such/file", filepath.Join(host, "x"))
	if code == 0 || !strings.Contains(errOut, "No such container:path") {
		t.Errorf("docker cp of a missing path: exit %d stderr %q", code, errOut)
	}

	// A symlink leading out of the container is resolved inside it: a
	// file of the host's beside it is not found.
	secret := filepath.Join(host, "secret")
	if err := os.WriteFile(secret, []byte("host-only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.mustDocker(t, "exec", name, "ln", "-s", "../../../../../../.."+host, "/tmp/escape")
	_, errOut, code = a.docker(t, time.Minute, "cp", name+":/tmp/escape/secret", filepath.Join(host, "leak"))
	if code == 0 {
		b, _ := os.ReadFile(filepath.Join(host, "leak"))
		t.Errorf("docker cp through a symlink out of the container copied %q", b)
	}
	_ = errOut

	// HEAD: the stat header, or 404.
	hc := a.apiHTTP()
	req, _ := http.NewRequest(http.MethodHead, "http://d/v1.41/containers/"+name+"/archive?path=/tmp/in.txt", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var st struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
		Mode uint32 `json:"mode"`
	}
	raw, _ := base64.StdEncoding.DecodeString(resp.Header.Get("X-Docker-Container-Path-Stat"))
	if resp.StatusCode != 200 || json.Unmarshal(raw, &st) != nil || st.Name != "in.txt" || st.Size != 9 {
		t.Errorf("HEAD archive of a file: %d, stat %s", resp.StatusCode, raw)
	}
	req, _ = http.NewRequest(http.MethodHead, "http://d/v1.41/containers/"+name+"/archive?path=/no/such", nil)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD archive of a missing path: %d, want 404", resp.StatusCode)
	}

	// A directory in, and into a missing directory.
	if err := os.MkdirAll(filepath.Join(host, "tree", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "tree", "sub", "g"), []byte("g-in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.mustDocker(t, "cp", filepath.Join(host, "tree"), name+":/tmp/")
	if out := a.mustDocker(t, "exec", name, "cat", "/tmp/tree/sub/g"); out != "g-in\n" {
		t.Errorf("directory in: %q", out)
	}
	_, errOut, code = a.docker(t, time.Minute, "cp", in, name+":/no/such/dir/f")
	if code == 0 || !strings.Contains(errOut, "No such container:path") {
		t.Errorf("docker cp into a missing directory: exit %d stderr %q", code, errOut)
	}
	// HEAD of a large tree stops the copy worker once it has the stat.
	headRoot := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodHead, "http://d/v1.41/containers/"+name+"/archive?path=/", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Docker-Container-Path-Stat") == "" {
			t.Errorf("HEAD archive of /: %d %v", resp.StatusCode, resp.Header)
		}
	}
	headRoot()

	// A PUT whose entries climb out of the directory is refused, and
	// writes nothing above it.
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	_ = tw.WriteHeader(&tar.Header{Name: "../../../evil", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	req, _ = http.NewRequest(http.MethodPut, "http://d/v1.41/containers/"+name+"/archive?path=/tmp/d", &evil)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("PUT of a tar that climbs out: %d, want a refusal", resp.StatusCode)
	}
	if _, _, code := a.docker(t, time.Minute, "exec", name, "test", "-e", "/evil"); code == 0 {
		t.Errorf("PUT of a tar that climbs out wrote /evil")
	}

	// A stopped container: both ways still work, as `myctr cp`.
	a.mustDocker(t, "stop", "-t", "1", name)
	headRoot()
	a.mustDocker(t, "cp", in, name+":/tmp/stopped.txt")
	a.mustDocker(t, "cp", name+":/tmp/stopped.txt", filepath.Join(host, "back.txt"))
	if b, err := os.ReadFile(filepath.Join(host, "back.txt")); err != nil || string(b) != "hello-in\n" {
		t.Errorf("round trip through a stopped container: %q %v", b, err)
	}
	a.mustDocker(t, "rm", name)
	assertGone(t, name)
}

// TestAPIVolume: a named volume shared by two containers (-v and
// --mount), ls filters, inspect, rm of one in use, prune.
func TestAPIVolume(t *testing.T) {
	a := startAPIService(t)
	vol := volName(t, "data")
	if out := a.mustDocker(t, "volume", "create", "--label", "it.api.vol=1", vol); strings.TrimSpace(out) != vol {
		t.Errorf("docker volume create printed %q", out)
	}
	a.mustDocker(t, "run", "--rm", "--network", "none", "-v", vol+":/data", imageFull, "sh", "-c", "echo hi > /data/f")
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", "-v", vol+":/data:ro", imageFull, "cat", "/data/f"); out != "hi\n" {
		t.Errorf("the second container reads %q", out)
	}
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", "--mount", "type=volume,source="+vol+",target=/m,readonly", imageFull, "cat", "/m/f"); out != "hi\n" {
		t.Errorf("--mount type=volume reads %q", out)
	}
	out := a.mustDocker(t, "run", "--rm", "--network", "none", "--mount", "type=tmpfs,target=/t", imageFull, "sh", "-c", "grep ' /t ' /proc/mounts")
	if !strings.Contains(out, "tmpfs") {
		t.Errorf("--mount type=tmpfs: /proc/mounts has %q", out)
	}

	if out := a.mustDocker(t, "volume", "ls", "-q", "--filter", "label=it.api.vol=1"); strings.TrimSpace(out) != vol {
		t.Errorf("docker volume ls --filter label: %q", out)
	}
	if out := a.mustDocker(t, "volume", "ls", "-q", "--filter", "name="+vol, "--filter", "dangling=true"); strings.TrimSpace(out) != vol {
		t.Errorf("docker volume ls --filter dangling=true: %q", out)
	}
	if out := a.mustDocker(t, "volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", vol); strings.TrimSpace(out) != vol+" local map[it.api.vol:1]" {
		t.Errorf("docker volume inspect: %q", out)
	}
	if out := a.mustDocker(t, "volume", "ls"); !strings.Contains(out, "local     "+vol) {
		t.Errorf("docker volume ls: %q, want a row of %s", out, vol)
	}
	// No name: the store makes one up (64 hex digits, as Docker's).
	anon := strings.TrimSpace(a.mustDocker(t, "volume", "create"))
	if len(anon) != 64 {
		t.Errorf("docker volume create without a name printed %q", anon)
	} else {
		a.mustDocker(t, "volume", "rm", anon)
	}
	if _, errOut, code := a.docker(t, time.Minute, "volume", "inspect", "no-such-vol-api"); code == 0 || !strings.Contains(errOut, "no-such-vol-api") {
		t.Errorf("docker volume inspect of a missing one: exit %d stderr %q", code, errOut)
	}

	// A volume a run names that is not there is made, as Docker does.
	auto := volName(t, "auto")
	a.mustDocker(t, "run", "--rm", "--network", "none", "-v", auto+":/a", imageFull, "touch", "/a/x")
	if out := a.mustDocker(t, "volume", "inspect", "--format", "{{.Name}}", auto); strings.TrimSpace(out) != auto {
		t.Errorf("the volume docker run -v made: %q", out)
	}
	a.mustDocker(t, "volume", "rm", auto)

	name := ctrName(t, "user")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", "-v", vol+":/data", imageFull, "sleep", "1000")
	t.Cleanup(func() { _, _, _ = a.docker(t, time.Minute, "rm", "-f", name) })
	if out := a.mustDocker(t, "volume", "ls", "-q", "--filter", "name="+vol, "--filter", "dangling=true"); strings.TrimSpace(out) != "" {
		t.Errorf("a volume in use listed as dangling: %q", out)
	}
	mounts := a.mustDocker(t, "inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}} {{.Source}}{{end}}", name)
	if ps := a.mustDocker(t, "ps", "--no-trunc", "--filter", "name="+name, "--format", "{{.Mounts}}"); strings.TrimSpace(ps) != vol {
		t.Errorf("docker ps .Mounts: %q", ps)
	}
	if f := strings.Fields(mounts); len(f) != 5 || f[0] != "volume" || f[1] != vol || f[2] != "/data" || f[3] != "true" || !strings.HasSuffix(f[4], "/_data") {
		t.Errorf("docker inspect .Mounts: %q", mounts)
	}
	// --volumes-from, -v /PATH (Config.Volumes) and --tmpfs (HostConfig.Tmpfs).
	if out := a.mustDocker(t, "run", "--rm", "--network", "none", "--volumes-from", name+":ro", imageFull, "cat", "/data/f"); out != "hi\n" {
		t.Errorf("--volumes-from reads %q", out)
	}
	out = a.mustDocker(t, "run", "--rm", "--network", "none", "-v", "/anon", "--tmpfs", "/t:size=1m", imageFull, "sh", "-c", "grep -E ' /(anon|t) ' /proc/mounts")
	if !strings.Contains(out, " /anon ") || !strings.Contains(out, "tmpfs /t tmpfs") {
		t.Errorf("-v /anon --tmpfs /t: /proc/mounts has %q", out)
	}
	if _, errOut, code := a.docker(t, time.Minute, "volume", "rm", vol); code == 0 || !strings.Contains(errOut, "in use") {
		t.Errorf("docker volume rm of a volume in use: exit %d stderr %q", code, errOut)
	}
	a.mustDocker(t, "rm", "-f", name)
	a.mustDocker(t, "volume", "rm", vol)
	if out := a.mustDocker(t, "volume", "ls", "-q", "--filter", "name="+vol); strings.TrimSpace(out) != "" {
		t.Errorf("after docker volume rm: %q", out)
	}

	// Prune, narrowed by a label so that only this test's volumes go.
	v2 := volName(t, "prune")
	a.mustDocker(t, "volume", "create", "--label", "it.api.prune=1", v2)
	a.mustDocker(t, "run", "--rm", "--network", "none", "-v", v2+":/data", imageFull, "sh", "-c", "head -c 5000 /dev/zero > /data/z")
	out = a.mustDocker(t, "volume", "prune", "-f", "--filter", "label=it.api.prune=1")
	if !strings.Contains(out, v2) || !strings.Contains(out, "Total reclaimed space: 5") {
		t.Errorf("docker volume prune: %q", out)
	}
	if out := a.mustDocker(t, "volume", "ls", "-q", "--filter", "name="+v2); strings.TrimSpace(out) != "" {
		t.Errorf("after prune: %q", out)
	}
	assertGone(t, name)
}

// TestAPISystemDF: docker system df prints its rows, and -v the volume
// with its size.
func TestAPISystemDF(t *testing.T) {
	a := startAPIService(t)
	vol := volName(t, "df")
	a.mustDocker(t, "volume", "create", vol)
	a.mustDocker(t, "run", "--rm", "--network", "none", "-v", vol+":/data", imageFull, "sh", "-c", "head -c 3000 /dev/zero > /data/z")
	name := ctrName(t, "df")
	a.mustDocker(t, "run", "--name", name, "--network", "none", "-v", vol+":/data", imageFull, "sh", "-c", "head -c 4000 /dev/zero > /big")
	t.Cleanup(func() { _, _, _ = a.docker(t, time.Minute, "rm", "-f", name) })
	out := a.mustDocker(t, "system", "df")
	for _, row := range []string{"TYPE", "Images", "Containers", "Local Volumes", "Build Cache"} {
		if !strings.Contains(out, row) {
			t.Errorf("docker system df lacks %q:\n%s", row, out)
		}
	}
	t.Logf("docker system df:\n%s", out)
	out = a.mustDocker(t, "system", "df", "-v")
	t.Logf("docker system df -v:\n%s", out)
	found := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == vol {
			found = true
			if f[1] != "1" || f[2] != "3kB" {
				t.Errorf("docker system df -v: volume row %q, want a size of 3kB", line)
			}
		}
	}
	if !found {
		t.Errorf("docker system df -v: no row of %s:\n%s", vol, out)
	}
	imageRow := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[0] == "localhost/bb" && f[1] == "latest" {
			imageRow = true
			// ... SIZE SHARED-SIZE UNIQUE-SIZE CONTAINERS
			if f[len(f)-4] == "0B" {
				t.Errorf("docker system df -v: the image's size is 0: %q", line)
			}
		}
	}
	ctrRow := false
	for _, line := range strings.Split(out, "\n") {
		// ID IMAGE COMMAND LOCAL-VOLUMES SIZE CREATED... STATUS... NAME
		if f := strings.Fields(line); len(f) > 5 && f[len(f)-1] == name {
			ctrRow = true
			if !strings.Contains(line, " 1 ") || !strings.Contains(line, " 4kB ") {
				t.Errorf("docker system df -v: container row %q, want 1 volume and 4kB", line)
			}
		}
	}
	if !ctrRow {
		t.Errorf("docker system df -v: no row of %s:\n%s", name, out)
	}
	if !imageRow {
		t.Errorf("docker system df -v: no row of %s:\n%s", imageFull, out)
	}
}
