package netstore

import (
	"crypto/rand"
	"fmt"
	"net/netip"
)

// DefaultPool is where a network without --subnet gets its subnet: the
// first /24 of it that overlaps no other network, from 10.89.0.0/24
// upward (Podman's default subnet pool and rule).
var DefaultPool = netip.MustParsePrefix("10.89.0.0/16")

// The prefix lengths a --subnet may have: a /31 or /32 leaves no address
// for a container beside the gateway, and anything wider than a /8 is
// more of the address space than a bridge in a user's namespace needs.
const (
	minPrefixLen = 8
	maxPrefixLen = 30
)

// reserved are the ranges no named network may overlap, with the reason
// the error gives.
var reserved = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "0.0.0.0/8 means this host"},
	{netip.MustParsePrefix("127.0.0.0/8"), "127.0.0.0/8 is loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "169.254.0.0/16 is link-local"},
	{netip.MustParsePrefix("224.0.0.0/3"), "224.0.0.0/3 is multicast and reserved"},
	// The holder's own link to the outside: slirp4netns and pasta put
	// their network there (frontend/network's default).
	{netip.MustParsePrefix("10.0.2.0/24"), "10.0.2.0/24 is the network slirp4netns and pasta use"},
}

// ParseSubnet reads --subnet: an IPv4 network address with its prefix
// length, between /8 and /30, outside the reserved ranges.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet %q is not in CIDR notation (such as 10.89.5.0/24): %w", s, ErrInvalidArg)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not IPv4: %w", s, ErrInvalidArg)
	}
	if p.Bits() < minPrefixLen || p.Bits() > maxPrefixLen {
		return netip.Prefix{}, fmt.Errorf("subnet %s: the prefix length must be between /%d and /%d: %w", s, minPrefixLen, maxPrefixLen, ErrInvalidArg)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not a network address (that would be %s): %w", s, m, ErrInvalidArg)
	}
	for _, r := range reserved {
		if r.prefix.Overlaps(p) {
			return netip.Prefix{}, fmt.Errorf("subnet %s overlaps %s: %w", s, r.why, ErrInvalidArg)
		}
	}
	return p, nil
}

func toU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// broadcast is the last address of the IPv4 prefix p.
func broadcast(p netip.Prefix) netip.Addr {
	return fromU32(toU32(p.Masked().Addr()) | (uint32(1)<<(32-p.Bits()) - 1))
}

// ParseGateway reads --gateway for subnet: an address inside it that is
// neither its network nor its broadcast address. Empty: the subnet's
// first host address.
func ParseGateway(s string, subnet netip.Prefix) (netip.Addr, error) {
	if s == "" {
		return subnet.Addr().Next(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("gateway %q is not an IP address: %w", s, ErrInvalidArg)
	}
	if a.Is4() != subnet.Addr().Is4() || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("gateway %s is not of subnet %s's family: %w", s, subnet, ErrInvalidArg)
	}
	if !subnet.Contains(a) {
		// Podman's words.
		return netip.Addr{}, fmt.Errorf("gateway %s not in subnet %s: %w", a, subnet, ErrInvalidArg)
	}
	if a == subnet.Addr() || (a.Is4() && a == broadcast(subnet)) {
		return netip.Addr{}, fmt.Errorf("gateway %s is the network or broadcast address of subnet %s: %w", a, subnet, ErrInvalidArg)
	}
	return a, nil
}

// overlapping returns the network of used whose subnet overlaps p, or
// nil.
func overlapping(p netip.Prefix, used []*Network) (*Network, netip.Prefix) {
	for _, n := range used {
		for _, s := range n.Subnets {
			q, err := netip.ParsePrefix(s.Subnet)
			if err == nil && q.Overlaps(p) {
				return n, q
			}
		}
	}
	return nil, netip.Prefix{}
}

// freeSubnet is the first /24 of DefaultPool that overlaps none of used's
// subnets.
func freeSubnet(used []*Network) (netip.Prefix, error) {
	base := toU32(DefaultPool.Masked().Addr())
	for i := uint32(0); i < 1<<(24-DefaultPool.Bits()); i++ {
		p := netip.PrefixFrom(fromU32(base+i<<8), 24)
		if n, _ := overlapping(p, used); n == nil {
			return p, nil
		}
	}
	return netip.Prefix{}, ErrNoFreeSubnet
}

// DefaultPool6 is where a network with --ipv6 and no IPv6 --subnet gets
// one: a random /64 of it that overlaps no other network's, as Podman
// chooses (RFC 4193's unique local addresses, its random global ID).
var DefaultPool6 = netip.MustParsePrefix("fd00::/8")

// The prefix lengths an IPv6 --subnet may have: /64 is the norm; down to
// /120 leaves room for a few hundred containers, and wider than a /48 is
// a site's, not a bridge's.
const (
	minPrefixLen6 = 48
	maxPrefixLen6 = 120
)

// reserved6 are the IPv6 ranges no named network may overlap.
var reserved6 = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("::/96"), "::/96 holds the unspecified and loopback addresses"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "::ffff:0:0/96 is IPv4-mapped"},
	{netip.MustParsePrefix("fe80::/10"), "fe80::/10 is link-local"},
	{netip.MustParsePrefix("ff00::/8"), "ff00::/8 is multicast"},
}

// ParseSubnet6 reads an IPv6 --subnet: a network address with its prefix
// length, between /48 and /120, outside the reserved ranges.
func ParseSubnet6(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet %q is not in CIDR notation (such as fd10:2f::/64): %w", s, ErrInvalidArg)
	}
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not IPv6: %w", s, ErrInvalidArg)
	}
	if p.Bits() < minPrefixLen6 || p.Bits() > maxPrefixLen6 {
		return netip.Prefix{}, fmt.Errorf("subnet %s: the prefix length of an IPv6 subnet must be between /%d and /%d: %w", s, minPrefixLen6, maxPrefixLen6, ErrInvalidArg)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not a network address (that would be %s): %w", s, m, ErrInvalidArg)
	}
	for _, r := range reserved6 {
		if r.prefix.Overlaps(p) {
			return netip.Prefix{}, fmt.Errorf("subnet %s overlaps %s: %w", s, r.why, ErrInvalidArg)
		}
	}
	return p, nil
}

// freeSubnet6 is a random /64 of DefaultPool6 that overlaps none of
// used's subnets.
func freeSubnet6(used []*Network) (netip.Prefix, error) {
	for range 64 {
		var b [16]byte
		if _, err := rand.Read(b[1:8]); err != nil {
			return netip.Prefix{}, err
		}
		b[0] = 0xfd
		p := netip.PrefixFrom(netip.AddrFrom16(b), 64).Masked()
		if n, _ := overlapping(p, used); n == nil {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%w (%s)", ErrNoFreeSubnet, DefaultPool6)
}
