package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// procStart reads a process's start time (field 22 of /proc/PID/stat), which
// together with the pid names one process for the life of the system.
func procStart(pid int) (uint64, error) {
	_, start, err := nsexec.ProcStat(pid)
	return start, err
}

// alive reports whether pid still is the process that started at start.
// Owner names a process by its pid and start time, which a reused pid
// does not match.
type Owner struct {
	Pid   int
	Start uint64
}

// self is this process as an Owner.
func self() *Owner {
	start, _ := procStart(os.Getpid())
	return &Owner{Pid: os.Getpid(), Start: start}
}

// Gone says whether the process is no more.
func (o *Owner) Gone() bool { return !alive(o.Pid, o.Start) }

func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, s, err := nsexec.ProcStat(pid)
	if err != nil || s != start {
		return false
	}
	if st != 'Z' {
		return true
	}
	// A zombie has exited and only waits to be reaped by its parent, but
	// /proc/PID/stat is the first thread's alone, and that thread is a
	// zombie too while the process lives on in its other threads. That
	// is so for a moment whenever a thread other than the first executes
	// a program: the kernel ends the others, the first among them, before
	// the executing thread takes over the pid. A container's monitor, a Go
	// program, does that when it executes myctr-monitor just after the
	// start, which for a container that ends at once is when wait, logs
	// and ps read its record: taken for gone, the exit's record and the
	// rest of the output would be given up for lost (exit code -1, an
	// ended logs -f). A pidfd reads readable only once every thread has
	// exited.
	return !groupExited(pid, start)
}

// groupExited reports whether every thread of the process pid (started
// at start) has exited.
func groupExited(pid int, start uint64) bool {
	fd, err := openPidfd(pid, start)
	if err != nil {
		return true // reaped meanwhile
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// openPidfd opens a pidfd for pid and checks, after opening, that it is
// still the process that started at start: from then on the fd cannot
// refer to another process.
func openPidfd(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if s, err := procStart(pid); err != nil || s != start {
		unix.Close(fd)
		return -1, fmt.Errorf("process %d: %w", pid, unix.ESRCH)
	}
	return fd, nil
}

// waitGone waits up to d for the process behind pidfd to exit.
func waitGone(pidfd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			return true
		}
		if err != nil || left == 0 {
			return false
		}
	}
}

// signalPidfd sends sig. A process running as a subordinate uid cannot be
// signalled from outside its user namespace without CAP_KILL there, so on
// EPERM a child of ours joins the container's user namespace (see
// nsenter.c) and sends it from inside.
func signalPidfd(pidfd int, sig unix.Signal) error {
	err := unix.PidfdSendSignal(pidfd, sig, nil, 0)
	if err == nil || !errors.Is(err, unix.EPERM) {
		if err != nil {
			return fmt.Errorf("send %s: %w", unix.SignalName(sig), err)
		}
		return nil
	}
	dup, err := unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("dup pidfd: %w", err)
	}
	f := os.NewFile(uintptr(dup), "pidfd")
	defer f.Close()
	cmd := exec.Command(nsexec.Binary(), strconv.Itoa(int(sig)))
	cmd.Args[0] = "myctr-signal"
	cmd.Env = []string{nsexec.EnvStage + "=" + nsexec.StageSignal, nsexec.EnvVersion + "=" + nsexec.Version, nsexec.EnvJoinFD + "=3", nsexec.EnvJoinNS + "=user"}
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal of ours in the container's user namespace
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			return fmt.Errorf("send %s: %w", unix.SignalName(sig), unix.ESRCH)
		}
		return fmt.Errorf("send %s from the container's user namespace: %v: %s", unix.SignalName(sig), err, bytes.TrimSpace(out))
	}
	return nil
}
