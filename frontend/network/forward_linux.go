package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netif"
)

// The port forwarder (see "Published ports" in the package documentation).
const (
	// StageForward is the forwarder's stage: cmd/myctr must call
	// ForwardMain when EnvStage has this value.
	StageForward = "network-forward"
	envForward   = "_MYCTR_FORWARD_SPEC"

	// forwardMark marks the forwarder's connections in the container's
	// network namespace, and numbers the routing table that makes the
	// server's replies to them local ("my").
	forwardMark = 0x6d79
	// forwardRulePrio is the priority of the rule "fwmark forwardMark
	// lookup forwardMark": before the main table (32766).
	forwardRulePrio = 100
)

// connectTimeout bounds a connection to the container's server.
const connectTimeout = 30 * time.Second

// maxDialing bounds the connections being set up at once, each of which
// holds a thread in connect(2): past it, a new client is closed at once
// (a server whose backlog is full would otherwise pile them up).
const maxDialing = 256

// forwardSpec is what the watcher tells the forwarder (in envForward).
type forwardSpec struct {
	Guest   string // the container's address, where connections go
	Gateway string // the source shown for clients with no IPv4 address
	Ports   []forwardPort
}

// forwardPort is one published port: the listening (TCP) or bound (UDP)
// socket on the host, an inherited fd, and the container's port.
type forwardPort struct {
	Fd            int
	ContainerPort uint16
	Protocol      string // "tcp" or "udp"
}

// ForwardMain is the forwarder stage. The binary's constructor has joined
// the user and network namespaces of the container's init and kept only
// CAP_NET_ADMIN; fd 4 is the pipe for the one report to the watcher ("ok"
// or an error), and the host's listening sockets are the fds in the spec.
// It returns the exit code (it normally runs until killed).
func ForwardMain() int {
	ready := os.NewFile(4, "ready")
	unix.CloseOnExec(4)
	fail := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		logForward("%s", msg)
		if ready != nil {
			_, _ = ready.WriteString(msg)
			ready.Close()
		}
		return 1
	}
	var spec forwardSpec
	if err := json.Unmarshal([]byte(os.Getenv(envForward)), &spec); err != nil {
		return fail("bad spec: %v", err)
	}
	guest, err := netip.ParseAddr(spec.Guest)
	if err != nil || !guest.Is4() {
		return fail("bad guest address %q", spec.Guest)
	}
	gateway, err := netip.ParseAddr(spec.Gateway)
	if err != nil || !gateway.Is4() {
		return fail("bad gateway address %q", spec.Gateway)
	}
	if err := prepareNamespace(); err != nil {
		return fail("%v", err)
	}
	serves := make([]func() error, 0, len(spec.Ports))
	for _, p := range spec.Ports {
		f := os.NewFile(uintptr(p.Fd), "listener")
		unix.CloseOnExec(p.Fd)
		target := netip.AddrPortFrom(guest, p.ContainerPort)
		if p.Protocol == "udp" {
			c, err := net.FilePacketConn(f)
			f.Close()
			uc, ok := c.(*net.UDPConn)
			if err != nil || !ok {
				return fail("fd %d is not a UDP socket: %v", p.Fd, err)
			}
			serves = append(serves, func() error { return forwardUDP(uc, target, gateway) })
			continue
		}
		l, err := net.FileListener(f)
		f.Close()
		tl, ok := l.(*net.TCPListener)
		if err != nil || !ok {
			return fail("fd %d is not a TCP listener: %v", p.Fd, err)
		}
		serves = append(serves, func() error { return forward(tl, target, gateway) })
	}
	_, _ = ready.WriteString("ok")
	ready.Close()
	ready = nil

	errs := make(chan error, len(serves))
	for _, serve := range serves {
		go func() { errs <- serve() }()
	}
	err = <-errs
	return fail("%v", err)
}

// prepareNamespace sets up the container's network namespace for
// transparent connections: the routing of marked packets (netif.MarkedLocal)
// and net.ipv4.tcp_fwmark_accept, so that the server's accepted socket
// takes the mark of the forwarder's SYN and its replies follow the rule.
func prepareNamespace() error {
	if err := netif.MarkedLocal(forwardMark, forwardRulePrio); err != nil {
		return err
	}
	// /proc/sys/net is the namespace of the process that opens it: ours.
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_fwmark_accept", []byte("1"), 0); err != nil {
		return fmt.Errorf("set net.ipv4.tcp_fwmark_accept: %w", err)
	}
	return nil
}

// forward accepts connections on l (a socket of the host's network namespace)
// and joins each to a new connection to target, made in this process's
// network namespace (the container's) from the client's own address.
func forward(l *net.TCPListener, target netip.AddrPort, gateway netip.Addr) error {
	dialing := make(chan struct{}, maxDialing)
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ECONNABORTED) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept on %v: %w", l.Addr(), err)
		}
		select {
		case dialing <- struct{}{}:
		default:
			c.Close()
			continue
		}
		go func() {
			client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
			s, err := dialFrom(sourceFor(client, gateway), target)
			<-dialing
			if err != nil {
				logForward("%v -> %v: %v", client, target, err)
				c.Close()
				return
			}
			join(c, s)
		}()
	}
}

// sourceFor is the address a connection from client takes in the
// container: the client's own, or the gateway's (with any port) for a
// client that has no IPv4 address, since the container's network is IPv4.
func sourceFor(client netip.AddrPort, gateway netip.Addr) netip.AddrPort {
	a := client.Addr().Unmap()
	if !a.Is4() {
		return netip.AddrPortFrom(gateway, 0)
	}
	return netip.AddrPortFrom(a, client.Port())
}

// dialFrom connects to target from src, which need not be an address of
// this namespace (IP_TRANSPARENT), with the forwarder's mark on the
// connection. When src's port is taken here, any port of src is used.
func dialFrom(src, target netip.AddrPort) (*net.TCPConn, error) {
	c, err := transparentSocket(unix.SOCK_STREAM, src, target)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// transparentSocket makes a socket of type typ (SOCK_STREAM or SOCK_DGRAM)
// bound to src with IP_TRANSPARENT and the forwarder's mark, connected to
// target unless that is the zero AddrPort, and returns it as a net.Conn
// (*net.TCPConn or *net.UDPConn). When src's port is taken here, any port
// of src is used.
func transparentSocket(typ int, src, target netip.AddrPort) (net.Conn, error) {
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1); err != nil {
		return nil, fmt.Errorf("IP_TRANSPARENT: %w", err)
	}
	if typ == unix.SOCK_STREAM {
		// The address of a connection that ended may be in TIME_WAIT.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return nil, fmt.Errorf("SO_REUSEADDR: %w", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, forwardMark); err != nil {
		return nil, fmt.Errorf("SO_MARK: %w", err)
	}
	sa := &unix.SockaddrInet4{Addr: src.Addr().As4(), Port: int(src.Port())}
	if err := unix.Bind(fd, sa); err != nil {
		if !errors.Is(err, unix.EADDRINUSE) || sa.Port == 0 {
			return nil, fmt.Errorf("bind %v: %w", src, err)
		}
		sa.Port = 0
		if err := unix.Bind(fd, sa); err != nil {
			return nil, fmt.Errorf("bind %v: %w", src.Addr(), err)
		}
	}
	if t := target; t.IsValid() {
		// A blocking connect (this goroutine has its own thread
		// meanwhile), bounded by SO_SNDTIMEO.
		tv := unix.NsecToTimeval(int64(connectTimeout))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
			return nil, fmt.Errorf("SO_SNDTIMEO: %w", err)
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: t.Addr().As4(), Port: int(t.Port())}); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
	}
	f := os.NewFile(uintptr(fd), "forward")
	ok = true
	c, err := net.FileConn(f)
	f.Close() // FileConn holds its own copy
	return c, err
}

// join copies both ways between a and b (splice(2): io.Copy between TCP
// connections does), passes on each direction's end of stream, and closes
// both once both directions are done.
func join(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src *net.TCPConn) {
		defer wg.Done()
		if _, err := io.Copy(dst, src); err != nil {
			// A reset on one side: end both at once.
			dst.SetLinger(0)
			dst.Close()
			src.Close()
			return
		}
		_ = dst.CloseWrite()
	}
	go pipe(a, b)
	go pipe(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}
