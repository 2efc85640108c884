package netwatch

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fake tools are /bin/sh scripts; $1 is the pid file. They do what
// the real tools do at the points the watcher sees: pasta writes its pid
// file, a line, once ready; slirp4netns writes a byte to fd 4 once ready
// and exits when fd 3 (the exit pipe) reaches its end.
const (
	fakePastaReady   = `echo $$ >"$1"; exec sleep 60`
	fakeSlirpReady   = `printf x >&4; read -r _ <&3; exit 0`
	fakeExitEarly    = `exit 3`
	fakePastaPartial = `printf $$ >"$1"; exit 3` // no newline: not yet written
	fakeNeverReady   = `printf $$ >"$1"; exec sleep 60`
)

func fakeSpec(t *testing.T, mode, script string) Spec {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	return Spec{Mode: mode, Tool: "/bin/sh", Args: []string{"-c", script, mode, pidFile}, PidFile: pidFile}
}

// startFake starts spec's fake tool prepared by tl, as startTool does.
func startFake(t *testing.T, spec Spec, tl tool) *proc {
	t.Helper()
	cmd := exec.Command(spec.Tool, spec.Args...)
	cmd.Stderr = os.Stderr
	if err := tl.prepare(cmd); err != nil {
		t.Fatal(err)
	}
	p, err := startProc(cmd)
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.exited })
	return p
}

func TestNewTool(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want tool // nil: refused
	}{
		{ModePasta, &pasta{}},
		{ModeSlirp4netns, &slirp4netns{}},
		{"vpnkit", nil},
		{"", nil},
		{"Pasta", nil},
	} {
		tl, err := newTool(Spec{Mode: tc.mode})
		if tc.want == nil {
			want := "unknown network mode " + strconv.Quote(tc.mode)
			if err == nil || err.Error() != want {
				t.Errorf("newTool(%q) = %T, %v; want error %q", tc.mode, tl, err, want)
			}
			continue
		}
		if err != nil || reflect.TypeOf(tl) != reflect.TypeOf(tc.want) {
			t.Errorf("newTool(%q) = %T, %v; want %T", tc.mode, tl, err, tc.want)
		}
	}
}

// TestToolReady: ready returns when the fake tool says so, fails when
// slirp4netns exits without saying it, and keeps waiting for pasta's
// pid file until its line is complete.
func TestToolReady(t *testing.T) {
	for _, tc := range []struct {
		name, mode, script string
		want               error // nil: ready; errNotWaiting: still waiting when the tool is gone
	}{
		{"pasta ready", ModePasta, fakePastaReady, nil},
		{"pasta exits", ModePasta, fakeExitEarly, errNotWaiting},
		{"pasta half a pid file", ModePasta, fakePastaPartial, errNotWaiting},
		{"slirp4netns ready", ModeSlirp4netns, fakeSlirpReady, nil},
		{"slirp4netns exits", ModeSlirp4netns, fakeExitEarly, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fakeSpec(t, tc.mode, tc.script)
			tl, err := newTool(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer tl.close()
			p := startFake(t, spec, tl)
			done := make(chan struct{})
			ready := make(chan error, 1)
			go func() { ready <- tl.ready(done) }()
			if tc.want == errNotWaiting {
				// Give up once the tool is gone and a few polls passed.
				select {
				case err := <-p.exited:
					time.Sleep(50 * time.Millisecond)
					close(done)
					p.exited <- err
				case <-time.After(10 * time.Second):
					t.Fatal("the fake tool did not exit")
				}
			}
			select {
			case err := <-ready:
				if !errors.Is(err, tc.want) {
					t.Errorf("ready() = %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ready() did not return")
			}
		})
	}
}

// TestSlirpCloseEndsTool: closing the exit pipe ends slirp4netns.
func TestSlirpCloseEndsTool(t *testing.T) {
	spec := fakeSpec(t, ModeSlirp4netns, fakeSlirpReady)
	tl, _ := newTool(spec)
	p := startFake(t, spec, tl)
	if err := tl.ready(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		t.Fatalf("the tool exited before close: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	tl.close()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("the tool: %v", err)
		}
		p.exited <- err
	case <-time.After(10 * time.Second):
		t.Fatal("the tool still runs after close")
	}
}

// TestStartTool: the errors startTool reports, which are the watcher's
// report, and that a tool it gives up on is stopped.
func TestStartTool(t *testing.T) {
	for _, tc := range []struct {
		name, mode, script string
		sig                os.Signal // sent before ready
		want               string    // a pattern of the error; "" is success
	}{
		{"pasta ready", ModePasta, fakePastaReady, nil, ""},
		{"slirp4netns ready", ModeSlirp4netns, fakeSlirpReady, nil, ""},
		{"pasta exits", ModePasta, fakeExitEarly, nil, `^pasta exited before the network was ready: exit status 3$`},
		// Whichever the watcher sees first: the end of the ready pipe or the exit.
		{"slirp4netns exits", ModeSlirp4netns, fakeExitEarly, nil,
			`^slirp4netns( exited before the network was ready: exit status 3|: waiting for ready: EOF)$`},
		{"signal", ModePasta, fakeNeverReady, syscall.SIGTERM, `^stopped by terminated before the network was ready$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fakeSpec(t, tc.mode, tc.script)
			tl, err := newTool(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer tl.close()
			sigs := make(chan os.Signal, 1)
			if tc.sig != nil {
				go func() {
					// Once the tool runs (its pid file exists).
					waitFile(t, spec.PidFile)
					sigs <- tc.sig
				}()
			}
			p, err := startTool(spec, tl, sigs)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("startTool: %v", err)
				}
				defer p.stop()
				if p.pid() <= 0 {
					t.Errorf("pid %d", p.pid())
				}
				return
			}
			if err == nil {
				p.stop()
				t.Fatalf("startTool succeeded, want %s", tc.want)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("startTool: %q, want %s", err, tc.want)
			}
			if tc.sig != nil {
				pid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, spec.PidFile)))
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("the tool (pid %d) was not stopped: kill 0: %v", pid, err)
				}
			}
		})
	}
}

// TestStartToolPublishes: slirp4netns's ports are published after ready,
// and a refusal is the report, with the tool stopped.
func TestStartToolPublishes(t *testing.T) {
	fwd := Hostfwd{HostPort: 8080, GuestPort: 80, Protocol: "tcp"}
	for _, tc := range []struct {
		name, reply, want string
	}{
		{"ok", `{"return":{"id":1}}`, ""},
		{"in use", `{"error":{"desc":"bad request: add_hostfwd: bind: Address already in use"}}`,
			"publish :8080->80/tcp: host port 8080 is in use: bad request: add_hostfwd: bind: Address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := fakeSpec(t, ModeSlirp4netns, fakeSlirpReady)
			socket := filepath.Join(t.TempDir(), APISocketFile)
			reqs := fakeAPI(t, socket, tc.reply)
			tl := &slirp4netns{socket: socket, guest: "10.0.2.100", hostfwds: []Hostfwd{fwd}}
			defer tl.close()
			p, err := startTool(spec, tl, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("startTool: %v", err)
				}
				p.stop()
			} else if err == nil || err.Error() != tc.want {
				t.Fatalf("startTool: %v, want %q", err, tc.want)
			}
			select {
			case <-reqs:
			default:
				t.Error("no add_hostfwd request")
			}
		})
	}
}

func TestAddHostfwd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fwd   Hostfwd
		reply string
		want  string // the error; "" is none
		args  map[string]any
	}{
		{"ok", Hostfwd{HostPort: 8080, GuestPort: 80, Protocol: "tcp"}, `{"return":{"id":1}}`, "",
			map[string]any{"proto": "tcp", "host_addr": "0.0.0.0", "host_port": 8080.0, "guest_addr": "10.0.2.100", "guest_port": 80.0}},
		{"host address", Hostfwd{HostIP: "127.0.0.1", HostPort: 5353, GuestPort: 53, Protocol: "udp"}, `{"return":{"id":2}}`, "",
			map[string]any{"proto": "udp", "host_addr": "127.0.0.1", "host_port": 5353.0, "guest_addr": "10.0.2.100", "guest_port": 53.0}},
		{"bind", Hostfwd{HostPort: 8080, GuestPort: 80, Protocol: "tcp"},
			`{"error":{"desc":"bad request: add_hostfwd: bind failed"}}`,
			"host port 8080 is in use: bad request: add_hostfwd: bind failed", nil},
		{"in use", Hostfwd{HostPort: 9000, GuestPort: 80, Protocol: "tcp"},
			`{"error":{"desc":"Address In Use"}}`,
			"host port 9000 is in use: Address In Use", nil},
		{"other error", Hostfwd{HostPort: 8080, GuestPort: 80, Protocol: "tcp"},
			`{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}}`,
			"bad request: add_hostfwd: slirp_add_hostfwd failed", nil},
		{"bad reply", Hostfwd{HostPort: 8080, GuestPort: 80, Protocol: "tcp"}, `nonsense`,
			`bad reply "nonsense": invalid character 'o' in literal null (expecting 'u')`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "api.sock")
			reqs := fakeAPI(t, socket, tc.reply)
			err := addHostfwd(socket, tc.fwd, "10.0.2.100")
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Errorf("addHostfwd: %v, want %q", err, tc.want)
			}
			req := <-reqs
			if req["execute"] != "add_hostfwd" {
				t.Errorf("request %v", req)
			}
			if tc.args != nil && !reflect.DeepEqual(req["arguments"], tc.args) {
				t.Errorf("arguments %v, want %v", req["arguments"], tc.args)
			}
		})
	}
}

// fakeAPI serves one request on a unix socket at path, as slirp4netns's
// API does (the request, the end of the client's writes, one reply), and
// passes the request on.
func fakeAPI(t *testing.T, path, reply string) <-chan map[string]any {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reqs := make(chan map[string]any, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(reqs)
			return
		}
		defer c.Close()
		var req map[string]any
		b, _ := io.ReadAll(c)
		if err := json.Unmarshal(b, &req); err != nil {
			req = map[string]any{"unparsed": string(b)}
		}
		_, _ = c.Write([]byte(reply))
		reqs <- req
	}()
	return reqs
}

// waitFile waits until path has content: the shell's redirection makes
// it empty before printf writes the pid.
func waitFile(t *testing.T, path string) {
	for i := 0; i < 2000; i++ {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%s did not appear", path)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
