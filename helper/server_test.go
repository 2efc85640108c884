package helper

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/protocol"
)

var uid = uint32(os.Getuid())

// TestAttachRelease: AttachNetwork over the bus with real namespace
// descriptors: the reply, the record (a hashed file name), the veth made
// with the peer in the passed namespace, polkit asked with the caller's bus
// name and details; the same call again gives the same reply and makes
// nothing; ReleaseNetwork removes everything, twice without error.
func TestAttachRelease(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MTU = 1400 })
	h.start()
	ns := newNS(t)
	r, err := h.attach(ns, "web", noOpts())
	if err != nil {
		t.Fatalf("AttachNetwork: %v\n%s", err, h.log.String())
	}
	hostIf, peerIf := ifNames(uid, "web")
	want := protocol.AttachNetworkReply{Interface: peerIf, Address: "10.88.0.2/16", Gateway: "10.88.0.1", MTU: 1400}
	if r != want {
		t.Errorf("reply %+v, want %+v", r, want)
	}
	if !regexp.MustCompile(`^mp[0-9a-f]{12}$`).MatchString(r.Interface) {
		t.Errorf("interface %q, want mp + 12 hex", r.Interface)
	}
	if !h.net.has(hostIf) {
		t.Errorf("no host veth %s", hostIf)
	}
	if id, _ := fdID(int(ns.net.Fd())); h.net.peer(hostIf) != id {
		t.Errorf("the peer went to namespace %v, want the passed one %v", h.net.peer(hostIf), id)
	}
	if bl := h.net.bridgeList(); len(bl) != 1 || bl[0] != (hostnet.BridgeConfig{Name: "myctr0", Gateway: netip.MustParsePrefix("10.88.0.1/16"), MTU: 1400}) {
		t.Errorf("bridges %+v", h.net.bridgeList())
	}
	recs := h.records()
	wantFile := filepath.Join(h.cfg.StateDir, fmt.Sprint(uid), objectHash(uid, "web")+".json")
	if !slices.Equal(recs, []string{wantFile}) {
		t.Errorf("ledger files %v, want %v", recs, wantFile)
	}
	if b, _ := os.ReadFile(wantFile); !strings.Contains(string(b), `"state": "ready"`) {
		t.Errorf("record: %s", b)
	}
	calls := h.auth.snapshot()
	if len(calls) != 1 || calls[0].action != protocol.ActionNetwork || calls[0].sender != h.client.Names()[0] ||
		calls[0].details[protocol.DetailContainer] != "web" || calls[0].details[protocol.DetailBridge] != "myctr0" {
		t.Errorf("authorization calls %+v (client %s)", calls, h.client.Names()[0])
	}

	r2, err := h.attach(ns, "web", noOpts())
	if err != nil || r2 != r {
		t.Errorf("second AttachNetwork: %+v, %v; want %+v", r2, err, r)
	}
	if adds, _ := h.net.counts(); adds != 1 {
		t.Errorf("%d veth pairs made, want 1", adds)
	}

	for i := 0; i < 2; i++ {
		if err := h.call("ReleaseNetwork", "web", noOpts()).Err; err != nil {
			t.Errorf("ReleaseNetwork #%d: %v", i+1, err)
		}
	}
	if h.net.has(hostIf) || len(h.records()) != 0 {
		t.Errorf("after release: veth %v, records %v", h.net.has(hostIf), h.records())
	}
	if !strings.Contains(h.log.String(), fmt.Sprintf("uid=%d method=AttachNetwork container=web outcome=ok", uid)) {
		t.Errorf("no decision line in the log:\n%s", h.log.String())
	}
}

// TestNotOwner: namespaces that are not the caller's are refused with
// NotOwner before polkit is asked, and nothing is made or recorded.
func TestNotOwner(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	a, b := newNS(t), newNS(t)
	self, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	cases := []struct {
		name          string
		userns, netns *os.File
		kind          *protocol.Error
	}{
		{"netns of another user namespace", a.user, b.net, protocol.ErrNotOwner},
		{"the host's netns", a.user, self, protocol.ErrNotOwner},
		{"netns passed as userns", a.net, a.net, protocol.ErrInvalidArgs},
		{"userns passed as netns", a.user, a.user, protocol.ErrInvalidArgs},
	}
	if os.Geteuid() == 0 {
		other := newNSAs(t, 65534)
		cases = append(cases,
			struct {
				name          string
				userns, netns *os.File
				kind          *protocol.Error
			}{"another user's namespaces", other.user, other.net, protocol.ErrNotOwner})
	} else {
		t.Log("not root: the case of another uid's namespaces needs root to start a process as another uid")
	}
	for _, tc := range cases {
		c := h.call("AttachNetwork", dbus.UnixFD(tc.userns.Fd()), dbus.UnixFD(tc.netns.Fd()), "c1", noOpts())
		wantErr(t, tc.name, c.Err, tc.kind, "")
	}
	if adds, _ := h.net.counts(); len(h.auth.snapshot()) != 0 || len(h.records()) != 0 || adds != 0 {
		t.Errorf("after refusals: polkit asked %v, records %v, veths %d", h.auth.snapshot(), h.records(), adds)
	}
}

// TestInvalidArgs: malformed names, unknown options, options of the wrong
// type: InvalidArgs naming the culprit, before polkit, nothing recorded; an
// unknown bridge is Unsupported.
func TestInvalidArgs(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	ns := newNS(t)
	attach := func(ctr string, opts map[string]dbus.Variant) error { _, err := h.attach(ns, ctr, opts); return err }
	v := dbus.MakeVariant
	for _, tc := range []struct {
		name    string
		err     error
		kind    *protocol.Error
		mention string
	}{
		{"attach ../x", attach("../x", noOpts()), protocol.ErrInvalidArgs, "../x"},
		{"attach unknown option", attach("c1", map[string]dbus.Variant{"zzz": v("1")}), protocol.ErrInvalidArgs, "zzz"},
		{"attach bridge of wrong type", attach("c1", map[string]dbus.Variant{"bridge": v(uint32(1))}), protocol.ErrInvalidArgs, "bridge"},
		{"attach bad bridge name", attach("c1", map[string]dbus.Variant{"bridge": v("a/b")}), protocol.ErrInvalidArgs, "a/b"},
		{"attach unknown bridge", attach("c1", map[string]dbus.Variant{"bridge": v("br9")}), protocol.ErrUnsupported, "br9"},
		{"release ../x", h.call("ReleaseNetwork", "../x", noOpts()).Err, protocol.ErrInvalidArgs, "../x"},
		{"release unknown option", h.call("ReleaseNetwork", "c1", map[string]dbus.Variant{"zzz": v(true)}).Err, protocol.ErrInvalidArgs, "zzz"},
		{"publish sctp", h.publish("c1", "sctp", "", 8080, 80), protocol.ErrInvalidArgs, "sctp"},
		{"publish host port 0", h.publish("c1", "tcp", "", 0, 80), protocol.ErrInvalidArgs, "port 0"},
		{"publish ipv6", h.publish("c1", "tcp", "::1", 8080, 80), protocol.ErrInvalidArgs, "::1"},
		{"unpublish ../x", h.call("UnpublishPort", "../x", "tcp", "", uint16(8080), noOpts()).Err, protocol.ErrInvalidArgs, "../x"},
		{"release all unknown option", h.call("ReleaseAll", map[string]dbus.Variant{"zzz": v("1")}).Err, protocol.ErrInvalidArgs, "zzz"},
		{"release all uid of wrong type", h.call("ReleaseAll", map[string]dbus.Variant{"uid": v("0")}).Err, protocol.ErrInvalidArgs, "uid"},
	} {
		wantErr(t, tc.name, tc.err, tc.kind, tc.mention)
	}
	if adds, _ := h.net.counts(); len(h.auth.snapshot()) != 0 || len(h.records()) != 0 || adds != 0 {
		t.Errorf("after refusals: polkit asked %v, records %v, veths %d", h.auth.snapshot(), h.records(), adds)
	}
}

// TestNotAuthorized: polkit's refusal comes back as NotAuthorized with the
// action id in the body, and nothing is recorded or made.
func TestNotAuthorized(t *testing.T) {
	h := newHarness(t, nil)
	h.auth.deny[protocol.ActionNetwork] = true
	h.start()
	ns := newNS(t)
	_, err := h.attach(ns, "c1", noOpts())
	wantErr(t, "AttachNetwork", err, protocol.ErrNotAuthorized, protocol.ActionNetwork)
	if pe, ok := protocol.FromDBus(err).(*protocol.Error); !ok || pe.Action != protocol.ActionNetwork {
		t.Errorf("NotAuthorized does not carry the action: %#v", protocol.FromDBus(err))
	}
	wantErr(t, "ReleaseAll", h.call("ReleaseAll", noOpts()).Err, protocol.ErrNotAuthorized, protocol.ActionNetwork)
	if adds, _ := h.net.counts(); len(h.records()) != 0 || adds != 0 {
		t.Errorf("after a refusal: records %v, veths %d", h.records(), adds)
	}
	// GetVersion asks no one.
	h.auth.reset()
	var version uint32
	var features []string
	if err := h.call("GetVersion").Store(&version, &features); err != nil || version != protocol.Version || !slices.Equal(features, protocol.Features) {
		t.Errorf("GetVersion: %d %v %v", version, features, err)
	}
	if c := h.auth.snapshot(); len(c) != 0 {
		t.Errorf("GetVersion asked polkit: %+v", c)
	}
}

// TestNoPolkit: with the real polkit client and no polkit on the bus,
// every state-changing call is refused, saying that polkit is not running.
func TestNoPolkit(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.stop()
	h.auth = nil
	srv, err := NewServer(Options{Config: h.cfg, Net: h.net, Log: &syncBuffer{},
		Address: h.addr})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.log = &syncBuffer{}
	errc := make(chan error, 1)
	ctx, cancel := contextWithCancel()
	h.cancel, h.errc = cancel, errc
	go func() { errc <- srv.Serve(ctx) }()
	h.waitOwner(true)
	err = h.call("ReleaseNetwork", "c1", noOpts()).Err
	wantErr(t, "ReleaseNetwork", err, protocol.ErrNotAuthorized, "polkit is not running")
	wantErr(t, "ReleaseNetwork", err, protocol.ErrNotAuthorized, protocol.ActionNetwork)
}

// TestQuotas: the per-user limits of the configuration.
func TestQuotas(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxContainersPerUser, c.MaxPortsPerUser = 2, 2 })
	h.start()
	ns := []*testNS{newNS(t), newNS(t), newNS(t)}
	for i, n := range ns[:2] {
		if _, err := h.attach(n, fmt.Sprintf("c%d", i), noOpts()); err != nil {
			t.Fatal(err)
		}
	}
	_, err := h.attach(ns[2], "c2", noOpts())
	wantErr(t, "third container", err, protocol.ErrLimitExceeded, "2")
	for _, p := range []uint16{8001, 8002} {
		if err := h.publish("c0", "tcp", "", p, 80); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "third port", h.publish("c1", "tcp", "", 8003, 80), protocol.ErrLimitExceeded, "2")
	// Releasing one frees room.
	if err := h.call("ReleaseNetwork", "c1", noOpts()).Err; err != nil {
		t.Fatal(err)
	}
	if _, err := h.attach(ns[2], "c2", noOpts()); err != nil {
		t.Errorf("after a release: %v", err)
	}
}

// TestPublish: PublishPort needs an attached container; the rules follow
// the record; a host port is unique across every user (overlapping
// addresses included) and must be free on the host; a low port asks for the
// second action; UnpublishPort of what is not there is NotFound.
func TestPublish(t *testing.T) {
	h := newHarness(t, nil)
	// Another user's container, recorded by an earlier helper, publishes
	// 9090/tcp on every address.
	l, _, err := OpenLedger(h.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	oh, op := ifNames(uid+1, "theirs")
	other := &Record{UID: uid + 1, Container: "theirs", State: stateReady, Bridge: "myctr0", HostIf: oh, PeerIf: op,
		Address: netip.MustParseAddr("10.88.0.2"), Ports: []PortRecord{{Protocol: "tcp", HostPort: 9090, ContainerPort: 80}}}
	if err := l.Put(other); err != nil {
		t.Fatal(err)
	}
	h.net.links[oh] = true
	h.start()

	wantErr(t, "publish before attach", h.publish("web", "tcp", "", 8080, 80), protocol.ErrNotFound, "web")
	ns := newNS(t)
	r, err := h.attach(ns, "web", noOpts())
	if err != nil {
		t.Fatal(err)
	}
	if r.Address != "10.88.0.3/16" {
		t.Errorf("address %s: want 10.88.0.3/16 (.2 is the other user's)", r.Address)
	}
	h.auth.reset()
	if err := h.publish("web", "tcp", "", 8080, 80); err != nil {
		t.Fatal(err)
	}
	hostIf, _ := ifNames(uid, "web")
	want := []hostnet.Port{{Protocol: "tcp", HostPort: 8080, Addr: netip.MustParseAddr("10.88.0.3"), ContainerPort: 80}}
	if got := h.net.portsOf(hostIf); !slices.Equal(got, want) {
		t.Errorf("rules %+v, want %+v", got, want)
	}
	if c := h.auth.snapshot(); len(c) != 1 || c[0].details[protocol.DetailPort] != "8080/tcp" || c[0].details[protocol.DetailProtocol] != "tcp" ||
		c[0].details[protocol.DetailContainer] != "web" {
		t.Errorf("authorization calls %+v", c)
	}
	_, n := h.net.counts()
	if err := h.publish("web", "tcp", "", 8080, 80); err != nil {
		t.Errorf("the same PublishPort again: %v", err)
	}
	if _, n2 := h.net.counts(); n2 != n {
		t.Errorf("the same PublishPort again: %d rule changes", n2-n)
	}
	wantErr(t, "8080 again to another port", h.publish("web", "tcp", "", 8080, 81), protocol.ErrConflict, "8080/tcp")
	wantErr(t, "another user's port", h.publish("web", "tcp", "", 9090, 80), protocol.ErrConflict, "9090/tcp")
	wantErr(t, "another user's port on one address", h.publish("web", "tcp", "127.0.0.1", 9090, 80), protocol.ErrConflict, "9090/tcp")
	if err := h.publish("web", "udp", "", 9090, 80); err != nil {
		t.Errorf("9090/udp: %v", err)
	}
	h.net.setInUse("tcp/7070")
	wantErr(t, "a port a host process holds", h.publish("web", "tcp", "", 7070, 80), protocol.ErrConflict, "in use")

	h.auth.reset()
	h.auth.setDeny(protocol.ActionPublishLowPort, true)
	err = h.publish("web", "tcp", "", 80, 80)
	wantErr(t, "low port refused", err, protocol.ErrNotAuthorized, protocol.ActionPublishLowPort)
	if a := h.auth.actions(); !slices.Equal(a, []string{protocol.ActionNetwork, protocol.ActionPublishLowPort}) {
		t.Errorf("a low port asked for %v", a)
	}
	h.auth.setDeny(protocol.ActionPublishLowPort, false)
	if err := h.publish("web", "tcp", "", 80, 80); err != nil {
		t.Errorf("low port allowed: %v", err)
	}
	h.auth.reset()
	if err := h.publish("web", "tcp", "", 1024, 80); err != nil || slices.Contains(h.auth.actions(), protocol.ActionPublishLowPort) {
		t.Errorf("port 1024 (the unprivileged start): %v, asked %v", err, h.auth.actions())
	}

	if err := h.call("UnpublishPort", "web", "tcp", "", uint16(8080), noOpts()).Err; err != nil {
		t.Fatal(err)
	}
	for _, p := range h.net.portsOf(hostIf) {
		if p.HostPort == 8080 {
			t.Errorf("8080 still has a rule: %+v", h.net.portsOf(hostIf))
		}
	}
	wantErr(t, "unpublish again", h.call("UnpublishPort", "web", "tcp", "", uint16(8080), noOpts()).Err, protocol.ErrNotFound, "8080")
	wantErr(t, "unpublish of no container", h.call("UnpublishPort", "nope", "tcp", "", uint16(8080), noOpts()).Err, protocol.ErrNotFound, "nope")
	// Another user's container reads as absent.
	wantErr(t, "unpublish another user's", h.call("UnpublishPort", "theirs", "tcp", "", uint16(9090), noOpts()).Err, protocol.ErrNotFound, "")

	// Releasing removes the rules.
	if err := h.call("ReleaseNetwork", "web", noOpts()).Err; err != nil {
		t.Fatal(err)
	}
	if p := h.net.portsOf(hostIf); len(p) != 0 {
		t.Errorf("after release: rules %+v", p)
	}
}

// TestReleaseAll: the caller's own containers; another uid's only for
// root.
func TestReleaseAll(t *testing.T) {
	h := newHarness(t, nil)
	l, _, err := OpenLedger(h.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	const otherUID = 4242
	oh, op := ifNames(otherUID, "theirs")
	if err := l.Put(&Record{UID: otherUID, Container: "theirs", State: stateReady, Bridge: "myctr0", HostIf: oh, PeerIf: op,
		Address: netip.MustParseAddr("10.88.0.2")}); err != nil {
		t.Fatal(err)
	}
	h.net.links[oh] = true
	h.start()
	for i := range 2 {
		if _, err := h.attach(newNS(t), fmt.Sprintf("c%d", i), noOpts()); err != nil {
			t.Fatal(err)
		}
	}
	var n uint32
	if err := h.call("ReleaseAll", noOpts()).Store(&n); err != nil || n != 2 {
		t.Errorf("ReleaseAll: %d, %v; want 2", n, err)
	}
	if err := h.call("ReleaseAll", noOpts()).Store(&n); err != nil || n != 0 {
		t.Errorf("ReleaseAll again: %d, %v; want 0", n, err)
	}
	c := h.call("ReleaseAll", map[string]dbus.Variant{"uid": dbus.MakeVariant(uint32(otherUID))})
	if uid != 0 {
		wantErr(t, "ReleaseAll of another uid", c.Err, protocol.ErrNotAuthorized, "root")
		if !h.net.has(oh) {
			t.Error("the other user's veth went")
		}
		return
	}
	if err := c.Store(&n); err != nil || n != 1 || h.net.has(oh) {
		t.Errorf("root's ReleaseAll of uid %d: %d, %v; veth left: %v", otherUID, n, err, h.net.has(oh))
	}
}

// TestReattach: the same container from another namespace: Conflict while
// the old veth lives; once it is gone, the old record is reaped and the
// container attached anew.
func TestReattach(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	a, b := newNS(t), newNS(t)
	if _, err := h.attach(a, "web", noOpts()); err != nil {
		t.Fatal(err)
	}
	_, err := h.attach(b, "web", noOpts())
	wantErr(t, "attach from another netns", err, protocol.ErrConflict, "web")
	hostIf, _ := ifNames(uid, "web")
	h.net.kill(hostIf, true)
	r, err := h.attach(b, "web", noOpts())
	if err != nil || r.Address != "10.88.0.2/16" {
		t.Errorf("attach after the old namespace died: %+v, %v", r, err)
	}
	if id, _ := fdID(int(b.net.Fd())); h.net.peer(hostIf) != id {
		t.Error("the peer is not in the new namespace")
	}
}

// TestNetworkGroups: the "network" option puts a container's port in a
// group of its own network's, shared by the user's containers on that
// network and apart from its plain bridged ones (the uid's group); a
// container attached on one network is not attached again on another
// while it lives; the option reaches polkit as a detail.
func TestNetworkGroups(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	net := func(n string) map[string]dbus.Variant {
		return protocol.AttachOptions{Network: n}.Encode()
	}
	attach := func(ctr string, opts map[string]dbus.Variant) string {
		t.Helper()
		ns := newNS(t)
		r, err := h.attach(ns, ctr, opts)
		if err != nil {
			t.Fatalf("attach %s: %v", ctr, err)
		}
		hostIf, _ := ifNames(uid, ctr)
		g, _, _ := strings.Cut(h.net.guard(hostIf), " ")
		if want := strings.Split(r.Address, "/")[0]; !strings.HasSuffix(h.net.guard(hostIf), " "+want) {
			t.Errorf("%s: guard %q, want its address %s", ctr, h.net.guard(hostIf), want)
		}
		return g
	}
	plain := attach("plain", noOpts())
	a1, a2 := attach("a1", net("front")), attach("a2", net("front"))
	b1 := attach("b1", net("back"))
	if plain != fmt.Sprint(uid) {
		t.Errorf("plain container's group %s, want the uid %d", plain, uid)
	}
	if a1 != a2 || a1 == plain || b1 == a1 || b1 == plain {
		t.Errorf("groups: plain %s, front %s and %s, back %s; want front's shared and each other apart", plain, a1, a2, b1)
	}
	if n, _ := strconv.ParseUint(a1, 10, 32); n < firstNetworkGroup {
		t.Errorf("network group %s is below %d, where uids are", a1, uint32(firstNetworkGroup))
	}
	calls := h.auth.snapshot()
	if last := calls[len(calls)-1]; last.details[protocol.DetailNetwork] != "back" {
		t.Errorf("polkit details %v, want network=back", last.details)
	}

	// Living on front, a1 cannot be attached on back.
	_, err := h.attach(newNS(t), "a1", net("back"))
	wantErr(t, "attach on another network", err, protocol.ErrConflict, "another network")
	_, err = h.attach(newNS(t), "x", net("no/such"))
	wantErr(t, "a bad network name", err, protocol.ErrInvalidArgs, "network name")

	// A group outlives none of its containers: once front is empty, its
	// number may go to the next network.
	for _, c := range []string{"a1", "a2"} {
		if err := h.call("ReleaseNetwork", c, noOpts()).Err; err != nil {
			t.Fatal(err)
		}
	}
	if c1 := attach("c1", net("other")); c1 != a1 {
		t.Errorf("a new network got group %s, want the freed %s", c1, a1)
	}
	if b2 := attach("b2", net("back")); b2 != b1 {
		t.Errorf("back's second container got group %s, want %s", b2, b1)
	}
}

// TestPersistence: a new Server (after an idle exit) knows the last one's
// containers from the ledger: the same reply, no new veth, the address
// kept; released addresses are reused.
func TestPersistence(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	ns := newNS(t)
	r1, err := h.attach(ns, "web", noOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.publish("web", "tcp", "", 8080, 80); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start()
	r2, err := h.attach(ns, "web", noOpts())
	if adds, _ := h.net.counts(); err != nil || r2 != r1 || adds != 1 {
		t.Errorf("after a restart: %+v, %v (veths made: %d); want %+v", r2, err, adds, r1)
	}
	wantErr(t, "8080 after a restart", h.publish("web", "tcp", "", 8080, 81), protocol.ErrConflict, "8080")
	if _, err := h.attach(newNS(t), "db", noOpts()); err != nil {
		t.Fatal(err)
	}
	if err := h.call("ReleaseNetwork", "web", noOpts()).Err; err != nil {
		t.Fatal(err)
	}
	r3, err := h.attach(newNS(t), "cache", noOpts())
	if err != nil || r3.Address != r1.Address {
		t.Errorf("after releasing %s: got %+v, %v; want its address again", r1.Address, r3, err)
	}
}

// TestReaper: objects whose namespace died go, on a link event or at the
// next periodic pass; at start, a record left "creating" by a crash before
// its veth was made, links and port rules with no record go too.
func TestReaper(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ReapInterval = 50 * time.Millisecond })
	// Left by a crash: a record without its veth, a veth and rules
	// without a record.
	l, _, err := OpenLedger(h.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	ch, cp := ifNames(uid, "crashed")
	if err := l.Put(&Record{UID: uid, Container: "crashed", State: stateCreating, Bridge: "myctr0", HostIf: ch, PeerIf: cp,
		Address: netip.MustParseAddr("10.88.0.2")}); err != nil {
		t.Fatal(err)
	}
	stray, _ := ifNames(uid, "stray")
	h.net.links[stray] = true
	h.net.links["eth0"] = true
	h.net.ports["mc000000000000"] = []hostnet.Port{{Protocol: "tcp", HostPort: 1, Addr: netip.MustParseAddr("10.88.0.9"), ContainerPort: 1}}
	h.start()
	waitUntil(t, "the start-up reap", func() bool {
		h.srv.serial(func() error { return nil })
		return len(h.records()) == 0 && !h.net.has(stray) && len(h.net.portsOf("mc000000000000")) == 0
	})
	if !h.net.has("eth0") {
		t.Error("the reaper removed a link that is not the helper's")
	}

	ns := []*testNS{newNS(t), newNS(t)}
	for i, n := range ns {
		if _, err := h.attach(n, fmt.Sprintf("c%d", i), noOpts()); err != nil {
			t.Fatal(err)
		}
		if err := h.publish(fmt.Sprintf("c%d", i), "tcp", "", uint16(8000+i), 80); err != nil {
			t.Fatal(err)
		}
	}
	for i, quiet := range []bool{false, true} { // an event; then none, the periodic pass
		hostIf, _ := ifNames(uid, fmt.Sprintf("c%d", i))
		h.net.kill(hostIf, quiet)
		waitUntil(t, fmt.Sprintf("c%d reaped (quiet %v)", i, quiet), func() bool {
			var rec *Record
			h.srv.serial(func() error { rec = h.srv.ledger.Get(uid, fmt.Sprintf("c%d", i)); return nil })
			return rec == nil && len(h.net.portsOf(hostIf)) == 0
		})
	}
	if len(h.records()) != 0 {
		t.Errorf("records left: %v", h.records())
	}
}

// TestIdleExit: without authorized work for idle_timeout the Server
// releases the name and Serve returns nil; calls that ask nothing of
// polkit (GetVersion, Peer.Ping, Introspect), however many, do not keep
// it alive; a second Server meanwhile waits for the state directory's
// lock and gives up.
func TestIdleExit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	h.start()
	defer func(w time.Duration) { lockWait = w }(lockWait)
	lockWait = 200 * time.Millisecond
	second := make(chan error, 1)
	go func() {
		other, err := NewServer(Options{Config: h.cfg, Net: h.net, Auth: h.auth, Log: &syncBuffer{}, Address: h.addr})
		if other != nil {
			other.Close()
		}
		second <- err
	}()
	// Authorized work keeps it alive.
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		if err := h.call("ReleaseNetwork", "idle", noOpts()).Err; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-second; !errors.Is(err, ErrLocked) {
		t.Errorf("a second Server: %v, want ErrLocked", err)
	}
	select {
	case err := <-h.errc:
		t.Fatalf("Serve returned (%v) while called every 100 ms", err)
	default:
	}
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			h.call("GetVersion")
			h.client.Object(protocol.BusName, protocol.ObjectPath).Call("org.freedesktop.DBus.Peer.Ping", 0)
			h.client.Object(protocol.BusName, protocol.ObjectPath).Call("org.freedesktop.DBus.Introspectable.Introspect", 0)
		}
	}()
	select {
	case err := <-h.errc:
		if err != nil {
			t.Errorf("Serve after the idle timeout: %v", err)
		}
		t.Logf("idle exit after %s", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10 s after the last authorized call (idle_timeout 300ms), pinged every 20 ms")
	}
	h.srv.Close()
	h.srv = nil
	h.waitOwner(false)
	if !strings.Contains(h.log.String(), "idle for 300ms") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

// TestIntrospection: the exported object's methods (names, in and out
// signatures) are those of protocol.IntrospectionXML, and the live
// Introspect call on the bus returns XML declaring the same interface.
func TestIntrospection(t *testing.T) {
	var node introspect.Node
	if err := xml.Unmarshal([]byte(protocol.IntrospectionXML), &node); err != nil {
		t.Fatal(err)
	}
	sigs := func(ms []introspect.Method) []string {
		var out []string
		for _, m := range ms {
			var in, outs string
			for _, a := range m.Args {
				if a.Direction == "out" {
					outs += a.Type
				} else {
					in += a.Type
				}
			}
			out = append(out, m.Name+"("+in+")"+outs)
		}
		slices.Sort(out)
		return out
	}
	var want []string
	for _, i := range node.Interfaces {
		if i.Name == protocol.Interface {
			want = sigs(i.Methods)
		}
	}
	if got := sigs(introspect.Methods(api{})); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("exported methods\n  %v\nprotocol.IntrospectionXML\n  %v", got, want)
	}

	h := newHarness(t, nil)
	h.start()
	var live string
	if err := h.client.Object(protocol.BusName, protocol.ObjectPath).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&live); err != nil {
		t.Fatal(err)
	}
	var liveNode introspect.Node
	if err := xml.Unmarshal([]byte(live), &liveNode); err != nil {
		t.Fatalf("live introspection: %v\n%s", err, live)
	}
	var got []string
	for _, i := range liveNode.Interfaces {
		if i.Name == protocol.Interface {
			got = sigs(i.Methods)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("live %v, want %v", got, want)
	}
	if err := h.client.Object(protocol.BusName, protocol.ObjectPath).Call("org.freedesktop.DBus.Peer.Ping", 0).Err; err != nil {
		t.Errorf("Peer.Ping: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, still not: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
