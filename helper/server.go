package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/polkit"
	"github.com/myctr/myctr/protocol"
)

// authTimeout bounds one polkit check, which may wait for the caller to
// type a password.
const authTimeout = 5 * time.Minute

// exitGrace is how long the helper keeps serving after it released its
// name: calls that the bus routed to it before the release still arrive
// and are answered.
const exitGrace = 250 * time.Millisecond

// Options are what a Server is made of. Run fills them for the real
// helper; tests give a private bus, a fake HostNet and a fake Authorizer.
type Options struct {
	Config Config
	// Connect opens the bus connection with the given options (the
	// Server's incoming-message interceptor, which tracks activity).
	Connect func(opts ...dbus.ConnOption) (*dbus.Conn, error)
	Net     HostNet
	// Auth decides; nil asks polkit over the Server's connection.
	Auth Authorizer
	Log  io.Writer // nil: stderr
}

// Server is the helper's D-Bus service.
type Server struct {
	cfg    Config
	conn   *dbus.Conn
	net    HostNet
	auth   Authorizer
	ledger *Ledger
	hosts  []nsID // network namespaces no container may be attached from
	log    *log.Logger

	work     chan func()   // state-changing work, run by the loop
	done     chan struct{} // closed when the loop has returned
	inflight atomic.Int64  // method calls being handled
	lastCall atomic.Int64  // when the last method call arrived (UnixNano)
}

// NewServer reads the ledger and connects to the bus; Serve then serves.
func NewServer(o Options) (*Server, error) {
	s := &Server{cfg: o.Config, net: o.Net, auth: o.Auth,
		work: make(chan func()), done: make(chan struct{})}
	w := o.Log
	if w == nil {
		w = os.Stderr
	}
	s.log = log.New(w, "myctr-helper: ", 0)
	s.lastCall.Store(time.Now().UnixNano())
	for _, p := range []string{"/proc/self/ns/net", o.Config.NetNS} {
		if p == "" {
			continue
		}
		id, err := pathID(p)
		if err != nil {
			return nil, fmt.Errorf("network namespace: %w", err)
		}
		s.hosts = append(s.hosts, id)
	}
	l, bad, err := OpenLedger(o.Config.StateDir)
	if err != nil {
		return nil, err
	}
	for _, e := range bad {
		s.log.Printf("ledger: ignoring a record: %v", e)
	}
	s.ledger = l
	conn, err := o.Connect(dbus.WithIncomingInterceptor(s.intercept))
	if err != nil {
		return nil, fmt.Errorf("connect to the bus: %w", err)
	}
	s.conn = conn
	if s.auth == nil {
		s.auth = NewPolkitAuthorizer(polkit.New(conn))
	}
	return s, nil
}

// Close closes the bus connection.
func (s *Server) Close() error {
	return s.conn.Close()
}

// intercept sees every incoming message before it is dispatched: a method
// call is activity, even one still queued when the idle timer fires.
func (s *Server) intercept(m *dbus.Message) {
	if m.Type == dbus.TypeMethodCall {
		s.lastCall.Store(time.Now().UnixNano())
	}
}

// Serve exports the object, takes the bus name and serves until ctx ends
// or no call came for the idle timeout; then it releases the name,
// answers the calls in flight and returns nil. It returns ErrNameTaken,
// doing nothing, when another helper owns the name.
func (s *Server) Serve(ctx context.Context) error {
	defer close(s.done)
	if err := s.conn.Export(api{s}, protocol.ObjectPath, protocol.Interface); err != nil {
		return fmt.Errorf("export %s: %w", protocol.ObjectPath, err)
	}
	if err := s.conn.Export(introspect.Introspectable(protocol.IntrospectionXML), protocol.ObjectPath,
		"org.freedesktop.DBus.Introspectable"); err != nil {
		return fmt.Errorf("export introspection: %w", err)
	}
	r, err := s.conn.RequestName(protocol.BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("request %s: %w", protocol.BusName, err)
	}
	if r != dbus.RequestNameReplyPrimaryOwner && r != dbus.RequestNameReplyAlreadyOwner {
		return ErrNameTaken
	}

	dels := s.subscribe()
	stop := make(chan struct{})
	defer close(stop)
	s.resyncPorts()
	s.reap("start")

	reap := time.NewTicker(s.cfg.ReapInterval)
	defer reap.Stop()
	tick := time.NewTicker(min(max(s.cfg.IdleTimeout/10, 10*time.Millisecond), 100*time.Millisecond))
	defer tick.Stop()
	stopping := false
	release := func(why string) {
		stopping = true
		if _, err := s.conn.ReleaseName(protocol.BusName); err != nil {
			s.log.Printf("release %s: %v", protocol.BusName, err)
		}
		s.log.Printf("%s: released %s, finishing the calls in flight", why, protocol.BusName)
	}
	for {
		select {
		case f := <-s.work:
			f()
		case <-reap.C:
			if dels == nil {
				dels = s.subscribe()
			}
			s.reap("periodic")
		case name, ok := <-dels:
			if !ok {
				// Events were lost: look at everything.
				dels = nil
				s.reap("link events lost")
			} else if s.recorded(name) {
				s.reap("link " + name + " deleted")
			}
		case <-ctx.Done():
			if !stopping {
				release("stopping")
			}
		case <-tick.C:
			since := time.Since(time.Unix(0, s.lastCall.Load()))
			busy := s.inflight.Load() > 0
			switch {
			case stopping && !busy && since >= exitGrace:
				return nil
			case !stopping && !busy && since >= s.cfg.IdleTimeout && !s.holdsPorts():
				release(fmt.Sprintf("idle for %s", s.cfg.IdleTimeout))
			}
		}
	}
}

// subscribe asks for link deletions in the host namespace; nil when it
// cannot (the periodic reaper still runs).
func (s *Server) subscribe() <-chan string {
	ch, err := s.net.SubscribeLinkDeletions(s.done)
	if err != nil {
		s.log.Printf("reaper: no link events (%v); reaping every %s", err, s.cfg.ReapInterval)
		return nil
	}
	return ch
}

// recorded reports whether a record names the host veth name (a link
// the helper deletes itself has lost its record by the time its event
// arrives).
func (s *Server) recorded(name string) bool {
	for _, r := range s.ledger.All() {
		if r.HostIf == name {
			return true
		}
	}
	return false
}

// serial runs f in the loop goroutine, after the state-changing work
// before it, and returns its error.
func (s *Server) serial(f func() error) error {
	res := make(chan error, 1)
	select {
	case s.work <- func() { res <- f() }:
		return <-res
	case <-s.done:
		return protocol.Errorf(protocol.ErrFailed, "%v", ErrStopping)
	}
}

// begin marks a method call in flight until the returned func runs.
func (s *Server) begin() func() {
	s.inflight.Add(1)
	s.lastCall.Store(time.Now().UnixNano())
	return func() {
		s.lastCall.Store(time.Now().UnixNano())
		s.inflight.Add(-1)
	}
}

// unknownUID is (uid_t)-1, no one's uid: the caller's when the bus could
// not say.
const unknownUID = ^uint32(0)

// callerUID asks the bus for the uid of the connection that sent a call.
//
// Why this is safe: the bus daemon learnt the uid from the kernel
// (SO_PEERCRED) when the connection was made; the unique name cannot be
// taken over by another connection.
func (s *Server) callerUID(sender dbus.Sender) (uint32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	uid := unknownUID
	err := s.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, string(sender)).Store(&uid)
	if err != nil {
		return unknownUID, protocol.Errorf(protocol.ErrFailed, "the uid of %s: %v", sender, err)
	}
	return uid, nil
}

// authorize asks the Authorizer, outside the serialized section (a
// prompt may take minutes and must not hold up other users).
func (s *Server) authorize(sender dbus.Sender, action string, details map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	err := s.auth.Authorize(ctx, string(sender), action, details)
	if err != nil && !errors.Is(err, protocol.ErrNotAuthorized) {
		err = protocol.NotAuthorized(action, fmt.Sprintf("%s: %v", action, err))
	}
	return err
}

// decide logs one privileged decision and turns err into the reply.
func (s *Server) decide(uid uint32, method, container string, err error, detail string) *dbus.Error {
	outcome := "ok"
	if err != nil {
		err = mapError(err)
		var pe *protocol.Error
		errors.As(err, &pe)
		outcome = strings.TrimPrefix(pe.Name, protocol.ErrorPrefix) + ": " + pe.Message
	} else if detail != "" {
		outcome += " " + detail
	}
	if container == "" {
		container = "-"
	}
	who := strconv.FormatUint(uint64(uid), 10)
	if uid == unknownUID {
		who = "?"
	}
	s.log.Printf("uid=%s method=%s container=%s outcome=%s", who, method, container, outcome)
	return protocol.ToDBus(err)
}

// mapError turns errors of the kernel side into protocol errors.
func mapError(err error) error {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe):
		return err
	case errors.Is(err, hostnet.ErrNoNftables):
		return protocol.Errorf(protocol.ErrUnsupported, "%v", err)
	}
	return protocol.Errorf(protocol.ErrFailed, "%v", err)
}

// api is the exported object: exactly the interface's methods, one file
// each.
type api struct{ s *Server }
