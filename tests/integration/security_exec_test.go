//go:build integration

package integration

// Attacks from inside a container on the user who runs myctr (issue 20,
// items 1 and 2):
//
//   - the caller's terminal: a container process that holds the user's
//     terminal (as stdio, or as its controlling terminal through /dev/tty)
//     can push characters into the user's shell with ioctl(TIOCSTI);
//   - the runtime binary (the CVE-2019-5736 class): a container process
//     that finds a process running myctr's own binary in its /proc (the
//     exec stage, or that binary run again as the interpreter of a
//     "#!/proc/self/exe" script) can ptrace it, or open its exe with O_PATH
//     and reopen it for writing once it has exited, and so replace the
//     binary the user runs next.
//
// The attacker is this test binary (static), bound into the container at /it
// and started with MYCTR_IT_ROLE; it reports what it managed to do as JSON
// in /shared, a directory of the test bound into the container.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// sharedDir is where the roles find the test's shared directory.
const sharedDir = "/shared"

func init() {
	extraRoles["tty-attack"] = ttyAttackRole
}

// --- the roles, inside the container ---

// errName is "ok" for nil, else the errno's name (EPERM...) or the text.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var en unix.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
	}
	return err.Error()
}

// writeShared writes v as JSON to /shared/name, atomically.
func writeShared(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	tmp := filepath.Join(sharedDir, "."+name+".tmp")
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, filepath.Join(sharedDir, name))
	}
}

func sharedExists(name string) bool {
	_, err := os.Lstat(filepath.Join(sharedDir, name))
	return err == nil
}

// ttyReport is what tty-attack could do with the terminal it may have.
type ttyReport struct {
	Fds       [3]string // what fds 0..2 are: "chr MAJ:MIN tty", "fifo", ...
	STI       [3]string // ioctl(fd, TIOCSTI)
	DevTTY    string    // open("/dev/tty")
	DevTTYSTI string    // TIOCSTI through /dev/tty, when it opened
	Setsid    string    // setsid(), before trying to take a terminal
	Steal     [3]string // ioctl(fd, TIOCSCTTY) after setsid
	StealSTI  [3]string // TIOCSTI after that
	Done      bool
}

func fdKind(fd int) string {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errName(err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		k := fmt.Sprintf("chr %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			k += " tty"
		}
		return k
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFREG:
		return "file"
	}
	return fmt.Sprintf("mode %o", st.Mode)
}

// sti pushes s into the input of the terminal fd, one byte at a time.
func sti(fd int, s string) error {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); e != 0 {
			return e
		}
	}
	return nil
}

// ttyAttackRole tries to type into whatever terminal it can reach, reports,
// waits for the test to look at its session, then tries to take a terminal
// as its own controlling terminal, and exits with 42.
func ttyAttackRole() int {
	fmt.Println("tty-attack stdout")
	fmt.Fprintln(os.Stderr, "tty-attack stderr")
	var r ttyReport
	for fd := 0; fd < 3; fd++ {
		r.Fds[fd] = fdKind(fd)
		r.STI[fd] = errName(sti(fd, fmt.Sprintf("echo INJECTED-%d\n", fd)))
	}
	if f, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err != nil {
		r.DevTTY = errName(err)
	} else {
		r.DevTTY = "ok"
		r.DevTTYSTI = errName(sti(f, "echo INJECTED-DEVTTY\n"))
		unix.Close(f)
	}
	writeShared("tty.json", r)
	// The test reads our session and controlling terminal from the host.
	deadline := time.Now().Add(time.Minute)
	for !sharedExists("go") {
		if time.Now().After(deadline) {
			return 2
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := unix.Setsid()
	r.Setsid = errName(err)
	for fd := 0; fd < 3; fd++ {
		r.Steal[fd] = errName(unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0))
		r.StealSTI[fd] = "-"
		if r.Steal[fd] == "ok" {
			r.StealSTI[fd] = errName(sti(fd, "echo INJECTED-STEAL\n"))
		}
	}
	r.Done = true
	writeShared("tty.json", r)
	return 42
}

// --- the tests, on the host ---

// readShared decodes /shared/name of the test's shared directory dir.
func readShared(dir, name string, v any) bool {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return err == nil && json.Unmarshal(b, v) == nil
}

// sharedTempDir is a directory to bind at /shared, writable by the
// container's root (the test user).
func sharedTempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// procSession returns the session id and controlling terminal (tty_nr,
// 0 for none) of a host pid, from /proc/PID/stat.
func procSession(t *testing.T, pid int) (sid, ttyNr int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read stat of %d: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
	sid, _ = strconv.Atoi(f[3])
	ttyNr, _ = strconv.Atoi(f[4])
	return sid, ttyNr
}

// findByToken returns the host pid of the attacker: argv "/it TOKEN".
func findByToken(token string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		if a := bytes.Split(b, []byte{0}); len(a) >= 2 && string(a[0]) == "/it" && string(a[1]) == token {
			return pid
		}
	}
	return 0
}

// TestSecurityTerminalInjection runs exec and run with their stdio on the
// slave of a pty that is the controlling terminal of myctr's session (the
// user's terminal), and a container process that types into every
// terminal it can reach (TIOCSTI on fds 0-2, on /dev/tty, and on a
// terminal it takes as its own after setsid). Nothing may reach the input
// of the user's terminal; the container's process gets pipes (and
// /dev/null) instead of the terminal, runs in another session than
// myctr's and has no controlling terminal; its output still reaches the
// terminal, and its exit code is myctr's.
func TestSecurityTerminalInjection(t *testing.T) {
	t.Parallel()
	if b, err := os.ReadFile("/proc/sys/dev/tty/legacy_tiocsti"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Log("dev.tty.legacy_tiocsti=0: the kernel refuses TIOCSTI anyway; the descriptors, sessions and /dev/tty are still checked")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		exec     bool // exec into a running container, else run
		flags    []string
		detached bool
	}{
		{name: "exec", exec: true},
		{name: "exec -i", exec: true, flags: []string{"-i"}},
		{name: "run", flags: []string{"--rm"}},
		{name: "run -i", flags: []string{"--rm", "-i"}},
		{name: "run -d", flags: []string{"-d"}, detached: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			shared := sharedTempDir(t)
			name := ctrName(t, "")
			token := "tty-attack-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			binds := []string{"--network", "none", "-v", self + ":/it:ro", "-v", shared + ":" + sharedDir}
			var args []string
			if c.exec {
				runDetached(t, name, binds, "sleep", "300")
				args = append([]string{"exec"}, c.flags...)
				args = append(args, "-e", "MYCTR_IT_ROLE=tty-attack", name, "/it", token)
			} else {
				args = append([]string{"run", "--name", name}, c.flags...)
				args = append(args, binds...)
				args = append(args, "-e", "MYCTR_IT_ROLE=tty-attack", image, "/it", token)
			}
			checkTerminalAttack(t, shared, token, name, c.detached, args)
		})
	}
}

func checkTerminalAttack(t *testing.T, shared, token, name string, detached bool, args []string) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		t.Fatalf("raw mode: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// The user's terminal: the controlling terminal of myctr's session.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var out lockedBuffer
	go io.Copy(&out, ptmx)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start myctr: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	caller := cmd.Process.Pid // its session id too (Setsid)

	var r ttyReport
	waitFor(t, time.Minute, "the attacker's first report", func() bool {
		select {
		case err := <-exited:
			if !detached {
				t.Fatalf("myctr %s ended before the attacker reported: %v; terminal: %q", strings.Join(args, " "), err, out.String())
			}
			exited <- err
		default:
		}
		return readShared(shared, "tty.json", &r)
	})
	pid := findByToken(token)
	if pid == 0 {
		t.Fatalf("no process with %s in its argv on the host", token)
	}
	sid, ttyNr := procSession(t, pid)
	if sid == caller {
		t.Errorf("the container's process is in myctr's session %d (no setsid): it shares the user's terminal", sid)
	}
	if ttyNr != 0 {
		t.Errorf("the container's process has a controlling terminal (tty_nr %#x)", ttyNr)
	}
	if err := os.WriteFile(filepath.Join(shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("myctr: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("myctr %s did not end; terminal: %q", strings.Join(args, " "), out.String())
	}
	if detached {
		if code != 0 {
			t.Fatalf("run -d: exit %d; terminal: %q", code, out.String())
		}
		code = waitState(t, name, "exited", time.Minute).State.ExitCode
	}
	if code != 42 {
		t.Errorf("exit code %d, want the container process's 42; terminal: %q", code, out.String())
	}
	if !readShared(shared, "tty.json", &r) || !r.Done {
		t.Fatalf("no final report from the attacker: %+v", r)
	}
	t.Logf("attacker: %+v", r)
	for fd := 0; fd < 3; fd++ {
		if strings.HasSuffix(r.Fds[fd], " tty") {
			t.Errorf("fd %d of the container's process is a terminal (%s): the caller's", fd, r.Fds[fd])
		}
		if r.STI[fd] == "ok" {
			t.Errorf("TIOCSTI on fd %d succeeded", fd)
		}
		if r.Steal[fd] == "ok" {
			t.Errorf("fd %d became the controlling terminal after setsid (TIOCSTI then: %s)", fd, r.StealSTI[fd])
		}
	}
	if r.DevTTY == "ok" {
		t.Errorf("open(/dev/tty) succeeded in the container (TIOCSTI through it: %s)", r.DevTTYSTI)
	}
	// What the user's shell would read next.
	fds := []unix.PollFd{{Fd: int32(tty.Fd()), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 300); n > 0 {
		buf := make([]byte, 4096)
		k, _ := unix.Read(int(tty.Fd()), buf)
		t.Errorf("bytes typed into the user's terminal by the container: %q", buf[:max(k, 0)])
	}
	if !detached {
		if o := out.String(); !strings.Contains(o, "tty-attack stdout") || !strings.Contains(o, "tty-attack stderr") {
			t.Errorf("the container's stdout and stderr did not reach the terminal: %q", o)
		}
	}
}

// TestSecurityExecRelay: exec -i and run -i relay stdin (end of file
// included: cat ends), keep stdout and stderr apart, and pass the exit
// code on, now that the container's process gets pipes rather than the
// caller's descriptors.
func TestSecurityExecRelay(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	runDetached(t, name, []string{"--network", "none"}, "sleep", "300")
	const script = "cat; echo out; echo err >&2; exit 3"
	for _, args := range [][]string{
		{"exec", "-i", name, "sh", "-c", script},
		{"run", "--rm", "-i", "--network", "none", image, "sh", "-c", script},
	} {
		out, errOut, code := runMyctr(cmdTimeout, []byte("line1\nline2"), args...)
		if out != "line1\nline2out\n" || errOut != "err\n" || code != 3 {
			t.Errorf("myctr %s: stdout %q, stderr %q, exit %d; want %q, %q, 3", args[0], out, errOut, code, "line1\nline2out\n", "err\n")
		}
	}
	// Without -i the process reads /dev/null, not our stdin.
	out, _, code := runMyctr(cmdTimeout, []byte("not for the container\n"), "exec", name, "cat")
	if out != "" || code != 0 {
		t.Errorf("exec without -i: cat printed %q (exit %d), want nothing", out, code)
	}
}
