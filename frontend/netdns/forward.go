package netdns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// forward asks the upstreams, in order, the client's query msg (q parsed)
// and returns the reply to relay, under the client's ID. overTCP is how
// the client asked: a query that came over TCP goes over TCP (its reply
// may be larger than any UDP reply), one that came over UDP goes over UDP
// first and over TCP again if the reply is truncated.
//
// Each upstream gets an equal share of what is left of s.timeout, so that
// one that never answers leaves time for the next.
func (s *Server) forward(ctx context.Context, msg []byte, q query, overTCP bool) ([]byte, error) {
	if len(s.upstreams) == 0 {
		return nil, errNoUpstream
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	// The upstream sees our ID, not the client's: an off-path forger
	// would have to guess it (and our socket's port) to be believed.
	out := append([]byte(nil), msg...)
	var idb [2]byte
	_, _ = rand.Read(idb[:]) // never fails (crypto/rand, Go 1.24)
	id := binary.BigEndian.Uint16(idb[:])
	binary.BigEndian.PutUint16(out, id)

	var fallback []byte
	var errs []error
	for i, up := range s.upstreams {
		share := time.Until(deadline) / time.Duration(len(s.upstreams)-i)
		actx, acancel := context.WithTimeout(ctx, share)
		reply, err := s.exchange(actx, up.String(), out, id, q.question, overTCP)
		acancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", up, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch rcode := dnsmessage.RCode(reply[3] & 0x0f); rcode {
		case dnsmessage.RCodeServerFailure, dnsmessage.RCodeRefused, dnsmessage.RCodeNotImplemented:
			errs = append(errs, fmt.Errorf("%s: %s", up, strings.TrimPrefix(rcode.String(), "RCode")))
			fallback = reply
			continue
		}
		binary.BigEndian.PutUint16(reply, q.header.ID)
		return reply, nil
	}
	if fallback != nil {
		binary.BigEndian.PutUint16(fallback, q.header.ID)
		return fallback, nil
	}
	return nil, errors.Join(errs...)
}

// exchange sends query (whose ID is id) to upstream addr and returns its
// reply: over TCP if overTCP, else over UDP, and over TCP again if the
// UDP reply is truncated (the truncated reply if TCP then fails: it sends
// the client to ask us over TCP).
func (s *Server) exchange(ctx context.Context, addr string, query []byte, id uint16, question dnsmessage.Question, overTCP bool) ([]byte, error) {
	if !overTCP {
		reply, err := exchangeUDP(ctx, addr, query, id, question)
		if err != nil || reply[2]&0x02 == 0 { // the TC bit
			return reply, err
		}
		if full, err := exchangeTCP(ctx, addr, query, id, question); err == nil {
			return full, nil
		}
		return reply, nil
	}
	return exchangeTCP(ctx, addr, query, id, question)
}

// dial connects to addr over network, with ctx's deadline on the
// connection and its cancellation ending any read or write; done closes
// it.
func dial(ctx context.Context, network, addr string) (c net.Conn, done func(), err error) {
	var d net.Dialer
	if c, err = d.DialContext(ctx, network, addr); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, func() { stop(); c.Close() }, nil
}

// exchangeUDP sends query from a socket of its own (a random port) and
// waits for the reply that matches it, ignoring anything else.
func exchangeUDP(ctx context.Context, addr string, query []byte, id uint16, question dnsmessage.Question) ([]byte, error) {
	c, done, err := dial(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := c.Write(query); err != nil {
		return nil, fmt.Errorf("udp: %w", err)
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("udp: %w", err)
		}
		if matches(buf[:n], id, question) == nil {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

// exchangeTCP sends query over a new TCP connection and reads one reply.
func exchangeTCP(ctx context.Context, addr string, query []byte, id uint16, question dnsmessage.Question) ([]byte, error) {
	c, done, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := c.Write(withLength(query)); err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	var lb [2]byte
	if _, err := io.ReadFull(c, lb[:]); err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	reply := make([]byte, binary.BigEndian.Uint16(lb[:]))
	if _, err := io.ReadFull(c, reply); err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	if err := matches(reply, id, question); err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return reply, nil
}

// matches checks that reply answers our query: a response, under our ID,
// to our question (its name in any case: a resolver may change it, RFC
// 4343).
func matches(reply []byte, id uint16, question dnsmessage.Question) error {
	var p dnsmessage.Parser
	h, err := p.Start(reply)
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	if !h.Response || h.ID != id {
		return errMismatch
	}
	q, err := p.Question()
	if err != nil {
		return fmt.Errorf("%w: %w", errMismatch, err)
	}
	if q.Type != question.Type || q.Class != question.Class || !strings.EqualFold(q.Name.String(), question.Name.String()) {
		return errMismatch
	}
	return nil
}

// withLength is msg with the two-byte length that precedes each message
// over TCP (RFC 1035 4.2.2).
func withLength(msg []byte) []byte {
	out := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(out, uint16(len(msg)))
	return append(out, msg...)
}
