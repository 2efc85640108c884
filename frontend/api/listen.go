package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/systemd"
)

// Sentinels of Listen; compare with errors.Is.
var (
	ErrUnsupportedURI = errors.New("unsupported service URI")
	ErrUnsafeDir      = errors.New("the socket's directory is not private to you")
	ErrInUse          = errors.New("another service answers on the socket")
	ErrNoRuntimeDir   = errors.New("XDG_RUNTIME_DIR is not set")
	ErrNotLoopback    = errors.New("the TCP address is not a loopback address")
)

// TCPWarning is what the service says when it serves TCP: no file mode
// guards a port, so anyone who reaches it is the user as far as the
// containers are concerned.
const TCPWarning = "WARNING: serving the API on TCP %s without authentication or TLS: anyone who can connect to it controls your containers and can read or write what your user can"

// TCPAddr reads tcp://HOST:PORT. HOST must be a loopback address
// (127.0.0.0/8, ::1, localhost) unless anyAddr: any other address
// hands the user's containers to whoever can reach it over a network.
func TCPAddr(uri string, anyAddr bool) (string, error) {
	hostport, ok := strings.CutPrefix(uri, "tcp://")
	if !ok {
		return "", fmt.Errorf("%w %q: want tcp://HOST:PORT", ErrUnsupportedURI, uri)
	}
	host, port, err := net.SplitHostPort(strings.TrimSuffix(hostport, "/"))
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrUnsupportedURI, uri, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("%w %q: invalid port %q", ErrUnsupportedURI, uri, port)
	}
	if anyAddr {
		return net.JoinHostPort(host, port), nil
	}
	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return "", fmt.Errorf("%w: %q", ErrNotLoopback, host)
	}
	return net.JoinHostPort(a.String(), port), nil
}

// DefaultSocket is $XDG_RUNTIME_DIR/myctr/myctr.sock.
func DefaultSocket() (string, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return "", ErrNoRuntimeDir
	}
	return filepath.Join(dir, "myctr", "myctr.sock"), nil
}

// SocketPath reads a unix service URI: unix://PATH (PATH absolute), or
// "" for the default. tcp:// is TCPAddr's.
func SocketPath(uri string) (string, error) {
	if uri == "" {
		return DefaultSocket()
	}
	path, ok := strings.CutPrefix(uri, "unix://")
	if !ok {
		return "", fmt.Errorf("%w %q: only unix://PATH is served", ErrUnsupportedURI, uri)
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%w %q: the socket's path must be absolute", ErrUnsupportedURI, uri)
	}
	return filepath.Clean(path), nil
}

// Listen makes the socket at path, mode 0600, in a directory that is the
// user's alone (made 0700 when it is not there). A socket left by a
// service that is gone is replaced; one that answers is refused.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make %s: %w", dir, err)
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket: %w", path, fs.ErrExist)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", path, ErrInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
	}
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}

// privateDir checks that dir is a directory of ours that no one else may
// enter or change (no symlink, no group or other permissions).
func privateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory: %w", dir, ErrUnsafeDir)
	case !ok || int(sys.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to another user: %w", dir, ErrUnsafeDir)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s has mode %#o: %w", dir, st.Mode().Perm(), ErrUnsafeDir)
	}
	return nil
}

// ErrNotOurSocket is an inherited descriptor that is not a listening
// unix stream socket of the user's, in a directory of the user's alone.
var ErrNotOurSocket = errors.New("the inherited socket is not a listening unix socket of yours")

// listenFDsStart is the first descriptor of socket activation
// (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Inherited returns the socket a systemd socket unit passed to this
// process (LISTEN_PID and LISTEN_FDS, sd_listen_fds(3)), nil when none
// was: the service then makes its own with Listen. It takes exactly one,
// checks it as Listen makes its own (a listening unix stream socket,
// the file the user's with mode 0600 or stricter, in a directory of the
// user's alone), and unsets the variables so that no process the service
// starts takes them for its own. The socket's file stays when the
// service exits: the socket unit owns it and listens on.
func Inherited() (net.Listener, string, error) {
	n, _, err := systemd.ListenFDs(os.Getenv, os.Getpid())
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if err != nil {
		return nil, "", err
	}
	if n == 0 {
		return nil, "", nil
	}
	if n != 1 {
		return nil, "", fmt.Errorf("%d sockets passed: %w (the socket unit must have one ListenStream=)", n, ErrNotOurSocket)
	}
	fd := listenFDsStart
	path, err := checkInherited(fd)
	if err != nil {
		return nil, "", err
	}
	f := os.NewFile(uintptr(fd), "LISTEN_FDS")
	defer f.Close() // FileListener holds a duplicate, close-on-exec
	l, err := net.FileListener(f)
	if err != nil {
		return nil, "", fmt.Errorf("use the inherited socket: %w", err)
	}
	return l, path, nil
}

// checkInherited checks fd and returns the path it is bound to.
func checkInherited(fd int) (string, error) {
	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return "", fmt.Errorf("descriptor %d: %v: %w", fd, err, ErrNotOurSocket)
	}
	typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	acc, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if domain != unix.AF_UNIX || typ != unix.SOCK_STREAM || acc != 1 {
		return "", fmt.Errorf("descriptor %d: domain %d, type %d, listening %d: %w", fd, domain, typ, acc, ErrNotOurSocket)
	}
	sa, err := unix.Getsockname(fd)
	ua, ok := sa.(*unix.SockaddrUnix)
	if err != nil || !ok || !filepath.IsAbs(ua.Name) {
		return "", fmt.Errorf("descriptor %d is not bound to a path (abstract or unnamed): %w", fd, ErrNotOurSocket)
	}
	path := ua.Name
	st, err := os.Lstat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %v: %w", path, err, ErrNotOurSocket)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case st.Mode().Type() != fs.ModeSocket:
		return "", fmt.Errorf("%s is not a socket: %w", path, ErrNotOurSocket)
	case !ok || int(sys.Uid) != os.Getuid():
		return "", fmt.Errorf("%s belongs to another user: %w", path, ErrNotOurSocket)
	case st.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("%s has mode %#o (SocketMode=0600): %w", path, st.Mode().Perm(), ErrNotOurSocket)
	}
	if err := privateDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return path, nil
}
