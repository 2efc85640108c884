package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/polkit"
	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/protocol/flock"
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
	// Address is the bus's; the Server connects through its gate
	// (busgate_linux.go).
	Address string
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
	// cgroups are the delegated cgroups (DelegateCgroup), made as cgMode
	// says (cgroupsBySystemd, or cgroupsByFS below cgRoot).
	cgroups        *CgroupLedger
	cgMode, cgRoot string
	lock           *flock.File // state_dir's lock, held while the Server lives
	hosts          []nsID      // network namespaces no container may be attached from
	log            *log.Logger

	work     chan func()   // state-changing work, run by the loop
	done     chan struct{} // closed when the loop has returned
	inflight atomic.Int64  // method calls being handled
	lastCall atomic.Int64  // when authorized work last ended (UnixNano)
	// stopping is set by the loop once the name is gone; from then on the
	// loop does no work and reaps nothing, and calls still waiting for
	// polkit are cancelled (stop).
	stopping atomic.Bool
	stopCtx  context.Context
	stop     context.CancelFunc
}

// NewServer reads the ledger and connects to the bus; Serve then serves.
func NewServer(o Options) (*Server, error) {
	s := &Server{cfg: o.Config, net: o.Net, auth: o.Auth,
		work: make(chan func()), done: make(chan struct{})}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
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
	var err error
	// One helper at a time acts on the ledger: the lock is taken before
	// it is read and held until the process exits (or Close).
	if s.lock, err = lockStateDir(o.Config.StateDir, s.log); err != nil {
		return nil, err
	}
	l, bad, err := OpenLedger(o.Config.StateDir)
	if err != nil {
		s.lock.Close()
		return nil, err
	}
	cl, cbad, err := OpenCgroupLedger(filepath.Join(o.Config.StateDir, "cgroups"))
	if err != nil {
		s.lock.Close()
		return nil, err
	}
	for _, e := range append(bad, cbad...) {
		s.log.Printf("ledger: ignoring a record: %v", e)
	}
	s.ledger, s.cgroups = l, cl
	s.cgMode, s.cgRoot = cgroupMode(o.Config)
	conn, err := dialGated(o.Address, s.log)
	if err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("connect to the bus: %w", err)
	}
	s.conn = conn
	if s.auth == nil {
		s.auth = NewPolkitAuthorizer(polkit.New(conn))
	}
	return s, nil
}

// Close closes the bus connection and lets the next helper take the
// state directory.
func (s *Server) Close() error {
	s.stop()
	err := s.conn.Close()
	s.lock.Close()
	return err
}

// lockWait bounds how long a new helper waits for the state directory's
// lock: an old one that gave up its name exits within moments, and the
// bus gives an activated service 25 s to take its name.
var lockWait = 20 * time.Second

// lockStateDir takes an exclusive flock on state_dir/lock, waiting up to
// lockWait for a helper that still holds it.
func lockStateDir(dir string, lg *log.Logger) (*flock.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	f, err := flock.Open(filepath.Join(dir, "lock"), 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for waited := false; ; waited = true {
		ok, err := f.TryLock(flock.Exclusive)
		switch {
		case ok:
			return f, nil
		case err != nil:
			f.Close()
			return nil, fmt.Errorf("%w: %w", ErrLocked, err)
		case time.Now().After(deadline):
			f.Close()
			return nil, fmt.Errorf("%w: %s/lock: %v", ErrLocked, dir, unix.EWOULDBLOCK)
		case !waited:
			lg.Printf("another helper holds %s/lock: waiting for it to exit", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Serve exports the object, takes the bus name and serves until ctx ends
// or no call came for the idle timeout; then it releases the name,
// answers the calls in flight and returns nil. It returns ErrNameTaken,
// doing nothing, when another helper owns the name.
func (s *Server) Serve(ctx context.Context) error {
	defer close(s.done)
	if err := s.conn.ExportMethodTable(s.methods(), protocol.ObjectPath, protocol.Interface); err != nil {
		return fmt.Errorf("export %s: %w", protocol.ObjectPath, err)
	}
	if err := s.conn.Export(introspect.Introspectable(protocol.IntrospectionXML), protocol.ObjectPath,
		"org.freedesktop.DBus.Introspectable"); err != nil {
		return fmt.Errorf("export introspection: %w", err)
	}
	if err := s.conn.ExportMethodTable(map[string]any{"Refused": refused}, protocol.ObjectPath, gateInterface); err != nil {
		return fmt.Errorf("export %s: %w", gateInterface, err)
	}
	r, err := s.conn.RequestName(protocol.BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("request %s: %w", protocol.BusName, err)
	}
	if r != dbus.RequestNameReplyPrimaryOwner && r != dbus.RequestNameReplyAlreadyOwner {
		return ErrNameTaken
	}

	dels := s.subscribe()
	s.guard("start", func() {
		s.resyncPorts()
		s.reap("start")
		s.reapCgroups("start")
	})

	reap := time.NewTicker(s.cfg.ReapInterval)
	defer reap.Stop()
	tick := time.NewTicker(min(max(s.cfg.IdleTimeout/10, 10*time.Millisecond), 100*time.Millisecond))
	defer tick.Stop()
	var stoppedAt time.Time
	// halt: the name is gone (released, or the connection with it). From
	// here on no work is done (serial refuses it), nothing is reaped, and
	// calls waiting for polkit end, so that the helper exits soon and the
	// next one, waiting for the lock, takes over.
	halt := func(why string) {
		s.stopping.Store(true)
		s.stop()
		stoppedAt = time.Now()
		s.log.Printf("%s: refusing new work, answering the calls in flight", why)
	}
	release := func(why string) {
		if _, err := s.conn.ReleaseName(protocol.BusName); err != nil {
			s.log.Printf("release %s: %v", protocol.BusName, err)
		}
		halt(why + ": released " + protocol.BusName)
	}
	connDone, ctxDone := s.conn.Context().Done(), ctx.Done()
	for {
		select {
		case f := <-s.work:
			s.guard("a call", f)
		case <-reap.C:
			if s.stopping.Load() {
				continue
			}
			if dels == nil {
				dels = s.subscribe()
			}
			s.guard("reaper", func() { s.reap("periodic"); s.reapCgroups("periodic") })
		case name, ok := <-dels:
			switch {
			case !ok:
				// Events were lost: look at everything.
				dels = nil
				if !s.stopping.Load() {
					s.guard("reaper", func() { s.reap("link events lost") })
				}
			case s.stopping.Load():
			case s.recorded(name):
				s.guard("reaper", func() { s.reap("link " + name + " deleted") })
			}
		case <-connDone:
			connDone = nil // each fires once
			if !s.stopping.Load() {
				halt("the bus connection closed")
			}
		case <-ctxDone:
			ctxDone = nil
			if !s.stopping.Load() {
				release("stopping")
			}
		case <-tick.C:
			since := time.Since(time.Unix(0, s.lastCall.Load()))
			busy := s.inflight.Load() > 0
			switch {
			case s.stopping.Load() && (!busy || !s.conn.Connected()) && time.Since(stoppedAt) >= exitGrace:
				return nil
			case !s.stopping.Load() && !busy && since >= s.cfg.IdleTimeout && !s.holdsPorts():
				release(fmt.Sprintf("idle for %s", s.cfg.IdleTimeout))
			}
		}
	}
}

// guard runs f, and logs a panic in it instead of dying of it: the helper
// keeps serving (the ledger on disk, which the reaper reconciles with the
// kernel, is the truth).
func (s *Server) guard(what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Printf("panic in %s (recovered): %v\n%s", what, p, debug.Stack())
		}
	}()
	f()
}

// methods is the exported interface: api's methods, each wrapped so that
// a panic in its goroutine is logged and answered with Failed.
func (s *Server) methods() map[string]any {
	v := reflect.ValueOf(api{s})
	out := map[string]any{}
	for i := range v.NumMethod() {
		name, m := v.Type().Method(i).Name, v.Method(i)
		out[name] = reflect.MakeFunc(m.Type(), func(in []reflect.Value) (res []reflect.Value) {
			defer func() {
				if p := recover(); p != nil {
					s.log.Printf("method=%s: panic (recovered): %v\n%s", name, p, debug.Stack())
					res = make([]reflect.Value, m.Type().NumOut())
					for j := range res {
						res[j] = reflect.Zero(m.Type().Out(j))
					}
					res[len(res)-1] = reflect.ValueOf(protocol.Errorf(protocol.ErrFailed, "internal error in %s", name).DBusError())
				}
			}()
			return m.Call(in)
		}).Interface()
	}
	return out
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
// before it, and returns its error. Once the name is gone it runs nothing
// (the loop sets stopping before it runs anything else): another helper
// may own the ledger next, and the caller is told to try again. Work done
// here is what counts as activity for the idle timer: it has passed
// authorization.
func (s *Server) serial(f func() error) error { return s.inLoop(f, true) }

// inLoop runs f as serial does; activity says whether it counts as such
// (a look at the ledger before authorization does not).
func (s *Server) inLoop(f func() error, activity bool) error {
	res := make(chan error, 1)
	if s.stopping.Load() {
		return errRestarting()
	}
	select {
	case s.work <- func() {
		var err error = protocol.Errorf(protocol.ErrFailed, "internal error") // if f panics
		defer func() { res <- err }()
		if s.stopping.Load() {
			err = errRestarting()
			return
		}
		err = f()
		if activity {
			s.lastCall.Store(time.Now().UnixNano())
		}
	}:
		return <-res
	case <-s.done:
		return errRestarting()
	}
}

// errRestarting is the answer to a call that a helper gave up before it
// did anything: the caller may simply call again (the bus starts the next
// helper).
func errRestarting() error {
	return protocol.Errorf(protocol.ErrRestarting, "%v: nothing was done; try again", ErrStopping)
}

// begin marks a method call in flight until the returned func runs: the
// helper does not exit on idle while one is (a caller may be typing a
// password), but only authorized work (serial) counts as activity.
func (s *Server) begin() func() {
	s.inflight.Add(1)
	return func() { s.inflight.Add(-1) }
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
	ctx, cancel := context.WithTimeout(s.stopCtx, authTimeout)
	defer cancel()
	err := s.auth.Authorize(ctx, string(sender), action, details)
	if s.stopping.Load() {
		return errRestarting()
	}
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
