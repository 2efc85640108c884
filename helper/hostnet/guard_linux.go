package hostnet

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// PortPrefix starts the name of every host veth end the helper makes: the
// guard below judges every frame from a bridge port of such a name (the
// kernels we run on may lack the bridge's "meta ibrname"), so a port that
// is not pinned yet sends nothing.
const PortPrefix = "mc"

// The table "bridge myctr" guards the bridge at layer 2. Every container
// has its own bridge port (its host veth end), which the helper pins with
// set elements: in @pins (PORT . MAC . ADDRESS: the MAC PeerMAC gives and
// the recorded address), in @members (GROUP . PORT: the group of its
// owner's containers it is in: the owner's plain bridged containers, or
// one of its networks), and in @peers (PORT . OTHER and OTHER . PORT for
// each other port of the same group).
// A container holds CAP_NET_ADMIN and CAP_NET_RAW in its own namespaces
// and may change its MAC, add addresses or write any frame, so the rules
// judge what arrives on its port, never what it was configured with. A
// frame that enters the bridge from a port is dropped unless
//
//	ethertype      it is IPv4 or ARP (no IPv6, VLAN tags, STP...);
//	ip             IPv4: (port . ether saddr . ip saddr) is in @pins;
//	arp-header     ARP: for Ethernet and IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4: four rules);
//	arp            ARP: (port . ether saddr . arp saddr ip) is in @pins;
//	arp-sender     ARP: (port . arp saddr ether . arp saddr ip) is in @pins;
//	routed         IPv4 to the host (pkttype host) is not for another address
//	               of the subnet than the gateway's (no routing between
//	               containers through the host);
//	isolate        bridged to another port: both ports are in the same
//	               group ((in port . out port) is in @peers), or it was
//	               sent to the host's own MAC (pkttype host: such a frame
//	               reaches another port only when br_netfilter, where it
//	               is loaded, has translated it to a published port and
//	               bridges it there; without br_netfilter it is routed).
//
// So a port with no elements sends nothing at all, a container can neither
// speak for another address nor move the host's neighbour entries or the
// bridge's forwarding table, and containers of different groups (so of
// different users) exchange no frame: they reach each other only through
// published ports (DNAT on the host, so that the reply goes back through
// the host too: the hairpin masquerade). A group's containers talk
// directly.
//
// The rules come from bridgeRules and are tagged like the ip table's.
var (
	guardTable = &nftables.Table{Name: "myctr", Family: nftables.TableFamilyBridge}
	// Priority -200 is the bridge family's filter: before br_netfilter
	// (0), which would hand the frame to the ip hooks, and before the
	// bridge learns the source MAC.
	guardPre  = &nftables.Chain{Name: "prerouting", Table: guardTable, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(-200)}
	guardFwd  = &nftables.Chain{Name: "forward", Table: guardTable, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(-200)}
	pinSet    = &nftables.Set{Table: guardTable, Name: "pins", Concatenation: true, KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr, nftables.TypeIPAddr)}
	memberSet = &nftables.Set{Table: guardTable, Name: "members", Concatenation: true, KeyType: nftables.MustConcatSetType(nftables.TypeMark, nftables.TypeIFName)}
	peerSet   = &nftables.Set{Table: guardTable, Name: "peers", Concatenation: true, KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIFName)}
)

// PeerMAC is the MAC of the container end of the veth whose container has
// address a: 02:6d (locally administered, "m") and the four bytes of a.
// Addresses are unique on the bridge, so these MACs are too, whatever
// names callers choose (a MAC from the name's hash could be made to
// collide by trying names).
func PeerMAC(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x6d, b[0], b[1], b[2], b[3]}
}

// guardRules are the guard's fixed rules for the bridge with gateway gw;
// p is the tag prefix.
func guardRules(gw netip.Prefix, p string) []taggedRule {
	fromBr := []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(PortPrefix)}} // iifname "mc*"
	ll, nh := expr.PayloadBaseLLHeader, expr.PayloadBaseNetworkHeader
	ether := func(op expr.CmpOp, t uint16) []expr.Any {
		return []expr.Any{&expr.Payload{DestRegister: 1, Base: ll, Offset: 12, Len: 2},
			&expr.Cmp{Op: op, Register: 1, Data: binaryutil.BigEndian.PutUint16(t)}}
	}
	ip, arp := ether(expr.CmpOpEq, unix.ETH_P_IP), ether(expr.CmpOpEq, unix.ETH_P_ARP)
	// (iifname . MAC . ADDR) not in @pins, as a concatenation in the
	// 32-bit registers: the name (16 bytes) from 00, the MAC (6, padded to
	// 8) from 04, the address from 06.
	unpinned := func(macBase expr.PayloadBase, macOff, addrOff uint32) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: unix.NFT_REG32_00},
			&expr.Payload{DestRegister: unix.NFT_REG32_04, Base: macBase, Offset: macOff, Len: 6},
			&expr.Payload{DestRegister: unix.NFT_REG32_06, Base: nh, Offset: addrOff, Len: 4},
			&expr.Lookup{SourceRegister: unix.NFT_REG32_00, SetName: pinSet.Name, Invert: true},
		}
	}
	drop := verdict(expr.VerdictDrop)
	gwAddr := gw.Addr().As4()
	rs := []taggedRule{
		{guardPre, p + "ethertype", cat(fromBr, ether(expr.CmpOpNeq, unix.ETH_P_IP), ether(expr.CmpOpNeq, unix.ETH_P_ARP)[1:], drop)},
		{guardPre, p + "ip", cat(fromBr, ip, unpinned(ll, 6, 12), drop)},
	}
	// ARP for Ethernet and IPv4 only, so that the offsets below hold: one
	// rule per field (htype 1, ptype 0x0800, hlen 6, plen 4), which is
	// also how nft shows them.
	for _, f := range []struct {
		off  uint32
		want []byte
	}{{0, []byte{0, 1}}, {2, []byte{8, 0}}, {4, []byte{6}}, {5, []byte{4}}} {
		rs = append(rs, taggedRule{guardPre, p + "arp-header", cat(fromBr, arp, []expr.Any{
			&expr.Payload{DestRegister: 1, Base: nh, Offset: f.off, Len: uint32(len(f.want))},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: f.want},
		}, drop)})
	}
	return append(rs, []taggedRule{
		{guardPre, p + "arp", cat(fromBr, arp, unpinned(ll, 6, 14), drop)},
		{guardPre, p + "arp-sender", cat(fromBr, arp, unpinned(nh, 8, 14), drop)},
		{guardPre, p + "routed", cat(fromBr, ip, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyPKTTYPE, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.PACKET_HOST}},
		}, ipIn(16, expr.CmpOpEq, gw.Masked()), []expr.Any{
			ipField(16), &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: gwAddr[:]},
		}, drop)},
		// (iifname . oifname) not in @peers: the names from 00 and 04.
		{guardFwd, p + "isolate", cat(fromBr, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyPKTTYPE, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.PACKET_HOST}},
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: unix.NFT_REG32_00},
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: unix.NFT_REG32_04},
			&expr.Lookup{SourceRegister: unix.NFT_REG32_00, SetName: peerSet.Name, Invert: true},
		}, drop)},
	}...)
}

// addGuardBase queues the guard's table, chains and sets; adding what
// exists is a no-op.
func addGuardBase(c *nftables.Conn) error {
	c.AddTable(guardTable)
	c.AddChain(guardPre)
	c.AddChain(guardFwd)
	for _, s := range []*nftables.Set{pinSet, memberSet, peerSet} {
		if err := c.AddSet(s, nil); err != nil {
			return err
		}
	}
	return nil
}

// GuardPort pins the bridge port hostIf to the container of group with
// address addr (and MAC PeerMAC(addr)), replacing whatever was pinned for
// hostIf before, and pairs it with the group's other ports. A group is
// the caller's to choose: one user's alone. DeleteLink unpins.
func (h *Host) GuardPort(hostIf string, group uint32, addr netip.Addr) error {
	if err := checkName("host interface", hostIf); err != nil {
		return err
	}
	if !addr.Is4() || addr.IsUnspecified() || addr.IsMulticast() || addr.IsLoopback() {
		return fmt.Errorf("%w: address %v of port %s", ErrInvalid, addr, hostIf)
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	return h.nftApply("guard port "+hostIf, func(c *nftables.Conn) (bool, error) {
		_, members, err := unguard(c, hostIf)
		if err != nil {
			return false, err
		}
		if err := addGuardBase(c); err != nil {
			return false, err
		}
		name, u, a := ifnameBytes(hostIf), binaryutil.NativeEndian.PutUint32(group), addr.As4()
		add := map[*nftables.Set][]nftables.SetElement{
			pinSet:    {{Key: slices.Concat(name, PeerMAC(addr), []byte{0, 0}, a[:])}},
			memberSet: {{Key: slices.Concat(u, name)}},
		}
		for _, m := range members {
			if bytes.Equal(m[:4], u) && !bytes.Equal(m[4:], name) {
				add[peerSet] = append(add[peerSet], nftables.SetElement{Key: slices.Concat(name, m[4:])},
					nftables.SetElement{Key: slices.Concat(m[4:], name)})
			}
		}
		for s, els := range add {
			if err := c.SetAddElements(s, els); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// unguard queues the removal of every element that names port hostIf;
// it returns how many, and the keys of the other elements of @members.
func unguard(c *nftables.Conn, hostIf string) (n int, members [][]byte, err error) {
	sets, err := c.GetSets(guardTable)
	if err != nil {
		// No table: nothing to remove.
		if ts, lerr := c.ListTablesOfFamily(nftables.TableFamilyBridge); lerr == nil &&
			!slices.ContainsFunc(ts, func(t *nftables.Table) bool { return t.Name == guardTable.Name }) {
			return 0, nil, nil
		}
		return 0, nil, fmt.Errorf("list sets: %w", err)
	}
	name := ifnameBytes(hostIf)
	for _, s := range []struct {
		set *nftables.Set
		at  []int // where names are in the keys
	}{{pinSet, []int{0}}, {memberSet, []int{4}}, {peerSet, []int{0, 16}}} {
		if !slices.ContainsFunc(sets, func(x *nftables.Set) bool { return x.Name == s.set.Name }) {
			continue
		}
		els, err := c.GetSetElements(s.set)
		if err != nil {
			return 0, nil, fmt.Errorf("list %s: %w", s.set.Name, err)
		}
		var del []nftables.SetElement
		for _, e := range els {
			if slices.ContainsFunc(s.at, func(i int) bool { return len(e.Key) >= i+len(name) && bytes.Equal(e.Key[i:i+len(name)], name) }) {
				del = append(del, nftables.SetElement{Key: e.Key})
			} else if s.set == memberSet && len(e.Key) == 4+len(name) {
				members = append(members, e.Key)
			}
		}
		if len(del) > 0 {
			if err := c.SetDeleteElements(s.set, del); err != nil {
				return 0, nil, err
			}
		}
		n += len(del)
	}
	return n, members, nil
}
