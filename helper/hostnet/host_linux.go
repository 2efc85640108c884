package hostnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// Host is the network namespace the helper makes its objects in.
type Host struct {
	mu   sync.Mutex              // serializes operations: one netlink handle, one ruleset
	fd   int                     // the namespace, open; -1 once closed
	nl   *netlink.Handle         // rtnetlink socket created in the namespace
	own  bool                    // the process's own namespace: never entered (setns needs CAP_SYS_ADMIN)
	held map[string]map[Port]int // by owner: the sockets holding published host ports
}

// Open opens the network namespace at netnsPath ("" for the calling
// process's own, otherwise a namespace file such as /run/netns/NAME) and
// keeps it open until Close.
func Open(netnsPath string) (*Host, error) {
	path := netnsPath
	if path == "" {
		path = "/proc/self/ns/net"
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	// Why this is safe: the path comes from the helper's configuration,
	// and whatever it names must be a network namespace, checked here on
	// the open descriptor, so nothing is ever done elsewhere.
	if err := checkNetns(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink socket in %s: %w", path, err)
	}
	return &Host{fd: fd, nl: h, own: netnsPath == "", held: map[string]map[Port]int{}}, nil
}

// Close releases the namespace, the netlink socket and the sockets that
// hold published ports. The objects made stay.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fd < 0 {
		return nil
	}
	for _, ports := range h.held {
		for _, fd := range ports {
			unix.Close(fd)
		}
	}
	h.held = nil
	h.nl.Close()
	err := unix.Close(h.fd)
	h.fd = -1
	return err
}

// lock takes the Host for one operation; it fails once the Host is closed.
func (h *Host) lock() error {
	h.mu.Lock()
	if h.fd < 0 {
		h.mu.Unlock()
		return errors.New("hostnet: Host is closed")
	}
	return nil
}

// checkNetns fails unless fd is a network namespace.
func checkNetns(fd int) error {
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("not a namespace: %w", err)
	}
	if t != unix.CLONE_NEWNET {
		return fmt.Errorf("%w: not a network namespace", ErrInvalid)
	}
	return nil
}

// sameNetns reports whether the namespaces open as a and b are one.
func sameNetns(a, b int) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(a, &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(b, &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// inNetns runs f on a fresh OS thread that has entered the Host's network
// namespace (or on any thread, when it is the process's own). The thread stays locked, so the runtime discards it when the
// goroutine ends and no other goroutine ever runs in the wrong namespace.
func (h *Host) inNetns(f func() error) error {
	if h.own {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(h.fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// sysctlPath is the /proc/sys file of key, given with slashes
// ("net/ipv4/ip_forward") since interface names may hold dots.
//
// Preconditions: key is fixed or built from a name that passed validName;
// the caller runs through inNetns.
func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", key)
}

// setSysctls writes each key=value in the Host's namespace (/proc/sys/net
// shows the namespace of the thread that opens it).
func (h *Host) setSysctls(kv [][2]string) error {
	return h.inNetns(func() error {
		for _, e := range kv {
			if err := os.WriteFile(sysctlPath(e[0]), []byte(e[1]), 0); err != nil {
				return fmt.Errorf("sysctl %s=%s: %w", e[0], e[1], err)
			}
		}
		return nil
	})
}

// UnprivilegedPortStart returns net.ipv4.ip_unprivileged_port_start of the
// Host's network namespace: host ports below it need the low-port action.
func (h *Host) UnprivilegedPortStart() (int, error) {
	if err := h.lock(); err != nil {
		return 0, err
	}
	defer h.mu.Unlock()
	const key = "net/ipv4/ip_unprivileged_port_start"
	var n int
	err := h.inNetns(func() error {
		b, err := os.ReadFile(sysctlPath(key))
		if err != nil {
			return err
		}
		n, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	return n, nil
}

func sockType(proto string) (int, error) {
	switch proto {
	case "tcp":
		return unix.SOCK_STREAM, nil
	case "udp":
		return unix.SOCK_DGRAM, nil
	}
	return 0, fmt.Errorf("%w: protocol %q: want tcp or udp", ErrInvalid, proto)
}

// validName reports whether s is a plain interface name: 1 to 15 bytes
// (IFNAMSIZ less the NUL) of [A-Za-z0-9_.-], starting with a letter or
// digit. Such a name is safe in a /proc/sys path and in a netlink
// attribute.
func validName(s string) bool {
	return protocol.ValidName(s, 15)
}

func checkName(what, s string) error {
	if !validName(s) {
		return fmt.Errorf("%w: %s name %q: want 1 to 15 of [A-Za-z0-9_.-], starting with a letter or digit", ErrInvalid, what, s)
	}
	return nil
}
