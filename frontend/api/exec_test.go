package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	ctypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/nsexec"
)

func TestDecodeExecCreate(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int // 0: accepted
	}{
		{"not json", `{"Cmd":`, 400},
		{"no command", `{"AttachStdout":true}`, 400},
		{"empty body", ``, 400},
		{"privileged", `{"Cmd":["sh"],"Privileged":true}`, 501},
		{"empty env key", `{"Cmd":["sh"],"Env":["=1"]}`, 400},
		{"full", `{"Cmd":["sh","-c","pwd"],"Env":["X=1"],"User":"1000","WorkingDir":"/tmp","Tty":true,
			"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}`, 0},
	} {
		req, err := decodeExecCreate(strings.NewReader(tc.body))
		if tc.code != 0 {
			if got := statusOf(err); got != tc.code {
				t.Errorf("%s: %v (%d), want %d", tc.name, err, got, tc.code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if strings.Join(req.Cmd, " ") != "sh -c pwd" || req.Env[0] != "X=1" || req.User != "1000" || req.WorkingDir != "/tmp" ||
			!req.Tty || !req.AttachStdin || !req.AttachStdout || !req.AttachStderr {
			t.Errorf("%s: %+v", tc.name, req)
		}
	}
}

// TestExecEndpoints drives the exec endpoints through the server over a
// store that holds one stopped container, and execs put in the table as
// the handlers leave them.
func TestExecEndpoints(t *testing.T) {
	stoppedID := strings.Repeat("ab", 32)
	c := container.Container{ID: stoppedID, Name: "stopped", State: container.State{Status: container.StatusExited}}
	store, _ := storeWith(t, c)
	s := New(&Backend{Version: "test", Containers: store})
	running := &execInstance{id: strings.Repeat("1", 64), containerID: stoppedID, started: true, running: true, pid: 42,
		cfg: ctypes.ExecCreateRequest{Cmd: []string{"sleep", "9"}, AttachStdout: true}}
	ended := &execInstance{id: strings.Repeat("2", 64), containerID: stoppedID,
		cfg: ctypes.ExecCreateRequest{Cmd: []string{"true"}, Tty: true}}
	ended.started = true
	ended.finish(6)
	fresh := &execInstance{id: strings.Repeat("3", 64), containerID: stoppedID, cfg: ctypes.ExecCreateRequest{Cmd: []string{"true"}}}
	for _, e := range []*execInstance{running, ended, fresh} {
		s.execs.add(e)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string // in the body
	}{
		{"POST", "/v1.41/containers/nosuch/exec", `{"Cmd":["true"]}`, 404, "No such container: nosuch"},
		{"POST", "/v1.41/containers/stopped/exec", `{"Cmd":["true"]}`, 409, "is not running"},
		{"POST", "/v1.41/containers/stopped/exec", `{"Cmd":["true"],"Privileged":true}`, 501, "privileged"},
		{"POST", "/v1.41/containers/stopped/exec", `{}`, 400, "No exec command"},
		{"POST", "/v1.41/exec/nosuch/start", `{}`, 404, "No such exec instance: nosuch"},
		{"POST", "/v1.41/exec/" + running.id + "/start", `{"Detach":true}`, 409, "already been started"},
		{"POST", "/v1.41/exec/" + fresh.id + "/start", `{"Detach":true}`, 409, "is not running"},
		{"POST", "/v1.41/exec/" + fresh.id + "/start", `{"Detach":`, 400, "decode"},
		{"GET", "/v1.41/exec/nosuch/json", "", 404, "No such exec instance"},
		{"POST", "/v1.41/exec/" + running.id + "/resize?h=24&w=80", "", 200, ""},
		{"POST", "/v1.41/exec/" + ended.id + "/resize?h=24&w=80", "", 200, ""},
		{"POST", "/v1.41/exec/" + running.id + "/resize?h=x&w=80", "", 400, "invalid h"},
		{"POST", "/v1.41/exec/" + running.id + "/resize?h=24", "", 400, "invalid w"},
		{"POST", "/v1.41/exec/nosuch/resize", "", 404, "No such exec instance"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, w.Code, w.Body.String(), tc.code, tc.want)
		}
	}
	// The fresh exec was refused, not consumed: it may still start.
	if fresh.isStarted() {
		t.Error("a refused start marked the exec started")
	}

	for _, tc := range []struct {
		e    *execInstance
		want string
	}{
		{running, `"ExitCode":null`},
		{ended, `"ExitCode":6`},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/exec/"+tc.e.id+"/json", nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("inspect %s: %d %s, want %s", tc.e.id, w.Code, w.Body.String(), tc.want)
		}
		var got ctypes.ExecInspectResponse
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != tc.e.id || got.ContainerID != stoppedID || got.Running != tc.e.running || got.ProcessConfig == nil ||
			got.ProcessConfig.Entrypoint != tc.e.cfg.Cmd[0] || got.ProcessConfig.Tty != tc.e.cfg.Tty {
			t.Errorf("inspect %s: %+v", tc.e.id, got)
		}
		if tc.e == running && (got.Pid != 42 || strings.Join(got.ProcessConfig.Arguments, " ") != "9") {
			t.Errorf("inspect of the running exec: %+v %+v", got, got.ProcessConfig)
		}
	}
}

// TestExecResize: a TTY exec's resize sets its pty's size (through the
// exec's own duplicate), and one that has ended has nothing to resize.
func TestExecResize(t *testing.T) {
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pty to resize (/dev/ptmx): %v", err)
	}
	defer pty.Close()
	e := &execInstance{id: "x", cfg: ctypes.ExecCreateRequest{Cmd: []string{"sh"}, Tty: true}}
	e.setStarted(7, pty)
	if e.pty == nil {
		t.Fatal("no duplicate of the pty")
	}
	if err := e.resize(33, 101); err != nil {
		t.Fatal(err)
	}
	ws, err := unix.IoctlGetWinsize(int(pty.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Row != 33 || ws.Col != 101 {
		t.Errorf("pty size %dx%d, want 33x101", ws.Row, ws.Col)
	}
	e.finish(0)
	if e.pty != nil {
		t.Error("finish kept the pty")
	}
	if err := e.resize(10, 10); err != nil {
		t.Errorf("resize of an ended exec: %v", err)
	}
}

func TestNewExecID(t *testing.T) {
	a, err := newExecID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newExecID()
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("ids %q %q", a, b)
	}
}

// fakeExec is a process that reads its stdin to the end, echoes it to
// stdout, writes to stderr (the pty with Tty) and exits 6; "missing" is a command not found.
type fakeExec struct{}

func (fakeExec) Exec(c *container.Container, o *container.ExecOptions) (int, error) {
	if o.Args[0] == "missing" {
		return 127, errors.New(`exec "missing": executable file not found in $PATH`)
	}
	o.Started(99, nil)
	var in []byte
	if o.Stdin != nil {
		in, _ = io.ReadAll(o.Stdin)
	}
	fmt.Fprintf(o.Stdout, "out:%s", in)
	if o.Tty {
		fmt.Fprint(o.Stdout, "err\n") // a pty is both streams
	} else {
		fmt.Fprint(o.Stderr, "err\n")
	}
	return 6, nil
}

// TestExecStream drives an exec's start over a real connection: the
// 101 upgrade, stdin in, the frames out (raw with a TTY), and the exit
// code in the inspect as soon as the stream has ended.
func TestExecStream(t *testing.T) {
	// The container's init is this process: it runs as long as the test.
	_, start, err := nsexec.ProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("cd", 32)
	c := container.Container{ID: id, Name: "up", State: container.State{Status: container.StatusRunning, Pid: os.Getpid(), PidStart: start}}
	store, _ := storeWith(t, c)
	s := New(&Backend{Version: "test", Containers: store})
	s.execRunner = fakeExec{}
	srv := httptest.NewServer(s)
	defer srv.Close()

	create := func(body string) string {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1.41/containers/up/exec", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r ctypes.ExecCreateResponse
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 201 || len(r.ID) != 64 {
			t.Fatalf("create: %d %+v %v", resp.StatusCode, r, err)
		}
		return r.ID
	}
	inspect := func(execID string) ctypes.ExecInspectResponse {
		t.Helper()
		resp, err := http.Get(srv.URL + "/exec/" + execID + "/json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r ctypes.ExecInspectResponse
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tty := range []bool{false, true} {
		execID := create(fmt.Sprintf(`{"Cmd":["cat"],"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":%v}`, tty))
		if got := inspect(execID); got.Running || got.ExitCode != nil {
			t.Errorf("before start: %+v", got)
		}
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"Detach":false,"Tty":%v}`, tty)
		fmt.Fprintf(conn, "POST /v1.41/exec/%s/start HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", execID, len(body), body)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantCT := map[bool]string{false: "application/vnd.docker.multiplexed-stream", true: "application/vnd.docker.raw-stream"}[tty]
		if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "tcp" || resp.Header.Get("Content-Type") != wantCT {
			t.Fatalf("tty=%v: start answered %d %v", tty, resp.StatusCode, resp.Header)
		}
		fmt.Fprint(conn, "hello\n")
		conn.(*net.TCPConn).CloseWrite()
		var out, errOut bytes.Buffer
		if tty {
			_, err = io.Copy(&out, br)
		} else {
			_, err = stdcopy.StdCopy(&out, &errOut, br)
		}
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantOut, wantErr := "out:hello\n", "err\n"
		if tty {
			wantOut, wantErr = "out:hello\nerr\n", ""
		}
		if out.String() != wantOut || errOut.String() != wantErr {
			t.Errorf("tty=%v: stdout %q stderr %q, want %q %q", tty, out.String(), errOut.String(), wantOut, wantErr)
		}
		got := inspect(execID)
		if got.Running || got.ExitCode == nil || *got.ExitCode != 6 || got.Pid != 99 {
			t.Errorf("tty=%v: inspect after the stream: %+v", tty, got)
		}
		resp, err = http.Post(srv.URL+"/exec/"+execID+"/start", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 409 {
			t.Errorf("tty=%v: second start %d, want 409", tty, resp.StatusCode)
		}
	}

	// A process that could not start: its error in the stream, its code
	// in the inspect. Without Upgrade, the answer is a 200.
	execID := create(`{"Cmd":["missing"],"AttachStdout":true,"AttachStderr":true}`)
	resp, err := http.Post(srv.URL+"/exec/"+execID+"/start", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	_, err = stdcopy.StdCopy(&out, &errOut, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(errOut.String(), "Error: exec \"missing\"") {
		t.Errorf("start of a missing command: %d %v stdout %q stderr %q", resp.StatusCode, err, out.String(), errOut.String())
	}
	if got := inspect(execID); got.ExitCode == nil || *got.ExitCode != 127 {
		t.Errorf("inspect of a missing command: %+v", got)
	}

	execID = create(`{"Cmd":["true"]}`)
	resp, err = http.Post(srv.URL+"/exec/"+execID+"/start", "application/json", strings.NewReader(`{"Detach":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("detached start: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for got := inspect(execID); got.ExitCode == nil || *got.ExitCode != 6; got = inspect(execID) {
		if time.Now().After(deadline) {
			t.Fatalf("detached exec never ended: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
