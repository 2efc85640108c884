package hostnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// Every test that touches the kernel makes its own network namespaces,
// held only by file descriptors of the test process: closing them (or the
// process dying) destroys the namespaces with every link and rule in them.
// Nothing is made in the machine's own namespace, and traffic flows only
// between the test's namespaces.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes network namespaces, bridges, veths and nftables rules (in throwaway namespaces)")
	}
}

// testNS is a network namespace made for one test.
type testNS struct {
	fd   int
	once sync.Once
}

func (n *testNS) path() string { return fmt.Sprintf("/proc/self/fd/%d", n.fd) }

// close drops the test's reference; with no other, the kernel destroys the
// namespace.
func (n *testNS) close() { n.once.Do(func() { unix.Close(n.fd) }) }

func newNS(t *testing.T) *testNS {
	t.Helper()
	type res struct {
		fd  int
		err error
	}
	c := make(chan res, 1)
	go func() {
		// Never unlocked: the thread leaves the process's namespace and is
		// discarded when the goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			c <- res{-1, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		c <- res{fd, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("new network namespace: %v", r.err)
	}
	n := &testNS{fd: r.fd}
	t.Cleanup(n.close)
	return n
}

// in runs f on a thread inside n (sockets made there stay in n).
func (n *testNS) in(f func() error) error {
	c := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as above
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			c <- err
			return
		}
		c <- f()
	}()
	return <-c
}

// handle is a netlink handle in n, closed at the end of the test.
func (n *testNS) handle(t *testing.T) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(n.fd))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func (n *testNS) readFile(t *testing.T, path string) string {
	t.Helper()
	var b []byte
	if err := n.in(func() (err error) { b, err = os.ReadFile(path); return }); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func openHost(t *testing.T, n *testNS) *Host {
	t.Helper()
	h, err := Open(n.path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ipnet(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// configure gives link name in h the address cidr and brings it and lo up.
func configure(t *testing.T, h *netlink.Handle, name, cidr string) {
	t.Helper()
	l, err := h.LinkByName(name)
	must(t, err)
	must(t, h.AddrAdd(l, ipnet(cidr)))
	must(t, h.LinkSetUp(l))
	lo, err := h.LinkByName("lo")
	must(t, err)
	must(t, h.LinkSetUp(lo))
}

// plainLink makes, with h, a link called name that is not a bridge: a
// veth whose peer is name+"p", both in h's namespace (veth needs no module
// beyond what the package itself uses).
func plainLink(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = name
	must(t, h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: name + "p", PeerTxQLen: -1}))
}

func linkNames(t *testing.T, h *netlink.Handle) []string {
	t.Helper()
	ls, err := h.LinkList()
	must(t, err)
	var names []string
	for _, l := range ls {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

var testMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}

var testBridge = BridgeConfig{Name: "mb0", Gateway: netip.MustParsePrefix("10.88.0.1/16"), MTU: 1400}

// world is a host namespace with the bridge, a container namespace with
// vc0 = 10.88.0.2/16 (default route via the bridge), and a client namespace
// joined to the host by a veth: 10.99.0.2 (client) <-> 10.99.0.1 (host).
type world struct {
	host              *Host
	hostNS, ctr, cli  *testNS
	hostNL, ctrNL     *netlink.Handle
	ctrAddr, hostAddr netip.Addr
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{hostNS: newNS(t), ctr: newNS(t), cli: newNS(t),
		ctrAddr: netip.MustParseAddr("10.88.0.2"), hostAddr: netip.MustParseAddr("10.99.0.1")}
	w.host = openHost(t, w.hostNS)
	w.hostNL, w.ctrNL = w.hostNS.handle(t), w.ctr.handle(t)
	must(t, w.host.EnsureBridge(testBridge))
	must(t, w.host.AddVeth("mb0", "mcw0", "vc0", 1400, w.ctr.fd, PeerMAC(w.ctrAddr)))
	must(t, w.host.GuardPort("mcw0", 1000, w.ctrAddr))
	configure(t, w.ctrNL, "vc0", "10.88.0.2/16")
	must(t, w.ctrNL.RouteAdd(&netlink.Route{Gw: net.ParseIP("10.88.0.1")}))

	la := netlink.NewLinkAttrs()
	la.Name = "cl0"
	must(t, w.hostNL.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "cl1", PeerTxQLen: -1, PeerNamespace: netlink.NsFd(w.cli.fd)}))
	configure(t, w.hostNL, "cl0", "10.99.0.1/24")
	configure(t, w.cli.handle(t), "cl1", "10.99.0.2/24")
	return w
}

// serveTCP listens on addr inside n; each connection gets the peer
// address the server saw, then is closed.
func serveTCP(t *testing.T, n *testNS, addr string) {
	t.Helper()
	var l net.Listener
	must(t, n.in(func() (err error) { l, err = net.Listen("tcp4", addr); return }))
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, c.RemoteAddr())
			c.Close()
		}
	}()
}

// serveUDP answers each datagram on addr inside n with the sender's
// address.
func serveUDP(t *testing.T, n *testNS, addr string) {
	t.Helper()
	var pc net.PacketConn
	must(t, n.in(func() (err error) { pc, err = net.ListenPacket("udp4", addr); return }))
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(from.String()), from)
		}
	}()
}

// ask connects from inside n to addr and returns the address the server
// saw as its peer (its IP only).
func ask(n *testNS, network, addr string) (string, error) {
	var reply string
	err := n.in(func() error {
		c, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if network == "udp4" {
			if _, err := c.Write([]byte("?")); err != nil {
				return err
			}
			buf := make([]byte, 64)
			k, err := c.Read(buf)
			reply = string(buf[:k])
			return err
		}
		reply, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	host, _, _ := net.SplitHostPort(strings.TrimSpace(reply))
	return host, err
}

func wantPeer(t *testing.T, n *testNS, network, addr, peer string) {
	t.Helper()
	got, err := ask(n, network, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, addr, err)
	}
	if got != peer {
		t.Fatalf("%s %s: the server saw %q as the peer, want %q", network, addr, got, peer)
	}
}

func wantNoAnswer(t *testing.T, n *testNS, addr string) {
	t.Helper()
	if got, err := ask(n, "tcp4", addr); err == nil {
		t.Fatalf("tcp %s answered (peer %s), want no answer", addr, got)
	}
}

// portRules returns the owner tags of the rules in chain.
func portRules(t *testing.T, h *Host, ch *nftables.Chain) []string {
	t.Helper()
	c, err := h.nft()
	must(t, err)
	defer c.CloseLasting()
	rs, err := taggedRules(c, func(string) bool { return true }, ch)
	must(t, err)
	var tags []string
	for _, r := range rs {
		tags = append(tags, ruleComment(r.UserData))
	}
	return tags
}

func ruleHandles(t *testing.T, h *Host, ch *nftables.Chain) []uint64 {
	t.Helper()
	c, err := h.nft()
	must(t, err)
	defer c.CloseLasting()
	rs, err := c.GetRules(table, ch)
	must(t, err)
	var hs []uint64
	for _, r := range rs {
		hs = append(hs, r.Handle)
	}
	return hs
}

// Case 1: EnsureBridge twice leaves one bridge with one address, up, with
// its MTU, the sysctls set, the base chains, and its masquerade rules once.
func TestEnsureBridge(t *testing.T) {
	needRoot(t)
	n := newNS(t)
	h, nl := openHost(t, n), n.handle(t)
	must(t, h.EnsureBridge(testBridge))
	handles := ruleHandles(t, h, postChain)
	must(t, h.EnsureBridge(testBridge))
	if again := ruleHandles(t, h, postChain); !slices.Equal(again, handles) {
		t.Fatalf("postrouting rule handles %v, then %v: the second call rewrote the rules", handles, again)
	}
	if names := linkNames(t, nl); !slices.Equal(names, []string{"lo", "mb0"}) {
		t.Fatalf("links %v, want [lo mb0]", names)
	}
	l, err := nl.LinkByName("mb0")
	must(t, err)
	if l.Type() != "bridge" || l.Attrs().MTU != 1400 || l.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("mb0: type %s MTU %d flags %v", l.Type(), l.Attrs().MTU, l.Attrs().Flags)
	}
	addrs, err := nl.AddrList(l, netlink.FAMILY_V4)
	must(t, err)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.88.0.1/16" {
		t.Fatalf("mb0 addresses %v, want [10.88.0.1/16]", addrs)
	}
	for path, want := range map[string]string{
		"/proc/sys/net/ipv4/ip_forward":              "1",
		"/proc/sys/net/ipv4/conf/mb0/route_localnet": "1",
	} {
		if got := n.readFile(t, path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}

	c, err := h.nft()
	must(t, err)
	defer c.CloseLasting()
	chains, err := c.ListChains()
	must(t, err)
	got := map[string]string{}
	for _, ch := range chains {
		got[fmt.Sprint(ch.Table.Family, " ", ch.Table.Name, " ", ch.Name)] = fmt.Sprintf("%s hook %d prio %d", ch.Type, *ch.Hooknum, *ch.Priority)
	}
	want := map[string]string{
		"2 myctr prerouting":  fmt.Sprintf("nat hook %d prio -100", unix.NF_INET_PRE_ROUTING),
		"2 myctr output":      fmt.Sprintf("nat hook %d prio -100", unix.NF_INET_LOCAL_OUT),
		"2 myctr postrouting": fmt.Sprintf("nat hook %d prio 100", unix.NF_INET_POST_ROUTING),
		"2 myctr forward":     fmt.Sprintf("filter hook %d prio 0", unix.NF_INET_FORWARD),
		"2 myctr localnet":    fmt.Sprintf("filter hook %d prio -300", unix.NF_INET_PRE_ROUTING),
		"7 myctr prerouting":  fmt.Sprintf("filter hook %d prio -200", unix.NF_INET_PRE_ROUTING),
		"7 myctr forward":     fmt.Sprintf("filter hook %d prio -200", unix.NF_INET_FORWARD),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("chains %v, want %v", got, want)
	}
	// The namespace was new, so ip_forward was 0: the "others" rule too.
	tags := func(subnet string) map[*nftables.Chain][]string {
		p := "myctr bridge mb0 " + subnet + " "
		return map[*nftables.Chain][]string{
			postChain:  {p + "out", p + "lo", p + "hairpin"},
			fwdChain:   {p + "from", p + "established", p + "dnat", p + "into", p + "others"},
			localChain: {p + "localnet"},
			guardPre: {p + "ethertype", p + "ip", p + "arp-header", p + "arp-header", p + "arp-header", p + "arp-header",
				p + "arp", p + "arp-sender", p + "routed"},
			guardFwd: {p + "isolate"},
		}
	}
	for ch, want := range tags("10.88.0.0/16") {
		if got := portRules(t, h, ch); !slices.Equal(got, want) {
			t.Fatalf("%s rules %q, want %q", ch.Name, got, want)
		}
	}

	// A new subnet replaces the bridge's rules rather than adding to them.
	c2 := testBridge
	c2.Gateway = netip.MustParsePrefix("10.89.0.1/16")
	must(t, h.EnsureBridge(c2))
	for ch, want := range tags("10.89.0.0/16") {
		if got := portRules(t, h, ch); !slices.Equal(got, want) {
			t.Fatalf("%s rules after a new subnet %q, want %q", ch.Name, got, want)
		}
	}

	// A link of the name that is not a bridge is refused.
	plainLink(t, nl, "notbr")
	c3 := testBridge
	c3.Name = "notbr"
	if err := h.EnsureBridge(c3); !errors.Is(err, ErrInvalid) {
		t.Fatalf("EnsureBridge on a veth: %v, want ErrInvalid", err)
	}
}

// Case 2: AddVeth puts the peer, under its name, into the container's
// namespace; once configured there, the host reaches it over the bridge.
func TestAddVeth(t *testing.T) {
	needRoot(t)
	w := newWorld(t)
	hv, err := w.hostNL.LinkByName("mcw0")
	must(t, err)
	br, err := w.hostNL.LinkByName("mb0")
	must(t, err)
	if hv.Type() != "veth" || hv.Attrs().MasterIndex != br.Attrs().Index || hv.Attrs().MTU != 1400 || hv.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("mcw0: type %s master %d (bridge %d) MTU %d flags %v", hv.Type(), hv.Attrs().MasterIndex, br.Attrs().Index, hv.Attrs().MTU, hv.Attrs().Flags)
	}
	if _, err := w.hostNL.LinkByName("vc0"); err == nil {
		t.Fatal("vc0 is in the host namespace")
	}
	pv, err := w.ctrNL.LinkByName("vc0")
	must(t, err)
	if pv.Type() != "veth" || pv.Attrs().MTU != 1400 || pv.Attrs().HardwareAddr.String() != "02:6d:0a:58:00:02" {
		t.Fatalf("vc0: type %s MTU %d MAC %s", pv.Type(), pv.Attrs().MTU, pv.Attrs().HardwareAddr)
	}
	serveTCP(t, w.ctr, "10.88.0.2:80")
	wantPeer(t, w.hostNS, "tcp4", "10.88.0.2:80", "10.88.0.1")
}

// Case 3: published ports, from a client namespace and from the host.
func TestSetPorts(t *testing.T) {
	needRoot(t)
	w := newWorld(t)
	serveTCP(t, w.ctr, ":80")
	serveUDP(t, w.ctr, ":53")
	const a, b = "aaaa01", "bbbb02"
	must(t, w.host.SetPorts(a, []Port{
		{Protocol: "tcp", HostPort: 8080, Addr: w.ctrAddr, ContainerPort: 80},
		{Protocol: "udp", HostPort: 5353, Addr: w.ctrAddr, ContainerPort: 53},
		{Protocol: "tcp", HostIP: w.hostAddr, HostPort: 8082, Addr: w.ctrAddr, ContainerPort: 80},
	}))
	must(t, w.host.SetPorts(b, []Port{{Protocol: "tcp", HostPort: 9090, Addr: w.ctrAddr, ContainerPort: 80}}))
	wantTags := []string{"myctr port " + a, "myctr port " + a, "myctr port " + a, "myctr port " + b}
	for _, ch := range []*nftables.Chain{preChain, outChain} {
		if tags := portRules(t, w.host, ch); !slices.Equal(tags, wantTags) {
			t.Fatalf("%s rules %q, want %q", ch.Name, tags, wantTags)
		}
	}
	owners, err := w.host.PortOwners()
	must(t, err)
	if !slices.Equal(owners, []string{a, b}) {
		t.Fatalf("owners %v, want [%s %s]", owners, a, b)
	}

	// From outside: the container sees the client's own address.
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:8080", "10.99.0.2")
	wantPeer(t, w.cli, "udp4", "10.99.0.1:5353", "10.99.0.2")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:8082", "10.99.0.2")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:9090", "10.99.0.2")
	// From the host itself, through loopback (masqueraded to the bridge).
	wantPeer(t, w.hostNS, "tcp4", "127.0.0.1:8080", "10.88.0.1")
	// A port bound to one host address does not answer on another.
	wantNoAnswer(t, w.hostNS, "127.0.0.1:8082")
	// The container going out is masqueraded.
	serveTCP(t, w.cli, "10.99.0.2:7000")
	wantPeer(t, w.ctr, "tcp4", "10.99.0.2:7000", "10.99.0.1")
	// A neighbour that routes the subnet through the host does not reach
	// the container's own address, only what is published.
	must(t, w.cli.handle(t).RouteAdd(&netlink.Route{Dst: ipnet("10.88.0.0/16").IPNet, Gw: net.ParseIP("10.99.0.1")}))
	wantNoAnswer(t, w.cli, "10.88.0.2:80")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:8080", "10.99.0.2")

	// A new list replaces the old one; the other owner is untouched.
	must(t, w.host.SetPorts(a, []Port{{Protocol: "tcp", HostPort: 8081, Addr: w.ctrAddr, ContainerPort: 80}}))
	wantNoAnswer(t, w.cli, "10.99.0.1:8080")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:8081", "10.99.0.2")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:9090", "10.99.0.2")

	// Nil removes all of an owner's ports.
	must(t, w.host.SetPorts(a, nil))
	wantNoAnswer(t, w.cli, "10.99.0.1:8081")
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:9090", "10.99.0.2")
	owners, err = w.host.PortOwners()
	must(t, err)
	if !slices.Equal(owners, []string{b}) {
		t.Fatalf("owners %v, want [%s]", owners, b)
	}
	must(t, w.host.SetPorts(b, nil))
	owners, err = w.host.PortOwners()
	must(t, err)
	if len(owners) != 0 {
		t.Fatalf("owners %v, want none", owners)
	}
	if tags := portRules(t, w.host, preChain); len(tags) != 0 {
		t.Fatalf("prerouting rules left: %q", tags)
	}

	// Invalid input changes nothing.
	for _, ps := range [][]Port{
		{{Protocol: "sctp", HostPort: 1, Addr: w.ctrAddr, ContainerPort: 1}},
		{{Protocol: "tcp", HostPort: 0, Addr: w.ctrAddr, ContainerPort: 1}},
		{{Protocol: "tcp", HostPort: 1, Addr: netip.MustParseAddr("::1"), ContainerPort: 1}},
		{{Protocol: "tcp", HostPort: 1, ContainerPort: 1}},
		{{Protocol: "tcp", HostPort: 1, Addr: w.ctrAddr, ContainerPort: 1}, {Protocol: "tcp", HostPort: 1, Addr: w.ctrAddr, ContainerPort: 2}},
	} {
		if err := w.host.SetPorts(a, ps); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetPorts(%v): %v, want ErrInvalid", ps, err)
		}
	}
	if err := w.host.SetPorts("a b", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetPorts with owner %q: %v, want ErrInvalid", "a b", err)
	}
}

// Case 4: AddVeth with a name taken fails with ErrExists and leaves
// nothing new in either namespace.
func TestAddVethExists(t *testing.T) {
	needRoot(t)
	hn, cn := newNS(t), newNS(t)
	h, hnl, cnl := openHost(t, hn), hn.handle(t), cn.handle(t)
	must(t, h.EnsureBridge(testBridge))
	plainLink(t, hnl, "taken0")
	plainLink(t, cnl, "taken1")
	for _, tc := range []struct{ hostIf, peerIf, why string }{
		{"taken0", "vc0", "host end taken in the host"},
		{"vh0", "taken0", "peer name taken in the host"},
		{"vh0", "taken1", "peer name taken in the container"},
	} {
		hostBefore, ctrBefore := linkNames(t, hnl), linkNames(t, cnl)
		err := h.AddVeth("mb0", tc.hostIf, tc.peerIf, 1400, cn.fd, testMAC)
		if !errors.Is(err, ErrExists) {
			t.Errorf("%s: %v, want ErrExists", tc.why, err)
		}
		if a, b := linkNames(t, hnl), linkNames(t, cnl); !slices.Equal(a, hostBefore) || !slices.Equal(b, ctrBefore) {
			t.Errorf("%s: links now %v / %v, were %v / %v", tc.why, a, b, hostBefore, ctrBefore)
		}
	}
	// The Host's own namespace as the target, or a bridge that is not one.
	before := linkNames(t, hnl)
	if err := h.AddVeth("mb0", "vh0", "vc0", 1400, hn.fd, testMAC); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddVeth into the host's namespace: %v, want ErrInvalid", err)
	}
	if err := h.AddVeth("taken0", "vh0", "vc0", 1400, cn.fd, testMAC); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddVeth onto a veth: %v, want ErrInvalid", err)
	}
	if after := linkNames(t, hnl); !slices.Equal(after, before) {
		t.Errorf("links now %v, were %v", after, before)
	}
}

// Case 5: DeleteLink, LinkExists, Links.
func TestLinks(t *testing.T) {
	needRoot(t)
	hn, cn := newNS(t), newNS(t)
	h, cnl := openHost(t, hn), cn.handle(t)
	must(t, h.EnsureBridge(testBridge))
	must(t, h.AddVeth("mb0", "mcv-a", "pa", 0, cn.fd, testMAC))
	must(t, h.AddVeth("mb0", "mcv-b", "pb", 0, cn.fd, testMAC))
	got, err := h.Links("mcv-")
	must(t, err)
	slices.Sort(got)
	if !slices.Equal(got, []string{"mcv-a", "mcv-b"}) {
		t.Fatalf("Links(mcv-) = %v", got)
	}
	if got, err := h.Links("zz"); err != nil || len(got) != 0 {
		t.Fatalf("Links(zz) = %v, %v", got, err)
	}
	if ok, err := h.LinkExists("mcv-a"); !ok || err != nil {
		t.Fatalf("LinkExists(mcv-a) = %v, %v", ok, err)
	}
	must(t, h.DeleteLink("mcv-a"))
	if ok, err := h.LinkExists("mcv-a"); ok || err != nil {
		t.Fatalf("after delete: LinkExists(mcv-a) = %v, %v", ok, err)
	}
	if names := linkNames(t, cnl); !slices.Equal(names, []string{"lo", "pb"}) {
		t.Fatalf("container links %v, want [lo pb]: the peer goes with its pair", names)
	}
	must(t, h.DeleteLink("mcv-a")) // absent: nil
	if err := h.DeleteLink("lo"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("DeleteLink(lo): %v, want ErrInvalid", err)
	}
	if ok, _ := h.LinkExists("lo"); !ok {
		t.Fatal("lo was deleted")
	}
	for _, bad := range []string{"", "../x", "a/b", strings.Repeat("x", 16)} {
		if err := h.DeleteLink(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DeleteLink(%q): %v, want ErrInvalid", bad, err)
		}
	}
	must(t, h.DeleteLink("mb0"))
	if ok, _ := h.LinkExists("mb0"); ok {
		t.Fatal("mb0 still exists")
	}
}

// Case 6: when the container's namespace goes, its host veth end goes too,
// and SubscribeLinkDeletions says so (and not when a port merely leaves
// the bridge).
func TestLinkDeletions(t *testing.T) {
	needRoot(t)
	hn, cn := newNS(t), newNS(t)
	h, hnl := openHost(t, hn), hn.handle(t)
	must(t, h.EnsureBridge(testBridge))
	done := make(chan struct{})
	defer func() {
		select {
		case <-done:
		default:
			close(done)
		}
	}()
	names, err := h.SubscribeLinkDeletions(done)
	must(t, err)
	must(t, h.AddVeth("mb0", "vh0", "vc0", 1400, cn.fd, testMAC))
	must(t, h.AddVeth("mb0", "vh1", "vc1", 1400, cn.fd, testMAC))
	l, err := hnl.LinkByName("vh1")
	must(t, err)
	must(t, hnl.LinkSetNoMaster(l)) // RTM_DELLINK of family AF_BRIDGE
	select {
	case n := <-names:
		t.Fatalf("reported %q deleted while every link exists", n)
	case <-time.After(300 * time.Millisecond):
	}

	cn.close() // the last reference: the kernel destroys the namespace
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for !seen["vh0"] || !seen["vh1"] {
		select {
		case n := <-names:
			seen[n] = true
		case <-deadline:
			t.Fatalf("reported %v, want vh0 and vh1", seen)
		}
	}
	for _, n := range []string{"vh0", "vh1"} {
		if ok, err := h.LinkExists(n); ok || err != nil {
			t.Fatalf("LinkExists(%s) = %v, %v after the namespace went", n, ok, err)
		}
	}
	close(done)
	select {
	case _, ok := <-names:
		for ok {
			_, ok = <-names
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel stays open after done")
	}
}

// Case 7: SetPorts holds each published host port in the Host's
// namespace (only there), so a later bind there fails; a port bound
// already is ErrPortInUse and changes nothing; removing the port frees it.
func TestHeldPorts(t *testing.T) {
	needRoot(t)
	w := newWorld(t)
	serveTCP(t, w.ctr, ":80")
	other := newNS(t)
	bind := func(n *testNS, network, addr string) error {
		return n.in(func() error {
			var c io.Closer
			var err error
			if network == "tcp4" {
				c, err = net.Listen(network, addr) // SO_REUSEADDR, as Go's listeners have it
			} else {
				c, err = net.ListenPacket(network, addr)
			}
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	must(t, w.host.SetPorts("aaaa01", []Port{
		{Protocol: "tcp", HostPort: 8080, Addr: w.ctrAddr, ContainerPort: 80},
		{Protocol: "udp", HostIP: w.hostAddr, HostPort: 5353, Addr: w.ctrAddr, ContainerPort: 53},
	}))
	for _, b := range [][2]string{{"tcp4", ":8080"}, {"tcp4", "10.99.0.1:8080"}, {"udp4", ":5353"}, {"udp4", "10.99.0.1:5353"}} {
		if err := bind(w.hostNS, b[0], b[1]); !errors.Is(err, unix.EADDRINUSE) {
			t.Errorf("bind %s %s while published: %v, want EADDRINUSE", b[0], b[1], err)
		}
	}
	must(t, bind(other, "tcp4", ":8080")) // another namespace is not held

	// A port someone holds: the whole call fails and nothing changes.
	var l net.Listener
	must(t, w.hostNS.in(func() (err error) { l, err = net.Listen("tcp4", ":8081"); return }))
	err := w.host.SetPorts("aaaa01", []Port{
		{Protocol: "tcp", HostPort: 8080, Addr: w.ctrAddr, ContainerPort: 80},
		{Protocol: "tcp", HostPort: 8081, Addr: w.ctrAddr, ContainerPort: 80},
	})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("SetPorts with a port in use: %v, want ErrPortInUse", err)
	}
	l.Close()
	if tags := portRules(t, w.host, preChain); len(tags) != 2 {
		t.Errorf("after the refused call: prerouting rules %q, want the two of before", tags)
	}
	wantPeer(t, w.cli, "tcp4", "10.99.0.1:8080", "10.99.0.2")
	if err := bind(w.hostNS, "tcp4", ":8080"); !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("after the refused call, 8080 is not held: %v", err)
	}
	if err := w.host.SetPorts("bbbb02", []Port{{Protocol: "tcp", HostIP: netip.MustParseAddr("10.123.0.1"), HostPort: 80, Addr: w.ctrAddr, ContainerPort: 80}}); !errors.Is(err, unix.EADDRNOTAVAIL) {
		t.Errorf("a host address the host lacks: %v, want EADDRNOTAVAIL", err)
	}

	// Dropping a port frees it; the rest stays held.
	must(t, w.host.SetPorts("aaaa01", []Port{{Protocol: "udp", HostIP: w.hostAddr, HostPort: 5353, Addr: w.ctrAddr, ContainerPort: 53}}))
	must(t, bind(w.hostNS, "tcp4", ":8080"))
	if err := bind(w.hostNS, "udp4", ":5353"); !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("5353 is no longer held: %v", err)
	}
	must(t, w.host.SetPorts("aaaa01", nil))
	must(t, bind(w.hostNS, "udp4", ":5353"))
}

// Case 8: the guard. Ports of the same uid talk directly; another uid's
// port reaches neither directly nor by routing through the host, but does
// reach a published port (through the host); an unpinned port sends
// nothing; DeleteLink removes a port's elements. With br_netfilter, which
// bridges a frame translated to a published port on the same bridge, and
// without.
func TestGuard(t *testing.T) {
	needRoot(t)
	for _, brnf := range []string{"0", "1"} {
		t.Run("bridge-nf-call-iptables="+brnf, func(t *testing.T) { testGuard(t, brnf) })
	}
}

func testGuard(t *testing.T, brnf string) {
	w := newWorld(t)
	const knob = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := w.hostNS.in(func() error { return os.WriteFile(knob, []byte(brnf), 0) }); err != nil {
		if brnf == "1" {
			t.Skipf("no br_netfilter here: %v", err)
		}
	}
	serveTCP(t, w.ctr, ":80")
	must(t, w.host.SetPorts("aaaa01", []Port{{Protocol: "tcp", HostPort: 8080, Addr: w.ctrAddr, ContainerPort: 80}}))
	ctr := func(hostIf, peerIf, addr string, uid uint32, guard bool) *testNS {
		n := newNS(t)
		a := netip.MustParseAddr(addr)
		must(t, w.host.AddVeth("mb0", hostIf, peerIf, 1400, n.fd, PeerMAC(a)))
		if guard {
			must(t, w.host.GuardPort(hostIf, uid, a))
		}
		nl := n.handle(t)
		configure(t, nl, peerIf, addr+"/16")
		must(t, nl.RouteAdd(&netlink.Route{Gw: net.ParseIP("10.88.0.1")}))
		return n
	}
	same := ctr("mcg1", "vc1", "10.88.0.3", 1000, true)
	other := ctr("mcg2", "vc2", "10.88.0.4", 2000, true)
	loose := ctr("mcg3", "vc3", "10.88.0.5", 1000, false)
	wantPeer(t, same, "tcp4", "10.88.0.2:80", "10.88.0.3")
	wantNoAnswer(t, other, "10.88.0.2:80")
	wantPeer(t, other, "tcp4", "10.88.0.1:8080", "10.88.0.1") // published: through the host, masqueraded
	wantNoAnswer(t, loose, "10.88.0.1:8080")
	// Routing through the host instead of the bridge.
	must(t, other.handle(t).RouteAdd(&netlink.Route{Dst: ipnet("10.88.0.2/32").IPNet, Gw: net.ParseIP("10.88.0.1")}))
	wantNoAnswer(t, other, "10.88.0.2:80")

	elements := func(name string) int {
		c, err := w.host.nft()
		must(t, err)
		defer c.CloseLasting()
		n := 0
		for _, s := range []*nftables.Set{pinSet, memberSet, peerSet} {
			els, err := c.GetSetElements(s)
			must(t, err)
			for _, e := range els {
				n += strings.Count(string(e.Key), name)
			}
		}
		return n
	}
	// mcg1: a pin, a member, and two peers (mcw0 both ways); mcg2: a pin,
	// a member, no peer.
	if n1, n2 := elements("mcg1"), elements("mcg2"); n1 != 4 || n2 != 2 {
		t.Fatalf("mcg1 has %d elements, want 4; mcg2 %d, want 2", n1, n2)
	}
	must(t, w.host.GuardPort("mcg1", 1000, netip.MustParseAddr("10.88.0.3"))) // again: replaced, not added
	if n := elements("mcg1"); n != 4 {
		t.Fatalf("after a second GuardPort, mcg1 has %d elements, want 4", n)
	}
	// nft itself can read the tables back (it cannot show every
	// expression nf_tables accepts).
	if nft, err := exec.LookPath("nft"); err == nil {
		var out []byte
		must(t, w.hostNS.in(func() (err error) { out, err = exec.Command(nft, "list", "ruleset").CombinedOutput(); return err }))
		if !strings.Contains(string(out), "iifname . oifname != @peers drop") {
			t.Errorf("nft list ruleset:\n%s", out)
		}
	}
	must(t, w.host.DeleteLink("mcg1"))
	if n := elements("mcg1"); n != 0 {
		t.Fatalf("after DeleteLink, mcg1 has %d elements", n)
	}
}

// Case 9: the forward chain keeps the Host's forwarding between its other
// interfaces as it was: off when the helper turned ip_forward on, on when
// it was on already.
func TestForwardOthers(t *testing.T) {
	needRoot(t)
	for _, was := range []string{"0", "1"} {
		t.Run("ip_forward="+was, func(t *testing.T) {
			hn, a, b := newNS(t), newNS(t), newNS(t)
			must(t, hn.in(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte(was), 0) }))
			h, hnl := openHost(t, hn), hn.handle(t)
			must(t, h.EnsureBridge(testBridge))
			for i, n := range []*testNS{a, b} {
				la := netlink.NewLinkAttrs()
				la.Name = fmt.Sprintf("up%d", i)
				must(t, hnl.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerTxQLen: -1, PeerNamespace: netlink.NsFd(n.fd)}))
				configure(t, hnl, la.Name, fmt.Sprintf("10.9%d.0.1/24", i))
				nl := n.handle(t)
				configure(t, nl, "eth0", fmt.Sprintf("10.9%d.0.2/24", i))
				must(t, nl.RouteAdd(&netlink.Route{Gw: net.ParseIP(fmt.Sprintf("10.9%d.0.1", i))}))
			}
			serveTCP(t, b, ":7000")
			if was == "1" {
				wantPeer(t, a, "tcp4", "10.91.0.2:7000", "10.90.0.2")
			} else {
				wantNoAnswer(t, a, "10.91.0.2:7000")
			}
		})
	}
}

// UnprivilegedPortStart reads the Host's namespace, not the caller's.
func TestUnprivilegedPortStart(t *testing.T) {
	needRoot(t)
	n := newNS(t)
	h := openHost(t, n)
	must(t, n.in(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("2345"), 0)
	}))
	got, err := h.UnprivilegedPortStart()
	if err != nil || got != 2345 {
		t.Fatalf("UnprivilegedPortStart() = %d, %v, want 2345", got, err)
	}
}

// Open("") opens the process's own namespace (read-only use here); a
// closed Host refuses work; a file that is not a network namespace is
// refused.
func TestOpenClose(t *testing.T) {
	needRoot(t)
	h, err := Open("")
	must(t, err)
	if ok, err := h.LinkExists("lo"); !ok || err != nil {
		t.Fatalf("LinkExists(lo) in the own namespace = %v, %v", ok, err)
	}
	must(t, h.Close())
	must(t, h.Close())
	if _, err := h.LinkExists("lo"); err == nil {
		t.Fatal("a closed Host still works")
	}
	if _, err := Open("/proc/self/ns/uts"); err == nil {
		t.Fatal("Open accepted a UTS namespace")
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("Open accepted a directory")
	}
}

// Validation needs no privilege.
func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"mb0", true}, {"br.0", true}, {"a-b_c", true}, {strings.Repeat("a", 15), true},
		{"", false}, {strings.Repeat("a", 16), false}, {"-a", false}, {".", false},
		{"..", false}, {"a/b", false}, {"a b", false}, {"a\x00", false}, {"ü", false},
	} {
		if validName(tc.s) != tc.ok {
			t.Errorf("validName(%q) = %v", tc.s, !tc.ok)
		}
	}
	gw := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	for _, tc := range []struct {
		c  BridgeConfig
		ok bool
	}{
		{BridgeConfig{"mb0", gw("10.88.0.1/16"), 1500}, true},
		{BridgeConfig{"mb0", gw("10.88.0.1/16"), 0}, true},
		{BridgeConfig{"mb0", gw("10.88.0.0/16"), 0}, false}, // network address
		{BridgeConfig{"mb0", gw("127.0.0.1/8"), 0}, false},
		{BridgeConfig{"mb0", gw("fd00::1/64"), 0}, false},
		{BridgeConfig{"mb0", gw("10.88.0.1/31"), 0}, false},
		{BridgeConfig{"mb0", netip.Prefix{}, 0}, false},
		{BridgeConfig{"mb0", gw("10.88.0.1/16"), 100}, false},
		{BridgeConfig{"a/b", gw("10.88.0.1/16"), 0}, false},
	} {
		if err := tc.c.check(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("check(%+v) = %v", tc.c, err)
		}
	}
	for _, ud := range [][]byte{nil, {0}, {0, 5, 'a'}, {1, 1, 'x', 0, 200}, {7, 0, 0, 3, 'a', 'b', 0}} {
		_ = ruleComment(ud) // malformed user data must not panic
	}
	if got := ruleComment(comment("myctr port ab")); got != "myctr port ab" {
		t.Errorf("ruleComment(comment(x)) = %q", got)
	}
	if got := ruleComment([]byte{7, 1, 'z', 0, 3, 'a', 'b', 0}); got != "ab" {
		t.Errorf("comment after another field: %q", got)
	}
	if !protocol.ValidName(strings.Repeat("f", 64), 64) || protocol.ValidName(strings.Repeat("f", 65), 64) {
		t.Error("owner length limit is not 64")
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", unix.EOPNOTSUPP), true},
		{fmt.Errorf("x: %w", unix.EPROTONOSUPPORT), true},
		{fmt.Errorf("x: %w", unix.EPERM), false},
	} {
		if got := errors.Is(nftErr("op", tc.err), ErrNoNftables); got != tc.want {
			t.Errorf("nftErr(%v) is ErrNoNftables: %v", tc.err, got)
		}
	}
}
