package netdns

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// minUDPSize is the largest reply every client takes over UDP (RFC 1035);
// a client that sends an EDNS OPT record says how much more it takes.
const minUDPSize = 512

// query is what the server needs of a client's query.
type query struct {
	header   dnsmessage.Header
	question dnsmessage.Question // the only one
	udpSize  int                 // the largest UDP reply the client takes
}

// verdict is what to do with a query: send reply, or forward the query
// and relay the upstream's reply.
type verdict struct {
	q       query
	reply   []byte
	forward bool
}

// answer decides what to do with msg, a client's query, on this network.
// An error means the message is to be dropped.
func (t *table) answer(msg []byte) (verdict, error) {
	q, questions, err := parseQuery(msg)
	if err != nil {
		return verdict{}, err
	}
	v := verdict{q: q}
	switch {
	case q.header.OpCode != 0: // not a standard query (NOTIFY, UPDATE...)
		v.reply, err = t.reply(q, questions == 1, dnsmessage.RCodeNotImplemented, false, nil)
		return v, err
	case questions != 1:
		v.reply, err = t.reply(q, questions == 1, dnsmessage.RCodeFormatError, false, nil)
		return v, err
	}

	name := canonical(q.question.Name.String())
	if q.question.Class == dnsmessage.ClassINET {
		if q.question.Type == dnsmessage.TypePTR {
			if a, ok := ptrAddr(name); ok {
				if targets := t.byAddr[a]; len(targets) > 0 {
					v.reply, err = t.reply(q, true, dnsmessage.RCodeSuccess, true, ptrAnswers(targets))
					return v, err
				}
			}
		}
		if addrs, ok := t.byName[strings.TrimSuffix(name, "."+SearchDomain)]; ok {
			v.reply, err = t.reply(q, true, dnsmessage.RCodeSuccess, true, addrAnswers(q.question.Type, addrs))
			return v, err
		}
	}
	switch {
	case name == SearchDomain:
		// The zone's apex exists (it has names under it) but holds no
		// records of its own.
		v.reply, err = t.reply(q, true, dnsmessage.RCodeSuccess, true, nil)
	case strings.HasSuffix(name, "."+SearchDomain):
		v.reply, err = t.reply(q, true, dnsmessage.RCodeNameError, true, nil)
	case t.internal:
		v.reply, err = t.reply(q, true, dnsmessage.RCodeRefused, false, nil)
	default:
		v.forward = true
	}
	return v, err
}

// parseQuery parses msg and counts its questions (q holds the first).
func parseQuery(msg []byte) (q query, questions int, err error) {
	var p dnsmessage.Parser
	if q.header, err = p.Start(msg); err != nil {
		return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if q.header.Response {
		return q, 0, errNotQuery
	}
	all, err := p.AllQuestions()
	if err != nil {
		return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if len(all) > 0 {
		q.question = all[0]
	}
	if err := p.SkipAllAnswers(); err != nil {
		return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
	}
	q.udpSize = minUDPSize
	for {
		h, err := p.AdditionalHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
		}
		if h.Type == dnsmessage.TypeOPT && int(h.Class) > q.udpSize {
			q.udpSize = int(h.Class) // an OPT record's class is the client's UDP size
		}
		if err := p.SkipAdditional(); err != nil {
			return q, 0, fmt.Errorf("%w: %w", errMalformed, err)
		}
	}
	return q, len(all), nil
}

// answers adds the answer section to a reply being built; name is the
// question's name, as the client spelled it.
type answers func(b *dnsmessage.Builder, name dnsmessage.Name) error

// reply builds the reply to q: withQuestion echoes its question, and
// authoritative is set for names of our own (the container's, and those
// under the search domain).
func (t *table) reply(q query, withQuestion bool, rcode dnsmessage.RCode, authoritative bool, add answers) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, minUDPSize), dnsmessage.Header{
		ID:                 q.header.ID,
		Response:           true,
		OpCode:             q.header.OpCode,
		Authoritative:      authoritative,
		RecursionDesired:   q.header.RecursionDesired,
		RecursionAvailable: !t.internal,
		RCode:              rcode,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if withQuestion {
		if err := b.Question(q.question); err != nil {
			return nil, fmt.Errorf("echo the question: %w", err)
		}
	}
	if add != nil {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		if err := add(&b, q.question.Name); err != nil {
			return nil, fmt.Errorf("build the answer: %w", err)
		}
	}
	return b.Finish()
}

// addrAnswers answers a query of type typ for a name with addrs: its IPv4
// addresses for A, its IPv6 ones for AAAA, nothing for other types.
func addrAnswers(typ dnsmessage.Type, addrs []netip.Addr) answers {
	return func(b *dnsmessage.Builder, name dnsmessage.Name) error {
		for _, a := range addrs {
			var err error
			switch {
			case typ == dnsmessage.TypeA && a.Is4():
				err = b.AResource(header(name, typ), dnsmessage.AResource{A: a.As4()})
			case typ == dnsmessage.TypeAAAA && a.Is6():
				err = b.AAAAResource(header(name, typ), dnsmessage.AAAAResource{AAAA: a.As16()})
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// ptrAnswers answers a PTR query with targets ("web.dns.podman.").
func ptrAnswers(targets []string) answers {
	return func(b *dnsmessage.Builder, name dnsmessage.Name) error {
		for _, target := range targets {
			ptr, err := dnsmessage.NewName(target)
			if err != nil {
				return err
			}
			if err := b.PTRResource(header(name, dnsmessage.TypePTR), dnsmessage.PTRResource{PTR: ptr}); err != nil {
				return err
			}
		}
		return nil
	}
}

func header(name dnsmessage.Name, typ dnsmessage.Type) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: name, Type: typ, Class: dnsmessage.ClassINET, TTL: ttl}
}

// ptrAddr is the address a reverse name (canonical) stands for:
// "2.0.88.10.in-addr.arpa" for 10.88.0.2, and in ip6.arpa the 32 nibbles
// of an IPv6 address, last first.
func ptrAddr(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0])
		return a, err == nil && a.Is4()
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var nibbles [32]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			nibbles[31-i] = l[0]
		}
		var b [16]byte
		if _, err := hex.Decode(b[:], nibbles[:]); err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// fitUDP returns reply if it fits in limit bytes, and otherwise its
// header and question with the TC bit set, which sends the client to ask
// again over TCP (RFC 7766). nil if reply does not parse.
func fitUDP(reply []byte, limit int) []byte {
	if len(reply) <= limit {
		return reply
	}
	var p dnsmessage.Parser
	h, err := p.Start(reply)
	if err != nil {
		return nil
	}
	h.Truncated = true
	b := dnsmessage.NewBuilder(make([]byte, 0, minUDPSize), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil
	}
	if q, err := p.Question(); err == nil {
		if err := b.Question(q); err != nil {
			return nil
		}
	}
	out, err := b.Finish()
	if err != nil || len(out) > limit {
		return nil
	}
	return out
}

// failure is the reply that says q could not be answered (SERVFAIL), or
// nil when even that cannot be built.
func (t *table) failure(q query) []byte {
	reply, err := t.reply(q, true, dnsmessage.RCodeServerFailure, false, nil)
	if err != nil {
		return nil
	}
	return reply
}
