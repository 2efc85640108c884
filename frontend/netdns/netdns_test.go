package netdns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The test networks' containers: web has both families, db only IPv4
// (its name given in upper case and with a trailing dot, as a caller
// might).
var (
	webV4 = netip.MustParseAddr("10.88.0.2")
	webV6 = netip.MustParseAddr("fd00::2")
	dbV4  = netip.MustParseAddr("10.88.0.3")
	web   = Record{Names: []string{"web", "www-alias"}, Addrs: []netip.Addr{webV4, webV6}}
	db    = Record{Names: []string{"DB."}, Addrs: []netip.Addr{dbV4}}
)

// server is a Server serving one network on 127.0.0.1 ephemeral ports.
type server struct {
	udp, tcp string
}

// serve serves network of s on new UDP and TCP sockets, closed (and the
// Serve calls checked to return nil) when the test ends.
func serve(t *testing.T, s *Server, network string) server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- s.ServeUDP(network, pc) }()
	go func() { errs <- s.ServeTCP(network, l) }()
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Serve returned %v after its socket was closed", err)
			}
		}
	})
	return server{udp: pc.LocalAddr().String(), tcp: l.Addr().String()}
}

// newQuery is a query for name and typ, with recursion desired, and an
// EDNS OPT record that says the client takes ednsSize bytes if ednsSize
// is not 0.
func newQuery(t testing.TB, id uint16, name string, typ dnsmessage.Type, ednsSize int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	if ednsSize != 0 {
		if err := b.StartAdditionals(); err != nil {
			t.Fatal(err)
		}
		var h dnsmessage.ResourceHeader
		if err := h.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
			t.Fatal(err)
		}
		if err := b.OPTResource(h, dnsmessage.OPTResource{}); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// exchange sends msg over proto ("udp" or "tcp") to addr and returns the
// reply, or nil if none came within wait.
func exchange(t testing.TB, proto, addr string, msg []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.Dial(proto, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if proto == "tcp" {
		msg = withLength(msg)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if proto == "udp" {
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	var lb [2]byte
	if _, err := io.ReadFull(c, lb[:]); err != nil {
		return nil
	}
	reply := make([]byte, binary.BigEndian.Uint16(lb[:]))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("tcp: a reply cut short: %v", err)
	}
	return reply
}

// ask asks name and typ over proto and returns the reply, checked to be a
// response under the query's ID to the query's question.
func ask(t testing.TB, proto, addr, name string, typ dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	id := uint16(rand.Uint32())
	raw := exchange(t, proto, addr, newQuery(t, id, name, typ, 0), 10*time.Second)
	if raw == nil {
		t.Fatalf("%s %s over %s: no reply", name, typ, proto)
	}
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		t.Fatalf("%s %s over %s: the reply does not parse: %v", name, typ, proto, err)
	}
	if m.ID != id || !m.Response {
		t.Fatalf("%s %s over %s: reply ID %d (want %d), response %v", name, typ, proto, m.ID, id, m.Response)
	}
	if len(m.Questions) != 1 || m.Questions[0].Name.String() != name || m.Questions[0].Type != typ {
		t.Fatalf("%s %s over %s: the reply's question is %v", name, typ, proto, m.Questions)
	}
	return m
}

// answerData lists the data of m's answers: addresses and PTR targets.
func answerData(t testing.TB, m dnsmessage.Message) []string {
	t.Helper()
	var out []string
	for _, a := range m.Answers {
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A).String())
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA).String())
		case *dnsmessage.PTRResource:
			out = append(out, b.PTR.String())
		default:
			t.Fatalf("unexpected answer %v", a.GoString())
		}
	}
	return out
}

// TestLocal: names on the network, in their forms and cases, answered
// from the table over UDP and TCP, and names under dns.podman that are not
// there answered NXDOMAIN; the upstream is never asked.
func TestLocal(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("n", []Record{web, db}, false)
	srv := serve(t, s, "n")
	for _, tc := range []struct {
		name  string
		typ   dnsmessage.Type
		rcode dnsmessage.RCode
		want  []string
	}{
		{"web.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.2"}},
		{"web.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, []string{"fd00::2"}},
		{"WeB.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.2"}},
		{"web.dns.podman.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.2"}},
		{"Web.DNS.Podman.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, []string{"fd00::2"}},
		{"www-alias.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.2"}},
		{"www-alias.dns.podman.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.2"}},
		{"db.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.88.0.3"}},
		{"db.dns.podman.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil}, // only IPv4
		{"db.", dnsmessage.TypeMX, dnsmessage.RCodeSuccess, nil},
		{"2.0.88.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeSuccess, []string{"web.dns.podman."}},
		{"3.0.88.10.IN-ADDR.ARPA.", dnsmessage.TypePTR, dnsmessage.RCodeSuccess, []string{"db.dns.podman."}},
		{reverse6(webV6), dnsmessage.TypePTR, dnsmessage.RCodeSuccess, []string{"web.dns.podman."}},
		{"nope.dns.podman.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"a.b.dns.podman.", dnsmessage.TypeAAAA, dnsmessage.RCodeNameError, nil},
		{"web.other.dns.podman.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"dns.podman.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			addr := srv.udp
			if proto == "tcp" {
				addr = srv.tcp
			}
			m := ask(t, proto, addr, tc.name, tc.typ)
			if m.RCode != tc.rcode || !m.Authoritative || !m.RecursionAvailable {
				t.Errorf("%s %s over %s: %s, authoritative %v, recursion available %v; want %s, authoritative",
					tc.name, tc.typ, proto, m.RCode, m.Authoritative, m.RecursionAvailable, tc.rcode)
			}
			if got := answerData(t, m); !slices.Equal(got, tc.want) {
				t.Errorf("%s %s over %s: %q, want %q", tc.name, tc.typ, proto, got, tc.want)
			}
			for _, a := range m.Answers {
				if a.Header.TTL != 60 || a.Header.Name.String() != tc.name {
					t.Errorf("%s %s over %s: answer %s with TTL %d", tc.name, tc.typ, proto, a.Header.Name, a.Header.TTL)
				}
			}
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("the upstream was asked %d times", n)
	}
}

// reverse6 is a's name in ip6.arpa.
func reverse6(a netip.Addr) string {
	b := a.As16()
	var s strings.Builder
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&s, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return s.String() + "ip6.arpa."
}

// TestResolver: Go's own resolver, as a program in a container would use
// it, finds a container by name and by address.
func TestResolver(t *testing.T) {
	s := New(nil, nil)
	s.SetNetwork("n", []Record{web, db}, false)
	srv := serve(t, s, "n")
	for _, proto := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			if proto == "tcp" {
				return d.DialContext(ctx, "tcp", srv.tcp)
			}
			return d.DialContext(ctx, "udp", srv.udp)
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		addrs, err := r.LookupNetIP(ctx, "ip", "web.dns.podman.")
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		if !slices.Equal(addrs, []netip.Addr{webV4, webV6}) {
			t.Errorf("%s: web is %v", proto, addrs)
		}
		names, err := r.LookupAddr(ctx, "10.88.0.3")
		if err != nil || !slices.Equal(names, []string{"db.dns.podman."}) {
			t.Errorf("%s: 10.88.0.3 is %q, %v", proto, names, err)
		}
		_, err = r.LookupNetIP(ctx, "ip", "nope.dns.podman.")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("%s: nope.dns.podman: %v, want not found", proto, err)
		}
		cancel()
	}
}

// TestIsolation: two networks served on two sockets each see their own
// containers only; a bare name from the other network is forwarded (and
// the upstream does not know it), never answered from the other table.
func TestIsolation(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("a", []Record{web}, false)
	s.SetNetwork("b", []Record{db}, false)
	a, b := serve(t, s, "a"), serve(t, s, "b")
	for _, tc := range []struct {
		srv      server
		name     string
		want     []string
		rcode    dnsmessage.RCode
		upstream bool
	}{
		{a, "web.", []string{"10.88.0.2"}, dnsmessage.RCodeSuccess, false},
		{a, "db.dns.podman.", nil, dnsmessage.RCodeNameError, false},
		{a, "db.", nil, dnsmessage.RCodeNameError, true},
		{b, "db.", []string{"10.88.0.3"}, dnsmessage.RCodeSuccess, false},
		{b, "web.dns.podman.", nil, dnsmessage.RCodeNameError, false},
		{b, "web.", nil, dnsmessage.RCodeNameError, true},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			addr := tc.srv.udp
			if proto == "tcp" {
				addr = tc.srv.tcp
			}
			before := up.queries.Load()
			m := ask(t, proto, addr, tc.name, dnsmessage.TypeA)
			if got := answerData(t, m); m.RCode != tc.rcode || !slices.Equal(got, tc.want) {
				t.Errorf("%s over %s: %s %q, want %s %q", tc.name, proto, m.RCode, got, tc.rcode, tc.want)
			}
			if asked := up.queries.Load() > before; asked != tc.upstream {
				t.Errorf("%s over %s: upstream asked %v, want %v", tc.name, proto, asked, tc.upstream)
			}
		}
	}
}

// TestView: a client on two networks (its view, keyed by its address on
// the network it asks) is answered from both networks' records over both
// protocols; any other client of the same network still sees that
// network's alone, and setting the network again without the view takes it
// away.
func TestView(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	client := netip.MustParseAddr("127.0.0.1")
	other := netip.MustParseAddr("127.0.0.2")
	both := []Record{web, db}
	s.SetNetwork("a", []Record{web}, false, View{Client: client, Records: both})
	s.SetNetwork("b", []Record{db}, false, View{Client: other, Records: []Record{db, web}})
	a, b := serve(t, s, "a"), serve(t, s, "b")
	check := func(srv server, name string, want []string, rcode dnsmessage.RCode) {
		t.Helper()
		for _, proto := range []string{"udp", "tcp"} {
			addr := srv.udp
			if proto == "tcp" {
				addr = srv.tcp
			}
			m := ask(t, proto, addr, name, dnsmessage.TypeA)
			if got := answerData(t, m); m.RCode != rcode || !slices.Equal(got, want) {
				t.Errorf("%s over %s: %s %q, want %s %q", name, proto, m.RCode, got, rcode, want)
			}
		}
	}
	check(a, "db.dns.podman.", []string{"10.88.0.3"}, dnsmessage.RCodeSuccess)
	check(a, "web.", []string{"10.88.0.2"}, dnsmessage.RCodeSuccess)
	// On b, the view is another client's: 127.0.0.1 sees b alone.
	check(b, "web.dns.podman.", nil, dnsmessage.RCodeNameError)
	check(b, "db.", []string{"10.88.0.3"}, dnsmessage.RCodeSuccess)
	s.SetNetwork("a", []Record{web}, false)
	check(a, "db.dns.podman.", nil, dnsmessage.RCodeNameError)
}

// upstream is a fake resolver on 127.0.0.1, on the same port over UDP and
// TCP. Its answer function sees each query and how it came; the default
// one answers example.com's A with 192.0.2.1 and NXDOMAIN to the rest.
type upstream struct {
	addr    netip.AddrPort
	queries atomic.Int32 // over either protocol
	tcp     atomic.Int32 // over TCP
	ids     sync.Map     // the IDs it saw
}

type answerFunc func(q dnsmessage.Message, overTCP bool) *dnsmessage.Message

func newUpstream(t *testing.T, answer answerFunc) *upstream {
	t.Helper()
	if answer == nil {
		answer = func(q dnsmessage.Message, _ bool) *dnsmessage.Message {
			r := reply(q, dnsmessage.RCodeNameError)
			if strings.EqualFold(q.Questions[0].Name.String(), "example.com.") && q.Questions[0].Type == dnsmessage.TypeA {
				r.RCode = dnsmessage.RCodeSuccess
				r.Answers = []dnsmessage.Resource{aRecord(q.Questions[0].Name, "192.0.2.1")}
			}
			return r
		}
	}
	var pc net.PacketConn
	var l net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no port free over both UDP and TCP")
	}
	u := &upstream{addr: netip.MustParseAddrPort(pc.LocalAddr().String())}
	handle := func(raw []byte, overTCP bool) []byte {
		var q dnsmessage.Message
		if err := q.Unpack(raw); err != nil || len(q.Questions) != 1 {
			t.Errorf("upstream: a query that does not parse: %v", err)
			return nil
		}
		u.queries.Add(1)
		if overTCP {
			u.tcp.Add(1)
		}
		u.ids.Store(q.ID, true)
		r := answer(q, overTCP)
		if r == nil {
			return nil
		}
		out, err := r.Pack()
		if err != nil {
			t.Errorf("upstream: %v", err)
			return nil
		}
		return out
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := handle(buf[:n], false); out != nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var lb [2]byte
				if _, err := io.ReadFull(c, lb[:]); err != nil {
					return
				}
				raw := make([]byte, binary.BigEndian.Uint16(lb[:]))
				if _, err := io.ReadFull(c, raw); err != nil {
					return
				}
				if out := handle(raw, true); out != nil {
					_, _ = c.Write(withLength(out))
				}
			})
		}
	})
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		wg.Wait()
	})
	return u
}

// reply is an empty reply to q.
func reply(q dnsmessage.Message, rcode dnsmessage.RCode) *dnsmessage.Message {
	return &dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, Response: true, RecursionDesired: q.RecursionDesired, RecursionAvailable: true, RCode: rcode},
		Questions: q.Questions,
	}
}

func aRecord(name dnsmessage.Name, addr string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 300},
		Body:   &dnsmessage.AResource{A: netip.MustParseAddr(addr).As4()},
	}
}

// TestForward: other names go to the upstream, over the client's
// protocol, and its answer comes back under the client's ID; the
// upstream sees an ID of the server's own.
func TestForward(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("n", []Record{web}, false)
	srv := serve(t, s, "n")

	m := ask(t, "udp", srv.udp, "Example.COM.", dnsmessage.TypeA)
	if got := answerData(t, m); m.RCode != dnsmessage.RCodeSuccess || m.Authoritative || !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("over udp: %s %q, authoritative %v", m.RCode, got, m.Authoritative)
	}
	if up.queries.Load() != 1 || up.tcp.Load() != 0 {
		t.Errorf("over udp: the upstream saw %d queries, %d over TCP", up.queries.Load(), up.tcp.Load())
	}
	if m.Answers[0].Header.TTL != 300 {
		t.Errorf("the upstream's TTL became %d", m.Answers[0].Header.TTL)
	}

	m = ask(t, "tcp", srv.tcp, "example.com.", dnsmessage.TypeA)
	if got := answerData(t, m); m.RCode != dnsmessage.RCodeSuccess || !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("over tcp: %s %q", m.RCode, got)
	}
	if up.queries.Load() != 2 || up.tcp.Load() != 1 {
		t.Errorf("over tcp: the upstream saw %d queries, %d over TCP", up.queries.Load(), up.tcp.Load())
	}

	// A bare name that is not on the network is forwarded too.
	m = ask(t, "udp", srv.udp, "printer.", dnsmessage.TypeA)
	if m.RCode != dnsmessage.RCodeNameError || up.queries.Load() != 3 {
		t.Errorf("printer: %s, the upstream saw %d queries", m.RCode, up.queries.Load())
	}

	// A PTR for an address that is not on the network is forwarded.
	m = ask(t, "udp", srv.udp, "1.2.0.192.in-addr.arpa.", dnsmessage.TypePTR)
	if m.RCode != dnsmessage.RCodeNameError || up.queries.Load() != 4 {
		t.Errorf("PTR 192.0.2.1: %s, the upstream saw %d queries", m.RCode, up.queries.Load())
	}
}

// TestForwardOwnID: the upstream sees an ID chosen by the server, not the
// client's (over many queries, at most a chance match).
func TestForwardOwnID(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("n", nil, false)
	srv := serve(t, s, "n")
	same := 0
	for id := range uint16(20) {
		raw := exchange(t, "udp", srv.udp, newQuery(t, id, "example.com.", dnsmessage.TypeA, 0), 10*time.Second)
		if raw == nil || binary.BigEndian.Uint16(raw) != id {
			t.Fatalf("query %d: reply %x", id, raw)
		}
		if _, ok := up.ids.Load(id); ok {
			same++
		}
	}
	if same > 2 {
		t.Errorf("the upstream saw the client's ID %d times in 20", same)
	}
}

// TestTruncated: a truncated UDP reply is asked again over TCP; the full
// reply goes to the client if it fits, and otherwise a truncated one that
// sends the client to TCP, where it gets all of it.
func TestTruncated(t *testing.T) {
	records := 3
	up := newUpstream(t, func(q dnsmessage.Message, overTCP bool) *dnsmessage.Message {
		r := reply(q, dnsmessage.RCodeSuccess)
		if !overTCP {
			r.Truncated = true
			return r
		}
		for i := range records {
			r.Answers = append(r.Answers, aRecord(q.Questions[0].Name, fmt.Sprintf("192.0.2.%d", i+1)))
		}
		return r
	})
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("n", nil, false)
	srv := serve(t, s, "n")

	m := ask(t, "udp", srv.udp, "big.example.", dnsmessage.TypeA)
	if m.Truncated || len(m.Answers) != 3 || up.tcp.Load() != 1 {
		t.Errorf("3 records: truncated %v, %d answers, %d queries over TCP", m.Truncated, len(m.Answers), up.tcp.Load())
	}

	records = 60 // 60 A records with uncompressed names: over 512 bytes
	m = ask(t, "udp", srv.udp, "big.example.", dnsmessage.TypeA)
	if !m.Truncated || len(m.Answers) != 0 {
		t.Errorf("60 records over udp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
	m = ask(t, "tcp", srv.tcp, "big.example.", dnsmessage.TypeA)
	if m.Truncated || len(m.Answers) != 60 {
		t.Errorf("60 records over tcp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
	// A client with a large EDNS buffer gets them all over UDP.
	raw := exchange(t, "udp", srv.udp, newQuery(t, 7, "big.example.", dnsmessage.TypeA, 4096), 10*time.Second)
	var big dnsmessage.Message
	if err := big.Unpack(raw); err != nil || big.Truncated || len(big.Answers) != 60 || big.ID != 7 {
		t.Errorf("60 records, EDNS 4096: %v, truncated %v, %d answers, ID %d", err, big.Truncated, len(big.Answers), big.ID)
	}
}

// TestLocalTruncated: a local answer too large for UDP is truncated too.
func TestLocalTruncated(t *testing.T) {
	var many Record
	many.Names = []string{"many"}
	for i := range 40 {
		many.Addrs = append(many.Addrs, netip.AddrFrom4([4]byte{10, 88, 1, byte(i)}))
	}
	s := New(nil, nil)
	s.SetNetwork("n", []Record{many}, false)
	srv := serve(t, s, "n")
	if m := ask(t, "udp", srv.udp, "many.", dnsmessage.TypeA); !m.Truncated || len(m.Answers) != 0 {
		t.Errorf("over udp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
	if m := ask(t, "tcp", srv.tcp, "many.", dnsmessage.TypeA); m.Truncated || len(m.Answers) != 40 {
		t.Errorf("over tcp: truncated %v, %d answers", m.Truncated, len(m.Answers))
	}
}

// TestUpstreamFailures: upstreams that refuse the connection, never
// answer, or answer SERVFAIL are passed over for the next; when none
// answers, the client gets SERVFAIL within the timeout, and one line in
// the log.
func TestUpstreamFailures(t *testing.T) {
	// A port with nothing on it: the kernel refuses at once.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	// A socket that reads and never answers.
	silentConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentConn.Close()
	silent := netip.MustParseAddrPort(silentConn.LocalAddr().String())
	servfail := newUpstream(t, func(q dnsmessage.Message, _ bool) *dnsmessage.Message {
		return reply(q, dnsmessage.RCodeServerFailure)
	})
	good := newUpstream(t, nil)

	for _, tc := range []struct {
		name      string
		upstreams []netip.AddrPort
		rcode     dnsmessage.RCode
		answered  bool
	}{
		{"none", nil, dnsmessage.RCodeServerFailure, false},
		{"refused", []netip.AddrPort{closed}, dnsmessage.RCodeServerFailure, false},
		{"silent", []netip.AddrPort{silent}, dnsmessage.RCodeServerFailure, false},
		{"servfail", []netip.AddrPort{servfail.addr}, dnsmessage.RCodeServerFailure, false},
		{"refused then good", []netip.AddrPort{closed, good.addr}, dnsmessage.RCodeSuccess, true},
		{"silent then good", []netip.AddrPort{silent, good.addr}, dnsmessage.RCodeSuccess, true},
		{"servfail then good", []netip.AddrPort{servfail.addr, good.addr}, dnsmessage.RCodeSuccess, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log syncBuffer
			s := New(tc.upstreams, &log)
			s.timeout = time.Second
			s.SetNetwork("n", nil, false)
			srv := serve(t, s, "n")
			start := time.Now()
			m := ask(t, "udp", srv.udp, "example.com.", dnsmessage.TypeA)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v with a timeout of 1s", took)
			}
			if m.RCode != tc.rcode || (len(m.Answers) == 1) != tc.answered {
				t.Errorf("%s with %d answers, want %s", m.RCode, len(m.Answers), tc.rcode)
			}
			lines := strings.Count(log.String(), "\n")
			if tc.rcode == dnsmessage.RCodeServerFailure && tc.name != "servfail" && lines != 1 {
				t.Errorf("log: %q, want one line", log.String())
			}
			if tc.answered && lines != 0 {
				t.Errorf("log: %q, want nothing", log.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer for the server's log, read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestInternal: an internal network answers its own names and refuses
// the rest, without asking the upstream; so do a network never set and
// one removed.
func TestInternal(t *testing.T) {
	up := newUpstream(t, nil)
	s := New([]netip.AddrPort{up.addr}, nil)
	s.SetNetwork("internal", []Record{web}, true)
	s.SetNetwork("gone", []Record{web}, false)
	s.RemoveNetwork("gone")
	internal, unset, gone := serve(t, s, "internal"), serve(t, s, "unset"), serve(t, s, "gone")
	for _, proto := range []string{"udp", "tcp"} {
		addr := func(srv server) string {
			if proto == "tcp" {
				return srv.tcp
			}
			return srv.udp
		}
		m := ask(t, proto, addr(internal), "web.", dnsmessage.TypeA)
		if got := answerData(t, m); m.RCode != dnsmessage.RCodeSuccess || !slices.Equal(got, []string{"10.88.0.2"}) || m.RecursionAvailable {
			t.Errorf("internal, web over %s: %s %q, recursion available %v", proto, m.RCode, got, m.RecursionAvailable)
		}
		if m := ask(t, proto, addr(internal), "nope.dns.podman.", dnsmessage.TypeA); m.RCode != dnsmessage.RCodeNameError {
			t.Errorf("internal, nope.dns.podman over %s: %s", proto, m.RCode)
		}
		for name, srv := range map[string]server{"internal": internal, "unset": unset, "gone": gone} {
			for _, q := range []string{"example.com.", "printer."} {
				if m := ask(t, proto, addr(srv), q, dnsmessage.TypeA); m.RCode != dnsmessage.RCodeRefused || len(m.Answers) != 0 {
					t.Errorf("%s, %s over %s: %s, want REFUSED", name, q, proto, m.RCode)
				}
			}
		}
		if m := ask(t, proto, addr(gone), "web.", dnsmessage.TypeA); m.RCode != dnsmessage.RCodeRefused {
			t.Errorf("gone, web over %s: %s, want REFUSED", proto, m.RCode)
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("the upstream was asked %d times", n)
	}
}

// TestSetNetworkWhileServing: queries running while the table changes
// see the old table or the new one (run it with -race).
func TestSetNetworkWhileServing(t *testing.T) {
	old := Record{Names: []string{"web"}, Addrs: []netip.Addr{webV4}}
	moved := Record{Names: []string{"web"}, Addrs: []netip.Addr{netip.MustParseAddr("10.88.0.9")}}
	s := New(nil, nil)
	s.SetNetwork("n", []Record{old}, false)
	srv := serve(t, s, "n")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.SetNetwork("n", []Record{moved, db}, false)
			} else {
				s.SetNetwork("n", []Record{old}, false)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for i := range 50 {
				proto, addr := "udp", srv.udp
				if i%5 == 0 {
					proto, addr = "tcp", srv.tcp
				}
				m := ask(t, proto, addr, "web.", dnsmessage.TypeA)
				if got := answerData(t, m); len(got) != 1 || (got[0] != "10.88.0.2" && got[0] != "10.88.0.9") {
					t.Errorf("web is %q", got)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// TestMalformed: what is not a well-formed query is dropped (UDP) or ends
// the connection (TCP), and the server goes on answering; a query with
// two questions gets FORMERR, another opcode NOTIMP.
func TestMalformed(t *testing.T) {
	s := New(nil, nil)
	s.SetNetwork("n", []Record{web}, false)
	srv := serve(t, s, "n")
	good := newQuery(t, 1, "web.", dnsmessage.TypeA, 0)
	response := append([]byte(nil), good...)
	response[2] |= 0x80 // QR
	for name, msg := range map[string][]byte{
		"empty":       {},
		"short":       {0, 1, 0},
		"header only": good[:12],
		"cut":         good[:len(good)-3],
		"response":    response,
		"pointer loop": {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
			0xc0, 12, 0, 1, 0, 1},
	} {
		if name != "empty" {
			if reply := exchange(t, "udp", srv.udp, msg, 200*time.Millisecond); reply != nil {
				t.Errorf("%s over udp: reply %x", name, reply)
			}
		}
		c, err := net.Dial("tcp", srv.tcp)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(withLength(msg)); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("%s over tcp: read %d bytes, %v; want the connection closed", name, n, err)
		}
		c.Close()
	}

	// A length over the limit closes the connection before it is read.
	c, err := net.Dial("tcp", srv.tcp)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte{0xff, 0xff})
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("a length of 65535 over tcp: read %d bytes, %v; want the connection closed", n, err)
	}
	c.Close()

	two := dnsmessage.Message{Header: dnsmessage.Header{ID: 2}, Questions: []dnsmessage.Question{
		{Name: dnsmessage.MustNewName("web."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		{Name: dnsmessage.MustNewName("web."), Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET},
	}}
	notify := dnsmessage.Message{Header: dnsmessage.Header{ID: 3, OpCode: 4}, Questions: two.Questions[:1]}
	for _, tc := range []struct {
		msg   dnsmessage.Message
		rcode dnsmessage.RCode
	}{
		{two, dnsmessage.RCodeFormatError},
		{notify, dnsmessage.RCodeNotImplemented},
		{dnsmessage.Message{Header: dnsmessage.Header{ID: 4}}, dnsmessage.RCodeFormatError},
	} {
		raw, err := tc.msg.Pack()
		if err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{srv.udp, srv.tcp} {
			proto := "udp"
			if addr == srv.tcp {
				proto = "tcp"
			}
			var m dnsmessage.Message
			if err := m.Unpack(exchange(t, proto, addr, raw, 5*time.Second)); err != nil || m.ID != tc.msg.ID || m.RCode != tc.rcode {
				t.Errorf("%d questions, opcode %d over %s: %v, %s, want %s", len(tc.msg.Questions), tc.msg.OpCode, proto, err, m.RCode, tc.rcode)
			}
		}
	}

	// And the server still answers.
	if m := ask(t, "udp", srv.udp, "web.", dnsmessage.TypeA); len(m.Answers) != 1 {
		t.Errorf("after all that: %d answers", len(m.Answers))
	}
}

// TestLimits: past the bound on forwarded queries a query gets SERVFAIL
// at once, and past the bound on TCP connections a connection is closed;
// local names are still answered; each refusal is logged.
func TestLimits(t *testing.T) {
	up := newUpstream(t, nil)
	var log syncBuffer
	s := New([]netip.AddrPort{up.addr}, &log)
	s.forwarding = make(chan struct{}) // no room: every forward is one too many
	s.SetNetwork("n", []Record{web}, false)
	srv := serve(t, s, "n")
	for _, proto := range []string{"udp", "tcp"} {
		addr := srv.udp
		if proto == "tcp" {
			addr = srv.tcp
		}
		if m := ask(t, proto, addr, "example.com.", dnsmessage.TypeA); m.RCode != dnsmessage.RCodeServerFailure {
			t.Errorf("forwarding over %s: %s, want SERVFAIL", proto, m.RCode)
		}
		if m := ask(t, proto, addr, "web.", dnsmessage.TypeA); len(m.Answers) != 1 {
			t.Errorf("web over %s: %d answers", proto, len(m.Answers))
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("the upstream was asked %d times", n)
	}
	if !strings.Contains(log.String(), errBusy.Error()) {
		t.Errorf("log: %q", log.String())
	}

	s = New(nil, &log)
	s.tcpConns = make(chan struct{}) // no room for a connection
	s.SetNetwork("n", []Record{web}, false)
	srv = serve(t, s, "n")
	c, err := net.Dial("tcp", srv.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(withLength(newQuery(t, 1, "web.", dnsmessage.TypeA, 0)))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("a connection past the bound: read %d bytes, %v; want it closed", n, err)
	}
}

// TestTCPIdle: a connection that sends nothing is closed.
func TestTCPIdle(t *testing.T) {
	s := New(nil, nil)
	s.idle = 300 * time.Millisecond
	srv := serve(t, s, "n")
	// Before the dial: the server's idle time starts at its accept,
	// which may come before Dial returns here.
	start := time.Now()
	c, err := net.Dial("tcp", srv.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read %d bytes, %v", n, err)
	}
	if took := time.Since(start); took < s.idle || took > 5*time.Second {
		t.Errorf("closed after %v, want %v", took, s.idle)
	}
}

// TestRateLog: one line a period, the lines held back counted in the
// next one.
func TestRateLog(t *testing.T) {
	now := time.Unix(1000, 0)
	var out bytes.Buffer
	r := &rateLog{w: &out, every: time.Second, now: func() time.Time { return now }}
	for i := range 5 {
		r.logf("failed %d", i)
		now = now.Add(100 * time.Millisecond)
	}
	now = now.Add(500 * time.Millisecond)
	r.logf("failed %d", 5)
	now = now.Add(time.Second)
	r.logf("failed %d", 6)
	want := "netdns: failed 0\nnetdns: failed 5 (and 4 more since the last line)\nnetdns: failed 6\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestTable: names the server could never be asked for are left out,
// addresses are unmapped, duplicates merged (two containers with one
// alias: both addresses).
func TestTable(t *testing.T) {
	long := strings.Repeat("x", 64)
	mapped := netip.MustParseAddr("::ffff:10.88.0.5")
	tbl := newTable([]Record{
		{Names: []string{long, "ok", "Shared"}, Addrs: []netip.Addr{mapped, mapped}},
		{Names: []string{"shared.", "", "a..b"}, Addrs: []netip.Addr{dbV4, {}}},
	}, false)
	want := map[string][]netip.Addr{
		"ok":     {netip.MustParseAddr("10.88.0.5")},
		"shared": {netip.MustParseAddr("10.88.0.5"), dbV4},
	}
	if len(tbl.byName) != len(want) {
		t.Errorf("names: %v", tbl.byName)
	}
	for k, v := range want {
		if !slices.Equal(tbl.byName[k], v) {
			t.Errorf("%s: %v, want %v", k, tbl.byName[k], v)
		}
	}
	if got := tbl.byAddr[netip.MustParseAddr("10.88.0.5")]; !slices.Equal(got, []string{"ok.dns.podman."}) {
		t.Errorf("PTR 10.88.0.5: %q", got)
	}
	if got := tbl.byAddr[dbV4]; !slices.Equal(got, []string{"shared.dns.podman."}) {
		t.Errorf("PTR 10.88.0.3: %q", got)
	}
}

// BenchmarkLookup: deciding and building the answer to a local A query.
func BenchmarkLookup(b *testing.B) {
	s := New(nil, nil)
	s.SetNetwork("n", []Record{web, db}, false)
	msg := newQuery(b, 1, "web.dns.podman.", dnsmessage.TypeA, 1232)
	b.ReportAllocs()
	for b.Loop() {
		v, err := s.table("n", nil).answer(msg)
		if err != nil || len(v.reply) == 0 {
			b.Fatal(v, err)
		}
	}
}
