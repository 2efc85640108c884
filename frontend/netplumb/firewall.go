package netplumb

import (
	"fmt"
	"net/netip"
)

// TableName is the nftables table Firewall owns, of family inet (so that
// its forward policy drops IPv6 too), in N.
const TableName = "myctr"

// FirewallNet is one network as the firewall sees it.
type FirewallNet struct {
	Bridge   string       // the network's bridge
	Subnet   netip.Prefix // its IPv4 subnet (host bits are ignored)
	Internal bool         // no way out through the uplink
}

// checkFirewall validates Firewall's arguments: plain names, no bridge
// twice or named like the uplink, IPv4 subnets that do not overlap (a
// source address must tell its network).
func checkFirewall(uplink string, nets []FirewallNet) error {
	if err := checkName("uplink", uplink); err != nil {
		return err
	}
	seen := map[string]bool{uplink: true}
	for i, n := range nets {
		if err := checkName("bridge", n.Bridge); err != nil {
			return err
		}
		if seen[n.Bridge] {
			return fmt.Errorf("%w: bridge %s given twice, or named like the uplink", ErrInvalid, n.Bridge)
		}
		seen[n.Bridge] = true
		if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() || n.Subnet.Bits() < 8 {
			return fmt.Errorf("%w: bridge %s: subnet %v: want IPv4, /8 or longer", ErrInvalid, n.Bridge, n.Subnet)
		}
		for _, o := range nets[:i] {
			if o.Subnet.Overlaps(n.Subnet) {
				return fmt.Errorf("%w: subnets %v (%s) and %v (%s) overlap", ErrInvalid, o.Subnet, o.Bridge, n.Subnet, n.Bridge)
			}
		}
	}
	return nil
}
