package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// BridgeConfig describes a bridge.
type BridgeConfig struct {
	Name    string       // interface name
	Gateway netip.Prefix // the bridge's address and its subnet, e.g. 10.88.0.1/16
	MTU     int          // 0 leaves the kernel's default
}

func (c BridgeConfig) check() error {
	if err := checkName("bridge", c.Name); err != nil {
		return err
	}
	g := c.Gateway
	if !g.IsValid() || !g.Addr().Is4() || g.Bits() < 8 || g.Bits() > 30 || g.Addr() == g.Masked().Addr() ||
		g.Addr().IsLoopback() || g.Addr().IsMulticast() || g.Addr().IsLinkLocalUnicast() {
		return fmt.Errorf("%w: bridge gateway %v: want a unicast IPv4 host address with a /8 to /30 prefix", ErrInvalid, g)
	}
	if c.MTU != 0 && (c.MTU < 576 || c.MTU > 65535) {
		return fmt.Errorf("%w: MTU %d", ErrInvalid, c.MTU)
	}
	return nil
}

// EnsureBridge makes the bridge as c describes it, and is idempotent: it
// creates the bridge link when missing, sets its MTU, adds the gateway
// address when missing and brings it up; makes the tables "ip myctr" and
// "bridge myctr" with their chains, sets and this bridge's fixed rules
// (masquerade, the forward filter, the loopback guard, the port guard:
// see nft_linux.go and guard_linux.go), replacing the bridge's rules if
// its subnet changed; and only then sets net.ipv4.ip_forward=1 and
// net.ipv4.conf.<bridge>.route_localnet=1 in the Host's namespace. When
// ip_forward was 0, the forward chain also drops what passes between the
// Host's other interfaces, as before (and keeps doing so).
//
// A link of that name that is not a bridge is refused, never taken over.
func (h *Host) EnsureBridge(c BridgeConfig) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	br, err := h.ensureBridgeLink(c)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	var forward []byte
	if err := h.inNetns(func() (err error) {
		forward, err = os.ReadFile(sysctlPath("net/ipv4/ip_forward"))
		return err
	}); err != nil {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	if err := h.ensureBridgeRules(c.Name, c.Gateway, strings.TrimSpace(string(forward)) == "0"); err != nil {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	// Why this is safe: c.Name passed validName, so the path stays under
	// /proc/sys/net/ipv4/conf; the rules that keep forwarding and
	// route_localnet to the bridge's own traffic are in place already.
	if err := h.setSysctls([][2]string{
		{"net/ipv4/ip_forward", "1"},
		{"net/ipv4/conf/" + br.Attrs().Name + "/route_localnet", "1"},
	}); err != nil {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	return nil
}

func (h *Host) ensureBridgeLink(c BridgeConfig) (netlink.Link, error) {
	link, err := h.linkByName(c.Name)
	if err != nil {
		return nil, err
	}
	if link == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = c.Name, c.MTU
		if err := h.nl.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("create: %w", err)
		}
		if link, err = h.linkByName(c.Name); err != nil {
			return nil, err
		}
		if link == nil {
			return nil, errors.New("created, then gone")
		}
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("%w: a %s link of that name exists", ErrInvalid, link.Type())
	}
	if c.MTU != 0 && link.Attrs().MTU != c.MTU {
		if err := h.nl.LinkSetMTU(link, c.MTU); err != nil {
			return nil, fmt.Errorf("set MTU %d: %w", c.MTU, err)
		}
	}
	addrs, err := h.nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	want := &net.IPNet{IP: c.Gateway.Addr().AsSlice(), Mask: net.CIDRMask(c.Gateway.Bits(), 32)}
	found := false
	for _, a := range addrs {
		found = found || (a.IPNet.IP.Equal(want.IP) && a.IPNet.Mask.String() == want.Mask.String())
	}
	if !found {
		if err := h.nl.AddrAdd(link, &netlink.Addr{IPNet: want}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("add address %v: %w", c.Gateway, err)
		}
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("set up: %w", err)
	}
	return link, nil
}

// AddVeth makes the veth pair hostIf<->peerIf: hostIf attached to bridge,
// with mtu, up; peerIf with mtu and the MAC peerMAC, created directly
// inside the network namespace open as netnsFD, under its own name, and
// left down for the container to configure. If either name is taken (in
// the Host's namespace, or peerIf in the target one) the error wraps
// ErrExists. On any failure nothing it made is left behind.
func (h *Host) AddVeth(bridge, hostIf, peerIf string, mtu int, netnsFD int, peerMAC net.HardwareAddr) error {
	for _, n := range [][2]string{{"bridge", bridge}, {"host interface", hostIf}, {"peer interface", peerIf}} {
		if err := checkName(n[0], n[1]); err != nil {
			return err
		}
	}
	if hostIf == peerIf || (mtu != 0 && (mtu < 576 || mtu > 65535)) || len(peerMAC) != 6 || peerMAC[0]&1 != 0 {
		return fmt.Errorf("%w: veth %s/%s MTU %d MAC %v", ErrInvalid, hostIf, peerIf, mtu, peerMAC)
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	// Why this is safe: netnsFD must be a network namespace other than the
	// Host's, so the peer never lands beside the bridge.
	if err := checkNetns(netnsFD); err != nil {
		return fmt.Errorf("veth %s: target: %w", hostIf, err)
	}
	if same, err := sameNetns(netnsFD, h.fd); err != nil || same {
		return fmt.Errorf("%w: veth %s: the target is the host's own network namespace (%v)", ErrInvalid, hostIf, err)
	}
	br, err := h.linkByName(bridge)
	if err != nil {
		return err
	}
	if br == nil || br.Type() != "bridge" {
		return fmt.Errorf("%w: veth %s: %s is not a bridge", ErrInvalid, hostIf, bridge)
	}
	for _, n := range []string{hostIf, peerIf} {
		l, err := h.linkByName(n)
		if err != nil {
			return err
		}
		if l != nil {
			return fmt.Errorf("veth %s: %s: %w", hostIf, n, ErrExists)
		}
	}
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = hostIf, mtu
	veth := &netlink.Veth{LinkAttrs: la, PeerName: peerIf, PeerTxQLen: -1,
		PeerMTU: uint32(mtu), PeerNamespace: netlink.NsFd(netnsFD), PeerHardwareAddr: peerMAC}
	if err := h.nl.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("veth %s/%s: %w", hostIf, peerIf, ErrExists)
		}
		return fmt.Errorf("veth %s/%s: create: %w", hostIf, peerIf, err)
	}
	if err := h.attach(hostIf, br); err != nil {
		// Deleting one end deletes the pair.
		if derr := h.nl.LinkDel(veth); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove it again: %w", derr))
		}
		return fmt.Errorf("veth %s: %w", hostIf, err)
	}
	return nil
}

func (h *Host) attach(name string, br netlink.Link) error {
	l, err := h.linkByName(name)
	if err != nil {
		return err
	}
	if l == nil {
		return errors.New("created, then gone")
	}
	if err := h.nl.LinkSetMaster(l, br); err != nil {
		return fmt.Errorf("attach to %s: %w", br.Attrs().Name, err)
	}
	if err := h.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// DeleteLink removes the guard elements of the port called name (see
// GuardPort), then the bridge or veth called name; nil when there is none.
// Deleting a veth end removes its peer too.
func (h *Host) DeleteLink(name string) error {
	if err := checkName("link", name); err != nil {
		return err
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	if err := h.nftApply("unguard port "+name, func(c *nftables.Conn) (bool, error) {
		n, _, err := unguard(c, name)
		return n > 0, err
	}); err != nil && !errors.Is(err, ErrNoNftables) {
		return err
	}
	l, err := h.linkByName(name)
	if err != nil || l == nil {
		return err
	}
	// Why this is safe: only the two kinds of link this package makes can
	// be removed, never the host's uplinks, loopback or tunnels.
	if t := l.Type(); t != "veth" && t != "bridge" {
		return fmt.Errorf("%w: delete %s: a %s link is not managed here", ErrInvalid, name, t)
	}
	if err := h.nl.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// LinkExists reports whether a link called name exists in the Host's
// namespace.
func (h *Host) LinkExists(name string) (bool, error) {
	if err := checkName("link", name); err != nil {
		return false, err
	}
	if err := h.lock(); err != nil {
		return false, err
	}
	defer h.mu.Unlock()
	l, err := h.linkByName(name)
	return l != nil, err
}

// Links returns the names of the links whose names start with prefix, so
// that a reaper can find the ones nothing records.
func (h *Host) Links(prefix string) ([]string, error) {
	if err := h.lock(); err != nil {
		return nil, err
	}
	defer h.mu.Unlock()
	var links []netlink.Link
	var err error
	// A dump interrupted by a concurrent change is retried.
	for range 5 {
		if links, err = h.nl.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var names []string
	for _, l := range links {
		if n := l.Attrs().Name; strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

// linkByName returns the link called name, or nil when there is none.
func (h *Host) linkByName(name string) (netlink.Link, error) {
	l, err := h.nl.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up link %s: %w", name, err)
	}
	return l, nil
}

// SubscribeLinkDeletions reports the names of links deleted in the Host's
// namespace from now on, such as a container's host veth end when its
// namespace goes away. The channel is closed when done is closed or the
// subscription fails (for instance when the kernel dropped events because
// they were not read in time); a caller then lists what is left with Links.
func (h *Host) SubscribeLinkDeletions(done <-chan struct{}) (<-chan string, error) {
	if err := h.lock(); err != nil {
		return nil, err
	}
	ns := netns.NsHandle(h.fd)
	opts := netlink.LinkSubscribeOptions{ReceiveBufferSize: 1 << 20}
	if !h.own {
		opts.Namespace = &ns // the socket is made in the namespace, then keeps it
	}
	updates := make(chan netlink.LinkUpdate, 64)
	err := netlink.LinkSubscribeWithOptions(updates, done, opts)
	h.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("subscribe to link events: %w", err)
	}
	out := make(chan string, 64)
	go func() {
		defer close(out)
		// Drain until the subscription closes updates (done closes its
		// socket), so its goroutine never blocks on a send.
		for u := range updates {
			// A port leaving a bridge also sends RTM_DELLINK, of family
			// AF_BRIDGE; the link itself still exists then.
			if u.Header.Type != unix.RTM_DELLINK || u.Family == unix.AF_BRIDGE || u.Link == nil {
				continue
			}
			select {
			case out <- u.Attrs().Name:
			case <-done:
			}
		}
	}()
	return out, nil
}
