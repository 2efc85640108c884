package netdns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// ServeUDP answers the queries that arrive on pc for network, until pc is
// closed (then it returns nil, once the queries it was forwarding are
// abandoned). Local answers are sent from this goroutine; forwarded
// queries each wait for their upstream in a goroutine of their own.
func (s *Server) ServeUDP(network string, pc net.PacketConn) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dns server of network %s: %w", network, err)
		}
		t := s.table(network, from)
		v, err := t.answer(buf[:n])
		if err != nil {
			s.log.logf("network %s: drop the query from %s: %v", network, from, err)
			continue
		}
		if !v.forward {
			s.sendUDP(network, pc, from, v.reply, v.q.udpSize)
			continue
		}
		select {
		case s.forwarding <- struct{}{}:
		default:
			s.log.logf("network %s: %s %s from %s: %v", network, v.q.question.Name, v.q.question.Type, from, errBusy)
			s.sendUDP(network, pc, from, t.failure(v.q), v.q.udpSize)
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		wg.Go(func() {
			defer func() { <-s.forwarding }()
			s.sendUDP(network, pc, from, s.relay(ctx, network, t, msg, v.q, false), v.q.udpSize)
		})
	}
}

// sendUDP sends reply (nil: nothing) to a client that takes at most limit
// bytes.
func (s *Server) sendUDP(network string, pc net.PacketConn, to net.Addr, reply []byte, limit int) {
	if reply = fitUDP(reply, limit); reply == nil {
		return
	}
	if _, err := pc.WriteTo(reply, to); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.logf("network %s: reply to %s: %v", network, to, err)
	}
}

// relay forwards a query and returns the reply for the client: the
// upstream's, or SERVFAIL.
func (s *Server) relay(ctx context.Context, network string, t *table, msg []byte, q query, overTCP bool) []byte {
	reply, err := s.forward(ctx, msg, q, overTCP)
	if err != nil {
		if ctx.Err() == nil {
			s.log.logf("network %s: forward %s %s: %v", network, q.question.Name, q.question.Type, err)
		}
		return t.failure(q)
	}
	return reply
}

// ServeTCP answers the queries on the connections that l accepts for
// network, until l is closed; then it closes those connections and
// returns nil. Each connection's queries are answered one after another.
func (s *Server) ServeTCP(network string, l net.Listener) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	defer func() {
		cancel()
		mu.Lock()
		for c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	backoff := time.Duration(0)
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !transient(err) {
				return fmt.Errorf("dns server of network %s: %w", network, err)
			}
			// Out of descriptors or memory: wait for some to come back,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.logf("network %s: accept: %v", network, err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		select {
		case s.tcpConns <- struct{}{}:
		default:
			s.log.logf("network %s: close the connection from %s: %d connections already", network, c.RemoteAddr(), maxTCPConns)
			_ = c.Close()
			continue
		}
		mu.Lock()
		open[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				_ = c.Close()
				<-s.tcpConns
			}()
			s.serveConn(ctx, network, c)
		})
	}
}

// transient reports whether an Accept error is a shortage that passes.
func transient(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// serveConn answers the queries on one TCP connection until the client
// closes it, stays idle for s.idle (tcpIdle), or sends what is not a query.
func (s *Server) serveConn(ctx context.Context, network string, c net.Conn) {
	var lb [2]byte
	for {
		_ = c.SetDeadline(time.Now().Add(s.idle))
		if _, err := io.ReadFull(c, lb[:]); err != nil {
			return // closed, idle, or shut down: nothing to report
		}
		n := binary.BigEndian.Uint16(lb[:])
		if n > maxTCPQuery {
			s.log.logf("network %s: close the connection from %s: a query of %d bytes (at most %d)", network, c.RemoteAddr(), n, maxTCPQuery)
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		t := s.table(network, c.RemoteAddr())
		v, err := t.answer(msg)
		if err != nil {
			s.log.logf("network %s: close the connection from %s: %v", network, c.RemoteAddr(), err)
			return
		}
		reply := v.reply
		if v.forward {
			select {
			case s.forwarding <- struct{}{}:
				reply = s.relay(ctx, network, t, msg, v.q, true)
				<-s.forwarding
			default:
				s.log.logf("network %s: %s %s from %s: %v", network, v.q.question.Name, v.q.question.Type, c.RemoteAddr(), errBusy)
				reply = t.failure(v.q)
			}
		}
		if reply == nil {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(s.idle))
		if _, err := c.Write(withLength(reply)); err != nil {
			return
		}
	}
}
