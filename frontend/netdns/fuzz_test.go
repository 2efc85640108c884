package netdns

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzHandle: no input makes the packet handling panic, and every reply
// it builds parses, fits the client's UDP buffer once fitted, and carries
// the query's ID. The same bytes, taken as an upstream's reply, go through
// the checks and the truncation that upstream replies go through.
func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name string
		typ  dnsmessage.Type
		edns int
	}{
		{"web.", dnsmessage.TypeA, 0},
		{"WEB.dns.podman.", dnsmessage.TypeAAAA, 1232},
		{"many.", dnsmessage.TypeA, 0},
		{"2.0.88.10.in-addr.arpa.", dnsmessage.TypePTR, 0},
		{reverse6(webV6), dnsmessage.TypePTR, 4096},
		{"nope.dns.podman.", dnsmessage.TypeA, 0},
		{"example.com.", dnsmessage.TypeMX, 0},
		{".", dnsmessage.TypeNS, 0},
	} {
		f.Add(newQuery(f, 0x1234, q.name, q.typ, q.edns))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	f.Add([]byte{0, 1, 0x80, 0, 0, 2, 0, 1, 0, 0, 0, 0})

	var many Record
	many.Names = []string{"many"}
	for i := range 40 {
		many.Addrs = append(many.Addrs, netip.AddrFrom4([4]byte{10, 88, 1, byte(i)}))
	}
	tables := []*table{
		newTable([]Record{web, db, many}, false),
		newTable([]Record{web}, true),
		unknownNetwork,
	}
	question := dnsmessage.Question{Name: dnsmessage.MustNewName("web."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, tbl := range tables {
			v, err := tbl.answer(msg)
			if err != nil || v.forward {
				continue
			}
			var p dnsmessage.Parser
			h, err := p.Start(v.reply)
			if err != nil {
				t.Fatalf("the reply does not parse: %v", err)
			}
			if !h.Response || h.ID != v.q.header.ID {
				t.Fatalf("reply header %+v to a query with ID %d", h, v.q.header.ID)
			}
			if fitted := fitUDP(v.reply, v.q.udpSize); fitted == nil || len(fitted) > v.q.udpSize {
				t.Fatalf("a reply of %d bytes fitted to %d: %d bytes", len(v.reply), v.q.udpSize, len(fitted))
			}
			_ = tbl.failure(v.q)
		}
		_ = fitUDP(msg, minUDPSize)
		_ = matches(msg, 0x1234, question)
	})
}
