package helper

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
)

// openFDs counts this process's open descriptors (the Server under test
// runs in it).
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestGateDescriptors: messages with descriptors that no method takes
// (Ping, an unknown method, a wrong signature, descriptors the body never
// names or names twice, more than two) leave no descriptor open in the
// helper and are refused with InvalidArgs, AttachNetwork included;
// AttachNetwork with its two descriptors still works.
func TestGateDescriptors(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	rc, err := helperprobe.DialRaw(h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ns := newNS(t)
	u, n := int(ns.user.Fd()), int(ns.net.Fd())
	idx := func(i uint32) dbus.UnixFDIndex { return dbus.UnixFDIndex(i) }
	call := func(iface, member, sig string, body ...any) *dbus.Message {
		return helperprobe.Method(protocol.BusName, protocol.ObjectPath, iface, member, sig, body...)
	}
	opts := map[string]dbus.Variant{}
	shots := []struct {
		name string
		m    func() *dbus.Message
		fds  []int
	}{
		{"Ping(h)", func() *dbus.Message { return call("org.freedesktop.DBus.Peer", "Ping", "h", idx(0)) }, []int{u}},
		{"Ping with unnamed descriptors", func() *dbus.Message { return call("org.freedesktop.DBus.Peer", "Ping", "") }, []int{u, n, u}},
		{"unknown method", func() *dbus.Message { return call(protocol.Interface, "Nope", "h", idx(0)) }, []int{u}},
		{"wrong signature", func() *dbus.Message { return call(protocol.Interface, "AttachNetwork", "hhs", idx(0), idx(1), "c") }, []int{u, n}},
		{"same index twice", func() *dbus.Message {
			return call(protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(0), idx(0), "c", opts)
		}, []int{u}},
		{"same index twice, one unnamed", func() *dbus.Message {
			return call(protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(1), idx(1), "c", opts)
		}, []int{u, n}},
		{"five descriptors", func() *dbus.Message {
			return call(protocol.Interface, "AttachNetwork", "hhsa{sv}", idx(0), idx(1), "c", opts)
		}, []int{u, n, u, n, u}},
	}
	base := openFDs(t)
	for range 20 {
		for _, s := range shots {
			serial, err := rc.Send(s.m(), s.fds...)
			if err != nil {
				t.Fatal(err)
			}
			r, err := rc.Reply(serial, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if e := helperprobe.ErrorOf(r); r.Type != dbus.TypeError || e.Name != protocol.ErrInvalidArgs.Name {
				t.Fatalf("%s: reply %v %v, want %s", s.name, r.Type, e, protocol.ErrInvalidArgs.Name)
			}
		}
	}
	if got := openFDs(t); got > base+2 {
		t.Errorf("%d descriptors open after %d messages with descriptors, %d before", got, 20*len(shots), base)
	}
	if adds, _ := h.net.counts(); len(h.records()) != 0 || adds != 0 {
		t.Errorf("refused calls recorded %v, made %d veths", h.records(), adds)
	}
	if _, err := h.attach(ns, "c", noOpts()); err != nil {
		t.Errorf("AttachNetwork with its two descriptors: %v", err)
	}
}

// TestPanicRecovery: a panic in the service loop (a kernel call of the
// act step) and one in a method's own goroutine (authorization) are
// logged and answered with Failed; the Server keeps serving.
func TestPanicRecovery(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	boom, _ := ifNames(uid, "boom")
	h.net.mu.Lock()
	h.net.panicAdd = boom
	h.net.mu.Unlock()
	_, err := h.attach(newNS(t), "boom", noOpts())
	wantErr(t, "AttachNetwork whose act step panics", err, protocol.ErrFailed, "internal error")
	h.auth.mu.Lock()
	h.auth.panic = "boom2"
	h.auth.mu.Unlock()
	err = h.call("ReleaseNetwork", "boom2", noOpts()).Err
	wantErr(t, "ReleaseNetwork whose authorization panics", err, protocol.ErrFailed, "internal error")

	if _, err := h.attach(newNS(t), "fine", noOpts()); err != nil {
		t.Errorf("AttachNetwork after the panics: %v", err)
	}
	select {
	case err := <-h.errc:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
	if n := strings.Count(h.log.String(), "(recovered)"); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, h.log.String())
	}
}

// TestStopRefusesWork: a call waits in authorization when the Server is
// told to stop (SIGTERM). It releases the name, the call is answered
// Restarting "try again" and does nothing even once polkit says yes, and
// Serve returns without waiting for polkit.
func TestStopRefusesWork(t *testing.T) {
	h := newHarness(t, nil)
	block := make(chan struct{})
	h.auth.block = block
	h.start()
	ns := newNS(t)
	res := make(chan error, 1)
	go func() { _, err := h.attach(ns, "late", noOpts()); res <- err }()
	waitUntil(t, "the call reached polkit", func() bool { return len(h.auth.snapshot()) == 1 })
	h.cancel()
	h.waitOwner(false)
	time.AfterFunc(200*time.Millisecond, func() { close(block) }) // polkit says yes, late
	select {
	case err := <-res:
		wantErr(t, "AttachNetwork in flight at SIGTERM", err, protocol.ErrRestarting, "try again")
	case <-time.After(5 * time.Second):
		t.Fatal("the call in flight was not answered")
	}
	select {
	case <-h.errc:
		h.srv.Close()
		h.srv = nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	time.Sleep(300 * time.Millisecond) // past the late yes
	if adds, _ := h.net.counts(); len(h.records()) != 0 || adds != 0 {
		t.Errorf("after the name was given up: records %v, %d veths made", h.records(), adds)
	}
}
