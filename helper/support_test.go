package helper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/testbus"
)

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the private bus: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fakeNet is HostNet in memory: host-side links, port rules by owner, and
// link-deletion events the test sends.
type fakeNet struct {
	mu       sync.Mutex
	links    map[string]bool
	peerNS   map[string]nsID // host veth -> the namespace its peer went to
	bridges  []hostnet.BridgeConfig
	ports    map[string][]hostnet.Port
	inUse    map[string]bool   // "tcp/8080" held by a host process
	guards   map[string]string // host veth -> "UID ADDRESS" it is pinned to
	unpriv   int
	panicAdd string // AddVeth of this host veth panics
	adds     int    // AddVeth calls that made a pair
	setPorts int
	dels     chan string
}

func newFakeNet() *fakeNet {
	return &fakeNet{links: map[string]bool{}, peerNS: map[string]nsID{}, ports: map[string][]hostnet.Port{},
		inUse: map[string]bool{}, guards: map[string]string{}, unpriv: 1024, dels: make(chan string, 64)}
}

func (f *fakeNet) Close() error { return nil }

func (f *fakeNet) EnsureBridge(c hostnet.BridgeConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.bridges, c) {
		f.bridges = append(f.bridges, c)
	}
	f.links[c.Name] = true
	return nil
}

func (f *fakeNet) AddVeth(bridge, hostIf, peerIf string, mtu int, netnsFD int, peerMAC net.HardwareAddr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hostIf == f.panicAdd {
		var m map[string]int
		m[hostIf]++ // as a nil dereference deep in netlink would
	}
	if !f.links[bridge] {
		return fmt.Errorf("%w: no bridge %s", hostnet.ErrInvalid, bridge)
	}
	if f.links[hostIf] || f.links[peerIf] {
		return fmt.Errorf("veth %s: %w", hostIf, hostnet.ErrExists)
	}
	id, err := fdID(netnsFD)
	if err != nil {
		return err
	}
	f.links[hostIf] = true
	f.peerNS[hostIf] = id
	f.adds++
	return nil
}

func (f *fakeNet) GuardPort(hostIf string, group uint32, addr netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.guards[hostIf] = fmt.Sprintf("%d %v", group, addr)
	return nil
}

func (f *fakeNet) DeleteLink(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.links, name)
	delete(f.guards, name)
	return nil
}

func (f *fakeNet) LinkExists(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[name], nil
}

func (f *fakeNet) Links(prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.links {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeNet) SetPorts(owner string, ports []hostnet.Port) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setPorts++
	for _, p := range ports {
		if f.inUse[fmt.Sprintf("%s/%d", p.Protocol, p.HostPort)] {
			return fmt.Errorf("hold %d: %w", p.HostPort, hostnet.ErrPortInUse)
		}
	}
	if len(ports) == 0 {
		delete(f.ports, owner)
	} else {
		f.ports[owner] = slices.Clone(ports)
	}
	return nil
}

func (f *fakeNet) PortOwners() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for o := range f.ports {
		out = append(out, o)
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeNet) UnprivilegedPortStart() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unpriv, nil
}

func (f *fakeNet) SubscribeLinkDeletions(done <-chan struct{}) (<-chan string, error) {
	return f.dels, nil
}

// kill is what the kernel does when a container's namespace dies: the
// veth pair goes, and a deletion event with it (unless quiet).
func (f *fakeNet) kill(hostIf string, quiet bool) {
	f.mu.Lock()
	delete(f.links, hostIf)
	f.mu.Unlock()
	if !quiet {
		f.dels <- hostIf
	}
}

func (f *fakeNet) has(name string) bool { ok, _ := f.LinkExists(name); return ok }
func (f *fakeNet) portsOf(o string) []hostnet.Port {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ports[o])
}

// fakeAuth records every check and refuses the actions in deny.
type fakeAuth struct {
	mu    sync.Mutex
	calls []authCall
	deny  map[string]bool
	panic string        // a check with this container detail panics
	block chan struct{} // when set, each check waits for it (or ctx)
}

type authCall struct {
	sender, action string
	details        map[string]string
}

func (a *fakeAuth) Authorize(ctx context.Context, sender, action string, details map[string]string) error {
	a.mu.Lock()
	a.calls = append(a.calls, authCall{sender, action, details})
	block := a.block
	if a.panic != "" && details[protocol.DetailContainer] == a.panic {
		a.mu.Unlock()
		panic("fakeAuth: " + a.panic)
	}
	a.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deny[action] {
		return protocol.NotAuthorized(action, "refused by the test")
	}
	return nil
}

func (a *fakeAuth) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, c := range a.calls {
		out = append(out, c.action)
	}
	return out
}

func (a *fakeAuth) reset() {
	a.mu.Lock()
	a.calls = nil
	a.mu.Unlock()
}

// syncBuffer is the server's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a Server on a private bus with a fake HostNet and
// Authorizer, and a client connection.
type harness struct {
	t      *testing.T
	addr   string
	cfg    Config
	net    *fakeNet
	auth   *fakeAuth
	log    *syncBuffer
	client *dbus.Conn
	srv    *Server
	cancel context.CancelFunc
	errc   chan error
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.IdleTimeout = time.Hour
	if mod != nil {
		mod(&cfg)
	}
	h := &harness{t: t, addr: testbus.Start(t), cfg: cfg, net: newFakeNet(), auth: &fakeAuth{deny: map[string]bool{}}}
	h.client = connect(t, h.addr)
	return h
}

// start starts a Server (again, after stop: the ledger stays) and waits
// until it owns the name.
func (h *harness) start() {
	t := h.t
	t.Helper()
	h.log = &syncBuffer{}
	srv, err := NewServer(Options{Config: h.cfg, Net: h.net, Auth: h.auth, Log: h.log,
		Address: h.addr})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.srv, h.cancel, h.errc = srv, cancel, make(chan error, 1)
	go func() { h.errc <- srv.Serve(ctx) }()
	t.Cleanup(func() { h.stop() })
	h.waitOwner(true)
}

// stop ends the Server and returns what Serve returned.
func (h *harness) stop() error {
	if h.srv == nil {
		return nil
	}
	h.cancel()
	var err error
	select {
	case err = <-h.errc:
	case <-time.After(10 * time.Second):
		h.t.Errorf("Serve did not return 10 s after its context ended")
	}
	h.srv.Close()
	h.srv = nil
	return err
}

func (h *harness) waitOwner(want bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var has bool
		if err := h.client.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, protocol.BusName).Store(&has); err != nil {
			h.t.Fatal(err)
		}
		if has == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s has owner: %v, want %v", protocol.BusName, has, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) call(method string, args ...any) *dbus.Call {
	return h.client.Object(protocol.BusName, protocol.ObjectPath).Call(protocol.Interface+"."+method, 0, args...)
}

func noOpts() map[string]dbus.Variant { return map[string]dbus.Variant{} }

// attach calls AttachNetwork with ns's descriptors.
func (h *harness) attach(ns *testNS, container string, opts map[string]dbus.Variant) (protocol.AttachNetworkReply, error) {
	var r protocol.AttachNetworkReply
	c := h.call("AttachNetwork", dbus.UnixFD(ns.user.Fd()), dbus.UnixFD(ns.net.Fd()), container, opts)
	if c.Err != nil {
		return r, c.Err
	}
	err := c.Store(&r.Interface, &r.Address, &r.Gateway, &r.MTU)
	return r, err
}

func (h *harness) publish(container, proto, hostIP string, hostPort, ctrPort uint16) error {
	return h.call("PublishPort", container, proto, hostIP, hostPort, ctrPort, noOpts()).Err
}

// records lists the ledger's files (not the lock).
func (h *harness) records() []string {
	var out []string
	filepath.WalkDir(h.cfg.StateDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != filepath.Join(h.cfg.StateDir, "lock") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// wantErr checks err's D-Bus error name (and, when action is set, the
// action in NotAuthorized's body).
func wantErr(t *testing.T, what string, err error, kind *protocol.Error, mention string) {
	t.Helper()
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &dep):
		de = *dep
	case errors.As(err, &de):
	default:
		t.Errorf("%s: error %v, want %s", what, err, kind.Name)
		return
	}
	if de.Name != kind.Name {
		t.Errorf("%s: error %s %v, want %s", what, de.Name, de.Body, kind.Name)
		return
	}
	if mention != "" && (len(de.Body) == 0 || !strings.Contains(fmt.Sprint(de.Body...), mention)) {
		t.Errorf("%s: %s %v does not mention %q", what, de.Name, de.Body, mention)
	}
}

// testNS is a user namespace with a network namespace of its own, held by
// a sleeping child, open as descriptors.
type testNS struct {
	user, net *os.File
}

// newNS makes a user and network namespace owned by the test's uid (Go
// clones the child into them).
func newNS(t *testing.T) *testNS {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot make a user namespace here (%v): unprivileged user namespaces are needed", err)
	}
	return holdNS(t, cmd)
}

// newNSAs makes the namespaces as another uid (root only): unshare runs
// as that uid, so the user namespace is that uid's.
func newNSAs(t *testing.T, uid uint32) *testNS {
	t.Helper()
	cmd := exec.Command("unshare", "-Urn", "sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare as uid %d: %v", uid, err)
	}
	// Wait until unshare has become sleep, inside its namespaces.
	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		if strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare as uid %d never ran sleep", uid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return holdNS(t, cmd)
}

func holdNS(t *testing.T, cmd *exec.Cmd) *testNS {
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ns := &testNS{}
	for _, k := range []struct {
		f    **os.File
		kind string
	}{{&ns.user, "user"}, {&ns.net, "net"}} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", cmd.Process.Pid, k.kind))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		*k.f = f
	}
	return ns
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func (f *fakeNet) peer(hostIf string) nsID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peerNS[hostIf]
}

func (f *fakeNet) bridgeList() []hostnet.BridgeConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bridges)
}

func (f *fakeNet) counts() (adds, setPorts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adds, f.setPorts
}

func (a *fakeAuth) snapshot() []authCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *fakeAuth) setDeny(action string, deny bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deny[action] = deny
}

func (f *fakeNet) setInUse(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inUse[key] = true
}

func (f *fakeNet) guard(hostIf string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.guards[hostIf]
}
