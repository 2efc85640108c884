package netif

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Configure renames c.Interface to c.Name, sets its MTU, adds c.Address,
// brings it up and adds a default route through c.Gateway, in that order
// (a link is renamed only while down; the kernel adds the address's prefix
// route, which the gateway needs, only once the link is up). Each error
// names its step.
//
// Preconditions: the caller is in the container's network namespace with
// CAP_NET_ADMIN over it.
func Configure(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s, err := openRoute()
	if err != nil {
		return fmt.Errorf("open rtnetlink socket: %w", err)
	}
	defer unix.Close(s.fd)
	ifr, err := unix.NewIfreq(c.Interface)
	if err != nil {
		return fmt.Errorf("find interface %s: %w", c.Interface, err)
	}
	if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("find interface %s: %w", c.Interface, err)
	}
	index := int32(ifr.Uint32())
	if c.Name != c.Interface {
		if err := s.request(unix.RTM_NEWLINK, 0, ifinfo(index, 0), attr(unix.IFLA_IFNAME, append([]byte(c.Name), 0))); err != nil {
			return fmt.Errorf("rename %s to %s: %w", c.Interface, c.Name, err)
		}
	}
	if c.MTU != 0 {
		if err := s.request(unix.RTM_NEWLINK, 0, ifinfo(index, 0), attr(unix.IFLA_MTU, u32(c.MTU))); err != nil {
			return fmt.Errorf("set the MTU of %s to %d: %w", c.Name, c.MTU, err)
		}
	}
	family := byte(unix.AF_INET)
	if len(c.Address) == 16 {
		family = unix.AF_INET6
	}
	// struct ifaddrmsg: family, prefix length, flags, scope, index.
	ifa := []byte{family, byte(c.PrefixLen), 0, unix.RT_SCOPE_UNIVERSE}
	ifa = binary.NativeEndian.AppendUint32(ifa, uint32(index))
	if err := s.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifa,
		attr(unix.IFA_LOCAL, c.Address), attr(unix.IFA_ADDRESS, c.Address)); err != nil {
		return fmt.Errorf("add address %s to %s: %w", addrString(c.Address, c.PrefixLen), c.Name, err)
	}
	if err := s.request(unix.RTM_NEWLINK, 0, ifinfo(index, unix.IFF_UP)); err != nil {
		return fmt.Errorf("set %s up: %w", c.Name, err)
	}
	if c.Gateway == nil {
		return nil
	}
	// struct rtmsg: family, dst and src length, tos, table, protocol,
	// scope, type, flags.
	rtm := []byte{family, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
	if err := s.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtm,
		attr(unix.RTA_GATEWAY, c.Gateway), attr(unix.RTA_OIF, u32(uint32(index)))); err != nil {
		return fmt.Errorf("add the default route via %s on %s: %w", addrString(c.Gateway, -1), c.Name, err)
	}
	return nil
}

// ifinfo is a struct ifinfomsg for the link index that sets the flags in
// up (IFF_UP or none) and leaves the others.
func ifinfo(index int32, up uint32) []byte {
	b := []byte{unix.AF_UNSPEC, 0, 0, 0} // family, pad, type
	b = binary.NativeEndian.AppendUint32(b, uint32(index))
	b = binary.NativeEndian.AppendUint32(b, up) // flags
	return binary.NativeEndian.AppendUint32(b, up)
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// attr is one struct rtattr with its payload, padded to 4 bytes.
func attr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(unix.SizeofRtAttr+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// route is a NETLINK_ROUTE socket.
type route struct {
	fd  int
	seq uint32
}

func openRoute() (*route, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &route{fd: fd}, nil
}

// request sends one message (header, body, attributes) asking for an
// acknowledgement, and returns the kernel's answer to it.
func (r *route) request(typ, flags uint16, body []byte, attrs ...[]byte) error {
	r.seq++
	msg := make([]byte, unix.NLMSG_HDRLEN, 128)
	msg = append(msg, body...)
	for _, a := range attrs {
		msg = append(msg, a...)
	}
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(msg[8:], r.seq)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return errors.New("malformed rtnetlink reply")
			}
			mtype := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			if seq == r.seq && mtype == unix.NLMSG_ERROR {
				if l < unix.NLMSG_HDRLEN+4 {
					return errors.New("short rtnetlink error message")
				}
				if errno := int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			}
			next := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			if next > len(b) {
				break
			}
			b = b[next:]
		}
	}
}

// MarkedLocal makes packets that carry the firewall mark m local: it sets
// lo up, adds "local 0.0.0.0/0 dev lo" to routing table m and the rule
// "fwmark m lookup m" at priority prio. With net.ipv4.tcp_fwmark_accept
// set, a server's replies to a connection whose SYN carried the mark are
// routed back to this host whatever their destination, so that a socket
// bound to a foreign address with IP_TRANSPARENT receives them. Existing
// entries are kept (EEXIST is not an error).
//
// Preconditions: the caller is in the network namespace with CAP_NET_ADMIN
// over it.
func MarkedLocal(m uint32, prio uint32) error {
	s, err := openRoute()
	if err != nil {
		return fmt.Errorf("open rtnetlink socket: %w", err)
	}
	defer unix.Close(s.fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("find interface lo: %w", err)
	}
	index := int32(ifr.Uint32())
	if err := s.request(unix.RTM_NEWLINK, 0, ifinfo(index, unix.IFF_UP)); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	// struct rtmsg (see Configure); the table goes in RTA_TABLE, which
	// takes numbers above 255.
	rtm := []byte{unix.AF_INET, 0, 0, 0, unix.RT_TABLE_UNSPEC, unix.RTPROT_BOOT, unix.RT_SCOPE_HOST, unix.RTN_LOCAL, 0, 0, 0, 0}
	if err := s.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rtm,
		attr(unix.RTA_TABLE, u32(m)), attr(unix.RTA_OIF, u32(uint32(index)))); err != nil && err != unix.EEXIST {
		return fmt.Errorf("add route local 0.0.0.0/0 dev lo table %d: %w", m, err)
	}
	// struct fib_rule_hdr: family, dst_len, src_len, tos, table, two
	// reserved bytes, action, flags (32 bits).
	frh := []byte{unix.AF_INET, 0, 0, 0, unix.RT_TABLE_UNSPEC, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0}
	if err := s.request(unix.RTM_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, frh,
		attr(unix.FRA_FWMARK, u32(m)), attr(unix.FRA_TABLE, u32(m)), attr(unix.FRA_PRIORITY, u32(prio))); err != nil && err != unix.EEXIST {
		return fmt.Errorf("add rule fwmark %#x lookup %d: %w", m, m, err)
	}
	return nil
}

// Flow names the packets of one flow that a rule matches: to Dst:DstPort
// from source port SrcPort over Proto (IPv4). There is no source address:
// a socket bound to the wildcard has none yet when its route is chosen.
type Flow struct {
	Dst              [4]byte
	SrcPort, DstPort uint16
	Proto            uint8
}

// FlowRule adds (or, with add false, deletes) the rule "to Dst ipproto
// Proto sport SrcPort dport DstPort lookup table" at priority prio: with
// MarkedLocal's table, it routes that flow's packets back to this host.
// Adding an existing rule or deleting a missing one is not an error.
// Linux 4.17 or later (port ranges in rules).
//
// Preconditions: as for MarkedLocal.
func FlowRule(add bool, f Flow, table, prio uint32) error {
	s, err := openRoute()
	if err != nil {
		return fmt.Errorf("open rtnetlink socket: %w", err)
	}
	defer unix.Close(s.fd)
	// struct fib_rule_hdr (see MarkedLocal) with a /32 destination.
	frh := []byte{unix.AF_INET, 32, 0, 0, unix.RT_TABLE_UNSPEC, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0}
	// struct fib_rule_port_range: start and end, in host order.
	ports := func(p uint16) []byte {
		b := binary.NativeEndian.AppendUint16(nil, p)
		return binary.NativeEndian.AppendUint16(b, p)
	}
	typ, flags := uint16(unix.RTM_NEWRULE), uint16(unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	if !add {
		typ, flags = unix.RTM_DELRULE, 0
	}
	err = s.request(typ, flags, frh, attr(unix.FRA_DST, f.Dst[:]),
		attr(unix.FRA_IP_PROTO, []byte{f.Proto}),
		attr(unix.FRA_SPORT_RANGE, ports(f.SrcPort)), attr(unix.FRA_DPORT_RANGE, ports(f.DstPort)),
		attr(unix.FRA_TABLE, u32(table)), attr(unix.FRA_PRIORITY, u32(prio)))
	if (add && err == unix.EEXIST) || (!add && err == unix.ENOENT) {
		err = nil
	}
	if err != nil {
		verb := "add"
		if !add {
			verb = "delete"
		}
		return fmt.Errorf("%s the rule for sport %d -> %s:%d: %w", verb, f.SrcPort, addrString(f.Dst[:], -1), f.DstPort, err)
	}
	return nil
}
