//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerCommand is the docker CLI against the service, for a test that
// drives its streams itself.
func (a *apiService) dockerCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+a.sock, "DOCKER_CONFIG="+a.config)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// httpClient speaks HTTP to the service's socket.
func (a *apiService) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", a.sock)
	}}}
}

// TestAPIAttachStdin: `docker run -i` with piped stdin: the container
// reads the line, then end of file (the client's half-close), and its
// exit code is docker's.
func TestAPIAttachStdin(t *testing.T) {
	a := startAPIService(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := a.dockerCommand(ctx, "run", "-i", "--rm", "--network", "none", imageFull,
		"sh", "-c", `read x; echo "got $x"; if read y; then echo "more $y"; else echo eof; fi; exit 3`)
	cmd.Stdin = strings.NewReader("hello\n")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker run -i: %v\n%s", err, out)
	}
	if code != 3 || !strings.Contains(string(out), "got hello\n") || !strings.Contains(string(out), "eof\n") {
		t.Errorf("docker run -i with piped stdin: exit %d, output %q; want exit 3, got hello, eof", code, out)
	}
}

// TestAPIAttachTTY: `docker run -it` on a pty: the container's terminal
// has the client's size, echoes what is typed, and the exit code is the
// container's.
func TestAPIAttachTTY(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apitty")
	s := startPTYCommand(t, 27, 101, func(ctx context.Context) *exec.Cmd {
		return a.dockerCommand(ctx, "run", "-it", "--name", name, "--network", "none", imageFull,
			"sh", "-c", `read x; echo "SI""ZE=$(stty size)"; echo "G""OT=$x"; exit 4`)
	})
	defer myctr(t, "rm", "-f", name)
	// The read waits until docker has resized the container's terminal
	// (the docker CLI 20.10 does so once the container runs).
	waitFor(t, 20*time.Second, "the container to run", func() bool {
		out, _, _ := a.docker(t, time.Minute, "inspect", "-f", "{{.State.Running}}", name)
		return strings.TrimSpace(out) == "true"
	})
	time.Sleep(time.Second)
	s.send("typed-line")
	s.expect(`typed-line`, 10*time.Second) // the terminal's echo
	if m := s.expect(`SIZE=(\d+ \d+)\r?\n`, 10*time.Second); m[1] != "27 101" {
		t.Errorf("stty size inside docker run -it = %q, want 27 101", m[1])
	}
	s.expect(`GOT=typed-line\r?\n`, 10*time.Second)
	if code := s.exitCode(); code != 4 {
		t.Errorf("docker run -it exit %d, want 4; output %q", code, s.out.String())
	}
}

// TestAPIAttachRunning: `docker attach` to a running -it container the
// service started (docker run -dit): typed commands run in its shell,
// ctrl-p ctrl-q detaches, and an attach ends with its exit code.
func TestAPIAttachRunning(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apiatt")
	a.mustDocker(t, "run", "-dit", "--name", name, "--network", "none", imageFull, "sh")
	defer myctr(t, "rm", "-f", name)
	time.Sleep(time.Second)
	if st := inspect(t, name).State; !st.Running {
		t.Fatalf("docker run -dit sh: not running (%+v): its stdin must stay open", st)
	}
	// Docker's detach keys (ctrl-p, ctrl-q) end the attach, not the
	// container.
	d := startPTYCommand(t, 24, 80, func(ctx context.Context) *exec.Cmd { return a.dockerCommand(ctx, "attach", name) })
	time.Sleep(time.Second)
	d.send(`echo "FI""RST"`)
	d.expect(`FIRST\r?\n`, 15*time.Second)
	if _, err := d.ptmx.Write([]byte{16, 17}); err != nil {
		t.Fatal(err)
	}
	// Docker's own exit after a detach is 1.
	code := d.exitCode()
	select {
	case <-d.read: // the last of its output read
	case <-time.After(5 * time.Second):
	}
	if code != 1 || !strings.Contains(d.out.String(), "read escape sequence") {
		t.Errorf("docker attach after ctrl-p ctrl-q: exit %d, output %q; want 1 and the escape read", code, d.out.String())
	}
	if st := inspect(t, name).State; !st.Running {
		t.Fatalf("%s after a detach: %+v, want running", name, st)
	}
	s := startPTYCommand(t, 24, 80, func(ctx context.Context) *exec.Cmd { return a.dockerCommand(ctx, "attach", name) })
	time.Sleep(time.Second)
	s.send(`echo "AT""TACHED=$(stty size)"`)
	if m := s.expect(`ATTACHED=(\d+ \d+)\r?\n`, 15*time.Second); m[1] != "24 80" {
		t.Errorf("stty size after docker attach = %q, want 24 80", m[1])
	}
	s.send("exit 6")
	if code := s.exitCode(); code != 6 {
		t.Errorf("docker attach ended with %d, want the container's 6; output %q", code, s.out.String())
	}
}

// TestAPIRestart: restart keeps the container and starts it anew.
func TestAPIRestart(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apirs")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "300")
	defer myctr(t, "rm", "-f", name)
	before := inspect(t, name)
	time.Sleep(1100 * time.Millisecond)
	a.mustDocker(t, "restart", "-t", "1", name)
	after := inspect(t, name)
	if after.Id != before.Id || !after.State.Running || after.State.StartedAt == before.State.StartedAt {
		t.Errorf("docker restart: before %s %+v, after %s %+v: want the same container running, started anew", before.Id, before.State, after.Id, after.State)
	}
	// An interactive one gets its stdin anew: its shell stays.
	sh := ctrName(t, "apirssh")
	a.mustDocker(t, "run", "-dit", "--name", sh, "--network", "none", imageFull, "sh")
	defer myctr(t, "rm", "-f", sh)
	a.mustDocker(t, "restart", "-t", "1", sh)
	time.Sleep(time.Second)
	if st := inspect(t, sh).State; !st.Running {
		t.Errorf("docker restart of a -dit shell: %+v, want it running on its held stdin", st)
	}
	s := startPTYCommand(t, 24, 80, func(ctx context.Context) *exec.Cmd { return a.dockerCommand(ctx, "attach", sh) })
	time.Sleep(time.Second)
	s.send("exit 7")
	if code := s.exitCode(); code != 7 {
		t.Errorf("docker attach after the restart ended with %d, want 7; output %q", code, s.out.String())
	}
	if _, errOut, code := a.docker(t, time.Minute, "restart", "no-such-ctr-api"); code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("docker restart of an unknown name: exit %d, stderr %q", code, errOut)
	}
}

// TestAPITopStats: top lists the container's process; stats gives
// Docker's objects (a sample of the cgroup where the container has one).
func TestAPITopStats(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apitop")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "301")
	defer myctr(t, "rm", "-f", name)
	out := a.mustDocker(t, "top", name)
	if !strings.Contains(out, "PID") || !strings.Contains(out, "sleep 301") {
		t.Errorf("docker top: %q, want a header and sleep 301", out)
	}
	stopped := ctrName(t, "apistop")
	a.mustDocker(t, "create", "--name", stopped, "--network", "none", imageFull, "true")
	defer myctr(t, "rm", "-f", stopped)
	if _, errOut, code := a.docker(t, time.Minute, "top", stopped); code == 0 || !strings.Contains(errOut, "is not running") {
		t.Errorf("docker top of a created container: exit %d, stderr %q", code, errOut)
	}

	// The raw stream: one object a second, with the name.
	resp, err := a.httpClient().Get("http://d/v1.41/containers/" + stopped + "/stats?stream=true")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for n < 2 && sc.Scan() {
		var st struct {
			Name string `json:"name"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil || st.Name != "/"+stopped {
			t.Errorf("stats stream object %d: %v %q", n, err, sc.Text())
		}
		n++
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != 2 {
		t.Errorf("stats stream of %s: status %d, %d objects, want 200 and 2", stopped, resp.StatusCode, n)
	}

	if hybridHost() {
		// No cgroup of its own here: a 409 that says so.
		_, errOut, code := a.docker(t, time.Minute, "stats", "--no-stream", name)
		if code == 0 || !strings.Contains(errOut, "stats need the container's own cgroup") {
			t.Errorf("docker stats of a container without a cgroup: exit %d, stderr %q", code, errOut)
		}
	}
}

// TestAPITopStatsFigures: docker stats --no-stream of a running container
// prints its name and a memory figure from its cgroup.
func TestAPITopStatsFigures(t *testing.T) {
	if hybridHost() {
		t.Skip("this host gives containers no cgroup of their own (TestAPITopStats checks the refusal); the VM tier's TestAPISocketMemoryLimit checks the figures")
	}
	a := startAPIService(t)
	name := ctrName(t, "apistat")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "302")
	defer myctr(t, "rm", "-f", name)
	out := a.mustDocker(t, "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", name)
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != name || strings.HasPrefix(f[1], "0B") {
		t.Errorf("docker stats --no-stream: %q, want %s and a memory figure > 0", out, name)
	}
}

// TestAPIAttachIdleHeld: a service with an idle timeout stays while it
// holds the stdin of a container it runs (docker run -dit sh would end
// with it), and exits once that container has ended.
func TestAPIAttachIdleHeld(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("needs the docker CLI at %s: %v", dockerCLI, err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	a := &apiService{sock: filepath.Join(dir, "held.sock"), config: t.TempDir()}
	logFile, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, "system", "service", "--time", "1", "unix://"+a.sock)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, 15*time.Second, "the API socket", func() bool {
		c, err := net.Dial("unix", a.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	name := ctrName(t, "apiheld")
	a.mustDocker(t, "run", "-dit", "--name", name, "--network", "none", imageFull, "sh")
	defer myctr(t, "rm", "-f", name)
	select {
	case err := <-done:
		t.Fatalf("the service exited (%v) while it holds the stdin of %s", err, name)
	case <-time.After(3 * time.Second):
	}
	if st := inspect(t, name).State; !st.Running {
		t.Errorf("%s after 3 idle seconds of the service: %+v, want running", name, st)
	}
	mustMyctr(t, "stop", "-t", "1", name)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Errorf("the service still runs 20 s after the container it held ended")
	}
}

// TestAPIUpdate: docker update is myctr update: where the container has
// no cgroup of its own (this tier's host) it is refused with the reason,
// and the record keeps its limits; a bad value and a new restart policy
// are refused. The VM tier's TestAPISocketMemoryLimit checks an update
// that lands in a cgroup.
func TestAPIUpdate(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apiupd")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sleep", "303")
	defer myctr(t, "rm", "-f", name)
	if _, errOut, code := a.docker(t, time.Minute, "update", "--memory", "not-a-size", name); code == 0 || !strings.Contains(errOut, "memory") {
		t.Errorf("docker update --memory not-a-size: exit %d stderr %q, want a refusal", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "update", "--restart", "always", name); code == 0 || !strings.Contains(errOut, "RestartPolicy") {
		t.Errorf("docker update --restart: exit %d stderr %q, want a refusal naming RestartPolicy", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "update", "--memory", "64m", "no-such-container-upd"); code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("docker update of an unknown container: exit %d stderr %q", code, errOut)
	}
	if !hybridHost() {
		t.Skip("the refusal is for hosts that give containers no cgroup; the VM tier checks an update that lands")
	}
	_, errOut, code := a.docker(t, time.Minute, "update", "--memory", "64m", name)
	if code == 0 || !strings.Contains(errOut, "no cgroup of its own") {
		t.Errorf("docker update --memory 64m without a cgroup: exit %d stderr %q, want the reason", code, errOut)
	}
	if out := a.mustDocker(t, "inspect", "--format", "{{.HostConfig.Memory}}", name); strings.TrimSpace(out) != "0" {
		t.Errorf("the refused update changed the record: HostConfig.Memory %q", out)
	}
}
