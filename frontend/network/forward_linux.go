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

// forwardPort is one published TCP port: the listening socket on the host
// (an inherited fd) and the container's port.
type forwardPort struct {
	Fd            int
	ContainerPort uint16
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
		fmt.Fprintf(os.Stderr, "%s network-forward[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), msg)
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
	var listeners []*net.TCPListener
	for _, p := range spec.Ports {
		f := os.NewFile(uintptr(p.Fd), "listener")
		unix.CloseOnExec(p.Fd)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fail("listener fd %d: %v", p.Fd, err)
		}
		tl, ok := l.(*net.TCPListener)
		if !ok {
			return fail("fd %d is not a TCP listener", p.Fd)
		}
		listeners = append(listeners, tl)
	}
	_, _ = ready.WriteString("ok")
	ready.Close()
	ready = nil

	errs := make(chan error, len(listeners))
	for i, l := range listeners {
		target := netip.AddrPortFrom(guest, spec.Ports[i].ContainerPort)
		go func() { errs <- forward(l, target, gateway) }()
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
				fmt.Fprintf(os.Stderr, "%s network-forward[%d]: %v -> %v: %v\n", time.Now().Format(time.RFC3339), os.Getpid(), client, target, err)
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
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
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
	// A blocking connect (this goroutine has its own thread meanwhile),
	// bounded by SO_SNDTIMEO.
	tv := unix.NsecToTimeval(int64(connectTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("SO_SNDTIMEO: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: target.Addr().As4(), Port: int(target.Port())}); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	f := os.NewFile(uintptr(fd), "forward")
	ok = true
	c, err := net.FileConn(f)
	f.Close() // FileConn holds its own copy
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
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
