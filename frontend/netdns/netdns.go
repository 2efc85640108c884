// Package netdns is the DNS server of myctr's rootless named networks: the
// holder (the per-user process that owns the networks' bridges) serves each
// network on that network's gateway address, port 53, one UDP socket and
// one TCP listener, and containers on the network find each other there
// by container name and alias.
//
// # Why a resolver of our own
//
// Podman runs aardvark-dns, a separate program that reads one config file
// per network, written by netavark and re-read on SIGHUP. We answer in the
// holder's own process instead:
//   - one fewer program to install, version and keep in step with myctr;
//   - the holder already knows every attachment when it makes it, so it
//     hands the records over with a function call (SetNetwork), and there
//     are no config files whose writers and reader can race (a container
//     started while the table is being rewritten, a signal lost between
//     two writes);
//   - the job is small: answer A, AAAA and PTR from a table, and relay
//     everything else. golang.org/x/net/dns/dnsmessage parses and builds
//     the packets; the rest is this package, under 1,000 lines with its
//     comments.
//
// # What it answers
//
// A query for a name on the network (case-insensitive, with or without the
// trailing dot, bare "web" or under the search domain "web.dns.podman")
// is answered from the table: A with the container's IPv4 addresses, AAAA
// with its IPv6 ones (NOERROR and no answer when it has only the other
// family), TTL 60 s, the TTL aardvark-dns gives (its CONTAINER_TTL:
// containers come and go, so clients must not keep an address long). A PTR
// query for an address on the network (in-addr.arpa or ip6.arpa) is
// answered with the container's name under the search domain,
// "web.dns.podman.". Names of other networks are in other tables, so they
// never resolve here: isolation comes from each socket serving one table.
// A container on several networks is the one exception, as with
// aardvark-dns: asking from its address on any of them, it is answered
// from the records of all of them (its view, set with the network), since
// its resolv.conf names one server and that server must know every name
// the container can reach. The others on those networks still see only
// their own network's names.
//
// A name under dns.podman that is not on the network is NXDOMAIN,
// authoritative, and never forwarded: the zone is ours and nobody
// upstream knows it. A bare single-label name that is not on the network
// ("printer") is forwarded: the host's resolver may know it (its search
// domains, LLMNR through systemd-resolved, a corporate resolver), and
// otherwise says NXDOMAIN itself. aardvark-dns answers NXDOMAIN there; we
// prefer what the same program would see on the host. glibc asks
// "printer.dns.podman" first anyway (resolv.conf's "search dns.podman"),
// which we answer at once.
//
// Everything else is forwarded to the upstream resolvers in order:
// over UDP first, over TCP again when the UDP reply is truncated, and over
// TCP only when the client asked over TCP. The upstream sees the client's
// query as it came, under an ID of our choosing (so a reply cannot be
// forged by guessing the client's), and the client gets the reply under
// its own ID. A reply of SERVFAIL, REFUSED or NOTIMP moves on to the next
// upstream (and is relayed when no upstream does better); no reply from
// any of them within 5 s in all is SERVFAIL. On an internal network
// nothing is forwarded: the answer is REFUSED, "for policy reasons"
// (RFC 1035), which tells the client this server will not help rather than
// that it is failing (SERVFAIL) and should be asked again. (aardvark-dns
// says NXDOMAIN to whatever it does not forward, which claims more than
// we know.)
//
// A query with more than one question (which no resolver sends and
// RFC 9619 forbids) is answered FORMERR; other opcodes NOTIMP; a message
// that does not parse is dropped (UDP) or ends the connection (TCP); a
// message that is itself a response is dropped, so that two servers
// pointed at each other cannot loop.
//
// # Bounds
//
// At most maxForwarding queries are being forwarded at once per Server
// (past that: SERVFAIL at once); at most maxTCPConns TCP connections per
// Server, each closed after tcpIdle without a complete query and carrying
// queries of at most maxTCPQuery bytes, answered one after another. Local
// answers over UDP that would not fit the client's buffer (512 bytes, or
// its EDNS size) are sent truncated, so that the client asks over TCP.
// Failures are logged one line each, at most one line a second (the rest
// counted in the next line).
package netdns

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// SearchDomain is the domain under which containers' names are
	// also answered; containers' resolv.conf says "search dns.podman".
	SearchDomain = "dns.podman"
	// ttl is the TTL of our answers, aardvark-dns's CONTAINER_TTL.
	ttl = 60
	// forwardTimeout bounds the forwarding of one query, all upstreams
	// together.
	forwardTimeout = 5 * time.Second
	// maxForwarding bounds the queries being forwarded at once, each of
	// which holds a socket and a goroutine.
	maxForwarding = 256
	// maxTCPConns bounds the TCP connections open at once.
	maxTCPConns = 128
	// tcpIdle is how long a TCP connection may wait for its next query
	// (or take to send it, or to take our reply).
	tcpIdle = 10 * time.Second
	// maxTCPQuery bounds a query over TCP: queries are small (one
	// question and an OPT record), and a client that says it will send
	// more is not a resolver.
	maxTCPQuery = 4096
)

// Record is one container on a network: its name and aliases, and its
// addresses on this network. Names are matched case-insensitively and
// without a trailing dot; a name that cannot be a DNS name (a label longer
// than 63 bytes) can never be asked for, so it never resolves.
type Record struct {
	Names []string
	Addrs []netip.Addr
}

// Server answers the DNS queries of the containers on the named networks.
// Create it with New; it is safe for concurrent use.
type Server struct {
	upstreams []netip.AddrPort
	log       *rateLog
	timeout   time.Duration // forwardTimeout; shorter in tests
	idle      time.Duration // tcpIdle; shorter in tests

	mu       sync.RWMutex
	networks map[string]*tables

	forwarding chan struct{} // a token per query being forwarded
	tcpConns   chan struct{} // a token per open TCP connection
}

// New returns a Server that forwards to upstreams, in order, and logs its
// failures to log (nil: nowhere). It serves nothing until SetNetwork and
// ServeUDP or ServeTCP are called.
func New(upstreams []netip.AddrPort, log io.Writer) *Server {
	if log == nil {
		log = io.Discard
	}
	return &Server{
		upstreams:  append([]netip.AddrPort(nil), upstreams...),
		log:        &rateLog{w: log, every: time.Second, now: time.Now},
		timeout:    forwardTimeout,
		idle:       tcpIdle,
		networks:   map[string]*tables{},
		forwarding: make(chan struct{}, maxForwarding),
		tcpConns:   make(chan struct{}, maxTCPConns),
	}
}

// View is what a container on more than one network is answered from:
// Client is its address on the network being set, Records the records of
// all its networks (this one's first, so that a name on both answers with
// this network's address first).
type View struct {
	Client  netip.Addr
	Records []Record
}

// SetNetwork replaces network's table with records, and its views, at
// once: a query being answered sees the old table or the new one, never a
// mix. internal means nothing is forwarded. It is safe while serving; call
// it before serving the network, which until then answers nothing itself
// and forwards nothing (REFUSED).
func (s *Server) SetNetwork(network string, records []Record, internal bool, views ...View) {
	t := &tables{base: newTable(records, internal)}
	for _, v := range views {
		if t.views == nil {
			t.views = map[netip.Addr]*table{}
		}
		t.views[v.Client.Unmap().WithZone("")] = newTable(v.Records, internal)
	}
	s.mu.Lock()
	s.networks[network] = t
	s.mu.Unlock()
}

// RemoveNetwork forgets network's table: a socket still serving it
// answers REFUSED to everything from then on.
func (s *Server) RemoveNetwork(network string) {
	s.mu.Lock()
	delete(s.networks, network)
	s.mu.Unlock()
}

// table returns the table that answers client on network: its view, or
// the network's own table; a network not (or no longer) set is empty and
// internal.
func (s *Server) table(network string, client net.Addr) *table {
	s.mu.RLock()
	t := s.networks[network]
	s.mu.RUnlock()
	if t == nil {
		return unknownNetwork
	}
	if len(t.views) > 0 {
		var a netip.Addr
		switch c := client.(type) {
		case *net.UDPAddr:
			a, _ = netip.AddrFromSlice(c.IP)
		case *net.TCPAddr:
			a, _ = netip.AddrFromSlice(c.IP)
		}
		if v := t.views[a.Unmap()]; v != nil {
			return v
		}
	}
	return t.base
}

// tables is one network's table and the views of its containers that are
// on other networks too.
type tables struct {
	base  *table
	views map[netip.Addr]*table // by the client's address on this network
}

// table is one network's records, never changed once made.
type table struct {
	byName   map[string][]netip.Addr // key: lower case, no trailing dot
	byAddr   map[netip.Addr][]string // the PTR targets, "web.dns.podman."
	internal bool
}

var unknownNetwork = &table{internal: true}

func newTable(records []Record, internal bool) *table {
	t := &table{byName: map[string][]netip.Addr{}, byAddr: map[netip.Addr][]string{}, internal: internal}
	for _, r := range records {
		var addrs []netip.Addr
		for _, a := range r.Addrs {
			if a.IsValid() {
				addrs = append(addrs, a.Unmap().WithZone(""))
			}
		}
		ptr := ""
		for _, n := range r.Names {
			key := canonical(n)
			if !validName(key) {
				continue
			}
			if ptr == "" {
				ptr = key + "." + SearchDomain + "."
			}
			for _, a := range addrs {
				if !slices.Contains(t.byName[key], a) {
					t.byName[key] = append(t.byName[key], a)
				}
			}
		}
		if ptr == "" || len(ptr) > 254 {
			continue
		}
		for _, a := range addrs {
			if !slices.Contains(t.byAddr[a], ptr) {
				t.byAddr[a] = append(t.byAddr[a], ptr)
			}
		}
	}
	return t
}

// canonical is name in lower case (ASCII only, as DNS compares names)
// without its trailing dot.
func canonical(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return name
}

// validName reports whether name (canonical) can be asked for: non-empty
// labels of at most 63 bytes, at most 253 bytes in all.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}
