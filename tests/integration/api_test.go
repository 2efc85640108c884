//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerCLI is Debian's docker CLI 20.10, unpacked from the docker.io
// package by tests/setup/deps.sh (no dockerd is installed or started).
const dockerCLI = "/opt/myctr-docker-cli/usr/bin/docker"

// apiService is a running `myctr system service` on a socket of its own.
type apiService struct {
	sock   string
	config string // DOCKER_CONFIG: the docker CLI's files, not the user's
}

// startAPIService starts the service (no idle exit) and waits for its
// socket to answer; it is stopped when the test ends. Its output goes to
// a file, never a pipe: containers it starts outlive requests.
func startAPIService(t *testing.T) *apiService {
	t.Helper()
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("needs the docker CLI at %s (tests/setup/deps.sh unpacks it from Debian's docker.io): %v", dockerCLI, err)
	}
	dir := t.TempDir()
	// The service refuses a directory others may enter (t.TempDir's
	// is 0755).
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "api.sock")
	logPath := filepath.Join(dir, "service.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := myctrCommand(ctx, "system", "service", "--time", "0", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("start myctr system service: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logFile.Close()
		if b, _ := os.ReadFile(logPath); len(b) > 0 {
			t.Logf("service log:\n%s", b)
		}
	})
	waitFor(t, 15*time.Second, "the API socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %#o, want 0600", st.Mode().Perm())
	}
	return &apiService{sock: sock, config: t.TempDir()}
}

// docker runs the docker CLI against the service.
func (a *apiService) docker(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+a.sock, "DOCKER_CONFIG="+a.config)
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
		e.WriteString("\n[test harness: docker timed out]")
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		e.WriteString("\n[test harness: " + err.Error() + "]")
	}
	t.Logf("docker %s -> exit %d", strings.Join(args, " "), code)
	return o.String(), e.String(), code
}

func (a *apiService) mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := a.docker(t, time.Minute, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// assertGone fails unless no container of myctr's has one of names.
func assertGone(t *testing.T, names ...string) {
	t.Helper()
	for _, p := range psJSON(t, true) {
		for _, n := range names {
			if strings.Contains(strings.Join(p.Names, " "), n) {
				t.Errorf("container %s (%s) is left behind", n, p.State)
			}
		}
	}
}

func TestAPIVersionAndPing(t *testing.T) {
	a := startAPIService(t)
	out := a.mustDocker(t, "version", "--format", "{{.Client.Version}}|{{.Server.Version}}|{{.Server.APIVersion}}")
	parts := strings.Split(strings.TrimSpace(out), "|")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] != "1.41" {
		t.Errorf("docker version: %q, want client|server|1.41", out)
	}
	// Anything not served: 501 naming the endpoint, in Docker's error body.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", a.sock)
	}}}
	resp, err := hc.Get("http://d/v1.41/swarm")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var msg struct{ Message string }
	if resp.StatusCode != http.StatusNotImplemented || json.Unmarshal(body, &msg) != nil || !strings.Contains(msg.Message, "GET /swarm") {
		t.Errorf("GET /v1.41/swarm: %d %s, want 501 naming it", resp.StatusCode, body)
	}
}

func TestAPIRunExitCodes(t *testing.T) {
	a := startAPIService(t)
	a.mustDocker(t, "run", "--rm", imageFull, "true")

	out, errOut, code := a.docker(t, time.Minute, "run", "--rm", "--network", "none", imageFull, "sh", "-c", "echo to-out; echo to-err >&2; exit 5")
	if code != 5 {
		t.Errorf("docker run --rm ... exit 5: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "to-out") || !strings.Contains(errOut, "to-err") {
		t.Errorf("docker run --rm output: stdout %q stderr %q", out, errOut)
	}

	name := ctrName(t, "apiexit")
	out, errOut, code = a.docker(t, time.Minute, "run", "--name", name, "--network", "none", imageFull, "sh", "-c", "echo kept; exit 3")
	if code != 3 || !strings.Contains(out, "kept") {
		t.Errorf("docker run (no --rm) exit 3: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := inspect(t, name); got.State.ExitCode != 3 {
		t.Errorf("myctr inspect %s: exit code %d, want 3", name, got.State.ExitCode)
	}
	a.mustDocker(t, "rm", name)
	assertGone(t, name)

	// HostConfig's Dns, DnsSearch and DnsOptions make resolv.conf, and
	// inspect gives them back.
	dname := ctrName(t, "apidns")
	out = a.mustDocker(t, "run", "--name", dname, "--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:2", imageFull, "cat", "/etc/resolv.conf")
	if want := "search example.com\nnameserver 192.0.2.53\noptions ndots:2\n"; out != want {
		t.Errorf("docker run --dns ... resolv.conf:\n%s\nwant:\n%s", out, want)
	}
	if out := a.mustDocker(t, "inspect", "--format", "{{.HostConfig.Dns}} {{.HostConfig.DnsSearch}} {{.HostConfig.DnsOptions}}", dname); strings.TrimSpace(out) != "[192.0.2.53] [example.com] [ndots:2]" {
		t.Errorf("docker inspect of the DNS settings: %q", out)
	}
	// HostConfig.Ulimits and ShmSize: the process's limits, /dev/shm's size.
	out = a.mustDocker(t, "run", "--rm", "--ulimit", "nofile=123:456", "--shm-size", "96m", imageFull, "sh", "-c", "ulimit -n; ulimit -Hn; df -k /dev/shm | tail -n 1")
	if f := strings.Fields(out); len(f) < 4 || f[0] != "123" || f[1] != "456" || f[3] != "98304" {
		t.Errorf("docker run --ulimit nofile=123:456 --shm-size 96m: %q", out)
	}
}

func TestAPIDetachedLifecycle(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apid")
	id := strings.TrimSpace(a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", "--label", "it.api=1", imageFull,
		"sh", "-c", "echo hello-api; echo oops >&2; exec sleep 300"))
	if !isFullID(id) {
		t.Fatalf("docker run -d printed %q, want an id", id)
	}
	ps := a.mustDocker(t, "ps", "--filter", "label=it.api=1", "--format", "{{.ID}} {{.Names}} {{.Status}}")
	if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, name) || !strings.Contains(ps, "Up ") {
		t.Errorf("docker ps: %q, want %s (%s) up", ps, name, id[:12])
	}
	// ancestor: the image by its short name; one that names no image
	// matches nothing.
	if ps := a.mustDocker(t, "ps", "--filter", "label=it.api=1", "--filter", "ancestor=localhost/bb", "--format", "{{.Names}}"); strings.TrimSpace(ps) != name {
		t.Errorf("docker ps --filter ancestor=localhost/bb: %q, want %s", ps, name)
	}
	if ps := a.mustDocker(t, "ps", "--filter", "ancestor=no-such-image-api", "--format", "{{.Names}}"); strings.TrimSpace(ps) != "" {
		t.Errorf("docker ps --filter ancestor=no-such-image-api: %q, want nothing", ps)
	}
	waitFor(t, 10*time.Second, "the container's output", func() bool {
		out, _, _ := a.docker(t, time.Minute, "logs", name)
		return strings.Contains(out, "hello-api")
	})
	out, errOut, code := a.docker(t, time.Minute, "logs", name)
	if code != 0 || !strings.Contains(out, "hello-api") || !strings.Contains(errOut, "oops") {
		t.Errorf("docker logs: exit %d stdout %q stderr %q", code, out, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "rm", name); code == 0 || !strings.Contains(errOut, "running") {
		t.Errorf("docker rm of a running container: exit %d, stderr %q: want a refusal", code, errOut)
	}
	a.mustDocker(t, "stop", "-t", "1", name)
	if st := inspect(t, name).State.Status; st != "exited" {
		t.Errorf("after docker stop: %s", st)
	}
	ps = a.mustDocker(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Status}}")
	if !strings.HasPrefix(strings.TrimSpace(ps), "Exited (") {
		t.Errorf("docker ps -a after stop: %q", ps)
	}
	a.mustDocker(t, "rm", name)
	assertGone(t, name)
}

func TestAPIImagesAndErrors(t *testing.T) {
	a := startAPIService(t)
	out := a.mustDocker(t, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}")
	if !strings.Contains(out, imageFull) {
		t.Errorf("docker images: %q, want %s", out, imageFull)
	}
	// The docker CLI 20.10 shows VirtualSize, not Size.
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasSuffix(l, " 0B") {
			t.Errorf("docker images: %q has no size", l)
		}
	}
	_, errOut, code := a.docker(t, time.Minute, "rm", "no-such-ctr-api")
	if code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("docker rm of an unknown name: exit %d stderr %q", code, errOut)
	}
	_, errOut, code = a.docker(t, time.Minute, "image", "inspect", "no-such-image-api")
	if code == 0 || !strings.Contains(errOut, "No such image") {
		t.Errorf("docker image inspect of an unknown image: exit %d stderr %q", code, errOut)
	}
}

func TestAPIPull(t *testing.T) {
	a := startAPIService(t)
	reg := startRegistry(t, false)
	src := newImage(t, "it-api-pull:1")
	archive := filepath.Join(t.TempDir(), "src.tar")
	mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-api-pull:1")
	remote := reg + "/it/apipull:1"
	skopeoPush(t, archive, remote, "")
	mustMyctr(t, "rmi", "it-api-pull:1")

	out := a.mustDocker(t, "pull", remote)
	if !strings.Contains(out, "Downloaded") {
		t.Errorf("docker pull output: %q", out)
	}
	if got := mustFindImage(t, remote); got.Id != src.Id {
		t.Errorf("pulled %s, want %s", got.Id, src.Id)
	}
	out = a.mustDocker(t, "run", "--rm", "--network", "none", remote, "echo", "pulled-ok")
	if !strings.Contains(out, "pulled-ok") {
		t.Errorf("run of the pulled image: %q", out)
	}
	a.mustDocker(t, "rmi", remote)
	if _, ok := findImage(t, remote); ok {
		t.Errorf("docker rmi left %s", remote)
	}
}

// TestAPIIdleExit: with --time, the service exits once no request came
// for that long, and removes its socket.
func TestAPIIdleExit(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "idle.sock")
	logFile, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := myctrCommand(ctx, "system", "service", "--time", "1", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "service.log"))
			t.Fatalf("service: %v\n%s", err, b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("myctr system service --time 1 still runs after 20 s")
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the service exited after %s, before its idle second", d)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestAPIExec drives `docker exec` through the service: the streams and
// exit code of an attached exec, its options, a command that is not
// found, a detached exec, and an exec into a stopped container.
func TestAPIExec(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "exec")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "1000")
	t.Cleanup(func() { _, _, _ = a.docker(t, time.Minute, "rm", "-f", name) })

	out, errOut, code := a.docker(t, time.Minute, "exec", name, "sh", "-c", "echo out; echo err >&2; exit 6")
	if code != 6 || out != "out\n" || errOut != "err\n" {
		t.Errorf("docker exec: exit %d stdout %q stderr %q; want 6, %q, %q", code, out, errOut, "out\n", "err\n")
	}
	out, errOut, code = a.docker(t, time.Minute, "exec", "-e", "X=1", "-w", "/tmp", name, "sh", "-c", "echo $X; pwd")
	if code != 0 || out != "1\n/tmp\n" {
		t.Errorf("docker exec -e -w: exit %d stdout %q stderr %q; want %q", code, out, errOut, "1\n/tmp\n")
	}
	// myctr's exec stage reports a command not found as 127, as a shell
	// does and as `myctr exec` exits; the docker CLI exits with the code
	// the exec's inspect records.
	out, errOut, code = a.docker(t, time.Minute, "exec", name, "no-such-cmd")
	if code != 127 || !strings.Contains(errOut, "no-such-cmd") {
		t.Errorf("docker exec of a missing command: exit %d stdout %q stderr %q; want 127 naming it", code, out, errOut)
	}
	// With -t the stream is raw: the pty turns \n into \r\n.
	out, errOut, code = a.docker(t, time.Minute, "exec", "-t", name, "sh", "-c", "test -t 1 && echo tty; exit 4")
	if code != 4 || out != "tty\r\n" {
		t.Errorf("docker exec -t: exit %d stdout %q stderr %q; want 4, %q", code, out, errOut, "tty\r\n")
	}
	// With -i the client's stdin reaches the process, and its end is the
	// process's end of file.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := exec.CommandContext(ctx, dockerCLI, "exec", "-i", name, "sh", "-c", "cat; echo done")
	in.Env = append(os.Environ(), "DOCKER_HOST=unix://"+a.sock, "DOCKER_CONFIG="+a.config)
	in.Stdin = strings.NewReader("from-stdin\n")
	in.WaitDelay = 5 * time.Second
	if b, err := in.Output(); err != nil || string(b) != "from-stdin\ndone\n" {
		t.Errorf("docker exec -i: %v, stdout %q; want %q", err, b, "from-stdin\ndone\n")
	}
	a.mustDocker(t, "exec", "-d", name, "touch", "/tmp/d")
	waitFor(t, 10*time.Second, "the detached exec's file", func() bool {
		_, _, code := a.docker(t, time.Minute, "exec", name, "test", "-f", "/tmp/d")
		return code == 0
	})

	a.mustDocker(t, "stop", "-t", "1", name)
	if _, errOut, code := a.docker(t, time.Minute, "exec", name, "true"); code == 0 || !strings.Contains(errOut, "is not running") {
		t.Errorf("docker exec into a stopped container: exit %d stderr %q; want a refusal", code, errOut)
	}
	a.mustDocker(t, "rm", name)
	assertGone(t, name)
}
