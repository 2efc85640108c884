package netholder

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/myctr/myctr/frontend/names"
)

// Op names a request.
type Op string

// The requests.
const (
	OpPing   Op = "ping"   // is the holder there: a reply with its pid
	OpAttach Op = "attach" // a container's init (its pidfd) onto a network
	OpDetach Op = "detach" // a container off a network (network connect's undo)
	OpRename Op = "rename" // a member's names on a network, anew (rename)
)

// Network is what the holder needs of a named network's record.
type Network struct {
	Name    string
	Bridge  string       // the bridge's name in the holder's namespace
	Subnet  netip.Prefix // IPv4
	Gateway netip.Addr   // the bridge's address, and the DNS server's
	// Subnet6 and Gateway6 are a dual-stack network's IPv6 subnet and
	// the bridge's address in it; zero for an IPv4 network.
	Subnet6  netip.Prefix `json:",omitzero"`
	Gateway6 netip.Addr   `json:",omitzero"`
	Internal bool         // no way out
	DNS      bool         // the network resolves its containers' names
	MTU      int          // 0: DefaultMTU
}

// Request is one request to the holder.
type Request struct {
	Op          Op
	Network     Network  `json:",omitzero"`
	ContainerID string   `json:",omitempty"`
	Names       []string `json:",omitempty"` // the container's name and its aliases on the network
	IP          string   `json:",omitempty"` // --ip; "": any free address
	Interface   string   `json:",omitempty"` // attach: the interface in the container, "eth0" to "eth99"
}

// MaxInterfaces bounds the named networks of one container: its
// interfaces are eth0 to eth99.
const MaxInterfaces = 100

// InterfaceIndex is N of the interface name "ethN" (0 to
// MaxInterfaces-1), or -1 for any other name.
func InterfaceIndex(name string) int {
	rest, ok := strings.CutPrefix(name, "eth")
	if !ok || rest == "" || len(rest) > 2 || (len(rest) > 1 && rest[0] == '0') {
		return -1
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			return -1
		}
		n = 10*n + int(c-'0')
	}
	return n
}

// Reply is the holder's answer.
type Reply struct {
	Error      string `json:",omitempty"`
	Kind       string `json:",omitempty"` // the error's kind (see errorKinds)
	Pid        int    `json:",omitempty"`
	Address    string `json:",omitempty"` // the container's, CIDR: "10.89.0.2/24"
	Gateway    string `json:",omitempty"`
	Address6   string `json:",omitempty"` // on a dual-stack network: "fd10:2f::2/64"
	Gateway6   string `json:",omitempty"`
	MTU        int    `json:",omitempty"`
	Nameserver string `json:",omitempty"` // "" when the network has no DNS
}

// DefaultMTU is a named network's MTU when its record sets none: the
// uplink's (package network's DefaultMTU), less nothing, since bridged
// traffic is not encapsulated.
const DefaultMTU = 65520

// SearchDomain is the domain the containers' names are under, as Podman's.
const SearchDomain = "dns.podman"

// validate checks a request's form.
func (r *Request) validate() error {
	switch r.Op {
	case OpPing:
		return nil
	case OpAttach:
		if InterfaceIndex(r.Interface) < 0 {
			return fmt.Errorf("invalid interface name %q: want eth0 to eth%d", r.Interface, MaxInterfaces-1)
		}
	case OpDetach, OpRename:
		if !names.Valid(r.Network.Name) {
			return fmt.Errorf("invalid network name %q", r.Network.Name)
		}
		if !names.IsID(r.ContainerID) {
			return fmt.Errorf("invalid container id %q", r.ContainerID)
		}
		if r.Op == OpRename {
			return validNames(r.ContainerID, r.Names)
		}
		return nil
	default:
		return fmt.Errorf("unknown request %q", r.Op)
	}
	n := r.Network
	if !names.Valid(n.Name) {
		return fmt.Errorf("invalid network name %q", n.Name)
	}
	if n.Bridge == "" || len(n.Bridge) > 15 || !names.Valid(n.Bridge) {
		return fmt.Errorf("invalid bridge name %q", n.Bridge)
	}
	if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() || n.Subnet.Masked() != n.Subnet || n.Subnet.Bits() < 8 || n.Subnet.Bits() > 30 {
		return fmt.Errorf("network %s: invalid subnet %s", n.Name, n.Subnet)
	}
	if !n.Subnet.Contains(n.Gateway) || n.Gateway == n.Subnet.Addr() || n.Gateway == broadcast(n.Subnet) {
		return fmt.Errorf("network %s: gateway %s is not a host of %s", n.Name, n.Gateway, n.Subnet)
	}
	if n.Subnet6.IsValid() || n.Gateway6.IsValid() {
		p, gw := n.Subnet6, n.Gateway6
		if !p.Addr().Is6() || p.Addr().Is4In6() || p.Masked() != p || p.Bits() < 48 || p.Bits() > 120 {
			return fmt.Errorf("network %s: invalid IPv6 subnet %s", n.Name, p)
		}
		if !p.Contains(gw) || gw == p.Addr() {
			return fmt.Errorf("network %s: IPv6 gateway %s is not a host of %s", n.Name, gw, p)
		}
	}
	if n.MTU != 0 && (n.MTU < 68 || n.MTU > 65535) {
		return fmt.Errorf("network %s: MTU %d: want 68 to 65535", n.Name, n.MTU)
	}
	if !names.IsID(r.ContainerID) {
		return fmt.Errorf("invalid container id %q", r.ContainerID)
	}
	if err := validNames(r.ContainerID, r.Names); err != nil {
		return err
	}
	if r.IP != "" {
		a, err := netip.ParseAddr(r.IP)
		if err != nil || !hostOf(n.Subnet, a) || a == n.Gateway {
			return fmt.Errorf("%w: %s is not a free host address of network %s (%s)", ErrAddress, r.IP, n.Name, n.Subnet)
		}
	}
	return nil
}

// validNames checks the names a container answers to on a network: its
// name first, then its aliases.
func validNames(id string, list []string) error {
	if len(list) == 0 {
		return fmt.Errorf("container %s has no name", id[:12])
	}
	for _, nm := range list {
		if !names.Valid(nm) {
			return fmt.Errorf("invalid name %q", nm)
		}
	}
	return nil
}
