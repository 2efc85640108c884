//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { extraRoles["orphans"] = orphansRole }

// orphansRole runs `myctr ARGS...` (MYCTR_IT_ARGS, split on spaces) as a
// child subreaper, prints its output and exit code, then reaps every
// process of the run that outlives it (myctr's descendants come to us
// when their parent ends) until none is left, printing each one's name
// ("orphan NAME"), or "left N" when some still run after ten seconds.
func orphansRole() int {
	cmd, out, err := runAsSubreaper()
	if cmd == nil {
		return 1
	}
	fmt.Printf("out=%q code=%d\n", out, cmd.ProcessState.ExitCode())
	if err != nil && cmd.ProcessState == nil {
		return 1
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var info unix.Siginfo
		// WNOWAIT: the orphan's name is still there to read.
		if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
			return 0 // ECHILD: nothing left
		}
		pid := siginfoPid(&info)
		if pid == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		fmt.Printf("orphan %s\n", strings.TrimSpace(string(comm)))
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
	left := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
			if len(f) > 1 && f[1] == fmt.Sprint(os.Getpid()) {
				left++
			}
		}
	}
	fmt.Printf("left %d\n", left)
	return 0
}

// siginfoPid is si_pid of a SIGCHLD siginfo (0 when waitid found none).
func siginfoPid(info *unix.Siginfo) int {
	// si_signo, si_errno, si_code (3 int32), padding, then si_pid.
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), 16)))
}

// runOrphans runs myctr ARGS through orphansRole with the extra
// environment env, and returns its report.
func runOrphans(t *testing.T, env []string, args ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(append(os.Environ(), env...), "MYCTR_IT_ROLE=orphans", "MYCTR_BIN="+bin,
		"MYCTR_IT_ARGS="+strings.Join(globalArgs(args), " "))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return string(out)
}

// startedRun starts myctr ARGS (a foreground run) and returns it once its
// first line of output is there: the command (its stderr in stderr), that
// line, and the rest of its stdout. The command is killed when the test
// ends, if it still runs.
func startedRun(t *testing.T, args ...string) (cmd *exec.Cmd, first string, rest *bufio.Reader, stderr *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	t.Cleanup(cancel)
	cmd = myctrCommand(ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rest = bufio.NewReader(stdout)
	first, _ = rest.ReadString('\n')
	return cmd, first, rest, stderr
}

// TestEarlyStart: the init stage of a foreground run whose flags leave
// its namespaces and id maps at the usual starts before its container
// is made (container.StartEarly), through myctr-monitor started with
// later=1, which gets the container's own arguments (log, stop signal,
// timeout, healthcheck, exit command) once the container exists. The run
// must be the run it always was; a guess the container proves wrong is
// abandoned and the container started as always; a run that fails
// before its container exists leaves no process of the early start.
func TestEarlyStart(t *testing.T) {
	t.Parallel()
	t.Run("taken", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		cmd, line, r, stderr := startedRun(t, "run", "--name", name, "--network", "none", "--stop-signal", "USR1",
			"--health-cmd", "touch /tmp/checked", "--health-interval", "1s",
			image, "sh", "-c", "echo out; echo err >&2; i=0; while [ ! -e /tmp/checked ]; do i=$((i+1)); [ $i -gt 150 ] && exit 9; sleep 0.1; done; exit 4")
		defer myctr(t, "rm", "-f", name)
		if line != "out\n" {
			t.Fatalf("first line %q", line)
		}
		st := inspect(t, name).State
		args, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", st.ConmonPid))
		if err != nil {
			t.Fatalf("the monitor (pid %d): %v", st.ConmonPid, err)
		}
		argv := strings.Split(strings.TrimRight(string(args), "\x00"), "\x00")
		if len(argv) < 2 || argv[1] != "attach" || !contains(argv, "later=1") || contains(argv, "--") {
			t.Errorf("the monitor's arguments %q: want myctr-monitor attach later=1, without the container's own", argv)
		}
		rest, _ := r.ReadString(0)
		err = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 4 {
			t.Errorf("exit code %d (%v), want 4 (9: the healthcheck never ran); stderr %q", code, err, stderr.String())
		}
		if rest != "" || stderr.String() != "err\n" {
			t.Errorf("output after the first line %q, stderr %q; want none and err", rest, stderr.String())
		}
		// The container's own arguments reached the monitor: the log,
		// the healthcheck it ran (the command waited for its file), the
		// exit recorded.
		if o, e, _ := myctr(t, "logs", name); o != "out\n" || e != "err\n" {
			t.Errorf("logs: stdout %q, stderr %q; want out and err", o, e)
		}
		if in := inspect(t, name); in.State.ExitCode != 4 || in.State.Status != "exited" {
			t.Errorf("state %s, exit code %d; want exited, 4", in.State.Status, in.State.ExitCode)
		}
	})
	t.Run("stop-signal-and-kill", func(t *testing.T) {
		t.Parallel()
		// The CLI killed once the container runs: the monitor ends the
		// run with the exit command that came in "ctr"; a SIGTERM to the
		// monitor reaches the container as its --stop-signal.
		name := ctrName(t, "")
		cmd, line, _, _ := startedRun(t, "run", "--name", name, "--stop-signal", "USR1", image,
			"sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.1; done")
		defer myctr(t, "rm", "-f", name)
		if line != "ready\n" {
			t.Fatalf("first line %q", line)
		}
		monitor := inspect(t, name).State.ConmonPid
		cmd.Process.Kill()
		cmd.Wait()
		if err := unix.Kill(monitor, unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
		in := waitState(t, name, "exited", 20*time.Second)
		if in.State.ExitCode != 7 {
			t.Errorf("exit code %d, want 7 (the trap of the stop signal)", in.State.ExitCode)
		}
		if logs := mustMyctr(t, "logs", name); logs != "ready\ngot-usr1\n" {
			t.Errorf("logs %q", logs)
		}
	})
	t.Run("not-taken", func(t *testing.T) {
		t.Parallel()
		// --userns keep-id: other maps than the usual, started as always.
		name := ctrName(t, "")
		cmd, line, _, _ := startedRun(t, "run", "--rm", "--name", name, "--userns", "keep-id", image, "sh", "-c", "id -u; sleep 1")
		if line != fmt.Sprintf("%d\n", os.Getuid()) {
			t.Fatalf("first line %q, want the user's uid", line)
		}
		args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", inspect(t, name).State.ConmonPid))
		if argv := strings.Split(string(args), "\x00"); contains(argv, "later=1") || !contains(argv, "--") {
			t.Errorf("the monitor's arguments %q: want the container's own, not later=1", argv)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("guess-wrong", func(t *testing.T) {
		t.Parallel()
		// myctr.conf makes the host's network the default: the stage
		// started with a network namespace of its own is abandoned (its
		// init killed, reaped by the subreaper), and the container runs
		// on the host's network.
		conf := newConfEnv(t, map[string]string{"home/myctr/myctr.conf": "network = \"host\"\n"})
		host, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		report := runOrphans(t, conf.env, "run", "--rm", image, "readlink", "/proc/self/ns/net")
		if !strings.Contains(report, fmt.Sprintf("out=%q code=0", host+"\n")) {
			t.Errorf("report %q: want the host's network namespace %s and exit 0", report, host)
		}
		if !strings.Contains(report, "orphan myctr-init\n") || strings.Contains(report, "left ") {
			t.Errorf("report %q: want the abandoned init reaped, nothing left", report)
		}
	})
	t.Run("no-container", func(t *testing.T) {
		t.Parallel()
		// A run that fails before its container exists: the stage goes
		// with it.
		report := runOrphans(t, nil, "run", "--rm", "--network", "none", "localhost/it-early-missing:1", "true")
		if !strings.Contains(report, "code=125") || strings.Contains(report, "left ") {
			t.Errorf("report %q: want exit 125 and nothing left", report)
		}
		for _, line := range strings.Split(report, "\n") {
			if strings.HasPrefix(line, "orphan ") && line != "orphan myctr-init" {
				t.Errorf("report %q: an orphan other than the abandoned init", report)
			}
		}
	})
}
