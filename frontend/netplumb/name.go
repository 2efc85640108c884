package netplumb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/myctr/myctr/protocol"
)

// VethPrefix starts every host-side veth name VethName makes.
const VethPrefix = "vm"

// VethName is the name of the host end, in N, of the veth pair of
// containerID on network: "vm" and 10 hex digits of
// sha256(containerID + "\x00" + network), 12 bytes in all (IFNAMSIZ allows
// 15). The NUL keeps ("ab", "c") and ("a", "bc") apart, since neither a
// container ID nor a network name holds one.
func VethName(containerID, network string) string {
	sum := sha256.Sum256([]byte(containerID + "\x00" + network))
	return VethPrefix + hex.EncodeToString(sum[:5])
}

// checkName fails unless s is a plain interface name: 1 to 15 bytes of
// [A-Za-z0-9_.-] starting with a letter or digit. Such a name is safe in
// a /proc/sys path, a netlink attribute and an nftables rule.
func checkName(what, s string) error {
	if !protocol.ValidName(s, 15) {
		return fmt.Errorf("%w: %s name %q: want 1 to 15 of [A-Za-z0-9_.-], starting with a letter or digit", ErrInvalid, what, s)
	}
	return nil
}

// checkMTU accepts 0 (the kernel's default) or an MTU IPv4 can use.
func checkMTU(mtu int) error {
	if mtu != 0 && (mtu < 576 || mtu > 65535) {
		return fmt.Errorf("%w: MTU %d: want 0 or 576 to 65535", ErrInvalid, mtu)
	}
	return nil
}

// checkGateway accepts a unicast IPv4 host address with a /8 to /30
// prefix, neither the subnet's first nor its last address.
func checkGateway(gw netip.Prefix) error {
	a := gw.Addr()
	if !gw.IsValid() || !a.Is4() || gw.Bits() < 8 || gw.Bits() > 30 ||
		a == gw.Masked().Addr() || a == lastAddr(gw) ||
		a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return fmt.Errorf("%w: gateway %v: want a unicast IPv4 host address with a /8 to /30 prefix", ErrInvalid, gw)
	}
	return nil
}

// checkGateway6 checks an IPv6 gateway: a unicast, non-link-local host
// address, not the subnet's own, with a /48 to /120 prefix.
func checkGateway6(gw netip.Prefix) error {
	a := gw.Addr()
	if !gw.IsValid() || !a.Is6() || a.Is4In6() || a.Zone() != "" || gw.Bits() < 48 || gw.Bits() > 120 ||
		a == gw.Masked().Addr() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return fmt.Errorf("%w: gateway %v: want a unicast IPv6 host address with a /48 to /120 prefix", ErrInvalid, gw)
	}
	return nil
}

// lastAddr is the last (broadcast) address of the IPv4 prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
