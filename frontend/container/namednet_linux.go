package container

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/netstore"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/userns"
)

// namedNet is --network NAME of a network `myctr network create` made (or
// several): the container joins the user namespace of the user's network
// holder (frontend/netholder), makes its own network namespace in it, and
// the holder puts a veth of each network's bridge into it (eth0, eth1, in
// the order of the container's interfaces) and configures it. The holder
// sees the container's end on a pidfd: nothing is left for the end to
// release.
type namedNet struct {
	s *Store
	c *Container
	m *userns.Mapping

	nets    []netholder.Network // in interface order: the first is the primary
	h       *netholder.Holder   // held from prepare until the attach is done
	replies []*netholder.Reply  // nets' attachments, once made
	fwd     *network.Handle     // the published ports' forwarder, or nil
}

// ErrNetworkUnknown is a named network that is not there (any more).
var ErrNetworkUnknown = errors.New("network not found")

// prepare reads the networks' records, finds or starts the holder, and
// points the spec's user namespace at the holder's.
func (n *namedNet) prepare(spec *specs.Spec) (*os.File, error) {
	for _, name := range n.c.NamedNetworks() {
		hn, err := n.s.holderNetwork(name)
		if err != nil {
			return nil, err
		}
		n.nets = append(n.nets, hn)
	}
	if len(n.nets) == 0 {
		return nil, fmt.Errorf("%w: %s is on no named network", ErrInvalidNetwork, n.c.Name)
	}
	var err error
	if n.h, err = netholder.Open(n.s.Dirs.RunRoot, n.m); err != nil {
		return nil, err
	}
	ok := false
	for i, ns := range spec.Linux.Namespaces {
		switch ns.Type {
		case specs.UserNamespace:
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", n.h.Pid())
			ok = true
		case specs.NetworkNamespace:
			spec.Linux.Namespaces[i].Path = "" // its own, in the holder's user namespace
		}
	}
	if !ok {
		n.stop(true, nil)
		return nil, fmt.Errorf("%w: %s: a named network needs a user namespace in the spec", ErrInvalidNetwork, n.c.Name)
	}
	// The init's own copy: the launch closes what prepare returns.
	join, err := dupFile(n.h.Pidfd())
	if err != nil {
		n.stop(true, nil)
		return nil, err
	}
	return join, nil
}

// holderNetwork is the holder's view of the named network name.
func (s *Store) holderNetwork(name string) (netholder.Network, error) {
	rec, err := s.networkRecord(name)
	if err != nil {
		return netholder.Network{}, err
	}
	if rec.Driver == netstore.DriverHelper {
		return netholder.Network{}, &hintError{fmt.Errorf("%w: network %s is on myctr-helper's bridge, which takes a container at its start only, alone", ErrInvalidNetwork, name),
			"run the container with --network " + name + " alone, or use a network of driver bridge"}
	}
	return HolderNetwork(rec)
}

// networkRecord reads the record of the named network name.
func (s *Store) networkRecord(name string) (*netstore.Network, error) {
	st, err := netstore.Open(s.Dirs.Root)
	if err != nil {
		return nil, err
	}
	return st.Get(name)
}

// HolderNetwork is what the holder needs of a network's record: its IPv4
// subnet, and its IPv6 one when it is dual-stack.
func HolderNetwork(rec *netstore.Network) (netholder.Network, error) {
	hn := netholder.Network{Name: rec.Name, Bridge: rec.NetworkInterface, Internal: rec.Internal, DNS: rec.DNSEnabled}
	for _, sn := range rec.Subnets {
		sub, err := netip.ParsePrefix(sn.Subnet)
		if err != nil {
			return netholder.Network{}, fmt.Errorf("%w: network %s: %v", ErrInvalidNetwork, rec.Name, err)
		}
		gw, err := netip.ParseAddr(sn.Gateway)
		if err != nil {
			return netholder.Network{}, fmt.Errorf("%w: network %s: gateway: %v", ErrInvalidNetwork, rec.Name, err)
		}
		switch {
		case sub.Addr().Is4() && !hn.Subnet.IsValid():
			hn.Subnet, hn.Gateway = sub, gw
		case sub.Addr().Is6() && !hn.Subnet6.IsValid():
			hn.Subnet6, hn.Gateway6 = sub, gw
		default:
			return netholder.Network{}, fmt.Errorf("%w: network %s has two subnets of one family; myctr's named networks have one IPv4 subnet and at most one IPv6 subnet", ErrInvalidNetwork, rec.Name)
		}
	}
	if !hn.Subnet.IsValid() {
		return netholder.Network{}, fmt.Errorf("%w: network %s has no IPv4 subnet; myctr's named networks have one", ErrInvalidNetwork, rec.Name)
	}
	if v := rec.Options["mtu"]; v != "" {
		if _, err := fmt.Sscanf(v, "%d", &hn.MTU); err != nil {
			return netholder.Network{}, fmt.Errorf("%w: network %s: mtu %q", ErrInvalidNetwork, rec.Name, v)
		}
	}
	return hn, nil
}

// attach asks the holder for the container's interface on each of its
// networks (configured by the holder), and writes /etc/hosts and
// resolv.conf with them. The init has nothing left to configure.
func (n *namedNet) attach(spec *specs.Spec, pid int) (*netif.Config, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		n.h.Close()
		n.h = nil
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	for _, hn := range n.nets {
		r, err := n.s.attachNamed(n.h, n.c, hn, pidfd)
		if err != nil {
			n.h.Close()
			n.h = nil
			return nil, err
		}
		n.replies = append(n.replies, r)
	}
	// Attached, the holder may now leave when idle: a container on it
	// keeps it.
	n.h.Close()
	n.h = nil
	addr, err := netip.ParsePrefix(n.replies[0].Address)
	if err != nil {
		return nil, fmt.Errorf("network %s: the holder gave address %q: %w", n.nets[0].Name, n.replies[0].Address, err)
	}
	var nameservers []string
	for _, r := range n.replies {
		if r.Nameserver != "" {
			nameservers = append(nameservers, r.Nameserver)
		}
	}
	if err := writeNamedEtcFiles(n.c, spec, addr.Addr(), nameservers); err != nil {
		return nil, err
	}
	// Published ports come in from the host's sockets through myctr's
	// forwarder in the container's own namespaces, with the client's
	// address kept, as with slirp4netns; the holder's namespace is not on
	// their way. They go to the container's address on its first network.
	if ports := n.c.HostConfig.PortBindings; len(ports) > 0 {
		if n.fwd, err = network.StartForward(ports, pid, addr.Addr(), n.nets[0].Gateway, n.c.rundir); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// attachNamed asks the holder h to put the container of pidfd (c's init,
// starting or running) onto network hn, as c's interface for it.
func (s *Store) attachNamed(h *netholder.Holder, c *Container, hn netholder.Network, pidfd int) (*netholder.Reply, error) {
	a := c.Networks[hn.Name]
	names := append([]string{c.Name}, a.Aliases...)
	r, err := h.Attach(hn, c.ID, names, a.IP, c.interfaceOn(hn.Name), pidfd)
	if err != nil {
		return nil, fmt.Errorf("attach to network %s: %w", hn.Name, err)
	}
	return r, nil
}

func (n *namedNet) started() []string { return nil }

func (n *namedNet) record(st *State) {
	if len(n.replies) == 0 {
		return
	}
	st.Networks = map[string]*BridgeState{}
	for i, r := range n.replies {
		st.Networks[n.nets[i].Name] = bridgeState(n.nets[i], r)
	}
	if n.fwd != nil {
		st.NetworkPid = n.fwd.Pid()
		st.PortForwarderPid = n.fwd.ForwarderPid()
		st.Ports = n.fwd.Ports()
	}
}

// bridgeState is what a running container's record keeps of its
// attachment to hn.
func bridgeState(hn netholder.Network, r *netholder.Reply) *BridgeState {
	return &BridgeState{Bridge: hn.Bridge, Address: r.Address, Gateway: r.Gateway, MTU: uint32(r.MTU), Address6: r.Address6, Gateway6: r.Gateway6}
}

// stop lets the holder go if a failed start still holds it, and ends the
// published ports' forwarder; the holder itself takes the container off
// when its init ends.
func (n *namedNet) stop(bool, io.Writer) {
	if n.h != nil {
		n.h.Close()
		n.h = nil
	}
	if n.fwd != nil {
		n.fwd.Stop()
	}
}

func (n *namedNet) released() bool { return true }

// dupFile is a new fd (close-on-exec) of f.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// checkNamedNetworks refuses, before anything is made, what a container
// on named networks cannot have here.
func (s *Store) checkNamedNetworks(o *CreateOptions) error {
	if len(o.Networks) > netholder.MaxInterfaces {
		return &hintError{fmt.Errorf("%w: %d named networks: at most %d", ErrInvalidNetwork, len(o.Networks), netholder.MaxInterfaces),
			"give fewer --network flags"}
	}
	helper := ""
	for name, a := range o.Networks {
		rec, err := s.networkRecord(name)
		if err != nil {
			return &hintError{err, "myctr network create " + name + " makes it; myctr network ls lists those there are"}
		}
		if rec.Driver == netstore.DriverHelper {
			if a.IP != "" {
				return &hintError{fmt.Errorf("%w: --ip on network %s: myctr-helper gives the addresses of its bridge", ErrInvalidNetwork, name),
					"leave out --ip, or use a network of driver bridge"}
			}
			a.Helper = true
			o.Networks[name] = a
			helper = name
			continue
		}
		hn, err := HolderNetwork(rec)
		if err != nil {
			return err
		}
		if err := checkIP(hn, a.IP); err != nil {
			return err
		}
	}
	if helper != "" {
		if len(o.Networks) > 1 {
			return &hintError{fmt.Errorf("%w: network %s is on myctr-helper's bridge: a container on it is on no other network", ErrInvalidNetwork, helper),
				"give --network " + helper + " alone, or use networks of driver bridge"}
		}
		return nil
	}
	if o.Userns != "" && o.Userns != "private" {
		return &hintError{fmt.Errorf("%w: --userns %s on a named network: its containers share the network holder's user namespace", ErrInvalidNetwork, o.Userns),
			"leave out --userns, or use --network pasta or slirp4netns"}
	}
	return nil
}

// checkIP refuses a requested address (ip, "" for any) that cannot be a
// container's on hn.
func checkIP(hn netholder.Network, ip string) error {
	if ip == "" {
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || !hn.Subnet.Contains(a) || a == hn.Gateway {
		return &hintError{fmt.Errorf("%w: --ip %s is not a host address of network %s (%s)", ErrInvalidNetwork, ip, hn.Name, hn.Subnet),
			"choose an address in the network's subnet other than its gateway " + hn.Gateway.String()}
	}
	return nil
}
