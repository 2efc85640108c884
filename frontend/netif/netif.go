// Package netif configures a container's interface on a bridged network
// from inside the container's network namespace, where the container's
// init (root of the user namespace that owns that network namespace) holds
// CAP_NET_ADMIN: rename, MTU, address, up, default route.
//
// It speaks rtnetlink through golang.org/x/sys/unix rather than through a
// netlink library, because it is linked into myctr-init, whose size every
// container start pays for: github.com/vishvananda/netlink would add about
// 570 kB to it (a tenth of its 5.9 MB) for these five requests; this
// package adds 28 kB.
// For the same reason Config carries addresses as bytes, parsed by the
// frontend (net/netip would cost the init another 110 kB).
package netif

import (
	"fmt"
	"strconv"
)

// Config is the interface the helper moved into the container's network
// namespace and what to make of it.
type Config struct {
	Interface string // its name as the helper made it
	Name      string // the name the container sees ("eth0")
	Address   []byte // 4 bytes (IPv4) or 16 (IPv6)
	PrefixLen int    // of Address: 16 for 10.88.0.2/16
	Gateway   []byte // the default route's gateway, of Address's family; nil for none
	MTU       uint32 // 0 keeps the interface's
}

// Validate checks the fields' form (not whether the interface exists).
func (c Config) Validate() error {
	for _, n := range []string{c.Interface, c.Name} {
		if n == "" || len(n) > 15 {
			return fmt.Errorf("interface name %q: want 1 to 15 bytes", n)
		}
	}
	if len(c.Address) != 4 && len(c.Address) != 16 {
		return fmt.Errorf("address of %d bytes: want 4 or 16", len(c.Address))
	}
	if c.PrefixLen < 0 || c.PrefixLen > 8*len(c.Address) {
		return fmt.Errorf("prefix length %d: want 0 to %d", c.PrefixLen, 8*len(c.Address))
	}
	if c.Gateway != nil && len(c.Gateway) != len(c.Address) {
		return fmt.Errorf("gateway of %d bytes and address of %d: the families differ", len(c.Gateway), len(c.Address))
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return fmt.Errorf("MTU %d: want 68 to 65535", c.MTU)
	}
	return nil
}

// addrString formats an address (with "/prefix" when prefix >= 0) for
// error messages: "10.88.0.2/16".
func addrString(b []byte, prefix int) string {
	s := ""
	if len(b) == 4 {
		for i, x := range b {
			if i > 0 {
				s += "."
			}
			s += strconv.Itoa(int(x))
		}
	} else {
		for i := 0; i+1 < len(b); i += 2 {
			if i > 0 {
				s += ":"
			}
			s += strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16)
		}
	}
	if prefix >= 0 {
		s += "/" + strconv.Itoa(prefix)
	}
	return s
}
