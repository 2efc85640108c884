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
// postrouting, the forward filter, and the loopback guard. Every rule
// carries a comment (the rule's user data, shown by `nft list ruleset`)
// that says whose it is:
//
//	myctr port OWNER                      a published port (prerouting, output)
//	myctr bridge NAME SUBNET out          containers going out (postrouting)
//	myctr bridge NAME SUBNET lo           host loopback to a published port
//	myctr bridge NAME SUBNET hairpin      a container to a published port through the host
//	myctr bridge NAME SUBNET from         forward: out of the bridge, accepted
//	myctr bridge NAME SUBNET established  forward: into it, replies accepted
//	myctr bridge NAME SUBNET dnat         forward: into it, published ports accepted
//	myctr bridge NAME SUBNET into         forward: into it, anything else dropped
//	myctr bridge NAME SUBNET others       forward: between other interfaces, dropped (only
//	                                      when the helper is what turned ip_forward on)
//	myctr bridge NAME SUBNET localnet     to 127.0.0.0/8 from the bridge, dropped before routing
//
// A drop in any table is final and an accept is not, so the forward chain
// (policy accept) judges only what enters or leaves the bridge, and what
// other tables decide about the rest stands. The table "bridge myctr" is
// in guard_linux.go.
var (
	table     = &nftables.Table{Name: "myctr", Family: nftables.TableFamilyIPv4}
	preChain  = &nftables.Chain{Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	outChain  = &nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	postChain = &nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
	fwdChain  = &nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
	// Before conntrack and NAT: a reply to a loopback client's connection
	// to a published port still has the gateway's address here (it becomes
	// 127.0.0.1 at the dstnat hook, which route_localnet then allows).
	localChain = &nftables.Chain{Name: "localnet", Table: table, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw}
	baseChains = []*nftables.Chain{preChain, outChain, postChain, fwdChain, localChain}
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

// hostSide is p without its container side: the key of a host port.
func (p Port) hostSide() Port {
	return Port{Protocol: p.Protocol, HostIP: p.HostIP, HostPort: p.HostPort}
}

// SetPorts makes owner's published ports exactly ports, in one nftables
// transaction: every DNAT rule tagged with owner goes and one rule per port
// comes, in both the prerouting and output chains. Nil ports removes all of
// owner's. Other owners' rules are untouched. The owner is an opaque tag of
// 1 to 64 bytes of [A-Za-z0-9_.-].
//
// It also holds each host port, bound in the Host's namespace, for as long
// as its rule exists (see hold), so that a host server started later fails
// to bind instead of being bypassed by the rule. A port held by anyone else
// is an error wrapping ErrPortInUse (an address the host lacks, one
// wrapping EADDRNOTAVAIL), and then nothing changes.
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
		if seen[p.hostSide()] {
			return fmt.Errorf("%w: host port %v:%d/%s given twice", ErrInvalid, p.HostIP, p.HostPort, p.Protocol)
		}
		seen[p.hostSide()] = true
	}
	if err := h.lock(); err != nil {
		return err
	}
	defer h.mu.Unlock()
	// Hold the new ports first and let the old ones go last, so that no
	// rule ever exists without its socket.
	old, now := h.held[owner], map[Port]int{}
	var fresh []int
	closeAll := func(fds []int) {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for k := range seen {
		if fd, ok := old[k]; ok {
			now[k] = fd
			continue
		}
		fd, err := h.hold(k)
		if err != nil {
			closeAll(fresh)
			return fmt.Errorf("hold host port %v:%d/%s: %w", k.HostIP, k.HostPort, k.Protocol, err)
		}
		now[k] = fd
		fresh = append(fresh, fd)
	}
	err := h.nftApply("set ports of "+owner, func(c *nftables.Conn) (bool, error) {
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
	if err != nil {
		closeAll(fresh)
		return err
	}
	for k, fd := range old {
		if _, ok := now[k]; !ok {
			unix.Close(fd)
		}
	}
	delete(h.held, owner)
	if len(now) > 0 {
		h.held[owner] = now
	}
	return nil
}

// hold binds p's host side in the Host's namespace and returns the socket:
// a TCP listener (SO_REUSEADDR, as servers set it: only a listener makes
// their bind fail), or a UDP socket without SO_REUSEADDR (with it, another
// SO_REUSEADDR socket could share the port). Traffic to the port is
// translated before it could reach the socket; the little that is not
// (none, unless the rules are changed behind our back) waits in a minimal
// queue.
func (h *Host) hold(p Port) (int, error) {
	typ, _ := sockType(p.Protocol)
	fd := -1
	err := h.inNetns(func() error {
		s, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		sa := &unix.SockaddrInet4{Port: int(p.HostPort)}
		if p.HostIP.IsValid() {
			sa.Addr = p.HostIP.As4()
		}
		err = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, 0)
		if err == nil && typ == unix.SOCK_STREAM {
			err = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
		if err == nil {
			err = unix.Bind(s, sa)
		}
		if err == nil && typ == unix.SOCK_STREAM {
			err = unix.Listen(s, 1)
		}
		if err != nil {
			unix.Close(s)
			if errors.Is(err, unix.EADDRINUSE) {
				err = fmt.Errorf("%w: %w", ErrPortInUse, err)
			}
			return err
		}
		fd = s
		return nil
	})
	return fd, err
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

// taggedRule is one rule of the bridge's fixed set.
type taggedRule struct {
	chain *nftables.Chain
	tag   string
	exprs []expr.Any
}

// bridgeRules are the fixed rules of the bridge br (gateway gw, with its
// subnet) in both tables, in chain order (see the tables' comments);
// othersOff adds the forward chain's last rule.
func bridgeRules(br string, gw netip.Prefix, othersOff bool) []taggedRule {
	subnet := gw.Masked()
	p := bridgeTag + br + " " + subnet.String() + " "
	in, out := ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, br), ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, br)
	rs := []taggedRule{
		{postChain, p + "out", masqOutExprs(subnet)},
		{postChain, p + "lo", masqLoopbackExprs(br)},
		// With an address of the subnet as source, the container answers
		// the host (which translates back), not the client directly.
		{postChain, p + "hairpin", cat(out, ipIn(12, expr.CmpOpEq, subnet), ctStatusDNAT, []expr.Any{&expr.Masq{}})},
		{fwdChain, p + "from", cat(in, verdict(expr.VerdictAccept))},
		{fwdChain, p + "established", cat(out, []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		}, verdict(expr.VerdictAccept))},
		{fwdChain, p + "dnat", cat(out, ctStatusDNAT, verdict(expr.VerdictAccept))},
		{fwdChain, p + "into", cat(out, verdict(expr.VerdictDrop))},
	}
	if othersOff {
		rs = append(rs, taggedRule{fwdChain, p + "others", verdict(expr.VerdictDrop)})
	}
	rs = append(rs, taggedRule{localChain, p + "localnet",
		cat(in, ipIn(16, expr.CmpOpEq, netip.MustParsePrefix("127.0.0.0/8")), verdict(expr.VerdictDrop))})
	return append(rs, guardRules(gw, p)...)
}

// ensureBridgeRules makes both tables with their base chains and sets, and
// leaves exactly bridgeRules of br, untouched when they are there already.
// The "others" rule is kept once made: forwardWasOff says that the helper
// is about to turn ip_forward on now.
func (h *Host) ensureBridgeRules(br string, gw netip.Prefix, forwardWasOff bool) error {
	prefix := bridgeTag + br + " "
	return h.nftApply("rules of bridge "+br, func(c *nftables.Conn) (bool, error) {
		mine := func(tag string) bool { return strings.HasPrefix(tag, prefix) }
		old, err := taggedRules(c, mine, postChain, fwdChain, localChain, guardPre, guardFwd)
		if err != nil {
			return false, err
		}
		var tags []string
		for _, r := range old {
			tags = append(tags, ruleComment(r.UserData))
		}
		othersOff := forwardWasOff || slices.ContainsFunc(tags, func(t string) bool { return strings.HasSuffix(t, " others") })
		want := bridgeRules(br, gw, othersOff)
		addBase(c) // also restores a base chain or set someone removed
		if err := addGuardBase(c); err != nil {
			return false, err
		}
		same := len(tags) == len(want)
		for i := 0; same && i < len(want); i++ {
			same = tags[i] == want[i].tag
		}
		if same {
			return true, nil
		}
		for _, r := range old {
			if err := c.DelRule(r); err != nil {
				return false, err
			}
		}
		for _, r := range want {
			c.AddRule(&nftables.Rule{Table: r.chain.Table, Chain: r.chain, Exprs: r.exprs, UserData: comment(r.tag)})
		}
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

// taggedRules returns the rules of chains (of either table), in order,
// whose comment match accepts; none of a chain that does not exist.
func taggedRules(c *nftables.Conn, match func(string) bool, chains ...*nftables.Chain) ([]*nftables.Rule, error) {
	all, err := c.ListChains()
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	var rules []*nftables.Rule
	for _, ch := range chains {
		if !slices.ContainsFunc(all, func(x *nftables.Chain) bool {
			return x.Table.Name == ch.Table.Name && x.Table.Family == ch.Table.Family && x.Name == ch.Name
		}) {
			continue
		}
		rs, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return nil, fmt.Errorf("list rules of %s: %w", ch.Name, err)
		}
		for _, r := range rs {
			if match(ruleComment(r.UserData)) {
				r.Table, r.Chain = ch.Table, ch
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
	return cat(ipIn(12, expr.CmpOpEq, subnet), ipIn(16, expr.CmpOpNeq, subnet), []expr.Any{&expr.Masq{}})
}

// masqLoopbackExprs: ip saddr 127.0.0.0/8 oifname BRIDGE masquerade. With
// route_localnet on the bridge, the host's own connections to
// 127.0.0.1:HOSTPORT leave through it after DNAT, and get the bridge's
// address as source so that the container can answer.
func masqLoopbackExprs(bridge string) []expr.Any {
	return cat(ipIn(12, expr.CmpOpEq, netip.MustParsePrefix("127.0.0.0/8")),
		ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), []expr.Any{&expr.Masq{}})
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

// ipIn: the IPv4 address at header offset off (12 saddr, 16 daddr) is
// (op Eq) or is not (op Neq) in p.
func ipIn(off uint32, op expr.CmpOp, p netip.Prefix) []expr.Any {
	return []expr.Any{ipField(off), prefixMask(p), prefixCmp(op, p)}
}

// ifname: meta KEY (iifname, oifname, ibrname) op NAME.
func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: ifnameBytes(name)}}
}

func ifnameBytes(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// ctStatusDNAT: ct status dnat (the connection's destination was
// translated: a published port).
var ctStatusDNAT = []expr.Any{
	&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
	&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
		Mask: binaryutil.NativeEndian.PutUint32(1 << 5), Xor: make([]byte, 4)}, // IPS_DST_NAT
	&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

func cat(parts ...[]expr.Any) []expr.Any { return slices.Concat(parts...) }
