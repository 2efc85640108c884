package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// The table "ip myctr": DNAT of published ports in prerouting (traffic
// arriving from elsewhere) and output (from the host itself), masquerade in
// postrouting. Every rule carries a comment (the rule's user data, shown
// by `nft list ruleset`) that says whose it is:
//
//	myctr port OWNER                  a published port (prerouting, output)
//	myctr bridge NAME SUBNET out      containers going out (postrouting)
//	myctr bridge NAME SUBNET lo       host loopback to a published port
var (
	table      = &nftables.Table{Name: "myctr", Family: nftables.TableFamilyIPv4}
	preChain   = &nftables.Chain{Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	outChain   = &nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	postChain  = &nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
	baseChains = []*nftables.Chain{preChain, outChain, postChain}
)

const (
	portTag   = "myctr port "
	bridgeTag = "myctr bridge "
)

// Port is one published port.
type Port struct {
	Protocol      string     // "tcp" or "udp"
	HostIP        netip.Addr // the zero Addr means every local address
	HostPort      uint16
	Addr          netip.Addr // the container's address
	ContainerPort uint16
}

func (p Port) check() error {
	if _, err := sockType(p.Protocol); err != nil {
		return err
	}
	// Why this is safe: only IPv4 unicast addresses and non-zero ports go
	// into a rule; the zero HostIP becomes "fib daddr type local", so a
	// rule matches only traffic addressed to this host.
	badHost := p.HostIP.IsValid() && (!p.HostIP.Is4() || p.HostIP.IsUnspecified() || p.HostIP.IsMulticast())
	badAddr := !p.Addr.Is4() || p.Addr.IsUnspecified() || p.Addr.IsMulticast() || p.Addr.IsLoopback()
	if badHost || badAddr || p.HostPort == 0 || p.ContainerPort == 0 {
		return fmt.Errorf("%w: port %v:%d -> %v:%d/%s", ErrInvalid, p.HostIP, p.HostPort, p.Addr, p.ContainerPort, p.Protocol)
	}
	return nil
}

// SetPorts makes owner's published ports exactly ports, in one nftables
// transaction: every DNAT rule tagged with owner goes and one rule per port
// comes, in both the prerouting and output chains. Nil ports removes all of
// owner's. Other owners' rules are untouched. The owner is an opaque tag of
// 1 to 64 bytes of [A-Za-z0-9_.-].
func (h *Host) SetPorts(owner string, ports []Port) error {
	// Why this is safe: the owner only ever lands in a rule's comment, and
	// its alphabet keeps that comment parseable.
	if !protocol.ValidName(owner, 64) {
		return fmt.Errorf("%w: owner %q", ErrInvalid, owner)
	}
	seen := map[Port]bool{}
	for _, p := range ports {
		if err := p.check(); err != nil {
			return err
		}
		k := Port{Protocol: p.Protocol, HostIP: p.HostIP, HostPort: p.HostPort}
		if seen[k] {
			return fmt.Errorf("%w: host port %v:%d/%s given twice", ErrInvalid, p.HostIP, p.HostPort, p.Protocol)
		}
		seen[k] = true
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	return h.nftApply("set ports of "+owner, func(c *nftables.Conn) (bool, error) {
		old, err := taggedRules(c, func(tag string) bool { return tag == portTag+owner }, preChain, outChain)
		if err != nil || (len(old) == 0 && len(ports) == 0) {
			return false, err
		}
		addBase(c)
		for _, r := range old {
			if err := c.DelRule(r); err != nil {
				return false, err
			}
		}
		ud := comment(portTag + owner)
		for _, p := range ports {
			for _, ch := range []*nftables.Chain{preChain, outChain} {
				c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: dnatExprs(p), UserData: ud})
			}
		}
		return true, nil
	})
}

// PortOwners returns, sorted, the owners that have port rules now.
func (h *Host) PortOwners() ([]string, error) {
	if err := h.lock(); err != nil {
		return nil, err
	}
	defer h.mu.Unlock()
	c, err := h.nft()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	rules, err := taggedRules(c, func(tag string) bool { return strings.HasPrefix(tag, portTag) }, preChain, outChain)
	if err != nil {
		return nil, nftErr("port owners", err)
	}
	var owners []string
	for _, r := range rules {
		owners = append(owners, strings.TrimPrefix(ruleComment(r.UserData), portTag))
	}
	slices.Sort(owners)
	return slices.Compact(owners), nil
}

// ensureMasquerade makes the table and base chains and leaves exactly the
// two masquerade rules of bridge for subnet, untouched when they are there
// already.
func (h *Host) ensureMasquerade(bridge string, subnet netip.Prefix) error {
	prefix := bridgeTag + bridge + " "
	out, lo := prefix+subnet.String()+" out", prefix+subnet.String()+" lo"
	return h.nftApply("masquerade rules of "+bridge, func(c *nftables.Conn) (bool, error) {
		old, err := taggedRules(c, func(tag string) bool { return strings.HasPrefix(tag, prefix) }, postChain)
		if err != nil {
			return false, err
		}
		addBase(c) // also restores a base chain someone removed
		if len(old) == 2 && ruleComment(old[0].UserData) == out && ruleComment(old[1].UserData) == lo {
			return true, nil
		}
		for _, r := range old {
			if err := c.DelRule(r); err != nil {
				return false, err
			}
		}
		c.AddRule(&nftables.Rule{Table: table, Chain: postChain, Exprs: masqOutExprs(subnet), UserData: comment(out)})
		c.AddRule(&nftables.Rule{Table: table, Chain: postChain, Exprs: masqLoopbackExprs(bridge), UserData: comment(lo)})
		return true, nil
	})
}

// nftApply lets build read the ruleset and queue one batch, then sends the
// batch, which the kernel applies whole or not at all. A batch refused
// with ENOENT is built and sent once more, since a rule it deletes may
// have gone meanwhile; ENOENT again means the kernel lacks a part of
// nf_tables.
func (h *Host) nftApply(what string, build func(c *nftables.Conn) (send bool, err error)) error {
	for try := 0; ; try++ {
		c, err := h.nft()
		if err != nil {
			return err
		}
		send, err := build(c)
		if err == nil && send {
			err = c.Flush()
		}
		c.CloseLasting()
		if err == nil {
			return nil
		}
		if try > 0 || !errors.Is(err, unix.ENOENT) {
			return nftErr(what, err)
		}
	}
}

// nft opens an nftables socket in the Host's namespace for one operation,
// so that no reply left over from a failed batch can reach the next one.
func (h *Host) nft() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if !h.own {
		opts = append(opts, nftables.WithNetNSFd(h.fd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, nftErr("nftables socket", err)
	}
	return c, nil
}

// addBase queues the table and base chains; adding what exists is a no-op.
func addBase(c *nftables.Conn) {
	c.AddTable(table)
	for _, ch := range baseChains {
		c.AddChain(ch)
	}
}

// taggedRules returns the rules of chains, in order, whose comment match
// accepts; none when the table or a chain does not exist.
func taggedRules(c *nftables.Conn, match func(string) bool, chains ...*nftables.Chain) ([]*nftables.Rule, error) {
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	var rules []*nftables.Rule
	for _, ch := range chains {
		if !slices.ContainsFunc(all, func(x *nftables.Chain) bool { return x.Table.Name == table.Name && x.Name == ch.Name }) {
			continue
		}
		rs, err := c.GetRules(table, ch)
		if err != nil {
			return nil, fmt.Errorf("list rules of %s: %w", ch.Name, err)
		}
		for _, r := range rs {
			if match(ruleComment(r.UserData)) {
				r.Table, r.Chain = table, ch
				rules = append(rules, r)
			}
		}
	}
	return rules, nil
}

// nftErr wraps err, adding ErrNoNftables when the kernel says it lacks
// nf_tables (no such protocol or subsystem) or a part of it (ENOENT for a
// chain type or expression it could not load).
func nftErr(what string, err error) error {
	for _, e := range []error{unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP, unix.ENOENT} {
		if errors.Is(err, e) {
			return fmt.Errorf("nftables: %s: %w: %w", what, ErrNoNftables, err)
		}
	}
	return fmt.Errorf("nftables: %s: %w", what, err)
}

// comment is the user data of a rule with comment s, as nft writes it.
func comment(s string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, s)
}

// ruleComment returns the comment in a rule's user data, or "". It parses
// the type-length-value list itself, checking every length, since rules in
// the table may have been written by other tools.
func ruleComment(ud []byte) string {
	for len(ud) >= 2 {
		typ, n := ud[0], int(ud[1])
		if len(ud) < 2+n {
			return ""
		}
		if userdata.Type(typ) == userdata.TypeComment {
			return strings.TrimSuffix(string(ud[2:2+n]), "\x00")
		}
		ud = ud[2+n:]
	}
	return ""
}

// dnatExprs: meta l4proto P th dport HOSTPORT (ip daddr HOSTIP | fib daddr
// type local) dnat to ADDR:PORT.
func dnatExprs(p Port) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if p.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
	}
	if p.HostIP.IsValid() {
		ip := p.HostIP.As4()
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip[:]})
	} else {
		e = append(e,
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
	}
	to := p.Addr.As4()
	return append(e,
		&expr.Immediate{Register: 1, Data: to[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2})
}

// masqOutExprs: ip saddr SUBNET ip daddr != SUBNET masquerade.
func masqOutExprs(subnet netip.Prefix) []expr.Any {
	return []expr.Any{
		ipField(12), prefixMask(subnet), prefixCmp(expr.CmpOpEq, subnet),
		ipField(16), prefixMask(subnet), prefixCmp(expr.CmpOpNeq, subnet),
		&expr.Masq{},
	}
}

// masqLoopbackExprs: ip saddr 127.0.0.0/8 oifname BRIDGE masquerade. With
// route_localnet on the bridge, the host's own connections to
// 127.0.0.1:HOSTPORT leave through it after DNAT, and get the bridge's
// address as source so that the container can answer.
func masqLoopbackExprs(bridge string) []expr.Any {
	lo := netip.MustParsePrefix("127.0.0.0/8")
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, bridge)
	return []expr.Any{
		ipField(12), prefixMask(lo), prefixCmp(expr.CmpOpEq, lo),
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
		&expr.Masq{},
	}
}

// ipField loads the IPv4 header's 4 bytes at off (12 saddr, 16 daddr).
func ipField(off uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4}
}

func prefixMask(p netip.Prefix) expr.Any {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: net.CIDRMask(p.Bits(), 32), Xor: make([]byte, 4)}
}

func prefixCmp(op expr.CmpOp, p netip.Prefix) expr.Any {
	a := p.Masked().Addr().As4()
	return &expr.Cmp{Op: op, Register: 1, Data: a[:]}
}
