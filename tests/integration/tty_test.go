//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptySession is myctr running on the slave side of a pty we hold.
type ptySession struct {
	t      *testing.T
	cmd    *exec.Cmd
	ptmx   *os.File
	out    lockedBuffer
	read   chan struct{} // closed when the pty reads EOF/EIO
	cancel context.CancelFunc
}

func startPTY(t *testing.T, rows, cols uint16, args ...string) *ptySession {
	t.Helper()
	return startPTYCommand(t, rows, cols, func(ctx context.Context) *exec.Cmd { return myctrCommand(ctx, args...) })
}

// startPTYCommand is startPTY for another command than myctr's.
func startPTYCommand(t *testing.T, rows, cols uint16, command func(context.Context) *exec.Cmd) *ptySession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s := &ptySession{t: t, cmd: command(ctx), read: make(chan struct{}), cancel: cancel}
	ptmx, err := pty.StartWithSize(s.cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		cancel()
		t.Fatalf("start myctr on a pty: %v", err)
	}
	s.ptmx = ptmx
	go func() {
		io.Copy(&s.out, ptmx) // ends with EIO when the slave side closes
		close(s.read)
	}()
	t.Cleanup(func() {
		cancel()
		ptmx.Close()
	})
	return s
}

func (s *ptySession) send(line string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(line + "\r")); err != nil {
		s.t.Fatalf("write to pty: %v", err)
	}
}

// expect waits for re to match the output so far and returns the submatches.
func (s *ptySession) expect(re string, timeout time.Duration) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		if m := rx.FindStringSubmatch(s.out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %q on the pty; output so far:\n%q", re, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exitCode waits for myctr to end.
func (s *ptySession) exitCode() int {
	s.t.Helper()
	err := s.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		s.t.Fatalf("wait for myctr: %v", err)
		return -1
	}
}

// checkShell drives an interactive busybox sh on a pty of rows×cols. The
// quotes in the typed commands ("T""TY") keep the echo of the command line
// from matching the marker in its output.
func checkShell(t *testing.T, s *ptySession, ttyRe string, rows, cols string) {
	t.Helper()
	s.send(`echo "T""TY=$(tty)"`)
	if m := s.expect(`TTY=(\S+)\r?\n`, 15*time.Second); !regexp.MustCompile(ttyRe).MatchString(m[1]) {
		t.Errorf("tty inside = %q, want %s", m[1], ttyRe)
	}
	s.send(`test -t 0 && echo "IS""ATTY"; test -t 1 && echo "OUT""ATTY"`)
	s.expect(`ISATTY\r?\n`, 10*time.Second)
	s.expect(`OUTATTY\r?\n`, 10*time.Second)
	s.send(`echo "SI""ZE=$(stty size)"`)
	if m := s.expect(`SIZE=(\d+ \d+)\r?\n`, 10*time.Second); m[1] != rows+" "+cols {
		t.Errorf("stty size inside = %q, want %q", m[1], rows+" "+cols)
	}
	// A resize of our terminal reaches the container's.
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Rows: 30, Cols: 90}); err != nil {
		t.Fatal(err)
	}
	// myctr relays the size on SIGWINCH, some time after the resize: ask
	// again until the container's terminal has it, or the time is up.
	var size string
	for i, deadline := 0, time.Now().Add(10*time.Second); size != "30 90" && time.Now().Before(deadline); i++ {
		s.send(fmt.Sprintf(`echo "RE""SIZED%d=$(stty size)"`, i))
		size = s.expect(fmt.Sprintf(`RESIZED%d=(\d+ \d+)\r?\n`, i), 10*time.Second)[1]
	}
	if size != "30 90" {
		t.Errorf("stty size after a resize = %q, want %q", size, "30 90")
	}
}

func TestRunTTY(t *testing.T) {
	t.Parallel()
	s := startPTY(t, 40, 100, "run", "-it", "--rm", image, "sh")
	checkShell(t, s, `^/dev/pts/0$`, "40", "100")
	s.send("exit 5")
	if code := s.exitCode(); code != 5 {
		t.Errorf("run -it exit code %d, want 5; output:\n%q", code, s.out.String())
	}
}

// TestRunTTYNoStdin: -t without -i: the container's terminal has the
// size of the user's (stdout's), as with Podman and Docker. The user's
// terminal is left cooked (nothing is typed into it), so its own \r
// comes before the pty's \r\n.
func TestRunTTYNoStdin(t *testing.T) {
	t.Parallel()
	s := startPTY(t, 33, 77, "run", "-t", "--rm", image, "stty", "size")
	if m := s.expect(`(\d+) (\d+)\r*\n`, 10*time.Second); m[1] != "33" || m[2] != "77" {
		t.Errorf("stty size in run -t: %q, want 33 77", m[0])
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("run -t exit code %d, want 0; output:\n%q", code, s.out.String())
	}
}

func TestExecTTY(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	runDetached(t, name, nil, "sleep", "300")
	s := startPTY(t, 40, 100, "exec", "-it", name, "sh")
	checkShell(t, s, `^/dev/pts/\d+$`, "40", "100")
	s.send("exit 6")
	if code := s.exitCode(); code != 6 {
		t.Errorf("exec -it exit code %d, want 6; output:\n%q", code, s.out.String())
	}
	if in := inspect(t, name); !in.State.Running {
		t.Errorf("container stopped after exec -it ended: %+v", in.State)
	}
}

// TestRunTTYInit: with --init the shell runs under myctr-init, in the
// terminal's foreground process group: the terminal works as without it,
// ^C interrupts the shell's foreground command (and not the init), and the
// shell's exit code is run's.
func TestRunTTYInit(t *testing.T) {
	t.Parallel()
	s := startPTY(t, 40, 100, "run", "-it", "--rm", "--init", image, "sh")
	checkShell(t, s, `^/dev/pts/0$`, "40", "100")
	s.send(`echo "PID""ONE=$(cat /proc/1/comm)"`)
	if m := s.expect(`PIDONE=(\S+)\r?\n`, 10*time.Second); m[1] != "myctr-init" {
		t.Errorf("PID 1 is %q, want myctr-init", m[1])
	}
	s.send("sleep 30")
	// ^C must reach sleep, not the shell's prompt: wait until sleep runs
	// in the terminal's foreground process group.
	waitFor(t, 20*time.Second, "sleep 30 in the foreground of the container's terminal", func() bool {
		return foregroundIn(s.cmd.Process.Pid, "sleep\x0030\x00")
	})
	if _, err := s.ptmx.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	s.send(`echo "AFTER""INT=$?"`)
	if m := s.expect(`AFTERINT=(\d+)\r?\n`, 10*time.Second); m[1] != "130" {
		t.Errorf("sleep after ^C: status %s, want 130", m[1])
	}
	s.send("exit 5")
	if code := s.exitCode(); code != 5 {
		t.Errorf("run -it --init exit code %d, want 5; output:\n%q", code, s.out.String())
	}
}

// TestTTYExactBytes: the first lines a container writes on -t reach the
// terminal as the container's pty wrote them ("\r\n", not "\r\r\n": the
// caller's terminal is raw before anything is relayed), for run and exec;
// and input typed at once is echoed once, by the container's pty alone.
func TestTTYExactBytes(t *testing.T) {
	t.Parallel()
	// Many lines at once: the first are written while myctr is still
	// setting up, which is when a terminal made raw late mangles them.
	s := startPTY(t, 24, 80, "run", "-it", "--rm", image, "seq", "1", "3000")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("run -it: exit %d", code)
	}
	<-s.read
	var want strings.Builder
	for i := 1; i <= 3000; i++ {
		fmt.Fprintf(&want, "%d\r\n", i)
	}
	if got := s.out.String(); got != want.String() {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.String()[i] {
			i++
		}
		t.Errorf("run -it of seq 1 3000 differs from the container's bytes at byte %d: %q", i, got[i:min(len(got), i+40)])
	}
	name := ctrName(t, "")
	runDetached(t, name, nil, "sleep", "300")
	e := startPTY(t, 24, 80, "exec", "-it", name, "sh", "-c", "echo three")
	if code := e.exitCode(); code != 0 {
		t.Fatalf("exec -it: exit %d", code)
	}
	<-e.read
	if got := e.out.String(); got != "three\r\n" {
		t.Errorf("exec -it wrote %q, want %q", got, "three\r\n")
	}
	// Typed as soon as myctr has the terminal raw (which it does before
	// the process runs): one echo (the container's pty's), not two.
	r := startPTY(t, 24, 80, "exec", "-it", name, "sh", "-c", "read line; echo got-$line")
	waitFor(t, 20*time.Second, "myctr's terminal raw", func() bool {
		tio, err := unix.IoctlGetTermios(int(r.ptmx.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&unix.ECHO == 0
	})
	r.ptmx.Write([]byte("abc\r"))
	if code := r.exitCode(); code != 0 {
		t.Fatalf("exec -it read: exit %d", code)
	}
	<-r.read
	if got := r.out.String(); got != "abc\r\ngot-abc\r\n" {
		t.Errorf("exec -it with typed input wrote %q, want %q", got, "abc\r\ngot-abc\r\n")
	}
}

// foregroundIn reports whether a descendant of pid has the command line
// cmdline (NUL-separated, as in /proc) and is in the foreground process
// group of its controlling terminal (/proc/PID/stat: pgrp == tpgid).
func foregroundIn(pid int, cmdline string) bool {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	fg := map[int]bool{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		st := string(b)
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:]) // f[0] is field 3
		if len(f) < 6 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
		fg[p] = f[2] == f[5] && f[5] != "-1" && f[5] != "0"
	}
	for p := range parent {
		if !fg[p] {
			continue
		}
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); err != nil || string(c) != cmdline {
			continue
		}
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				return true
			}
		}
	}
	return false
}
