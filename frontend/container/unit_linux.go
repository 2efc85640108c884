package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/systemd"
)

// A container run by a systemd unit: what the unit's manager passes to
// myctr (sockets for socket activation, NOTIFY_SOCKET) and what myctr tells
// it (sd_notify). See docs/ARCHITECTURE.md, "Containers as systemd units".

// envListenFDs and envListenFDNames carry the sockets of socket activation
// from `myctr run -d` (or `start`) to the monitor, which has them as
// descriptors 3 and up too; LISTEN_PID cannot name the monitor before it
// runs.
const (
	envListenFDs     = "_MYCTR_LISTEN_FDS"
	envListenFDNames = "_MYCTR_LISTEN_FDNAMES"
	// envPreserved says the descriptors are --preserve-fds's: no
	// LISTEN_* variables for the container.
	envPreserved = "_MYCTR_PRESERVED_FDS"
)

// Activation is the sockets systemd passed to this process: descriptors 3
// to 3+N-1, and their names.
type Activation struct {
	N     int
	Names string
	// Preserved: the descriptors of --preserve-fds, passed without the
	// variables of socket activation.
	Preserved bool
	// fds are the descriptors as files, made once: a second *os.File of
	// the same descriptor would close it when the first is collected.
	fds []*os.File
}

// TakeActivation returns the sockets passed to this process for socket
// activation (LISTEN_PID naming it), or handed over by the CLI to the
// monitor, and unsets the variables, so that nothing started from here
// takes them for its own.
func TakeActivation() (Activation, error) {
	var a Activation
	var err error
	if v := os.Getenv(envListenFDs); v != "" {
		a.N, err = strconv.Atoi(v)
		if err != nil || a.N < 0 || a.N > systemd.MaxListenFDs {
			err = fmt.Errorf("invalid %s %q", envListenFDs, v)
		}
		a.Names = os.Getenv(envListenFDNames)
		a.Preserved = os.Getenv(envPreserved) != ""
	} else {
		a.N, a.Names, err = systemd.ListenFDs(os.Getenv, os.Getpid())
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", envListenFDs, envListenFDNames, envPreserved} {
		os.Unsetenv(k)
	}
	if err != nil {
		return Activation{}, err
	}
	what := fmt.Sprintf("socket activation: LISTEN_FDS=%d", a.N)
	if a.Preserved {
		what = fmt.Sprintf("--preserve-fds=%d", a.N)
	}
	return a, a.take(what)
}

// PreserveFDs is --preserve-fds=n: this process's descriptors 3 to 3+n-1
// for the container's process, as socket activation passes its sockets
// but without its variables; the same checks apply.
func PreserveFDs(n int) (Activation, error) {
	if n < 0 || n > systemd.MaxListenFDs {
		return Activation{}, fmt.Errorf("invalid --preserve-fds %d", n)
	}
	a := Activation{N: n, Preserved: true}
	return a, a.take(fmt.Sprintf("--preserve-fds=%d", n))
}

// take checks and keeps the descriptors 3 to 3+N-1; what names where
// they come from, for the errors.
func (a *Activation) take(what string) error {
	// The descriptors must be there: a mistake in the unit would otherwise
	// hand the container whatever happens to be open at those numbers.
	for fd := 3; fd < 3+a.N; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("%s but descriptor %d is not open", what, fd)
		}
		// A directory is nothing systemd passes (sockets, FIFOs, special
		// files), and in the container it would be a way out of its root
		// (a working directory of /proc/self/fd/N).
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("%s: descriptor %d is a directory, which the container may not have (a way out of its root)", what, fd)
		}
		// Not ours to keep: only the processes they are passed to on
		// purpose get them.
		unix.CloseOnExec(fd)
		a.fds = append(a.fds, os.NewFile(uintptr(fd), "listen-fd-"+strconv.Itoa(fd)))
	}
	return nil
}

// files are the descriptors for ExtraFiles (where they become 3, 4, ... of
// the child again); a new slice each time, which the caller may append to.
func (a Activation) files() []*os.File {
	return append([]*os.File(nil), a.fds...)
}

// env is what the monitor needs to find the descriptors again.
func (a Activation) env() []string {
	if a.N == 0 {
		return nil
	}
	env := []string{envListenFDs + "=" + strconv.Itoa(a.N), envListenFDNames + "=" + a.Names}
	if a.Preserved {
		env = append(env, envPreserved+"=1")
	}
	return env
}

// withoutEnv drops the variables named by keys from env.
func withoutEnv(env []string, keys ...string) []string {
	out := env[:0:0]
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		drop := false
		for _, key := range keys {
			drop = drop || k == key
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

// applyActivation gives the container's process the sockets: LISTEN_FDS
// and LISTEN_FDNAMES in its environment (LISTEN_PID is set by the init,
// which knows the process's pid).
func applyActivation(spec *specs.Spec, a Activation) {
	spec.Process.Env = withoutEnv(spec.Process.Env, "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")
	if a.N == 0 || a.Preserved {
		return
	}
	spec.Process.Env = append(spec.Process.Env, "LISTEN_FDS="+strconv.Itoa(a.N))
	if a.Names != "" {
		spec.Process.Env = append(spec.Process.Env, "LISTEN_FDNAMES="+a.Names)
	}
}

// notifySocket is the unit manager's NOTIFY_SOCKET, or "" outside a
// Type=notify unit.
func notifySocket() string { return os.Getenv("NOTIFY_SOCKET") }

// notifyMode is the container's --sdnotify mode.
func notifyMode(c *Container) string {
	if c.HostConfig.SdNotify == "" {
		return systemd.NotifyContainer
	}
	return c.HostConfig.SdNotify
}

// startNotifyProxy makes the socket of --sdnotify=container (when a
// manager waits for a notification) and binds it into the container,
// whose NOTIFY_SOCKET names it; what the container says goes on to the
// manager with this process as the unit's main process.
func startNotifyProxy(c *Container, spec *specs.Spec) (*systemd.NotifyProxy, error) {
	upper := notifySocket()
	if upper == "" || notifyMode(c) != systemd.NotifyContainer {
		return nil, nil
	}
	dir := c.RunFile("notify")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	// The container's uids other than 0 must reach the socket: the
	// directory is searchable, the socket writable (ListenNotify).
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	p, err := systemd.ListenNotify(dir, "notify.sock", upper, os.Getpid())
	if err != nil {
		return nil, err
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: systemd.ContainerNotifyDir, Type: "bind",
		Source: dir, Options: []string{"rbind", "rprivate"}})
	spec.Process.Env = append(withoutEnv(spec.Process.Env, "NOTIFY_SOCKET"), "NOTIFY_SOCKET="+systemd.ContainerNotifySocket)
	return p, nil
}

// namesMainPID: whether notifyStarted will name the monitor MAINPID=.
func namesMainPID(c *Container) bool {
	return notifySocket() != "" && notifyMode(c) != systemd.NotifyIgnore
}

// notifyStarted tells the manager, for --sdnotify=conmon, that the
// container runs and mainPID (its monitor) is the process to track; for
// --sdnotify=container only which process to track (the container says
// READY=1 itself). A failure is a warning: the container runs.
func notifyStarted(c *Container, mainPID int) {
	sock := notifySocket()
	if sock == "" {
		return
	}
	state := "MAINPID=" + strconv.Itoa(mainPID)
	switch notifyMode(c) {
	case systemd.NotifyConmon:
		state += "\nREADY=1"
	case systemd.NotifyIgnore:
		return
	}
	if err := systemd.Notify(sock, state); err != nil {
		fmt.Fprintf(os.Stderr, "Warning: %v\n", err)
	}
}
