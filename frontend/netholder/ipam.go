package netholder

import (
	"errors"
	"fmt"
	"net/netip"
)

// Errors a reply's Kind names, so that the frontend can say what to do.
var (
	ErrAddress   = errors.New("address not available")
	ErrExhausted = errors.New("no free address")
	// ErrForeign: the container is not in the holder's user namespace:
	// it started on an earlier holder, which is gone.
	ErrForeign = errors.New("the container's init is not in the network holder's user namespace")
)

var errorKinds = map[string]error{"address": ErrAddress, "exhausted": ErrExhausted, "foreign": ErrForeign}

// broadcast is the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := 32 - p.Bits()
	for i := 3; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		a[i] |= byte(1<<n - 1)
		host -= n
	}
	return netip.AddrFrom4(a)
}

// hostOf reports whether a is a host address of p: inside it, neither
// its network nor its broadcast address.
func hostOf(p netip.Prefix, a netip.Addr) bool {
	return a.Is4() && p.Contains(a) && a != p.Masked().Addr() && a != broadcast(p)
}

// allocate returns want (when free) or the first free host address of n
// after its gateway; used says what is taken.
func allocate(n Network, want string, used func(netip.Addr) bool) (netip.Addr, error) {
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !hostOf(n.Subnet, a) || a == n.Gateway {
			return netip.Addr{}, fmt.Errorf("%w: %s is not a host address of network %s (%s)", ErrAddress, want, n.Name, n.Subnet)
		}
		if used(a) {
			return netip.Addr{}, fmt.Errorf("%w: %s is in use on network %s", ErrAddress, want, n.Name)
		}
		return a, nil
	}
	for a := n.Subnet.Masked().Addr().Next(); hostOf(n.Subnet, a); a = a.Next() {
		if a != n.Gateway && !used(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w on network %s (%s)", ErrExhausted, n.Name, n.Subnet)
}

// allocate6 returns the first free address of n's IPv6 subnet after its
// network address, other than its IPv6 gateway; used says what is taken.
// The members of a network are few, so the walk is short.
func allocate6(n Network, used func(netip.Addr) bool) (netip.Addr, error) {
	for a := n.Subnet6.Masked().Addr().Next(); a.IsValid() && n.Subnet6.Contains(a); a = a.Next() {
		if a != n.Gateway6 && !used(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w on network %s (%s)", ErrExhausted, n.Name, n.Subnet6)
}
