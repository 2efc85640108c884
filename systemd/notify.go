package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The --sdnotify modes, with Podman's meanings.
const (
	// NotifyConmon: myctr says READY=1 (and MAINPID=, the process systemd
	// must track) once the container's process has started.
	NotifyConmon = "conmon"
	// NotifyContainer: the container's process says READY=1 itself,
	// through a socket myctr binds into it and forwards from.
	NotifyContainer = "container"
	// NotifyIgnore: nothing is said, and the container gets no socket.
	NotifyIgnore = "ignore"
)

// ParseNotifyMode checks an --sdnotify value; "" is the default
// (container, as Podman's).
func ParseNotifyMode(s string) (string, error) {
	switch s {
	case "":
		return NotifyContainer, nil
	case NotifyConmon, NotifyContainer, NotifyIgnore:
		return s, nil
	case "healthy":
		return "", errors.New("--sdnotify=healthy needs health checks, which myctr does not have")
	}
	return "", fmt.Errorf("invalid --sdnotify %q: must be conmon, container or ignore", s)
}

// ContainerNotifyDir is where a container with --sdnotify=container finds
// its notify socket (NOTIFY_SOCKET), as in Podman's containers.
const (
	ContainerNotifyDir    = "/run/notify"
	ContainerNotifySocket = ContainerNotifyDir + "/notify.sock"
)

// Notify sends state (newline-separated KEY=VALUE assignments) to the
// service manager's socket, a path or an abstract name ("@..."). It is
// sd_notify(3) without the environment: the socket is given.
func Notify(socket, state string) error {
	if socket == "" {
		return nil
	}
	addr := &net.UnixAddr{Name: socket, Net: "unixgram"}
	if strings.HasPrefix(socket, "@") {
		addr.Name = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	return nil
}

// forwardable are the assignments a container may make to the unit's
// manager. MAINPID= is not among them (a pid of the container's namespace
// means nothing to systemd: myctr says which process to track), nor
// FDSTORE= (no descriptors pass through the proxy), nor anything else a
// container could use to speak for the unit in ways it should not.
var forwardable = map[string]bool{
	"READY": true, "STATUS": true, "STOPPING": true, "RELOADING": true,
	"WATCHDOG": true, "WATCHDOG_USEC": true, "EXTEND_TIMEOUT_USEC": true,
	"ERRNO": true, "BUSERROR": true, "MONOTONIC_USEC": true,
}

// FilterNotify turns one datagram a container sent into what myctr passes
// on: the forwardable assignments, in order, with MAINPID=mainPID first
// when the message says READY=1. It returns "" when nothing is left.
func FilterNotify(msg []byte, mainPID int) string {
	var out []string
	ready := false
	for _, line := range bytes.Split(msg, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok || !forwardable[string(k)] || bytes.IndexByte(v, 0) >= 0 {
			continue
		}
		if string(k) == "READY" && string(v) == "1" {
			ready = true
		}
		out = append(out, string(line))
	}
	if len(out) == 0 {
		return ""
	}
	if ready && mainPID > 0 {
		out = append([]string{"MAINPID=" + strconv.Itoa(mainPID)}, out...)
	}
	return strings.Join(out, "\n")
}

// NotifyProxy is the socket a container with --sdnotify=container sends
// to: what arrives is filtered (FilterNotify) and forwarded to the unit's
// manager's socket.
type NotifyProxy struct {
	conn    *net.UnixConn
	path    string
	upper   string
	mainPID int
	wg      sync.WaitGroup
	mu      sync.Mutex
	ready   bool
}

// ListenNotify makes the proxy's socket, dir/name (mode 0666: the
// container's process may run as any of its uids), and starts forwarding
// to upper, the manager's NOTIFY_SOCKET, naming mainPID as the unit's main
// process with READY=1. dir may be longer than a socket address allows
// (108 bytes): the socket is bound through a descriptor of dir.
func ListenNotify(dir, name, upper string, mainPID int) (*NotifyProxy, error) {
	conn, err := listenUnixgramIn(dir, name)
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	p := &NotifyProxy{conn: conn, path: filepath.Join(dir, name), upper: upper, mainPID: mainPID}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// listenUnixgram binds a datagram socket at dir/name, mode 0666, naming
// it by /proc/self/fd/DIRFD/name.
func listenUnixgramIn(dir, name string) (*net.UnixConn, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	_ = unix.Unlinkat(dfd, name, 0)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	addr := fmt.Sprintf("/proc/self/fd/%d/%s", dfd, name)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		return nil, fmt.Errorf("bind %s/%s: %w", dir, name, err)
	}
	if err := unix.Fchmodat(dfd, name, 0o666, 0); err != nil {
		return nil, fmt.Errorf("chmod %s/%s: %w", dir, name, err)
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UnixConn), nil
}

func (p *NotifyProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, _, err := p.conn.ReadFromUnix(buf)
		if err != nil {
			return
		}
		state := FilterNotify(buf[:n], p.mainPID)
		if state == "" {
			continue
		}
		if strings.Contains(state, "READY=1") {
			p.mu.Lock()
			p.ready = true
			p.mu.Unlock()
		}
		_ = Notify(p.upper, state)
	}
}

// Ready reports whether the container has said READY=1.
func (p *NotifyProxy) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// Close stops forwarding and removes the socket.
func (p *NotifyProxy) Close() {
	if p == nil {
		return
	}
	p.conn.Close()
	p.wg.Wait()
	os.Remove(p.path)
}

// ListenFDs reads what systemd passed to the process pid for socket
// activation (sd_listen_fds(3)): the number of descriptors, from fd 3 up,
// and their names (LISTEN_FDNAMES, colon-separated, may be empty). It
// returns 0 when LISTEN_PID does not name pid: the variables were meant
// for another process.
func ListenFDs(getenv func(string) string, pid int) (n int, names string, err error) {
	if getenv("LISTEN_PID") == "" || getenv("LISTEN_FDS") == "" {
		return 0, "", nil
	}
	if p, err := strconv.Atoi(getenv("LISTEN_PID")); err != nil || p != pid {
		return 0, "", nil
	}
	n, err = strconv.Atoi(getenv("LISTEN_FDS"))
	if err != nil || n < 0 || n > MaxListenFDs {
		return 0, "", fmt.Errorf("invalid LISTEN_FDS %q", getenv("LISTEN_FDS"))
	}
	return n, getenv("LISTEN_FDNAMES"), nil
}

// MaxListenFDs bounds the descriptors myctr passes on (systemd's own
// bound on a socket unit's is far lower in practice).
const MaxListenFDs = 1024
