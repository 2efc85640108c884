//go:build integration

package integration

// What a systemd unit relies on, tried here without systemd: socket
// activation through systemd-socket-activate (systemd's own tool, which
// passes LISTEN_FDS as a socket unit does), sd_notify to a socket the test
// holds as the manager would, the container id file, --replace, the
// monitor's exit code and its answer to SIGTERM. The VM tier runs the same
// under a real systemd (tests/vm/units_test.go).

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	extraRoles["listenfd"] = listenFDRole
	extraRoles["notify"] = notifyRole
	extraRoles["subreaper"] = subreaperRole
}

// listenFDRole accepts one connection on descriptor 3 and answers with what
// socket activation gave it.
func listenFDRole() int {
	_, fd4 := unix.FcntlInt(4, unix.F_GETFD, 0) // before the runtime opens its own
	l, err := net.FileListener(os.NewFile(3, "listen"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fd 3:", err)
		return 1
	}
	c, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		return 1
	}
	fmt.Fprintf(c, "pid=%d LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s fd4=%v\n", os.Getpid(),
		os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES"), fd4 == nil)
	c.Close()
	return 0
}

// notifyRole says what a notify service says, and tries what it should not.
func notifyRole() int {
	sock := os.Getenv("NOTIFY_SOCKET")
	fmt.Printf("NOTIFY_SOCKET=%s uid=%d\n", sock, os.Getuid())
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		return 1
	}
	if _, err := c.Write([]byte("MAINPID=77\nSTATUS=from the container\nREADY=1\nFDSTORE=1")); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		return 1
	}
	return 0
}

// subreaperRole runs `myctr ARGS...` as a child subreaper, so that the
// detached container's monitor becomes its child once myctr exits, and
// prints the monitor's exit status when it ends: what systemd sees of a
// unit whose main process the monitor is.
func subreaperRole() int {
	cmd, out, err := runAsSubreaper()
	if cmd == nil {
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "myctr:", err)
		return 1
	}
	fmt.Printf("id=%s\n", strings.TrimSpace(string(out)))
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err != nil {
			fmt.Printf("no monitor: %v\n", err)
			return 0
		}
		if ws.Exited() {
			fmt.Printf("child %d exit=%d\n", pid, ws.ExitStatus())
		}
	}
}

// runAsSubreaper makes this process a child subreaper, so that what
// myctr leaves running comes to it, then runs MYCTR_BIN with the words of
// MYCTR_IT_ARGS and returns the command and its standard output. cmd is
// nil when this process could not become a subreaper (the error is
// printed).
func runAsSubreaper() (cmd *exec.Cmd, out []byte, err error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, nil, err
	}
	cmd = exec.Command(os.Getenv("MYCTR_BIN"), strings.Fields(os.Getenv("MYCTR_IT_ARGS"))...)
	cmd.Stderr = os.Stderr
	out, err = cmd.Output()
	return cmd, out, err
}

// notifyListener is the manager's end of NOTIFY_SOCKET.
type notifyListener struct {
	conn *net.UnixConn
	path string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &notifyListener{c, path}
}

// next returns the next datagram, or "" after timeout.
func (n *notifyListener) next(timeout time.Duration) string {
	buf := make([]byte, 4096)
	n.conn.SetReadDeadline(time.Now().Add(timeout))
	k, _, err := n.conn.ReadFromUnix(buf)
	if err != nil {
		return ""
	}
	return string(buf[:k])
}

func selfExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// TestCidfileReplace: --cidfile writes the id and refuses an existing
// file; --replace removes the container of the name first; stop and rm
// take --cidfile and --ignore, and rm removes the file with the container.
func TestCidfileReplace(t *testing.T) {
	name := ctrName(t, "cid")
	cid := filepath.Join(t.TempDir(), "ctr.cid")
	id1 := strings.TrimSpace(mustMyctr(t, "run", "-d", "--network", "none", "--name", name, "--cidfile", cid, image, "sleep", "300"))
	b, err := os.ReadFile(cid)
	if err != nil || string(b) != id1 {
		t.Fatalf("cidfile holds %q (%v), want the id %q", b, err, id1)
	}
	_, errOut, code := myctr(t, "run", "-d", "--network", "none", "--name", name+"-2", "--cidfile", cid, image, "true")
	if code != 125 || !strings.Contains(errOut, "exists") || !strings.Contains(errOut, "Hint:") {
		t.Errorf("an existing cidfile: exit %d, stderr %q; want 125 with the reason and a Hint", code, errOut)
	}
	if _, _, code := myctr(t, "inspect", name+"-2"); code == 0 {
		t.Errorf("the refused run left a container %s-2", name)
	}
	_, errOut, code = myctr(t, "run", "-d", "--replace", image, "true")
	if code != 125 || !strings.Contains(errOut, "--name") {
		t.Errorf("--replace without --name: exit %d, stderr %q", code, errOut)
	}
	// --replace: the running container of that name goes, a new one runs.
	id2 := strings.TrimSpace(mustMyctr(t, "run", "-d", "--network", "none", "--replace", "--name", name, "--cidfile", cid, image, "sleep", "300"))
	if id2 == id1 {
		t.Fatal("--replace kept the old container")
	}
	if b, _ := os.ReadFile(cid); string(b) != id2 {
		t.Errorf("cidfile after --replace holds %q, want %q", b, id2)
	}
	if _, _, code := myctr(t, "inspect", id1); code == 0 {
		t.Errorf("the replaced container %s is still there", id1)
	}
	if in := inspect(t, name); in.Id != id2 || in.State.Status != "running" {
		t.Errorf("%s: id %s status %s, want %s running", name, in.Id, in.State.Status, id2)
	}
	// As Podman: what names the container is printed back, here the id
	// the file holds.
	out := mustMyctr(t, "stop", "--ignore", "-t", "1", "--cidfile", cid)
	if strings.TrimSpace(out) != id2 {
		t.Errorf("stop --cidfile printed %q, want the id %q", out, id2)
	}
	mustMyctr(t, "rm", "--force", "--ignore", "--cidfile", cid)
	if _, err := os.Stat(cid); !os.IsNotExist(err) {
		t.Errorf("rm --cidfile left the file: %v", err)
	}
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("rm --cidfile left %s", name)
	}
	// What a unit's ExecStopPost= does after ExecStop= removed it all.
	mustMyctr(t, "rm", "--force", "--ignore", "--cidfile", cid)
	mustMyctr(t, "stop", "--ignore", "--cidfile", cid)
	if _, _, code := myctr(t, "rm", "--cidfile", cid); code == 0 {
		t.Error("rm --cidfile of a missing file without --ignore succeeded")
	}
	mustMyctr(t, "rm", "--ignore", name+"-never")
	if _, errOut, code := myctr(t, "rm", name+"-never"); code == 0 || !strings.Contains(errOut, "no such container") {
		t.Errorf("rm of a missing container: exit %d, stderr %q", code, errOut)
	}
}

// TestSocketActivation: the sockets systemd-socket-activate passes reach
// the container's process as fd 3 with LISTEN_PID its own, in the
// foreground, detached (through the monitor) and under --init, with
// --network none: the server answers the connection that started it.
func TestSocketActivation(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian: systemd)")
	}
	self := selfExe(t)
	for _, tc := range []struct {
		name  string
		flags []string
		init  bool // the server is not PID 1, but its child
	}{
		{"foreground", []string{"--rm"}, false},
		{"detached", []string{"-d"}, false},
		{"init", []string{"--rm", "--init"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			name := ctrName(t, "sa-"+tc.name)
			args := append([]string{"-l", addr, "--fdname=web", bin}, globalArgs(append(append([]string{"run", "--name", name, "--network", "none"}, tc.flags...),
				"-v", self+":/it:ro", "-e", "MYCTR_IT_ROLE=listenfd", image, "/it"))...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, activate, args...)
			var errOut lockedBuffer
			cmd.Stdout, cmd.Stderr = &errOut, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
				myctr(t, "rm", "-f", name)
			}()
			var conn net.Conn
			waitFor(t, 10*time.Second, "systemd-socket-activate listening", func() bool {
				conn, err = net.Dial("tcp", addr)
				return err == nil
			})
			conn.SetDeadline(time.Now().Add(45 * time.Second))
			got, err := io.ReadAll(conn)
			conn.Close()
			var pid, listenPid int
			var rest string
			fmt.Sscanf(string(got), "pid=%d LISTEN_PID=%d %s", &pid, &listenPid, &rest)
			const want = "LISTEN_FDS=1 LISTEN_FDNAMES=web fd4=false\n"
			if pid != listenPid || (pid == 1) == tc.init || !strings.HasSuffix(string(got), want) {
				t.Fatalf("the container answered %q (%v), want LISTEN_PID its own pid (1 without --init) and %q\nsystemd-socket-activate and myctr said:\n%s", got, err, want, errOut.String())
			}
		})
	}
}

// TestSdNotify: each --sdnotify mode, with the test as the unit's manager.
func TestSdNotify(t *testing.T) {
	self := selfExe(t)
	run := func(t *testing.T, n *notifyListener, args ...string) (*exec.Cmd, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		cmd := myctrCommand(ctx, args...)
		cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("myctr %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return cmd, out.String(), errOut.String()
	}
	t.Run("container", func(t *testing.T) {
		n := listenNotify(t)
		for _, user := range []string{"0", "1234"} {
			cmd, out, _ := run(t, n, "run", "--rm", "--network", "none", "--user", user, "-v", self+":/it:ro", "-e", "MYCTR_IT_ROLE=notify", image, "/it")
			if !strings.Contains(out, "NOTIFY_SOCKET=/run/notify/notify.sock uid="+user) {
				t.Errorf("the container's environment: %q", out)
			}
			want := fmt.Sprintf("MAINPID=%d\nSTATUS=from the container\nREADY=1", cmd.Process.Pid)
			got := n.next(5 * time.Second)
			if got == fmt.Sprintf("MAINPID=%d", cmd.Process.Pid) {
				got = n.next(5 * time.Second) // myctr names the process to track first
			}
			if got != want {
				t.Errorf("as uid %s the manager got %q, want %q (the container's MAINPID= and FDSTORE= dropped, myctr's added)", user, got, want)
			}
		}
	})
	t.Run("conmon", func(t *testing.T) {
		n := listenNotify(t)
		cmd, _, _ := run(t, n, "run", "--rm", "--network", "none", "--sdnotify=conmon", image, "true")
		if got, want := n.next(5*time.Second), fmt.Sprintf("MAINPID=%d\nREADY=1", cmd.Process.Pid); got != want {
			t.Errorf("the manager got %q, want %q", got, want)
		}
		name := ctrName(t, "notify-d")
		run(t, n, "run", "-d", "--name", name, "--network", "none", "--sdnotify=conmon", image, "sleep", "300")
		defer myctr(t, "rm", "-f", name)
		got := n.next(5 * time.Second)
		monitor := inspect(t, name).State.ConmonPid
		if want := fmt.Sprintf("MAINPID=%d\nREADY=1", monitor); monitor == 0 || got != want {
			t.Errorf("run -d: the manager got %q, want %q (the monitor is the unit's main process)", got, want)
		}
	})
	t.Run("ignore", func(t *testing.T) {
		n := listenNotify(t)
		_, out, _ := run(t, n, "run", "--rm", "--network", "none", "--sdnotify=ignore", "-v", self+":/it:ro", "-e", "MYCTR_IT_ROLE=notify", image, "sh", "-c", "echo NOTIFY_SOCKET=$NOTIFY_SOCKET")
		if strings.TrimSpace(out) != "NOTIFY_SOCKET=" {
			t.Errorf("--sdnotify=ignore: the container's NOTIFY_SOCKET: %q", out)
		}
		if got := n.next(time.Second); got != "" {
			t.Errorf("--sdnotify=ignore: the manager got %q", got)
		}
	})
	if _, errOut, code := myctr(t, "run", "--rm", "--sdnotify=bogus", image, "true"); code != 125 || !strings.Contains(errOut, "--sdnotify") {
		t.Errorf("--sdnotify=bogus: exit %d, stderr %q", code, errOut)
	}
}

// TestMonitorUnitMainProcess: the monitor of run -d exits with the
// container's exit code (a unit's Restart=on-failure goes by it), and
// SIGTERM to it, which is what systemctl stop sends, stops the container
// with its stop signal.
func TestMonitorUnitMainProcess(t *testing.T) {
	self := selfExe(t)
	for _, tc := range []struct {
		name, script string
		term         bool
		exit         int
	}{
		{"exit", "exit 3", false, 3},
		{"sigterm", `trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done`, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := ctrName(t, "mon-"+tc.name)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// subreaperRole splits its arguments on spaces: run the
			// script from a file instead.
			script := filepath.Join(t.TempDir(), "script.sh")
			if err := os.WriteFile(script, []byte(tc.script+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := strings.Join(globalArgs([]string{"run", "-d", "--name", name, "--network", "none", "--stop-signal", "USR1",
				"-v", script + ":/script.sh:ro", image, "sh", "/script.sh"}), " ")
			cmd := exec.CommandContext(ctx, self)
			cmd.Env = append(os.Environ(), "MYCTR_IT_ROLE=subreaper", "MYCTR_BIN="+bin, "MYCTR_IT_ARGS="+args)
			var out, errOut lockedBuffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer myctr(t, "rm", "-f", name)
			if tc.term {
				waitLogs(t, name, "ready", 20*time.Second)
				monitor := inspect(t, name).State.ConmonPid
				if monitor == 0 {
					t.Fatal("no monitor pid in inspect")
				}
				if err := unix.Kill(monitor, unix.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			in := waitState(t, name, "exited", 20*time.Second)
			if in.State.ExitCode != tc.exit {
				t.Errorf("exit code %d, want %d", in.State.ExitCode, tc.exit)
			}
			if want := fmt.Sprintf(" exit=%d\n", tc.exit); !strings.Contains(out.String(), want) {
				t.Errorf("the monitor's own exit status: %q (%v), want %q\nstderr: %s", out.String(), err, want, errOut.String())
			}
			if tc.term {
				if logs := mustMyctr(t, "logs", name); !strings.Contains(logs, "got-usr1") {
					t.Errorf("SIGTERM to the monitor did not reach the container as its stop signal: logs %q", logs)
				}
			}
		})
	}
}

// TestForegroundStopSignal: SIGTERM to a foreground `myctr run` (the main
// process of a unit, which systemctl stop signals) reaches the container
// as its stop signal; rm -f -t sends the stop signal before killing.
func TestForegroundStopSignal(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(script, []byte(`trap "echo got-usr1; echo \$\$ >>/out/usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := ctrName(t, "fg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, "run", "--name", name, "--network", "none", "--stop-signal", "USR1", "-v", script+":/script.sh:ro", "-v", dir+":/out", image, "sh", "/script.sh")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer myctr(t, "rm", "-f", name)
	waitFor(t, 20*time.Second, "the container ready", func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(unix.SIGTERM)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 7 || !strings.Contains(out.String(), "got-usr1") {
		t.Errorf("SIGTERM to myctr run: %v, output %q; want exit 7 after got-usr1", err, out.String())
	}
	// rm -f -t: the stop signal first.
	mustMyctr(t, "start", name)
	waitFor(t, 20*time.Second, "the container ready again", func() bool {
		o, _, _ := myctr(t, "logs", name)
		return strings.Count(o, "ready") == 2
	})
	mustMyctr(t, "rm", "-f", "-t", "10", name)
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("rm -f -t left %s", name)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "usr1")); strings.Count(string(b), "\n") != 2 {
		t.Errorf("the trap ran %q: want once for SIGTERM to run, once for rm -f -t", b)
	}
}

// TestLogDriver: journald where no journal runs is an error with its fix,
// none keeps nothing, and a bad driver is named.
func TestLogDriver(t *testing.T) {
	if _, err := os.Stat("/run/systemd/journal/socket"); err == nil {
		t.Skip("a journal runs here: the VM tier tests the journald driver")
	}
	_, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--log-driver", "journald", image, "true")
	if code != 125 || !strings.Contains(errOut, "journal") || !strings.Contains(errOut, "Hint:") {
		t.Errorf("journald without a journal: exit %d, stderr %q", code, errOut)
	}
	name := ctrName(t, "lognone")
	out := mustMyctr(t, "run", "--name", name, "--network", "none", "--log-driver", "none", image, "echo", "hello")
	defer myctr(t, "rm", "-f", name)
	if out != "hello\n" {
		t.Errorf("--log-driver none: the output %q still goes to the caller", out)
	}
	if _, errOut, code := myctr(t, "logs", name); code == 0 || !strings.Contains(errOut, "none") {
		t.Errorf("logs of a --log-driver none container: exit %d, stderr %q", code, errOut)
	}
	if typ := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}}", name)); typ != "none" {
		t.Errorf("inspect's HostConfig.LogConfig.Type is %q, want none", typ)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--log-driver", "syslog", image, "true"); code != 125 || !strings.Contains(errOut, "syslog") {
		t.Errorf("--log-driver syslog: exit %d, stderr %q", code, errOut)
	}
}
