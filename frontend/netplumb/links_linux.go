package netplumb

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// handle opens an rtnetlink socket in the calling thread's network
// namespace; the operation then keeps to that namespace whichever thread
// the goroutine moves to.
func handle() (*netlink.Handle, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	return h, nil
}

// linkByName returns the link called name, or nil when there is none.
func linkByName(h *netlink.Handle, name string) (netlink.Link, error) {
	l, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up link %s: %w", name, err)
	}
	return l, nil
}

// bridgeMAC is the fixed MAC address of the bridge called name: locally
// administered, unicast, from a hash of the name. Set explicitly, it stays
// when ports come and go; a bridge left to the kernel takes the lowest MAC
// of its ports and changes it as containers join and leave, which stales
// the gateway's entry in every container's ARP cache.
func bridgeMAC(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("myctr bridge\x00" + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^1 | 2
	return mac
}

// EnsureBridge makes the bridge called name with the address gw (the
// gateway, e.g. 10.89.0.1/24, whose prefix is the network's subnet), the
// MTU mtu (0 keeps the kernel's) and up. It is idempotent: a missing
// bridge is made, an existing one gets the MTU, gets gw when it lacks it
// and loses its other IPv4 addresses (a network whose subnet changed), and
// is brought up. A link of that name that is not a bridge is an error
// wrapping ErrExists, and is left alone.
func EnsureBridge(name string, gw netip.Prefix, mtu int) error {
	if err := checkName("bridge", name); err != nil {
		return err
	}
	if err := checkGateway(gw); err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if err := checkMTU(mtu); err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	h, err := handle()
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	defer h.Close()
	if err := ensureBridge(h, name, gw, mtu); err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	return nil
}

func ensureBridge(h *netlink.Handle, name string, gw netip.Prefix, mtu int) error {
	link, err := linkByName(h, name)
	if err != nil {
		return err
	}
	if link == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU, la.HardwareAddr = name, mtu, bridgeMAC(name)
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create: %w", err)
		}
		if link, err = linkByName(h, name); err != nil {
			return err
		}
		if link == nil {
			return errors.New("created, then gone")
		}
	}
	if link.Type() != "bridge" {
		return fmt.Errorf("%w: a %s link has that name", ErrExists, link.Type())
	}
	if mtu != 0 && link.Attrs().MTU != mtu {
		if err := h.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("set MTU %d: %w", mtu, err)
		}
	}
	if err := onlyAddress(h, link, netlink.FAMILY_V4, gw); err != nil {
		return err
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// onlyAddress makes want the one address of its family on link (IPv6
// link-local addresses, the kernel's own, aside): another one is the
// network's old gateway, and would route its old subnet here. An IPv6
// address is added without duplicate address detection, usable at once:
// the gateway's is the one address of the subnet nobody else is given.
func onlyAddress(h *netlink.Handle, link netlink.Link, family int, want netip.Prefix) error {
	addrs, err := h.AddrList(link, family)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	ipnet := &net.IPNet{IP: want.Addr().AsSlice(), Mask: net.CIDRMask(want.Bits(), want.Addr().BitLen())}
	found := false
	for _, a := range addrs {
		if a.IPNet.String() == ipnet.String() {
			found = true
			continue
		}
		if a.IP.IsLinkLocalUnicast() && family == netlink.FAMILY_V6 {
			continue
		}
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove old address %v: %w", a.IPNet, err)
		}
	}
	if found || !want.IsValid() {
		return nil
	}
	na := &netlink.Addr{IPNet: ipnet}
	if family == netlink.FAMILY_V6 {
		na.Flags = unix.IFA_F_NODAD
	}
	if err := h.AddrAdd(link, na); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %v: %w", want, err)
	}
	return nil
}

// EnsureBridge6 gives the bridge called name (EnsureBridge made it) the
// IPv6 gateway address gw6 of a dual-stack network as its one global IPv6
// address; a zero gw6 removes those it has (the network lost its IPv6
// subnet).
func EnsureBridge6(name string, gw6 netip.Prefix) error {
	if err := checkName("bridge", name); err != nil {
		return err
	}
	if gw6.IsValid() {
		if err := checkGateway6(gw6); err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
	}
	h, err := handle()
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	defer h.Close()
	link, err := linkByName(h, name)
	if err == nil && (link == nil || link.Type() != "bridge") {
		err = fmt.Errorf("%w: no bridge %s", ErrInvalid, name)
	}
	if err == nil {
		err = onlyAddress(h, link, netlink.FAMILY_V6, gw6)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	return nil
}

// RemoveBridge removes the bridge called name and the veths attached to
// it (whose peers, the containers' eth0, go with them). No bridge of that
// name is no error; a link of that name that is not a bridge is one,
// wrapping ErrInvalid, and stays.
func RemoveBridge(name string) error {
	if err := checkName("bridge", name); err != nil {
		return err
	}
	h, err := handle()
	if err != nil {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	defer h.Close()
	br, err := linkByName(h, name)
	if err != nil || br == nil {
		return err
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("%w: remove bridge %s: it is a %s link", ErrInvalid, name, br.Type())
	}
	links, err := listLinks(h)
	if err != nil {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	// Ports first: a bridge deleted first would leave them unattached.
	for _, l := range links {
		if l.Attrs().MasterIndex != br.Attrs().Index || l.Type() != "veth" {
			continue
		}
		if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("remove bridge %s: delete its port %s: %w", name, l.Attrs().Name, err)
		}
	}
	if err := h.LinkDel(br); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	return nil
}

// listLinks lists the namespace's links, again when a concurrent change
// interrupted the dump.
func listLinks(h *netlink.Handle) ([]netlink.Link, error) {
	var links []netlink.Link
	var err error
	for range 5 {
		if links, err = h.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return links, nil
}

// AttachVeth makes a veth pair: hostName in this namespace, on bridge and
// up; its peer made directly inside the network namespace open as
// netnsFd, named peerName (e.g. "eth0") and left down for ConfigurePeer. mtu (0 for the kernel's) is set on both ends. A taken
// name, hostName here or peerName there, is an error wrapping ErrExists.
// On any failure nothing is left behind: the pair is deleted again.
//
// Preconditions: netnsFd is a container's network namespace, owned by a
// user namespace in which the caller has CAP_NET_ADMIN.
func AttachVeth(bridge, hostName string, netnsFd int, peerName string, mtu int) error {
	for _, n := range [][2]string{{"bridge", bridge}, {"host veth", hostName}, {"peer", peerName}} {
		if err := checkName(n[0], n[1]); err != nil {
			return err
		}
	}
	if err := checkMTU(mtu); err != nil {
		return fmt.Errorf("veth %s: %w", hostName, err)
	}
	// The peer must land in another namespace: beside the bridge it would
	// be a second, unconfigured interface of N's.
	if err := checkOtherNetns(netnsFd); err != nil {
		return fmt.Errorf("veth %s: target namespace: %w", hostName, err)
	}
	h, err := handle()
	if err != nil {
		return fmt.Errorf("veth %s: %w", hostName, err)
	}
	defer h.Close()
	br, err := linkByName(h, bridge)
	if err != nil {
		return fmt.Errorf("veth %s: %w", hostName, err)
	}
	if br == nil || br.Type() != "bridge" {
		return fmt.Errorf("%w: veth %s: no bridge %s", ErrInvalid, hostName, bridge)
	}
	if l, err := linkByName(h, hostName); err != nil || l != nil {
		if err == nil {
			err = ErrExists
		}
		return fmt.Errorf("veth %s: %w", hostName, err)
	}
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = hostName, mtu
	veth := &netlink.Veth{LinkAttrs: la, PeerName: peerName, PeerMTU: uint32(mtu), PeerNamespace: netlink.NsFd(netnsFd)}
	// One request makes both ends, the peer already in its namespace
	// under its final name: the kernel makes all of it or nothing.
	if err := h.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("veth %s (peer %s): %w", hostName, peerName, ErrExists)
		}
		return fmt.Errorf("veth %s (peer %s): create: %w", hostName, peerName, err)
	}
	if err := h.LinkSetMaster(veth, br); err != nil {
		return undo(h, veth, fmt.Errorf("veth %s: attach to %s: %w", hostName, bridge, err))
	}
	if err := h.LinkSetUp(veth); err != nil {
		return undo(h, veth, fmt.Errorf("veth %s: set up: %w", hostName, err))
	}
	return nil
}

// undo deletes the pair AttachVeth made (one end takes the other) and
// returns err, with the deletion's failure if any.
func undo(h *netlink.Handle, veth netlink.Link, err error) error {
	if derr := h.LinkDel(veth); derr != nil && !errors.Is(derr, unix.ENODEV) {
		return errors.Join(err, fmt.Errorf("delete it again: %w", derr))
	}
	return err
}

// DetachVeth deletes the veth pair whose end in this namespace is
// hostName. A missing one is no error: a container's namespace that ended
// took its pair with it. A link of that name that is not a veth is an
// error wrapping ErrInvalid, and stays.
func DetachVeth(hostName string) error {
	if err := checkName("host veth", hostName); err != nil {
		return err
	}
	h, err := handle()
	if err != nil {
		return fmt.Errorf("detach veth %s: %w", hostName, err)
	}
	defer h.Close()
	l, err := linkByName(h, hostName)
	if err != nil || l == nil {
		return err
	}
	if l.Type() != "veth" {
		return fmt.Errorf("%w: detach veth %s: it is a %s link", ErrInvalid, hostName, l.Type())
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("detach veth %s: %w", hostName, err)
	}
	return nil
}

// checkOtherNetns fails unless fd is a network namespace other than the
// calling thread's.
func checkOtherNetns(fd int) error {
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%w: descriptor %d is not a namespace: %w", ErrInvalid, fd, err)
	}
	if t != unix.CLONE_NEWNET {
		return fmt.Errorf("%w: descriptor %d is not a network namespace", ErrInvalid, fd)
	}
	var there, here unix.Stat_t
	if err := unix.Fstat(fd, &there); err != nil {
		return err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &here); err != nil {
		return err
	}
	if there.Dev == here.Dev && there.Ino == here.Ino {
		return fmt.Errorf("%w: it is this namespace, not a container's", ErrInvalid)
	}
	return nil
}

// Peer is what an attached container's end of a veth is made into, in the
// container's network namespace: its address on the network (with the
// network's prefix length), and the default route through the network's
// gateway unless Gateway is the zero Addr (an internal network).
type Peer struct {
	Name    string       // the interface in the container: "eth0", "eth1"
	Address netip.Prefix // "10.89.0.2/24"
	Gateway netip.Addr   // the default route's; zero: none
	Metric  int          // the default route's metric, so that several networks' routes can coexist
	// Address6 and Gateway6 are the same for a dual-stack network's IPv6
	// (zero: none).
	Address6 netip.Prefix
	Gateway6 netip.Addr
}

// ConfigurePeer sets the container's end of a veth up with its address and
// default route, in the network namespace of netnsFd (the holder, root of
// the user namespace that owns it, may; the container's init need not be
// involved, so this also serves a container that is already running).
// A default route of the same metric already there is an error wrapping
// ErrExists.
func ConfigurePeer(netnsFd int, p Peer) error {
	if err := checkName("peer", p.Name); err != nil {
		return err
	}
	if !p.Address.IsValid() || !p.Address.Addr().Is4() {
		return fmt.Errorf("%w: peer %s: address %s is not IPv4 with a prefix", ErrInvalid, p.Name, p.Address)
	}
	if p.Gateway.IsValid() && !p.Address.Masked().Contains(p.Gateway) {
		return fmt.Errorf("%w: peer %s: gateway %s is outside %s", ErrInvalid, p.Name, p.Gateway, p.Address.Masked())
	}
	if p.Address6.IsValid() && (!p.Address6.Addr().Is6() || p.Address6.Addr().Is4In6()) {
		return fmt.Errorf("%w: peer %s: address %s is not IPv6 with a prefix", ErrInvalid, p.Name, p.Address6)
	}
	if p.Gateway6.IsValid() && (!p.Address6.IsValid() || !p.Address6.Masked().Contains(p.Gateway6)) {
		return fmt.Errorf("%w: peer %s: IPv6 gateway %s is outside %s", ErrInvalid, p.Name, p.Gateway6, p.Address6.Masked())
	}
	if err := checkOtherNetns(netnsFd); err != nil {
		return fmt.Errorf("peer %s: target namespace: %w", p.Name, err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(netnsFd), unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("peer %s: rtnetlink socket in the container's namespace: %w", p.Name, err)
	}
	defer h.Close()
	l, err := linkByName(h, p.Name)
	if err != nil || l == nil {
		if err == nil {
			err = fmt.Errorf("%w: no link %s in the container's namespace", ErrInvalid, p.Name)
		}
		return fmt.Errorf("peer %s: %w", p.Name, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Address.Addr().AsSlice(), Mask: net.CIDRMask(p.Address.Bits(), 32)}}
	if err := h.AddrReplace(l, addr); err != nil {
		return fmt.Errorf("peer %s: address %s: %w", p.Name, p.Address, err)
	}
	if p.Address6.IsValid() {
		// No duplicate address detection: the address is the holder's
		// to give, and is usable at once (a tentative one is not, for
		// a second or more).
		addr6 := &netlink.Addr{IPNet: &net.IPNet{IP: p.Address6.Addr().AsSlice(), Mask: net.CIDRMask(p.Address6.Bits(), 128)}, Flags: unix.IFA_F_NODAD}
		if err := h.AddrReplace(l, addr6); err != nil {
			return fmt.Errorf("peer %s: address %s: %w", p.Name, p.Address6, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("peer %s: set up: %w", p.Name, err)
	}
	for _, gw := range []netip.Addr{p.Gateway, p.Gateway6} {
		if !gw.IsValid() {
			continue
		}
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice(), Priority: p.Metric}
		if err := h.RouteAdd(r); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("peer %s: default route via %s, metric %d: %w", p.Name, gw, p.Metric, ErrExists)
			}
			return fmt.Errorf("peer %s: default route via %s: %w", p.Name, gw, err)
		}
	}
	return nil
}
