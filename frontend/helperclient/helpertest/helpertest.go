// Package helpertest runs, for tests only, a private dbus-daemon (its own
// configuration and unix socket in a test's temporary directory, every
// connection allowed, never the machine's system bus) and a fake
// org.myctr.Helper1 exported on it, which records each call (with its
// D-Bus flags, and what the descriptors it received are) and answers as the
// test says.
package helpertest

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/testbus"
)

// StartBus starts a private dbus-daemon for the test and returns its
// address (testbus.Start).
func StartBus(t testing.TB) string {
	t.Helper()
	return testbus.Start(t)
}

// FD is what a descriptor received by the fake was: its device and inode
// (fstat) and its /proc/self/fd link ("net:[4026531840]").
type FD struct {
	Dev, Ino uint64
	Link     string
}

// Call is one call the fake received.
type Call struct {
	Method string // "AttachNetwork", ...
	Flags  dbus.Flags
	Args   []any // the arguments after the descriptors, options last
	FDs    []FD  // AttachNetwork: userns, netns; DelegateCgroup: the pidfd
}

// Config is how the fake answers.
type Config struct {
	// Features GetVersion reports; nil is protocol.Features.
	Features []string
	// Reply is AttachNetwork's answer.
	Reply protocol.AttachNetworkReply
	// Fail makes a method ("PublishPort") answer with an error; FailAfter
	// lets that many calls of the method succeed first; FailTimes, when
	// set for the method, fails only that many calls after those.
	Fail      map[string]*protocol.Error
	FailAfter map[string]int
	FailTimes map[string]int
}

// Helper is the fake helper. godbus runs each call on a goroutine of its
// own, so the configuration is read and changed only under mu: a test
// changes it with Configure, never by writing fields the server reads.
type Helper struct {
	mu    sync.Mutex
	cfg   Config
	calls []Call
	count map[string]int
}

// New returns a fake that answers as c says.
func New(c Config) *Helper {
	return &Helper{cfg: c}
}

// Configure changes how the fake answers from the next call on.
func (h *Helper) Configure(change func(c *Config)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(&h.cfg)
}

// Reply returns AttachNetwork's answer.
func (h *Helper) Reply() protocol.AttachNetworkReply {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg.Reply
}

// Calls returns the calls received so far.
func (h *Helper) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Call(nil), h.calls...)
}

// Methods returns the names of the calls received so far, in order.
func (h *Helper) Methods() []string {
	var out []string
	for _, c := range h.Calls() {
		out = append(out, c.Method)
	}
	return out
}

func (h *Helper) record(c Call) *dbus.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, c)
	if h.count == nil {
		h.count = map[string]int{}
	}
	h.count[c.Method]++
	n := h.count[c.Method] - h.cfg.FailAfter[c.Method] // 1 for the first call that may fail
	if e := h.cfg.Fail[c.Method]; e != nil && n > 0 {
		if times, ok := h.cfg.FailTimes[c.Method]; !ok || n <= times {
			return e.DBusError()
		}
	}
	return nil
}

// features returns what GetVersion reports.
func (h *Helper) features() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cfg.Features == nil {
		return protocol.Features
	}
	return h.cfg.Features
}

// Serve exports h as org.myctr.Helper1 on the bus at addr until the test
// ends.
func Serve(t testing.TB, addr string, h *Helper) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Export(server{h}, protocol.ObjectPath, protocol.Interface); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName(protocol.BusName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", protocol.BusName, r, err)
	}
}

// Own takes name on the bus at addr until the test ends (to stand for
// polkit's presence).
func Own(t testing.TB, addr, name string) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if r, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", name, r, err)
	}
}

// server is the exported object; each method takes the raw message first
// (godbus fills it in and leaves it out of the signature) to record its
// flags.
type server struct{ h *Helper }

func (s server) GetVersion(m dbus.Message) (uint32, []string, *dbus.Error) {
	if err := s.h.record(Call{Method: "GetVersion", Flags: m.Flags}); err != nil {
		return 0, nil, err
	}
	return protocol.Version, s.h.features(), nil
}

func (s server) AttachNetwork(m dbus.Message, userns, netns dbus.UnixFD, container string, opts map[string]dbus.Variant) (string, string, string, uint32, *dbus.Error) {
	fds := []FD{describe(int(userns)), describe(int(netns))}
	unix.Close(int(userns))
	unix.Close(int(netns))
	if err := s.h.record(Call{Method: "AttachNetwork", Flags: m.Flags, Args: []any{container, opts}, FDs: fds}); err != nil {
		return "", "", "", 0, err
	}
	r := s.h.Reply()
	return r.Interface, r.Address, r.Gateway, r.MTU, nil
}

func (s server) ReleaseNetwork(m dbus.Message, container string, opts map[string]dbus.Variant) *dbus.Error {
	return s.h.record(Call{Method: "ReleaseNetwork", Flags: m.Flags, Args: []any{container, opts}})
}

func (s server) PublishPort(m dbus.Message, container, proto, hostIP string, hostPort, ctrPort uint16, opts map[string]dbus.Variant) *dbus.Error {
	return s.h.record(Call{Method: "PublishPort", Flags: m.Flags, Args: []any{container, proto, hostIP, hostPort, ctrPort, opts}})
}

func (s server) UnpublishPort(m dbus.Message, container, proto, hostIP string, hostPort uint16, opts map[string]dbus.Variant) *dbus.Error {
	return s.h.record(Call{Method: "UnpublishPort", Flags: m.Flags, Args: []any{container, proto, hostIP, hostPort, opts}})
}

func (s server) DelegateCgroup(m dbus.Message, pidfd dbus.UnixFD, container string, opts map[string]dbus.Variant) (string, string, *dbus.Error) {
	fds := []FD{describe(int(pidfd))}
	unix.Close(int(pidfd))
	if err := s.h.record(Call{Method: "DelegateCgroup", Flags: m.Flags, Args: []any{container, opts}, FDs: fds}); err != nil {
		return "", "", err
	}
	return "/myctr.slice/" + container, container + ".scope", nil
}

func (s server) ReleaseCgroup(m dbus.Message, container string, opts map[string]dbus.Variant) *dbus.Error {
	return s.h.record(Call{Method: "ReleaseCgroup", Flags: m.Flags, Args: []any{container, opts}})
}

func describe(fd int) FD {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return FD{Link: "fstat: " + err.Error()}
	}
	link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	return FD{Dev: st.Dev, Ino: st.Ino, Link: link}
}
