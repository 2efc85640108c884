package nsexec

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// InitPath is argv[0] of myctr-init as run --init's PID 1; the container's
// process is "InitPath -- COMMAND...", which the init executes from its own
// sealed copy of myctr-init (no file is at that path in the container).
const InitPath = "/run/myctr-init"

// IsMiniInit reports whether this process was started as the --init of a
// container (argv: InitPath -- COMMAND...).
func IsMiniInit() bool {
	return len(os.Args) > 2 && os.Args[0] == InitPath && os.Args[1] == "--"
}

// MiniInit is the init of a container run with --init, PID 1 in its PID
// namespace, running with the command's own identity and capabilities
// (it was exec'd as the container's process): it starts args as its child,
// forwards every signal it gets to it, reaps every process that ends
// (orphans are re-parented to PID 1), and exits with the child's status
// once the child ends: its code, or 128 + the signal that killed it. The
// kernel then ends whatever is left in the namespace.
func MiniInit(args []string) int {
	if os.Getenv(envListenChild) != "" {
		return listenChild(args)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	path, code, err := lookPath(args[0], os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: myctr-init: %v\n", err)
		return code
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{}}
	if n := listenFDsOfInit(); n > 0 {
		// Socket activation: the sockets are the command's, and so must
		// LISTEN_PID be, which only the child can know; it is this
		// binary again (listenChild), which sets it and executes the
		// command.
		for fd := 3; fd < 3+n; fd++ {
			attr.Files = append(attr.Files, uintptr(fd))
		}
		attr.Env = append(attr.Env, envListenChild+"=1")
		path = "/proc/self/exe"
		args = append([]string{InitPath, "--"}, args...)
	}
	if isTerminal(0) {
		// The child's own process group takes the terminal, so that ^C
		// and ^Z reach it (and it alone) from the terminal.
		attr.Sys.Setpgid, attr.Sys.Foreground, attr.Sys.Ctty = true, true, 0
	}
	child, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		code := ExitNotExecutable
		if errors.Is(err, unix.ENOENT) {
			code = ExitNotFound
		}
		fmt.Fprintf(os.Stderr, "Error: myctr-init: exec %s: %v\n", path, err)
		return code
	}
	for s := range sigs {
		switch s {
		case unix.SIGCHLD:
			if status, done := reap(child); done {
				return status
			}
		case unix.SIGURG:
			// The Go runtime's own preemption signal.
		default:
			_ = unix.Kill(child, s.(syscall.Signal))
		}
	}
	return ExitSetup
}

// envListenChild marks the child of a socket-activated --init (MiniInit).
const envListenChild = "_MYCTR_LISTEN_CHILD"

// listenFDsOfInit is the number of sockets passed to this init for its
// command: LISTEN_FDS when LISTEN_PID names this process.
func listenFDsOfInit() int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return 0
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 || n > 1024 {
		return 0
	}
	return n
}

// listenChild is the child of a socket-activated --init: it names itself
// in LISTEN_PID and executes the command, keeping descriptors 3 and up.
func listenChild(args []string) int {
	os.Unsetenv(envListenChild)
	path, code, err := lookPath(args[0], os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: myctr-init: %v\n", err)
		return code
	}
	err = unix.Exec(path, args, withListenPID(os.Environ(), os.Getpid()))
	fmt.Fprintf(os.Stderr, "Error: myctr-init: exec %s: %v\n", path, err)
	if errors.Is(err, unix.ENOENT) {
		return ExitNotFound
	}
	return ExitNotExecutable
}

// reap collects every ended child; done is true, with the exit status to
// pass on, once child is among them.
func reap(child int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return status, done
		}
		if pid != child {
			continue
		}
		done = true
		switch {
		case ws.Exited():
			status = ws.ExitStatus()
		case ws.Signaled():
			status = 128 + int(ws.Signal())
		}
	}
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
