package nsexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/userns"
)

// The tests in this file re-execute the test binary as the init and exec
// stages, as runc's nsenter tests do: the C constructor of nsenter.c runs
// in it before the Go runtime, and TestMain then runs the stage from the
// same table the binaries use. The test itself plays myctr's part, the
// parent on the other end of the sync socket, message by message.
//
// They need user namespaces and are named TestReal*: the unit tier (run
// as root in CI) leaves them out, and the rootless tier runs them as the
// test user (tests/setup/run-integration.sh), where they must pass as a
// plain user, with one id mapped, as myctr runs.

func TestMain(m *testing.M) {
	if os.Getenv("MYCTR_TEST_NO_CONSTRUCTOR") == "1" {
		constructorRan = false // as a build without cgo and without preinit
	}
	InitStageTable().Run()
	os.Exit(m.Run())
}

// stageBinary is the program the tests start as the stages: the test
// binary itself, or $MYCTR_TEST_STAGE_BINARY (run-integration.sh runs the
// TestRealNsenter* tests again with myctr-init, whose constructor runs
// from its entry point, without a C library: see package preinit).
func stageBinary() string {
	if p := os.Getenv("MYCTR_TEST_STAGE_BINARY"); p != "" {
		return p
	}
	return os.Args[0]
}

// TestStageWithoutConstructor: a binary whose constructor did not run (a
// build without cgo that lacks package preinit) refuses every stage.
func TestStageWithoutConstructor(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"MYCTR_TEST_NO_CONSTRUCTOR=1", EnvStage + "=" + StageSignal, EnvVersion + "=" + Version}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != ExitSetup || !strings.Contains(string(out), "without the C constructor") {
		t.Errorf("exit %d, %q; want %d and the missing constructor named", code, out, ExitSetup)
	}
}

// stageTimeout bounds each read of the sync socket: a stage that hangs
// fails the test instead of stalling the tier.
const stageTimeout = 20 * time.Second

// stage is one re-executed stage and the test's end of its socket.
type stage struct {
	cmd    *exec.Cmd
	parent *Conn
	out    *os.File // the stage's stdout and stderr
}

// startStage runs the test binary as a stage with env (plus the sync
// socket and the protocol Version) and extra descriptors from 3 on; the
// sync socket comes after them.
func startStage(t *testing.T, name string, env []string, extra ...*os.File) *stage {
	t.Helper()
	parent, child, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Close() })
	tv := unix.NsecToTimeval(stageTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(int(parent.f.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	// A file, not a pipe: the init outlives the process we start (it is
	// cloned with CLONE_PARENT), and cmd.Wait would wait for a pipe's
	// last writer.
	out, err := os.CreateTemp(t.TempDir(), "stage-out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd := exec.Command(stageBinary())
	cmd.Args = []string{"myctr-" + name}
	cmd.Env = append([]string{EnvStage + "=" + name, EnvVersion + "=" + Version,
		fmt.Sprintf("%s=%d", EnvSyncFD, 3+len(extra))}, env...)
	cmd.ExtraFiles = append(extra, child)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return &stage{cmd: cmd, parent: parent, out: out}
}

// output is what the stage and its children wrote so far.
func (s *stage) output(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exitCode waits for the process we started and returns its exit code.
func (s *stage) exitCode(t *testing.T) int {
	t.Helper()
	err := s.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return s.cmd.ProcessState.ExitCode()
}

// waitPid waits for pid, a child of the test (the init, through
// CLONE_PARENT), and returns its exit code.
func waitPid(t *testing.T, pid int) int {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("wait for %d: %v", pid, err)
		}
		return ws.ExitStatus()
	}
}

// busybox is a static program that can run inside an empty root.
func busybox(t *testing.T) string {
	t.Helper()
	const p = "/bin/busybox" // Debian busybox-static, which the tiers install
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not installed (package busybox-static): %v", p, err)
	}
	return p
}

// mapIDs writes pid's id maps the way myctr does for a user without a
// subordinate range: container root is the user.
func mapIDs(t *testing.T, pid int) {
	t.Helper()
	proc := fmt.Sprintf("/proc/%d/", pid)
	for _, w := range []struct{ file, data string }{
		{"uid_map", fmt.Sprintf("0 %d 1\n", os.Geteuid())},
		{"setgroups", "deny"},
		{"gid_map", fmt.Sprintf("0 %d 1\n", os.Getegid())},
	} {
		if err := os.WriteFile(proc+w.file, []byte(w.data), 0); err != nil {
			t.Fatalf("write %s: %v", w.file, err)
		}
	}
}

// initConfig is a container of one busybox layer, running args.
func initConfig(t *testing.T, args ...string) *InitConfig {
	t.Helper()
	bb := busybox(t)
	dir := t.TempDir()
	lower := filepath.Join(dir, "lower")
	for _, d := range []string{"lower/bin", "lower/dev", "lower/proc", "lower/tmp", "upper", "work", "rootfs", "run/userdata"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return &InitConfig{
		Spec: &specs.Spec{
			Process: &specs.Process{Args: args, Cwd: "/", Env: []string{"PATH=/bin"}},
			Root:    &specs.Root{Path: filepath.Join(dir, "rootfs")},
			Linux:   &specs.Linux{},
		},
		Overlay: Overlay{Lower: []string{lower}, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"), RunDir: filepath.Join(dir, "run")},
	}
}

// testInitNS is what the init stage makes in these tests: no network
// namespace.
const testInitNS = "mnt,pid,ipc,uts"

// startInit starts the init stage and plays the parent up to the
// configuration: it reads the pid, sends msg, writes the maps and sends
// next (nil: a proceed message, unless msg is not an init's
// configuration, which the init refuses at once). It returns the init's
// pid.
func startInit(t *testing.T, msg, next *Message) (*stage, int) {
	t.Helper()
	s := startStage(t, StageInit, []string{EnvInitNS + "=" + testInitNS})
	m, _, err := s.parent.Expect(MsgPid)
	if err != nil {
		t.Fatalf("expect pid: %v\n%s", err, s.output(t))
	}
	// The constructor exits once the pid is sent; the init is ours.
	if code := s.exitCode(t); code != 0 {
		t.Fatalf("the init stage's first process exited %d", code)
	}
	t.Cleanup(func() { unix.Kill(m.Pid, unix.SIGKILL); unix.Wait4(m.Pid, nil, unix.WNOHANG, nil) })
	if err := s.parent.Send(msg); err != nil {
		t.Fatal(err)
	}
	mapIDs(t, m.Pid)
	if next == nil && msg.Type == MsgConfig && msg.Init != nil {
		next = &Message{Type: MsgProceed}
	}
	if next != nil {
		if err := s.parent.Send(next); err != nil {
			t.Fatal(err)
		}
	}
	return s, m.Pid
}

// TestRealNsenterInit: the init path end to end: pid, maps, config, the
// root filesystem from an overlay, and the container's process executed
// (the end of the stream), which writes its output and exits.
func TestRealNsenterInit(t *testing.T) {
	cfg := initConfig(t, "busybox", "sh", "-c", "echo in-container $(busybox id -u) $$")
	s, pid := startInit(t, &Message{Type: MsgConfig, Init: cfg}, nil)
	if m, _, err := s.parent.Expect(MsgPty, MsgEnd); err != nil || m.Type != MsgEnd {
		t.Fatalf("after the config: %v %v\n%s", m, err, s.output(t))
	}
	if code := waitPid(t, pid); code != 0 {
		t.Fatalf("the container's process exited %d\n%s", code, s.output(t))
	}
	// Root of its user namespace, PID 1 of its PID namespace.
	if out := s.output(t); !strings.Contains(out, "in-container 0 1") {
		t.Errorf("output %q, want \"in-container 0 1\"", out)
	}
}

// TestRealNsenterInitErrors: each failure of the init comes back as a
// StepError with its step and exit code, and the init exits with it.
func TestRealNsenterInitErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		msg      func(t *testing.T) *Message
		next     *Message
		step     string
		exit     int
		contains string
	}{
		{
			name: "command not found",
			msg:  func(t *testing.T) *Message { return &Message{Type: MsgConfig, Init: initConfig(t, "/no/such/command")} },
			step: "exec /no/such/command", exit: ExitNotFound,
		},
		{
			name: "command not executable",
			msg:  func(t *testing.T) *Message { return &Message{Type: MsgConfig, Init: initConfig(t, "/dev")} },
			step: "exec /dev", exit: ExitNotExecutable,
		},
		{
			name: "a message out of order",
			msg:  func(*testing.T) *Message { return &Message{Type: MsgJoined} },
			step: "read configuration", exit: ExitSetup, contains: `unexpected sync message "joined"`,
		},
		{
			name: "an exec stage's configuration",
			msg: func(*testing.T) *Message {
				return &Message{Type: MsgConfig, Exec: &ExecConfig{Process: &specs.Process{Args: []string{"true"}}}}
			},
			step: "read configuration", exit: ExitSetup, contains: "exec stage's configuration",
		},
		{
			name: "a second configuration instead of proceed",
			msg:  func(t *testing.T) *Message { return &Message{Type: MsgConfig, Init: initConfig(t, "true")} },
			next: &Message{Type: MsgConfig, Init: &InitConfig{Spec: &specs.Spec{Process: &specs.Process{}, Root: &specs.Root{}, Linux: &specs.Linux{}}}},
			step: "wait for the id maps, cgroup and network", exit: ExitSetup, contains: `unexpected sync message "config"`,
		},
		{
			name: "no layers",
			msg: func(t *testing.T) *Message {
				cfg := initConfig(t, "true")
				cfg.Overlay.Lower = nil
				return &Message{Type: MsgConfig, Init: cfg}
			},
			step: "prepare rootfs", exit: ExitSetup, contains: "no image layers",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pid := startInit(t, tc.msg(t), tc.next)
			_, _, err := s.parent.Expect(MsgPty, MsgEnd)
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a StepError\n%s", err, s.output(t))
			}
			if se.Step != tc.step || se.Exit != tc.exit || !strings.Contains(se.Msg, tc.contains) {
				t.Errorf("StepError %+v, want step %q, exit %d, message with %q", se, tc.step, tc.exit, tc.contains)
			}
			if code := waitPid(t, pid); code != tc.exit {
				t.Errorf("the init exited %d, want %d", code, tc.exit)
			}
		})
	}
}

// TestRealNsenterInitConstructorErrors: the C constructor's own failures
// before it has a pid to send.
func TestRealNsenterInitConstructorErrors(t *testing.T) {
	t.Run("bad sync descriptor", func(t *testing.T) {
		s := startStage(t, StageInit, []string{EnvInitNS + "=" + testInitNS, EnvSyncFD + "=3x"})
		// The environment's last _MYCTR_SYNC_FD wins: "3x".
		if code := s.exitCode(t); code != ExitSetup {
			t.Errorf("exit %d, want %d", code, ExitSetup)
		}
		if out := s.output(t); !strings.Contains(out, "bad _MYCTR_SYNC_FD") {
			t.Errorf("output %q", out)
		}
	})
	t.Run("bad join descriptor", func(t *testing.T) {
		s := startStage(t, StageInit, []string{EnvInitNS + "=" + testInitNS, EnvInitJoinFD + "=-1", EnvInitJoinNS + "=user,net"})
		_, _, err := s.parent.Expect(MsgPid)
		var se *StepError
		if !errors.As(err, &se) || se.Step != "join the network container's namespaces" || se.Errno != int(unix.EINVAL) || se.Exit != ExitSetup {
			t.Fatalf("got %v (%+v), want the join step's StepError with EINVAL", err, se)
		}
		if code := s.exitCode(t); code != ExitSetup {
			t.Errorf("exit %d, want %d", code, ExitSetup)
		}
	})
	// The namespaces to make come from the parent, checked: a bad list is
	// the init's StepError, before anything is made.
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"no list", nil},
		{"unknown name", []string{EnvInitNS + "=mnt,pid,bogus"}},
		{"no pid namespace", []string{EnvInitNS + "=mnt,ipc"}},
		{"user listed", []string{EnvInitNS + "=user,mnt,pid"}},
		{"join without user", []string{EnvInitNS + "=" + testInitNS, EnvInitJoinFD + "=0", EnvInitJoinNS + "=net"}},
		{"join what it makes", []string{EnvInitNS + "=" + testInitNS, EnvInitJoinFD + "=0", EnvInitJoinNS + "=user,uts"}},
		{"runtime: no mount namespace", []string{EnvInitNS + "=pid", EnvInitNSFDs + "="}},
		{"runtime: bad descriptor", []string{EnvInitNS + "=" + testInitNS, EnvInitNSFDs + "=net=x"}},
		{"runtime: no type", []string{EnvInitNS + "=" + testInitNS, EnvInitNSFDs + "=0"}},
		{"runtime: user not first", []string{EnvInitNS + "=" + testInitNS, EnvInitNSFDs + "=net=0,user=0"}},
		{"runtime: join what it makes", []string{EnvInitNS + "=mnt,net", EnvInitNSFDs + "=net=0"}},
		{"runtime: bad user mode", []string{EnvInitNS + "=" + testInitNS, EnvInitUser + "=bogus"}},
		{"runtime: with a pidfd join", []string{EnvInitNS + "=" + testInitNS, EnvInitUser + "=host", EnvInitJoinFD + "=0", EnvInitJoinNS + "=user,net"}},
		{"uid map alone", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 1"}},
		{"gid map alone", []string{EnvInitNS + "=" + testInitNS, EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"map: relative tool", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=newuidmap 0 1000 1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"map: no extent", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=/usr/bin/newuidmap", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"map: not triples", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000"}},
		{"map: not a number", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 -1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"map: beyond 32 bits", []string{EnvInitNS + "=" + testInitNS, EnvInitUIDMap + "=/usr/bin/newuidmap 0 4294967296 1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"map with a join", []string{EnvInitNS + "=" + testInitNS, EnvInitJoinFD + "=0", EnvInitJoinNS + "=user,net",
			EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
		{"runtime: map without a user namespace", []string{EnvInitNS + "=" + testInitNS, EnvInitUser + "=host",
			EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 1", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStage(t, StageInit, tc.env)
			_, _, err := s.parent.Expect(MsgPid)
			var se *StepError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Step, "bad _MYCTR_INIT_") || se.Errno != int(unix.EINVAL) {
				t.Fatalf("got %v (%+v), want a bad _MYCTR_INIT_* StepError with EINVAL", err, se)
			}
			if code := s.exitCode(t); code != ExitSetup {
				t.Errorf("exit %d, want %d", code, ExitSetup)
			}
		})
	}
	t.Run("protocol version", func(t *testing.T) {
		s := startStage(t, StageInit, []string{EnvInitNS + "=" + testInitNS, EnvVersion + "=0"})
		m, _, err := s.parent.Expect(MsgPid)
		if err != nil {
			t.Fatal(err)
		}
		s.exitCode(t)
		// The Go side refuses before it reads anything.
		if code := waitPid(t, m.Pid); code != ExitSetup {
			t.Errorf("the init exited %d, want %d", code, ExitSetup)
		}
		if out := s.output(t); !strings.Contains(out, "sync protocol "+Version+", myctr 0") {
			t.Errorf("output %q", out)
		}
	})
}

// target starts a process in user, mount and PID namespaces of its own
// (the container, for the exec stage to join) and returns a pidfd of it.
func target(t *testing.T) *os.File {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process in new namespaces: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	t.Cleanup(func() { f.Close() })
	return f
}

// startExec starts the exec stage joining target's namespaces, with env
// added (a later variable wins).
func startExec(t *testing.T, env ...string) *stage {
	t.Helper()
	pidf := target(t)
	return startStage(t, StageExec, append([]string{EnvJoinFD + "=3", EnvJoinNS + "=user,mnt,pid"}, env...), pidf)
}

func execConfig(args ...string) *Message {
	return &Message{Type: MsgConfig, Exec: &ExecConfig{Process: &specs.Process{Args: args, Cwd: "/", Env: []string{"PATH=/usr/bin:/bin"}}}}
}

// TestRealNsenterJoin: the join path end to end, with and without the
// wait for "joined": the stage joins the target's namespaces, forks into
// its PID namespace, reads its configuration and executes the process,
// whose exit status is the stage's.
func TestRealNsenterJoin(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) {
			var env []string
			if wait {
				env = append(env, EnvJoinWait+"=1")
			}
			s := startExec(t, env...)
			if wait {
				if err := s.parent.Send(&Message{Type: MsgJoined}); err != nil {
					t.Fatal(err)
				}
			}
			// sleep is PID 1 of the target's namespace: the process is
			// another, and uid 0 there.
			if err := s.parent.Send(execConfig("sh", "-c", "echo joined $(id -u) $$; exit 7")); err != nil {
				t.Fatal(err)
			}
			if m, _, err := s.parent.Expect(MsgPty, MsgEnd); err != nil || m.Type != MsgEnd {
				t.Fatalf("after the config: %v %v\n%s", m, err, s.output(t))
			}
			if code := s.exitCode(t); code != 7 {
				t.Errorf("exit %d, want the process's 7\n%s", code, s.output(t))
			}
			out := s.output(t)
			if !strings.HasPrefix(out, "joined 0 ") || strings.HasPrefix(out, "joined 0 1\n") {
				t.Errorf("output %q, want \"joined 0 PID\" with a PID other than 1", out)
			}
		})
	}
}

// TestRealNsenterJoinErrors: the join path's failures, in the C
// constructor (exit 125, the step on stderr) and in Go (a StepError).
func TestRealNsenterJoinErrors(t *testing.T) {
	constructor := []struct {
		name string
		env  []string
		send *Message // before anything else, for the wait
		want string
	}{
		{name: "unknown namespace", env: []string{EnvJoinNS + "=user,bogus"}, want: "unknown namespace name"},
		{name: "bad pidfd number", env: []string{EnvJoinFD + "=3 "}, want: "bad _MYCTR_JOIN_PIDFD"},
		{name: "not a pidfd", env: []string{EnvJoinFD + "=1"}, want: "setns"},
		{name: "bad sync descriptor", env: []string{EnvSyncFD + "=+4"}, want: "bad _MYCTR_SYNC_FD"},
		{name: "unknown capability set", env: []string{EnvJoinCaps + "=all"}, want: "unknown _MYCTR_JOIN_CAPS"},
		{name: "another message than joined", env: []string{EnvJoinWait + "=1"}, send: execConfig("true"), want: `wait to be put in the container's cgroup: not a "joined" message`},
		{name: "a longer joined", env: []string{EnvJoinWait + "=1"}, send: &Message{Type: MsgJoined, Pid: 1}, want: `wait to be put in the container's cgroup: not a "joined" message`},
		{name: "no joined", env: []string{EnvJoinWait + "=1"}, want: "wait to be put in the container's cgroup"},
	}
	for _, tc := range constructor {
		t.Run(tc.name, func(t *testing.T) {
			s := startExec(t, tc.env...)
			if tc.send != nil {
				if err := s.parent.Send(tc.send); err != nil {
					t.Fatal(err)
				}
			} else if strings.Contains(tc.name, "no joined") {
				s.parent.Close() // the end of the stream instead
			}
			if code := s.exitCode(t); code != ExitSetup {
				t.Errorf("exit %d, want %d", code, ExitSetup)
			}
			if out := s.output(t); !strings.Contains(out, "Error: join container namespaces: "+tc.want) {
				t.Errorf("output %q, want the step %q", out, tc.want)
			}
		})
	}
	inGo := []struct {
		name     string
		msg      *Message
		step     string
		exit     int
		contains string
	}{
		{name: "command not found", msg: execConfig("no-such-command"), step: "exec no-such-command", exit: ExitNotFound},
		{name: "the init's configuration", msg: &Message{Type: MsgConfig, Init: &InitConfig{Spec: &specs.Spec{Process: &specs.Process{}, Root: &specs.Root{}, Linux: &specs.Linux{}}}},
			step: "read exec configuration", exit: ExitSetup, contains: "the init's configuration"},
		{name: "a message out of order", msg: &Message{Type: MsgPid, Pid: 1}, step: "read exec configuration", exit: ExitSetup, contains: `unexpected sync message "pid"`},
	}
	for _, tc := range inGo {
		t.Run(tc.name, func(t *testing.T) {
			s := startExec(t)
			if err := s.parent.Send(tc.msg); err != nil {
				t.Fatal(err)
			}
			_, _, err := s.parent.Expect(MsgPty, MsgEnd)
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a StepError\n%s", err, s.output(t))
			}
			if se.Step != tc.step || se.Exit != tc.exit || !strings.Contains(se.Msg, tc.contains) {
				t.Errorf("StepError %+v, want step %q, exit %d, message with %q", se, tc.step, tc.exit, tc.contains)
			}
			if code := s.exitCode(t); code != tc.exit {
				t.Errorf("exit %d, want %d", code, tc.exit)
			}
		})
	}
}

// mapperEnv is the test user's maps (itself as 0, its subordinate range
// from 1) as the constructor's newuidmap and newgidmap lines; it skips
// where the user has no range or the tools are missing.
func mapperEnv(t *testing.T) (*userns.Mapping, []string) {
	t.Helper()
	m, err := userns.Current()
	if err != nil {
		t.Fatal(err)
	}
	if m.SubUID == nil || m.SubGID == nil {
		t.Skip("the user has no subordinate range (tests/setup/user.sh gives the test user one)")
	}
	uid, gid, err := m.Mappers()
	if err != nil {
		t.Skipf("newuidmap/newgidmap: %v", err)
	}
	return m, MapperEnv(uid, gid)
}

// TestRealNsenterInitMappers: with the mappers' lines, the constructor
// writes the maps itself (newuidmap and newgidmap on its new user
// namespace) before it sends the pid: the parent writes nothing, and the
// container's process runs as root of a namespace with the whole range.
func TestRealNsenterInitMappers(t *testing.T) {
	m, env := mapperEnv(t)
	s := startStage(t, StageInit, append([]string{EnvInitNS + "=" + testInitNS}, env...))
	msg, _, err := s.parent.Expect(MsgPid)
	if err != nil {
		t.Fatalf("expect pid: %v\n%s", err, s.output(t))
	}
	t.Cleanup(func() { unix.Kill(msg.Pid, unix.SIGKILL); unix.Wait4(msg.Pid, nil, unix.WNOHANG, nil) })
	if code := s.exitCode(t); code != 0 {
		t.Fatalf("the init stage's first process exited %d\n%s", code, s.output(t))
	}
	for _, f := range []struct {
		file string
		want []specs.LinuxIDMapping
	}{{"uid_map", m.UIDMappings()}, {"gid_map", m.GIDMappings()}} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", msg.Pid, f.file))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
		var want []string
		for _, e := range f.want {
			want = append(want, fmt.Sprintf("%d %d %d", e.ContainerID, e.HostID, e.Size))
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s of PID 1: %q, want %q", f.file, got, want)
		}
	}
	// Owner 5 exists only with the range mapped.
	cfg := initConfig(t, "busybox", "sh", "-c", "busybox touch /tmp/f && busybox chown 5:5 /tmp/f && echo in-container $(busybox id -u) $(busybox stat -c %u:%g /tmp/f)")
	chown := []string{"CAP_CHOWN"}
	cfg.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: chown, Effective: chown, Permitted: chown}
	if err := s.parent.Send(&Message{Type: MsgConfig, Init: cfg}); err != nil {
		t.Fatal(err)
	}
	if err := s.parent.Send(&Message{Type: MsgProceed}); err != nil {
		t.Fatal(err)
	}
	if m, _, err := s.parent.Expect(MsgPty, MsgEnd); err != nil || m.Type != MsgEnd {
		t.Fatalf("after the config: %v %v\n%s", m, err, s.output(t))
	}
	if code := waitPid(t, msg.Pid); code != 0 {
		t.Fatalf("the container's process exited %d\n%s", code, s.output(t))
	}
	if out := s.output(t); !strings.Contains(out, "in-container 0 5:5") {
		t.Errorf("output %q, want \"in-container 0 5:5\"", out)
	}
}

// TestRealNsenterInitMapperFails: a map newuidmap refuses (host root,
// which is not the user's) comes back as the tool's command line, exit
// status and output, which MapperError makes the *userns.MapperError
// that running the tool in the parent gives; the stage exits 125 and PID
// 1 is killed.
func TestRealNsenterInitMapperFails(t *testing.T) {
	_, env := mapperEnv(t)
	uid, _, _ := strings.Cut(strings.TrimPrefix(env[0], EnvInitUIDMap+"="), " ")
	env[0] = EnvInitUIDMap + "=" + uid + " 0 0 1"
	s := startStage(t, StageInit, append([]string{EnvInitNS + "=" + testInitNS}, env...))
	_, _, err := s.parent.Expect(MsgPid)
	me, ok := MapperError(err)
	var mapperErr *userns.MapperError
	if !ok || !errors.As(me, &mapperErr) {
		t.Fatalf("got %v, want a newuidmap failure\n%s", err, s.output(t))
	}
	if mapperErr.Tool != "newuidmap" || len(mapperErr.Args) != 4 || strings.Join(mapperErr.Args[1:], " ") != "0 0 1" ||
		mapperErr.Err.Error() != "exit status 1" || !strings.Contains(mapperErr.Output, "newuidmap") {
		t.Errorf("mapper error %#v (%v)", mapperErr, mapperErr)
	}
	if code := s.exitCode(t); code != ExitSetup {
		t.Errorf("the stage exited %d, want %d", code, ExitSetup)
	}
	// PID 1 (our child, through CLONE_PARENT) was killed, not left
	// waiting for a configuration.
	var ws unix.WaitStatus
	pid, err := unix.Wait4(-1, &ws, 0, nil)
	if err != nil || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		t.Errorf("PID 1 (%d): %v, status %v, want killed", pid, err, ws)
	}
}
