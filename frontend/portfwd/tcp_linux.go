package portfwd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

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
				connLog.logf("%v -> %v: %v", client, target, err)
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
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, Mark); err != nil {
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
