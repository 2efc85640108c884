package nsexec

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
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
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	path, code, err := lookPath(args[0], os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: myctr-init: %v\n", err)
		return code
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{}}
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
