package netwatch

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/nsexec"
)

func TestMain(m *testing.M) {
	if os.Getenv(nsexec.EnvStage) == Stage {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// A watcher is the test binary re-executed as the watcher stage, with a
// pipe standing in for the pidfd of the container's init (fd 3: it polls
// readable when the test closes its end) and the status pipe (fd 4).
type watcherRun struct {
	cmd     *exec.Cmd
	exited  chan error
	initW   *os.File // close: the container's init exited
	statusR *os.File
	log     string
}

func startWatcher(t *testing.T, specJSON string) *watcherRun {
	t.Helper()
	initR, initW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &watcherRun{initW: initW, statusR: statusR, log: filepath.Join(t.TempDir(), "network.log"), exited: make(chan error, 1)}
	logf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	r.cmd = exec.Command(os.Args[0])
	r.cmd.Env = append(os.Environ(), nsexec.EnvStage+"="+Stage, nsexec.EnvVersion+"="+nsexec.Version, EnvSpec+"="+specJSON)
	r.cmd.ExtraFiles = []*os.File{initR, statusW}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	err = r.cmd.Start()
	initR.Close()
	statusW.Close()
	if err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		r.exited <- nil
		initW.Close()
		statusR.Close()
	})
	return r
}

func (r *watcherRun) status(t *testing.T) Status {
	t.Helper()
	_ = r.statusR.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(r.statusR)
	if err != nil {
		t.Fatalf("status: %v; log:\n%s", err, readFile(t, r.log))
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("status %q: %v; log:\n%s", b, err, readFile(t, r.log))
	}
	return st
}

// wait returns the watcher's exit code and log.
func (r *watcherRun) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case err := <-r.exited:
		r.exited <- err
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode(), readFile(t, r.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("the watcher still runs; log:\n%s", readFile(t, r.log))
		return 0, ""
	}
}

func specJSON(t *testing.T, spec Spec) string {
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWatcherRefuses: a spec the watcher cannot run is reported through
// the status pipe, and the watcher exits 1.
func TestWatcherRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"unknown mode", `{"Mode":"vpnkit","Tool":"/bin/true"}`, `unknown network mode "vpnkit"`},
		{"bad spec", `{"Mode":`, "bad spec: unexpected end of JSON input"},
		{"no dir", `{"Mode":"pasta","Dir":"/nonexistent/netwatch"}`, "chdir /nonexistent/netwatch: no such file or directory"},
		{"no tool", `{"Mode":"pasta","Tool":"/nonexistent/pasta"}`, "start /nonexistent/pasta: fork/exec /nonexistent/pasta: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startWatcher(t, tc.spec)
			if st := r.status(t); st.Error != tc.want || st.Pid != 0 {
				t.Errorf("status %+v, want error %q", st, tc.want)
			}
			code, log := r.wait(t)
			if code != 1 || !strings.Contains(log, "network-watch[") || !strings.Contains(log, tc.want) {
				t.Errorf("exit %d, log:\n%s", code, log)
			}
		})
	}
}

// TestWatcherSupervises: the watcher reports the tool's pid once it is
// ready, and ends it and itself when the container's init exits or a
// signal comes (0), or when the tool exits (1).
func TestWatcherSupervises(t *testing.T) {
	// The fake pasta refuses to get ready when the watcher's fds 3 and 4
	// leaked into it.
	script := `for fd in 3 4; do [ -e /proc/$$/fd/$fd ] && exit 9; done; ` + fakePastaReady
	for _, tc := range []struct {
		name    string
		end     func(r *watcherRun, pid int)
		code    int
		log     string
		stopped bool // the watcher stopped the tool
	}{
		{"init exits", func(r *watcherRun, _ int) { r.initW.Close() }, 0, "container exited: stopping pasta", true},
		{"signal", func(r *watcherRun, _ int) { _ = r.cmd.Process.Signal(syscall.SIGTERM) }, 0, "terminated: stopping pasta", true},
		{"tool exits", func(_ *watcherRun, pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }, 1, "pasta exited while the container runs: signal: killed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fakeSpec(t, ModePasta, script)
			r := startWatcher(t, specJSON(t, spec))
			st := r.status(t)
			pid := st.Pid
			if st.Error != "" || pid <= 0 || st.ForwarderPid != 0 {
				t.Fatalf("status %+v; log:\n%s", st, readFile(t, r.log))
			}
			if got := strings.TrimSpace(readFile(t, spec.PidFile)); got != strconv.Itoa(pid) {
				t.Errorf("status pid %d, the tool's %s", pid, got)
			}
			tc.end(r, pid)
			code, log := r.wait(t)
			if code != tc.code || !strings.Contains(log, tc.log) || !strings.Contains(log, "pasta ready, pid "+strconv.Itoa(pid)) {
				t.Errorf("exit %d, want %d and %q; log:\n%s", code, tc.code, tc.log, log)
			}
			if err := syscall.Kill(pid, 0); tc.stopped && !errors.Is(err, syscall.ESRCH) {
				t.Errorf("the tool (pid %d) still runs after the watcher: kill 0: %v", pid, err)
			}
		})
	}
}

// TestWatcherSlirpPublish: in slirp4netns mode the watcher runs in
// Spec.Dir, publishes through the API socket there, and a refusal is its
// report.
func TestWatcherSlirpPublish(t *testing.T) {
	for _, tc := range []struct {
		name, reply, want string
	}{
		{"ok", `{"return":{"id":1}}`, ""},
		{"in use", `{"error":{"desc":"bind: address in use"}}`, "publish 127.0.0.1:8080->80/tcp: host port 8080 is in use: bind: address in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fakeSpec(t, ModeSlirp4netns, fakeSlirpReady)
			spec.Dir = t.TempDir()
			spec.GuestAddr = "10.0.2.100"
			spec.Hostfwds = []Hostfwd{{HostIP: "127.0.0.1", HostPort: 8080, GuestPort: 80, Protocol: "tcp"}}
			reqs := fakeAPI(t, filepath.Join(spec.Dir, APISocketFile), tc.reply)
			r := startWatcher(t, specJSON(t, spec))
			st := r.status(t)
			if st.Error != tc.want || (tc.want == "") != (st.Pid > 0) {
				t.Errorf("status %+v, want error %q", st, tc.want)
			}
			if req := <-reqs; req["execute"] != "add_hostfwd" {
				t.Errorf("request %v", req)
			}
			r.initW.Close()
			code, log := r.wait(t)
			if want := map[bool]int{true: 0, false: 1}[tc.want == ""]; code != want {
				t.Errorf("exit %d, want %d; log:\n%s", code, want, log)
			}
		})
	}
}
