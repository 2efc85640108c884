package nsexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/security"
)

// Exit codes of a process that could not be started, as Podman reports them.
const (
	ExitSetup         = 125
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// openPty allocates a pty in the container's own devpts, makes its slave the
// controlling terminal and stdio, and returns the master for the parent.
func openPty(ws *unix.Winsize) (int, error) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return -1, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return -1, fmt.Errorf("get pty number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", name, err)
	}
	if ws != nil {
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			return -1, fmt.Errorf("set window size: %w", err)
		}
	}
	if _, err := unix.Setsid(); err != nil {
		return -1, fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return -1, fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return -1, fmt.Errorf("dup pty onto fd %d: %w", fd, err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return master, nil
}

// lookPath finds argv0 in the container's PATH, telling "not found" (127)
// from "not executable" (126).
func lookPath(argv0 string, env []string) (string, int, error) {
	check := func(p string) (int, error) {
		fi, err := os.Stat(p)
		if err != nil {
			return ExitNotFound, err
		}
		if fi.IsDir() {
			return ExitNotExecutable, fmt.Errorf("%s: is a directory: %w", p, unix.EACCES)
		}
		if err := unix.Access(p, unix.X_OK); err != nil {
			return ExitNotExecutable, fmt.Errorf("%s: %w", p, err)
		}
		return 0, nil
	}
	if strings.Contains(argv0, "/") {
		code, err := check(argv0)
		if err != nil {
			return "", code, err
		}
		return argv0, 0, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	firstCode, firstErr := 0, error(nil)
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		code, err := check(p)
		if err == nil {
			return p, 0, nil
		}
		if code == ExitNotExecutable && firstErr == nil {
			firstCode, firstErr = code, err
		}
	}
	if firstErr != nil {
		return "", firstCode, firstErr
	}
	return "", ExitNotFound, fmt.Errorf("%s: executable file not found in $PATH", argv0)
}

// procSetup is what startProcess applies besides the spec's process: the
// terminal's size, socket activation's descriptors, the seccomp filter
// and Landlock rules, run --workdir's container id (a workdir that must
// exist), and a wait before the execve (myctr-runtime's `start`).
type procSetup struct {
	ws           *unix.Winsize
	listenFDs    int
	filter       *security.SeccompFilter
	rules        *landlock.Ruleset
	givenWorkdir string
	// keepGroups: no setgroups, the process keeps the supplementary
	// groups it came with (AnnotationKeepGroups).
	keepGroups bool
	wait       func()
}

// startProcess turns the calling thread into the container's process:
// terminal, working directory, identity, capabilities, no_new_privs, the
// seccomp filter, and execve. It only returns by exiting through
// conn.Fail. The process keeps descriptors 3 to 3+listenFDs-1 (socket
// activation), with LISTEN_PID set to its own pid. givenWorkdir is the
// container's id when its working directory came from run --workdir,
// which must then exist (exit 126 otherwise, as Podman); else a missing
// one is made.
//
// The seccomp filter goes in where runc puts it. Without no_new_privs the
// kernel lets only a holder of CAP_SYS_ADMIN (in the thread's user
// namespace, which the init and an exec stage are until they set the
// process's own capabilities) load a filter, so it is loaded before the
// identity and capabilities are set, and those calls then pass through it
// (Docker's profile allows them). With no_new_privs anyone may load one,
// and it is loaded last, just before execve, so that as few of our own
// calls as possible pass through it. Either way the process never runs a
// single instruction of its own without the filter.
//
// The Landlock ruleset (--security-opt landlock=) follows the same rule,
// for the same reason: landlock_restrict_self(2) too needs CAP_SYS_ADMIN
// in the user namespace or no_new_privs. Its paths are opened first,
// after the working directory and the command are found and while the
// thread is still root with every capability (so a path the container's
// user may not reach still gets its rule); it is enforced just before
// the seccomp filter is loaded (so a profile that does not allow the
// landlock calls does not stop it), without no_new_privs before the
// identity and capabilities are set, with it after, just before execve.
// Nothing after the restriction needs the filesystem: lookPath has run,
// DropBounding asks the kernel for the last capability without reading
// /proc, and close_range marks the descriptors. run --init executes
// /proc/self/exe (myctr-init) once restricted: a sealed memfd is on no
// path Landlock checks, and a file on disk (a root-owned install) gets an
// exec rule of its own, for that file alone. Landlock domains pass
// through execve and fork: --init's PID 1 and its child both run in it.
//
// Preconditions: the goroutine is locked to its thread; the root
// filesystem is final.
func startProcess(conn *Conn, p *specs.Process, ps procSetup) {
	ws, listenFDs, filter, rules, givenWorkdir := ps.ws, ps.listenFDs, ps.filter, ps.rules, ps.givenWorkdir
	if p.Terminal {
		master, err := openPty(ws)
		if err != nil {
			conn.Fail("set up terminal", err, ExitSetup)
		}
		if err := conn.Send(&Message{Type: MsgPty}, master); err != nil {
			conn.Fail("send pty master", err, ExitSetup)
		}
		unix.Close(master)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	// Nothing is created under /proc: a path through /proc/self/fd/N
	// would lead wherever descriptor N does.
	if givenWorkdir != "" {
		// run --workdir: as Podman, a directory the container has
		// (from the image, or made for a mount below it), never made.
		if fi, err := os.Stat(cwd); errors.Is(err, unix.ENOENT) || (err == nil && !fi.IsDir()) {
			conn.Fail("chdir", fmt.Errorf("workdir %q does not exist on container %s", cwd, givenWorkdir), ExitNotExecutable)
		}
	} else if !underProc(cwd) {
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			conn.Fail("create working directory "+cwd, err, ExitSetup)
		}
	}
	if err := unix.Chdir(cwd); err != nil {
		conn.Fail("chdir "+cwd, err, ExitSetup)
	}
	if err := checkCwd(); err != nil {
		conn.Fail("chdir "+cwd, err, ExitSetup)
	}
	if len(p.Args) == 0 {
		conn.Fail("start process", errors.New("no command given"), ExitSetup)
	}
	// run --init: this very binary, a sealed memfd copy of myctr-init,
	// becomes the container's PID 1 (/proc is the container's own by now).
	path := "/proc/self/exe"
	if !isInitCommand(p.Args) {
		var code int
		var err error
		if path, code, err = lookPath(p.Args[0], p.Env); err != nil {
			conn.Fail("exec "+p.Args[0], err, code)
		}
	}
	var domain *landlock.Domain
	if rules != nil {
		var extraExec []string
		if isInitCommand(p.Args) {
			extraExec = append(extraExec, path)
		}
		var err error
		if domain, err = landlock.Build(rules, extraExec...); err != nil {
			conn.Fail("landlock", err, ExitSetup)
		}
	}
	// Nothing but stdio (and the terminal) goes to the container's
	// process: not our sync socket, nor a descriptor the caller of myctr
	// left open without close-on-exec. Before any seccomp filter, which
	// may not know close_range(2).
	if err := closeOnExecFrom(3 + listenFDs); err != nil {
		conn.Fail("mark descriptors close-on-exec", err, ExitSetup)
	}
	if !p.NoNewPrivileges {
		if err := domain.Enforce(); err != nil {
			conn.Fail("landlock", err, ExitSetup)
		}
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := filter.Load(); err != nil {
			conn.Fail("seccomp", err, ExitSetup)
		}
	}
	caps := p.Capabilities
	if caps == nil {
		caps = &specs.LinuxCapabilities{}
	}
	if err := security.DropBounding(caps.Bounding); err != nil {
		conn.Fail("drop capabilities", err, ExitSetup)
	}
	// Keep the permitted set across setuid; SetCaps then sets exactly
	// the sets the spec asks for.
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		conn.Fail("set keepcaps", err, ExitSetup)
	}
	groups := make([]int, 0, len(p.User.AdditionalGids))
	for _, g := range p.User.AdditionalGids {
		groups = append(groups, int(g))
	}
	if ps.keepGroups {
		// The caller's own groups stay (those the user namespace does
		// not map show as the overflow gid), as crun's keep groups.
	} else if err := unix.Setgroups(groups); err != nil && !errors.Is(err, unix.EPERM) {
		conn.Fail("setgroups", err, ExitSetup)
	}
	if err := unix.Setresgid(int(p.User.GID), int(p.User.GID), int(p.User.GID)); err != nil {
		conn.Fail(fmt.Sprintf("setgid %d", p.User.GID), err, ExitSetup)
	}
	if err := unix.Setresuid(int(p.User.UID), int(p.User.UID), int(p.User.UID)); err != nil {
		conn.Fail(fmt.Sprintf("setuid %d", p.User.UID), err, ExitSetup)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		conn.Fail("clear keepcaps", err, ExitSetup)
	}
	if err := security.SetCaps(caps); err != nil {
		conn.Fail("set capabilities", err, ExitSetup)
	}
	if p.NoNewPrivileges {
		if err := security.NoNewPrivileges(); err != nil {
			conn.Fail("no_new_privs", err, ExitSetup)
		}
	}
	env := p.Env
	// (--preserve-fds passes descriptors without socket activation's
	// variables: no LISTEN_FDS, no LISTEN_PID.)
	if listenFDs > 0 && slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "LISTEN_FDS=") }) {
		env = withListenPID(env, os.Getpid())
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask & 0o777))
	}
	if ps.wait != nil {
		ps.wait()
	}
	if p.NoNewPrivileges {
		if err := domain.Enforce(); err != nil {
			conn.Fail("landlock", err, ExitSetup)
		}
	}
	if filter != nil && p.NoNewPrivileges {
		if err := filter.Load(); err != nil {
			conn.Fail("seccomp", err, ExitSetup)
		}
	}
	err := unix.Exec(path, p.Args, env)
	code := ExitNotExecutable
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	conn.Fail("exec "+path, err, code)
}

// withListenPID sets LISTEN_PID=pid in env (socket activation names the
// process the sockets are for: the container's, not systemd's child).
func withListenPID(env []string, pid int) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, "LISTEN_PID=") {
			out = append(out, e)
		}
	}
	return append(out, "LISTEN_PID="+strconv.Itoa(pid))
}

// isInitCommand reports whether args is run --init's "InitPath -- CMD...".
func isInitCommand(args []string) bool {
	return len(args) > 2 && args[0] == InitPath && args[1] == "--"
}

// underProc reports whether an absolute path is /proc or below it.
func underProc(p string) bool {
	p = filepath.Clean(p)
	return p == "/proc" || strings.HasPrefix(p, "/proc/")
}

// checkCwd fails when the working directory is outside the container's
// root. A working directory such as /proc/self/fd/N (from -w, exec -w or
// the image's WORKDIR) is the directory descriptor N names, which is
// outside the root if that descriptor was opened before pivot_root or
// setns (the CVE-2024-21626 class). The kernel's getcwd says so by a path
// that does not start with "/" ("(unreachable)/..."), which unix.Getwd
// turns into ENOENT. This holds whatever descriptors this process has, so
// a descriptor kept open by a future change cannot reopen the hole.
func checkCwd() error {
	wd, err := unix.Getwd()
	if err == nil && !strings.HasPrefix(wd, "/") {
		err = unix.ENOENT
	}
	if err != nil {
		return fmt.Errorf("the working directory is not inside the container's root: %w", err)
	}
	return nil
}

// closeOnExecFrom sets close-on-exec on every descriptor from first up:
// close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11), else one by one
// through /proc/self/fd.
func closeOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || (err != unix.ENOSYS && err != unix.EINVAL) {
		return err
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		// The directory's own descriptor is gone by now: EBADF.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return err
		}
	}
	return nil
}
