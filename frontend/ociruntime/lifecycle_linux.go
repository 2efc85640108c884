package ociruntime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/nsexec"
)

// Start executes the created container's process: it opens the exec
// fifo, on which the init waits, takes its byte and removes the fifo
// (from then on the container is running), then runs the poststart hooks.
func (rt *Runtime) Start(id string) error {
	r, err := rt.Load(id)
	if err != nil {
		return err
	}
	return rt.StartRecord(r)
}

// StartRecord is Start of the container whose record the caller holds
// (run, which created it).
func (rt *Runtime) StartRecord(r *Record) error {
	id := r.ID
	if st := rt.Status(r); st != StatusCreated {
		return fmt.Errorf("cannot start a container that is %s", st)
	}
	// Non-blocking: an init that died meanwhile must not hang us.
	fd, err := unix.Open(rt.fifo(id), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the exec fifo: %w", err)
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for the container's init: %w", err)
		}
		if n > 0 {
			var b [1]byte
			if m, _ := unix.Read(fd, b[:]); m == 1 {
				break
			}
		}
		if !r.alive() {
			return errors.New("the container's init exited before it was started")
		}
	}
	if err := os.Remove(rt.fifo(id)); err != nil {
		return fmt.Errorf("remove the exec fifo: %w", err)
	}
	rt.Started(r)
	return nil
}

// Started runs the poststart hooks of a container whose process was
// just started: by Start, or by Create with CreateOptions.Run.
func (rt *Runtime) Started(r *Record) {
	if h := r.hooks().Poststart; len(h) > 0 {
		if err := nsexec.RunHooks(h, rt.State(r)); err != nil {
			warn("poststart hook: %v", err)
		}
	}
}

// Kill sends sig to the container's init, or with all to every process of
// the container's PID namespace.
func (rt *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	r, err := rt.Load(id)
	if err != nil {
		return err
	}
	if rt.Status(r) == StatusStopped {
		return errors.New("container not running")
	}
	if all && (r.OwnPidNS || r.Cgroup != "") {
		for _, pid := range rt.pids(r) {
			unix.Kill(pid, sig)
		}
		return nil
	}
	fd, err := r.pidfd()
	if err != nil {
		return errors.New("container not running")
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal the container's init: %w", err)
	}
	return nil
}

// pids lists the host pids of the processes of the container's PID
// namespace, its init first; none when the init is gone.
func (rt *Runtime) pids(r *Record) []int {
	if !r.alive() {
		return nil
	}
	pidNS, err := os.Readlink("/proc/" + strconv.Itoa(r.Pid) + "/ns/pid")
	if err != nil {
		return nil
	}
	if r.Cgroup != "" {
		if pids := cgroupPids(r.Cgroup); len(pids) > 0 {
			return append([]int{r.Pid}, slices.DeleteFunc(pids, func(p int) bool { return p == r.Pid })...)
		}
	}
	out := []int{r.Pid}
	if !r.OwnPidNS {
		return out
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == r.Pid {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == pidNS {
			out = append(out, pid)
		}
	}
	return out
}

// Pids is `ps`: the container's processes.
func (rt *Runtime) Pids(id string) ([]int, error) {
	r, err := rt.Load(id)
	if err != nil {
		return nil, err
	}
	return rt.pids(r), nil
}

// Delete removes a stopped container's state, after its poststop hooks.
// One that is created or running is an error, as the runtime
// specification says, unless force kills it first (runc deletes a
// created container without force; its callers all pass force).
func (rt *Runtime) Delete(id string, force bool) error {
	r, err := rt.Load(id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			// A create killed before it knew its init's pid leaves
			// the directory alone: the init ended with it.
			return os.RemoveAll(rt.dir(id))
		}
		return err
	}
	return rt.DeleteRecord(r, force)
}

// DeleteRecord is Delete of the container whose record the caller holds
// (run, once its process has exited).
func (rt *Runtime) DeleteRecord(r *Record, force bool) error {
	id := r.ID
	switch st := rt.Status(r); {
	case st != StatusStopped && !force:
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
	case st != StatusStopped:
		if err := rt.killAll(r); err != nil {
			return err
		}
	}
	// A scope of systemd's goes with its unit, which systemd removes
	// with its cgroup; that cgroup is another container's when the
	// unit is (the scope ended with the container's processes, and a
	// new one has its name).
	stopped, err := stopScope(r)
	if err != nil {
		return err
	}
	if stopped || r.Unit == "" {
		if err := removeCgroup(r.Cgroup); err != nil {
			return err
		}
	}
	if h := r.hooks().Poststop; len(h) > 0 {
		if err := nsexec.RunHooks(h, rt.State(r)); err != nil {
			warn("poststop hook: %v", err)
		}
	}
	return os.RemoveAll(rt.dir(id))
}

// killAll kills every process of the container and waits, up to 10
// seconds, for its init to end (or to be a zombie, which its subreaper
// reaps).
func (rt *Runtime) killAll(r *Record) error {
	fd, err := r.pidfd()
	if err != nil {
		return nil // gone already
	}
	defer unix.Close(fd)
	if r.Cgroup != "" {
		// A frozen process takes no signal until it is thawed.
		_ = cgroup.Freeze(r.Cgroup, false)
	}
	for _, pid := range rt.pids(r) {
		if pid != r.Pid {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	deadline := time.Now().Add(10 * time.Second)
	for r.alive() {
		if time.Now().After(deadline) {
			return fmt.Errorf("the container's init %d did not end after SIGKILL", r.Pid)
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
	}
	return nil
}

// Wait waits for the container's init, a child of this process (`run`),
// and returns its exit code as a shell reports it.
func Wait(pid int) int {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func warn(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "Warning: "+format+"\n", a...)
}

// DefaultRoot is the state root without --root: /run/myctr-runtime for
// root, $XDG_RUNTIME_DIR/myctr-runtime for a user, and for root of a
// user namespace that a user made (rootless Podman runs the runtime in
// its own), as runc does.
func DefaultRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && (os.Geteuid() != 0 || inUserNS()) {
		return filepath.Join(d, "myctr-runtime")
	}
	if os.Geteuid() != 0 {
		return filepath.Join(os.TempDir(), "myctr-runtime-"+strconv.Itoa(os.Getuid()))
	}
	return "/run/myctr-runtime"
}

// inUserNS reports whether this process runs in a user namespace other
// than the initial one, whose map is the whole 32-bit range.
func inUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}
