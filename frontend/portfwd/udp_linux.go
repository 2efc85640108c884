package portfwd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netif"
)

// UDP forwarding (see "The port forwarder" in package network's
// documentation).
const (
	// udpIdle ends a flow that has carried nothing either way for this
	// long (rootlesskit and Docker's proxy use about a minute too).
	udpIdle = 60 * time.Second
	// maxUDPFlows bounds the flows of one published port; a datagram of a
	// new client past it is dropped.
	maxUDPFlows = 1024
)

// udpFlow is one client's flow: the socket in the container's namespace
// bound to the client's address, and the rule that routes the server's
// replies back to it (none for a loopback client, whose address is local
// here too). The socket is not connected: a server bound to the wildcard
// answers a loopback client from 127.0.0.1, not from the address it was
// sent to; whatever reaches the client's address and port here is the
// server's.
type udpFlow struct {
	conn *net.UDPConn
	rule *netif.Flow
	last time.Time // of the last datagram either way; under udpForwarder.mu
}

type udpForwarder struct {
	host    *net.UDPConn // bound on the host
	target  netip.AddrPort
	gateway netip.Addr
	mu      sync.Mutex
	flows   map[netip.AddrPort]*udpFlow
}

// forwardUDP relays datagrams between clients of host (a socket of the
// host's network namespace) and target, each client through a socket of
// its own in this namespace (the container's), bound to its address.
func forwardUDP(host *net.UDPConn, target netip.AddrPort, gateway netip.Addr) error {
	u := &udpForwarder{host: host, target: target, gateway: gateway, flows: map[netip.AddrPort]*udpFlow{}}
	go u.expire()
	buf := make([]byte, 65535)
	for {
		n, client, err := host.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("read on %v: %w", host.LocalAddr(), err)
		}
		client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
		f, err := u.flow(client)
		if err != nil {
			connLog.logf("%v -> %v/udp: %v", client, target, err)
			continue
		}
		if f == nil {
			continue // too many flows
		}
		// A datagram nobody listens for is lost, as on a network.
		_, _ = f.conn.WriteToUDPAddrPort(buf[:n], target)
	}
}

// flow returns client's flow, made on its first datagram (nil when there
// are already maxUDPFlows).
func (u *udpForwarder) flow(client netip.AddrPort) (*udpFlow, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if f := u.flows[client]; f != nil {
		f.last = time.Now()
		return f, nil
	}
	if len(u.flows) >= maxUDPFlows {
		return nil, nil
	}
	src := sourceFor(client, u.gateway)
	c, err := transparentSocket(unix.SOCK_DGRAM, src, netip.AddrPort{})
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UDPConn)
	f := &udpFlow{conn: uc, last: time.Now()}
	if local := uc.LocalAddr().(*net.UDPAddr).AddrPort(); !local.Addr().IsLoopback() {
		// The server's replies go to the client's address, which is not
		// this namespace's: route this flow's back here.
		f.rule = &netif.Flow{SrcPort: u.target.Port(), Dst: local.Addr().Unmap().As4(),
			DstPort: local.Port(), Proto: unix.IPPROTO_UDP}
		if err := netif.FlowRule(true, *f.rule, Mark, rulePrio); err != nil {
			uc.Close()
			return nil, err
		}
	}
	u.flows[client] = f
	go u.replies(client, f)
	return f, nil
}

// replies relays the server's datagrams on f back to client, until f is
// closed.
func (u *udpForwarder) replies(client netip.AddrPort, f *udpFlow) {
	buf := make([]byte, 65535)
	for {
		n, _, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		u.mu.Lock()
		f.last = time.Now()
		u.mu.Unlock()
		_, _ = u.host.WriteToUDPAddrPort(buf[:n], client)
	}
}

// expire ends the flows idle for udpIdle, with their rules.
func (u *udpForwarder) expire() {
	for range time.Tick(udpIdle / 4) {
		u.mu.Lock()
		for client, f := range u.flows {
			if time.Since(f.last) < udpIdle {
				continue
			}
			delete(u.flows, client)
			f.conn.Close()
			if f.rule != nil {
				if err := netif.FlowRule(false, *f.rule, Mark, rulePrio); err != nil {
					logf("%v", err)
				}
			}
		}
		u.mu.Unlock()
	}
}
