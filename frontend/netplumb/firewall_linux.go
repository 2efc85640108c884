package netplumb

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Firewall makes the table "inet myctr" in this namespace from the whole
// set of networks, replacing what was there in one nftables transaction
// (the kernel applies it whole or not at all, and no packet ever sees a
// half-made table):
//
//	table inet myctr {
//		chain forward { type filter hook forward priority filter; policy drop;
//			ct state established,related accept
//			iifname BRIDGE oifname BRIDGE accept    # each network, within itself
//			iifname BRIDGE oifname UPLINK accept    # each non-internal network, out
//		}
//		chain postrouting { type nat hook postrouting priority srcnat;
//			oifname UPLINK meta nfproto ipv4 ip saddr SUBNET masquerade   # each non-internal network
//		}
//	}
//
// Everything else forwarded is dropped: no traffic between networks, none
// from an internal network to the uplink, nothing new from the uplink into
// a network. The masquerade gives leaving packets the uplink's address
// (10.0.2.100 on slirp4netns's tap0; on pasta's, the one it was given),
// the only source the user-mode stack behind it answers.
func Firewall(uplink string, nets []FirewallNet) error {
	if err := checkFirewall(uplink, nets); err != nil {
		return fmt.Errorf("firewall: %w", err)
	}
	// Lasting: the socket is made now, in this thread's namespace, rather
	// than at Flush on whatever thread runs it then.
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return fmt.Errorf("firewall: nftables socket: %w", err)
	}
	defer c.CloseLasting()
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	// Add (a no-op when it exists), delete, add again: the batch starts
	// from nothing whether or not the table was there.
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	drop := nftables.ChainPolicyDrop
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	add := func(ch *nftables.Chain, comment string, e ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: slices.Concat(e...), UserData: userComment(comment)})
	}
	add(fwd, "replies", ctEstablished, verdict(expr.VerdictAccept))
	for _, n := range nets {
		in := ifname(expr.MetaKeyIIFNAME, n.Bridge)
		add(fwd, n.Bridge+" within", in, ifname(expr.MetaKeyOIFNAME, n.Bridge), verdict(expr.VerdictAccept))
		if n.Internal {
			continue
		}
		add(fwd, n.Bridge+" out", in, ifname(expr.MetaKeyOIFNAME, uplink), verdict(expr.VerdictAccept))
		add(post, n.Bridge+" masquerade", ifname(expr.MetaKeyOIFNAME, uplink), isIPv4, saddrIn(n.Subnet.Masked()),
			[]expr.Any{&expr.Masq{}})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("firewall: apply table inet %s: %w", TableName, nftErr(err))
	}
	return nil
}

// ErrNoNftables: the kernel refused a part of nf_tables the table needs
// (nf_tables itself, the inet family, nat chains, masquerade, conntrack).
var ErrNoNftables = errors.New("nf_tables is not available")

func nftErr(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return fmt.Errorf("%w: %w", ErrNoNftables, err)
	}
	return err
}

// ctEstablished: ct state established,related.
var ctEstablished = []expr.Any{
	&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
	&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
		Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
	&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
}

// isIPv4: meta nfproto ipv4, before an IPv4 header is read in an inet
// chain.
var isIPv4 = []expr.Any{
	&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
	&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
}

// ifname: meta KEY (iifname, oifname) == NAME.
func ifname(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b}}
}

// saddrIn: ip saddr in the IPv4 prefix p (masked).
func saddrIn(p netip.Prefix) []expr.Any {
	a := p.Addr().As4()
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

// userComment is a rule's comment as nft shows it ("comment ..."): the
// user data TLV of type comment, NUL-terminated.
func userComment(s string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, s)
}
