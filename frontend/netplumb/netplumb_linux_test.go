package netplumb

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const envInner = "_NETPLUMB_TEST_INNER"

// TestPlumbInNamespace runs TestPlumbInner in a user namespace and a
// network namespace made for it when the re-executed test binary is born
// (only the caller's uid and gid mapped, to 0: no newuidmap), where the
// test is root of the user namespace that owns the network namespace, as
// the holder is in N. Everything it makes lives in namespaces it made, so
// it runs with the unit tests, as any user or as root.
func TestPlumbInNamespace(t *testing.T) {
	if os.Getenv(envInner) != "" {
		t.Skip("already inside the test's namespace")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestPlumbInner$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envInner+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	t.Logf("inside the namespace:\n%s", out)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Skipf("cannot make a user and network namespace here (%v): unprivileged user namespaces are needed (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, "--- PASS: TestPlumbInner") {
		if i := strings.Index(s, "--- SKIP: TestPlumbInner"); i >= 0 {
			t.Skip(strings.TrimSpace(s[i:]))
		}
		t.Fatal("TestPlumbInner did not run")
	}
}

// A network of the test: its bridge, gateway, and whether it is internal.
type testNet struct {
	name     string
	bridge   string
	gw       netip.Prefix
	internal bool
}

// A container of the test: its own network namespace with eth0 on one
// network.
type testCtr struct {
	id   string
	net  *testNet
	addr netip.Addr
	fd   int
}

func (c *testCtr) veth() string { return VethName(c.id, c.net.name) }

const port = 7000

func TestPlumbInner(t *testing.T) {
	if os.Getenv(envInner) == "" {
		t.Skip("runs only inside TestPlumbInNamespace's namespaces")
	}
	here := nlHandle(t, -1)
	lo, err := here.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := here.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	// Whether this kernel lets root of a user namespace use nf_tables in
	// its network namespace (it should: nf_tables is namespaced).
	if err := Firewall("tap0", nil); err != nil {
		t.Skipf("nf_tables is not usable in a network namespace owned by an unprivileged user namespace on this kernel: %v", err)
	}

	t.Run("EnableForwardingThread", testEnableForwardingThread)
	if err := EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	if got := readSysctl(t, "net/ipv4/ip_forward"); got != "1" {
		t.Fatalf("ip_forward %q after EnableForwarding", got)
	}

	// The uplink: "tap0" with slirp4netns's addresses, its far end in a
	// namespace that plays the outside, 10.0.2.2, with a server that
	// reports the source address it sees. The outside has no route back
	// to the networks' subnets: only masqueraded traffic gets an answer.
	outside := newNetns(t)
	makeUplink(t, here, outside)
	serve(t, outside, netip.MustParseAddr("10.0.2.2"))

	nets := []*testNet{
		{name: "a", bridge: "mybr-a", gw: netip.MustParsePrefix("10.89.0.1/24")},
		{name: "b", bridge: "mybr-b", gw: netip.MustParsePrefix("10.89.1.1/24")},
		{name: "i", bridge: "mybr-i", gw: netip.MustParsePrefix("10.89.2.1/24"), internal: true},
	}
	macs := map[string]string{}
	for _, n := range nets {
		if err := EnsureBridge(n.bridge, n.gw, 1400); err != nil {
			t.Fatal(err)
		}
		macs[n.bridge] = link(t, here, n.bridge).Attrs().HardwareAddr.String()
	}
	ctrs := []*testCtr{
		{id: "c1", net: nets[0], addr: netip.MustParseAddr("10.89.0.2")},
		{id: "c2", net: nets[0], addr: netip.MustParseAddr("10.89.0.3")},
		{id: "c3", net: nets[1], addr: netip.MustParseAddr("10.89.1.2")},
		{id: "c4", net: nets[2], addr: netip.MustParseAddr("10.89.2.2")},
		{id: "c5", net: nets[2], addr: netip.MustParseAddr("10.89.2.3")},
	}
	for _, c := range ctrs {
		c.fd = newNetns(t)
		if err := AttachVeth(c.net.bridge, c.veth(), c.fd, "eth0", 1400); err != nil {
			t.Fatal(err)
		}
		checkAttached(t, here, c)
		configure(t, c)
		serve(t, c.fd, netip.IPv4Unspecified())
	}
	for _, n := range nets {
		if mac := link(t, here, n.bridge).Attrs().HardwareAddr.String(); mac != macs[n.bridge] {
			t.Errorf("bridge %s: MAC %s once ports joined, was %s", n.bridge, mac, macs[n.bridge])
		}
	}
	fw := func(nets []*testNet) {
		t.Helper()
		var fn []FirewallNet
		for _, n := range nets {
			fn = append(fn, FirewallNet{Bridge: n.bridge, Subnet: n.gw.Masked(), Internal: n.internal})
		}
		if err := Firewall("tap0", fn); err != nil {
			t.Fatal(err)
		}
	}
	fw(nets)
	fw(nets) // replaces, never adds
	if n := countRules(t); n != 1+3+2+2 {
		t.Errorf("%d rules in table inet myctr after two runs, want 8 (replies, 3 within, 2 out, 2 masquerade)", n)
	}

	c1, c2, c3, c4, c5 := ctrs[0], ctrs[1], ctrs[2], ctrs[3], ctrs[4]
	uplink := netip.MustParseAddr("10.0.2.2")
	masq := "10.0.2.100"
	for _, tc := range []struct {
		name     string
		from     *testCtr
		to       netip.Addr
		wantPeer string // "" for no connection
	}{
		{"same network", c1, c2.addr, c1.addr.String()},
		{"same network, back", c2, c1.addr, c2.addr.String()},
		{"same internal network", c4, c5.addr, c4.addr.String()},
		{"network a to b", c1, c3.addr, ""},
		{"network b to a", c3, c2.addr, ""},
		{"internal to a", c4, c1.addr, ""},
		{"a to internal", c1, c4.addr, ""},
		{"a out, masqueraded", c1, uplink, masq},
		{"b out, masqueraded", c3, uplink, masq},
		{"internal out", c4, uplink, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, proto := range []string{"tcp", "udp"} {
				peer, err := ask(tc.from.fd, proto, tc.to)
				if tc.wantPeer == "" {
					if err == nil {
						t.Errorf("%s from %s to %v: answered (%s), want no connection", proto, tc.from.addr, tc.to, peer)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s from %s to %v: %v", proto, tc.from.addr, tc.to, err)
				} else if peer != tc.wantPeer {
					t.Errorf("%s from %s to %v: the server saw %s, want %s", proto, tc.from.addr, tc.to, peer, tc.wantPeer)
				}
			}
		})
	}

	t.Run("ForwardHook", func(t *testing.T) { testForwardHook(t, c1, c2, c3) })
	t.Run("MultiHomed", func(t *testing.T) { testMultiHomed(t, nets[0], nets[1], c1, c3) })
	t.Run("IPv6", func(t *testing.T) { testIPv6(t, here, nets[1]) })

	// A new set replaces the old: b turned internal has no way out.
	nets[1].internal = true
	fw(nets)
	if _, err := ask(c3.fd, "tcp", uplink); err == nil {
		t.Error("b out after b turned internal: connected")
	}
	if _, err := ask(c1.fd, "tcp", uplink); err != nil {
		t.Errorf("a out after b turned internal: %v", err)
	}

	t.Run("EnsureBridge", func(t *testing.T) { testEnsureBridge(t, here) })
	t.Run("AttachVethFailures", func(t *testing.T) { testAttachFailures(t, here, c1) })
	t.Run("Detach", func(t *testing.T) { testDetach(t, here, nets[0], c2) })

	// RemoveBridge takes the bridge and its ports, and the containers'
	// eth0 with them.
	if err := RemoveBridge("mybr-a"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mybr-a", c1.veth(), c2.veth()} {
		if l, _ := linkByName(here, name); l != nil {
			t.Errorf("%s still exists after RemoveBridge", name)
		}
	}
	if l, _ := linkByName(nlHandle(t, c1.fd), "eth0"); l != nil {
		t.Error("c1's eth0 still exists after RemoveBridge")
	}
	if err := RemoveBridge("mybr-a"); err != nil {
		t.Errorf("RemoveBridge of a missing bridge: %v", err)
	}
	if err := RemoveBridge("tap0"); !errors.Is(err, ErrInvalid) {
		t.Errorf("RemoveBridge of a veth: %v, want ErrInvalid", err)
	}
}

// testMultiHomed: a container on two networks (eth0 on a, eth1 on b,
// each configured by ConfigurePeer with its own default route) reaches
// both, from its address on each; ConfigurePeer refuses what it cannot do.
func testMultiHomed(t *testing.T, a, b *testNet, c1, c3 *testCtr) {
	fd := newNetns(t)
	addrA, addrB := netip.MustParseAddr("10.89.0.9"), netip.MustParseAddr("10.89.1.9")
	for i, on := range []struct {
		n    *testNet
		addr netip.Addr
	}{{a, addrA}, {b, addrB}} {
		name := fmt.Sprintf("eth%d", i)
		if err := AttachVeth(on.n.bridge, "vmmulti"+name, fd, name, 1400); err != nil {
			t.Fatal(err)
		}
		p := Peer{Name: name, Address: netip.PrefixFrom(on.addr, on.n.gw.Bits()), Gateway: on.n.gw.Addr(), Metric: 100 + i}
		if err := ConfigurePeer(fd, p); err != nil {
			t.Fatal(err)
		}
	}
	defer DetachVeth("vmmultieth0")
	defer DetachVeth("vmmultieth1")
	for _, tc := range []struct {
		to   netip.Addr
		want netip.Addr
	}{{c1.addr, addrA}, {c3.addr, addrB}} {
		peer, err := ask(fd, "tcp", tc.to)
		if err != nil {
			t.Errorf("to %s: %v", tc.to, err)
		} else if peer != tc.want.String() {
			t.Errorf("to %s: the server saw %s, want %s", tc.to, peer, tc.want)
		}
	}
	again := Peer{Name: "eth1", Address: netip.PrefixFrom(addrB, 24), Gateway: b.gw.Addr(), Metric: 101}
	if err := ConfigurePeer(fd, again); !errors.Is(err, ErrExists) {
		t.Errorf("a second default route of the same metric: %v, want ErrExists", err)
	}
	if err := ConfigurePeer(fd, Peer{Name: "eth7", Address: netip.PrefixFrom(addrB, 24)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a missing interface: %v, want ErrInvalid", err)
	}
	if err := ConfigurePeer(fd, Peer{Name: "eth1", Address: netip.PrefixFrom(addrB, 24), Gateway: a.gw.Addr()}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a gateway outside the subnet: %v, want ErrInvalid", err)
	}
}

// testIPv6: network b made dual-stack (EnsureBridge6); two containers
// given IPv6 addresses by ConfigurePeer reach each other over IPv6 at
// once (no duplicate address detection to wait for), from their own
// addresses; the bridge keeps one global IPv6 address, and loses it again.
func testIPv6(t *testing.T, here *netlink.Handle, b *testNet) {
	gw6 := netip.MustParsePrefix("fd00:b::1/64")
	if err := EnsureBridge6(b.bridge, gw6); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBridge6(b.bridge, netip.MustParsePrefix("fd00:b::fe/64")); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBridge6(b.bridge, gw6); err != nil {
		t.Fatal(err)
	}
	global := func() []string {
		addrs, err := here.AddrList(link(t, here, b.bridge), netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range addrs {
			if !a.IP.IsLinkLocalUnicast() {
				out = append(out, a.IPNet.String())
			}
		}
		return out
	}
	if got := global(); !slices.Equal(got, []string{gw6.String()}) {
		t.Errorf("the bridge's IPv6 addresses: %q, want only %s", got, gw6)
	}
	var fds [2]int
	var v6 [2]netip.Addr
	for i := range fds {
		fds[i] = newNetns(t)
		name := fmt.Sprintf("vmsix%d", i)
		if err := AttachVeth(b.bridge, name, fds[i], "eth0", 1400); err != nil {
			t.Fatal(err)
		}
		defer DetachVeth(name)
		v6[i] = netip.MustParseAddr(fmt.Sprintf("fd00:b::%d", 20+i))
		p := Peer{Name: "eth0", Address: netip.PrefixFrom(netip.MustParseAddr(fmt.Sprintf("10.89.1.%d", 20+i)), 24), Gateway: b.gw.Addr(), Metric: 100,
			Address6: netip.PrefixFrom(v6[i], 64), Gateway6: gw6.Addr()}
		if err := ConfigurePeer(fds[i], p); err != nil {
			t.Fatal(err)
		}
	}
	serve(t, fds[1], netip.IPv6Unspecified())
	for _, proto := range []string{"tcp", "udp"} {
		if peer, err := ask(fds[0], proto, v6[1]); err != nil || peer != v6[0].String() {
			t.Errorf("%s over IPv6 from %s to %s: %q, %v; want the server to see %s", proto, v6[0], v6[1], peer, err, v6[0])
		}
	}
	bad := Peer{Name: "eth0", Address: netip.MustParsePrefix("10.89.1.20/24"), Address6: netip.MustParsePrefix("fd00:b::20/64"), Gateway6: netip.MustParseAddr("fd00:c::1")}
	if err := ConfigurePeer(fds[0], bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("an IPv6 gateway outside the subnet: %v, want ErrInvalid", err)
	}
	if err := EnsureBridge6(b.bridge, netip.MustParsePrefix("fe80::1/64")); !errors.Is(err, ErrInvalid) {
		t.Errorf("a link-local gateway: %v, want ErrInvalid", err)
	}
	if err := EnsureBridge6(b.bridge, netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	if got := global(); len(got) != 0 {
		t.Errorf("the bridge's IPv6 addresses after EnsureBridge6 with none: %q", got)
	}
}

// testEnableForwardingThread: EnableForwarding acts on the namespace of
// the thread it runs on, here one that entered a namespace other than the
// process's.
func testEnableForwardingThread(t *testing.T) {
	if got := readSysctl(t, "net/ipv4/ip_forward"); got != "0" {
		t.Fatalf("ip_forward %q in a new namespace, want 0", got)
	}
	other := newNetns(t)
	var there string
	if err := inNetns(other, func() error {
		if err := EnableForwarding(); err != nil {
			return err
		}
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		there = strings.TrimSpace(string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if there != "1" {
		t.Errorf("ip_forward %q in the thread's namespace after EnableForwarding there", there)
	}
	if got := readSysctl(t, "net/ipv4/ip_forward"); got != "0" {
		t.Errorf("ip_forward %q in the process's namespace after EnableForwarding on another thread's", got)
	}
}

// testForwardHook proves which traffic passes IP forwarding, with a probe
// table that counts before the firewall's filter: bridged traffic within
// a network does not (unless br_netfilter hands it over), traffic between
// networks does.
func testForwardHook(t *testing.T, c1, c2, c3 *testCtr) {
	const sysctl = "net/bridge/bridge-nf-call-iptables"
	_, err := os.Stat("/proc/sys/" + sysctl)
	brnf := err == nil
	if brnf {
		t.Logf("br_netfilter is in this kernel: %s is %s in a new namespace", sysctl, readSysctl(t, sysctl))
		writeSysctl(t, sysctl, "0")
		defer writeSysctl(t, sysctl, "1")
	} else {
		t.Log("no br_netfilter in this kernel")
	}
	within, across := probe(t, "mybr-a", "mybr-b")
	if _, err := ask(c1.fd, "tcp", c2.addr); err != nil {
		t.Fatal(err)
	}
	if _, err := ask(c1.fd, "tcp", c3.addr); err == nil {
		t.Fatal("a to b connected")
	}
	if n := within(); n != 0 {
		t.Errorf("%d packets from a to a passed the IP forward hook, want 0", n)
	}
	if n := across(); n == 0 {
		t.Error("no packet from a to b passed the IP forward hook")
	}
	if !brnf {
		return
	}
	// With bridge-nf-call-iptables=1 bridged IPv4 passes the forward hook
	// with the bridge as input and output: the "within" rule lets it by.
	writeSysctl(t, sysctl, "1")
	within, _ = probe(t, "mybr-a", "mybr-b")
	if _, err := ask(c1.fd, "tcp", c2.addr); err != nil {
		t.Errorf("a to a with %s=1: %v", sysctl, err)
	}
	if n := within(); n == 0 {
		t.Errorf("with %s=1, no packet from a to a passed the IP forward hook", sysctl)
	}
	if _, err := ask(c1.fd, "tcp", c3.addr); err == nil {
		t.Errorf("a to b with %s=1: connected", sysctl)
	}
}

// probe (re)makes the table "inet probe": a forward chain before the
// firewall's that counts packets from bridge a to a and from a to b.
func probe(t *testing.T, a, b string) (within, across func() uint64) {
	t.Helper()
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	table := &nftables.Table{Name: "probe", Family: nftables.TableFamilyINet}
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	ch := c.AddChain(&nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(-300)})
	for _, out := range []string{a, b} {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: append(append(
			ifname(expr.MetaKeyIIFNAME, a), ifname(expr.MetaKeyOIFNAME, out)...), &expr.Counter{})})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	count := func(i int) func() uint64 {
		return func() uint64 {
			c, err := nftables.New(nftables.AsLasting())
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseLasting()
			rules, err := c.GetRules(table, ch)
			if err != nil || len(rules) != 2 {
				t.Fatalf("probe rules: %d, %v", len(rules), err)
			}
			for _, e := range rules[i].Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					return ctr.Packets
				}
			}
			t.Fatal("probe rule without a counter")
			return 0
		}
	}
	return count(0), count(1)
}

func testEnsureBridge(t *testing.T, here *netlink.Handle) {
	gw := netip.MustParsePrefix("10.89.9.1/24")
	for range 2 {
		if err := EnsureBridge("mybr-x", gw, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := addrs(t, here, "mybr-x"); got != "10.89.9.1/24" {
		t.Errorf("addresses %s, want 10.89.9.1/24", got)
	}
	// A changed subnet: the old gateway goes.
	if err := EnsureBridge("mybr-x", netip.MustParsePrefix("10.89.8.1/23"), 1300); err != nil {
		t.Fatal(err)
	}
	l := link(t, here, "mybr-x")
	if got := addrs(t, here, "mybr-x"); got != "10.89.8.1/23" || l.Attrs().MTU != 1300 || l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("after a change: addresses %s, MTU %d, flags %v", got, l.Attrs().MTU, l.Attrs().Flags)
	}
	if err := EnsureBridge("tap0", gw, 0); !errors.Is(err, ErrExists) {
		t.Errorf("EnsureBridge over a veth: %v, want ErrExists", err)
	}
	for _, bad := range []netip.Prefix{netip.MustParsePrefix("10.89.9.0/24"), netip.MustParsePrefix("10.89.9.255/24"), netip.MustParsePrefix("fd00::1/64"), {}} {
		if err := EnsureBridge("mybr-y", bad, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("gateway %v: %v, want ErrInvalid", bad, err)
		}
	}
	if l, _ := linkByName(here, "mybr-y"); l != nil {
		t.Error("a refused EnsureBridge made a bridge")
	}
	if err := RemoveBridge("mybr-x"); err != nil {
		t.Fatal(err)
	}
}

// testAttachFailures: every refused AttachVeth leaves no link behind, in N
// or in the target.
func testAttachFailures(t *testing.T, here *netlink.Handle, c1 *testCtr) {
	target := newNetns(t)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	const host = "vmfail"
	for _, tc := range []struct {
		name   string
		bridge string
		fd     int
		peer   string
		want   error
	}{
		{"closed fd", "mybr-b", 9999, "eth0", ErrInvalid},
		{"not a namespace", "mybr-b", int(devNull.Fd()), "eth0", ErrInvalid},
		{"N itself", "mybr-b", int(self.Fd()), "eth0", ErrInvalid},
		{"no bridge", "mybr-none", target, "eth0", ErrInvalid},
		{"not a bridge", "tap0", target, "eth0", ErrInvalid},
		{"peer name taken", "mybr-b", c1.fd, "eth0", ErrExists},
		{"bad peer name", "mybr-b", target, "eth0/../x", ErrInvalid},
	} {
		before := linkNames(t, nlHandle(t, target))
		err := AttachVeth(tc.bridge, host, tc.fd, tc.peer, 0)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if l, _ := linkByName(here, host); l != nil {
			t.Errorf("%s: %s left behind", tc.name, host)
		}
		if after := linkNames(t, nlHandle(t, target)); after != before {
			t.Errorf("%s: the target's links went from %s to %s", tc.name, before, after)
		}
	}
	if got := linkNames(t, nlHandle(t, c1.fd)); got != "eth0 lo" {
		t.Errorf("c1's links after the failures: %s", got)
	}
	// The host name taken: the existing link stays.
	if err := AttachVeth("mybr-b", c1.veth(), target, "eth0", 0); !errors.Is(err, ErrExists) {
		t.Errorf("host name taken: %v, want ErrExists", err)
	}
	if l, _ := linkByName(here, c1.veth()); l == nil {
		t.Error("host name taken: the existing veth went")
	}
}

func testDetach(t *testing.T, here *netlink.Handle, a *testNet, c2 *testCtr) {
	if err := DetachVeth(c2.veth()); err != nil {
		t.Fatal(err)
	}
	if l, _ := linkByName(nlHandle(t, c2.fd), "eth0"); l != nil {
		t.Error("c2's eth0 still exists after DetachVeth")
	}
	if err := DetachVeth(c2.veth()); err != nil {
		t.Errorf("DetachVeth of a missing veth: %v", err)
	}
	if err := DetachVeth("mybr-b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("DetachVeth of a bridge: %v, want ErrInvalid", err)
	}
	// A container whose namespace ended took its pair with it.
	c6 := &testCtr{id: "c6", net: a, fd: newNetns(t)}
	if err := AttachVeth(a.bridge, c6.veth(), c6.fd, "eth0", 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(c6.fd)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, _ := linkByName(here, c6.veth()); l == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the veth of an ended namespace is still there after 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := DetachVeth(c6.veth()); err != nil {
		t.Errorf("DetachVeth after the namespace ended: %v", err)
	}
}

// checkAttached: the host end on its bridge and up, the peer eth0 in the
// container's namespace with the MTU, down.
func checkAttached(t *testing.T, here *netlink.Handle, c *testCtr) {
	t.Helper()
	h, br := link(t, here, c.veth()), link(t, here, c.net.bridge)
	if h.Attrs().MasterIndex != br.Attrs().Index || h.Attrs().Flags&net.FlagUp == 0 || h.Attrs().MTU != 1400 {
		t.Errorf("%s: master %d (bridge %d), flags %v, MTU %d", c.veth(), h.Attrs().MasterIndex, br.Attrs().Index, h.Attrs().Flags, h.Attrs().MTU)
	}
	p := link(t, nlHandle(t, c.fd), "eth0")
	if p.Type() != "veth" || p.Attrs().Flags&net.FlagUp != 0 || p.Attrs().MTU != 1400 {
		t.Errorf("%s's eth0: %s, flags %v, MTU %d", c.id, p.Type(), p.Attrs().Flags, p.Attrs().MTU)
	}
}

// configure does the container init's part: lo and eth0 up, the address,
// the default route through the bridge.
func configure(t *testing.T, c *testCtr) {
	t.Helper()
	h := nlHandle(t, c.fd)
	if err := h.LinkSetUp(link(t, h, "lo")); err != nil {
		t.Fatal(err)
	}
	p := Peer{Name: "eth0", Address: netip.PrefixFrom(c.addr, c.net.gw.Bits()), Gateway: c.net.gw.Addr(), Metric: 100}
	if err := ConfigurePeer(c.fd, p); err != nil {
		t.Fatal(err)
	}
	eth0 := link(t, h, "eth0")
	if eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("%s: eth0 is not up after ConfigurePeer", c.id)
	}
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != p.Address.String() {
		t.Errorf("%s: eth0's addresses %v (%v), want %s", c.id, addrs, err, p.Address)
	}
}

// makeUplink makes tap0 (10.0.2.100/24, default route via 10.0.2.2) here
// and its far end up0 (10.0.2.2/24) in outside.
func makeUplink(t *testing.T, here *netlink.Handle, outside int) {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = "tap0"
	if err := here.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "up0", PeerNamespace: netlink.NsFd(outside)}); err != nil {
		t.Fatal(err)
	}
	set := func(h *netlink.Handle, name, addr string) netlink.Link {
		l := link(t, h, name)
		a, _ := netlink.ParseAddr(addr)
		if err := h.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	tap := set(here, "tap0", "10.0.2.100/24")
	out := nlHandle(t, outside)
	set(out, "up0", "10.0.2.2/24")
	if err := out.LinkSetUp(link(t, out, "lo")); err != nil {
		t.Fatal(err)
	}
	if err := here.RouteAdd(&netlink.Route{LinkIndex: tap.Attrs().Index, Gw: net.IPv4(10, 0, 2, 2)}); err != nil {
		t.Fatal(err)
	}
}

// serve starts, in the namespace fd, a TCP and a UDP server on addr:port
// that answer "peer=IP" with the source address they see.
func serve(t *testing.T, fd int, addr netip.Addr) {
	t.Helper()
	ap := netip.AddrPortFrom(addr, port).String()
	var l net.Listener
	var pc net.PacketConn
	fam := family(addr)
	if err := inNetns(fd, func() (err error) {
		if l, err = net.Listen("tcp"+fam, ap); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp"+fam, ap)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); pc.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "peer=%s\n", c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	go func() {
		b := make([]byte, 64)
		for {
			_, a, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(fmt.Appendf(nil, "peer=%s\n", a.(*net.UDPAddr).IP), a)
		}
	}()
}

// ask connects from the namespace fd to the server at to:port over proto
// and returns the source address the server saw; an error (a timeout, as
// a dropped packet gives) when there is no answer within 700 ms.
func ask(fd int, proto string, to netip.Addr) (string, error) {
	var c net.Conn
	if err := inNetns(fd, func() (err error) {
		c, err = net.DialTimeout(proto+family(to), netip.AddrPortFrom(to, port).String(), 700*time.Millisecond)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(700 * time.Millisecond))
	if proto == "udp" {
		if _, err := c.Write([]byte("hello")); err != nil {
			return "", err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(strings.TrimSpace(line), "peer="), nil
}

// family is "4" or "6", the address family of a in a Go network name.
func family(a netip.Addr) string {
	if a.Is4() {
		return "4"
	}
	return "6"
}

// newNetns makes a network namespace (in the test's user namespace) and
// returns it open; the thread that made it is discarded.
func newNetns(t *testing.T) int {
	t.Helper()
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new network namespace: %v", r.err)
	}
	t.Cleanup(func() { unix.Close(r.fd) })
	return r.fd
}

// inNetns runs f on a thread that entered the namespace fd, and then
// discards the thread.
func inNetns(fd int, f func() error) error {
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// nlHandle is an rtnetlink handle in the namespace fd (-1: the test's).
func nlHandle(t *testing.T, fd int) *netlink.Handle {
	t.Helper()
	var h *netlink.Handle
	var err error
	if fd < 0 {
		h, err = netlink.NewHandle()
	} else {
		h, err = netlink.NewHandleAt(netns.NsHandle(fd))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func link(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("link %s: %v", name, err)
	}
	return l
}

// linkNames lists the namespace's link names, sorted, space-separated.
func linkNames(t *testing.T, h *netlink.Handle) string {
	t.Helper()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func addrs(t *testing.T, h *netlink.Handle, name string) string {
	t.Helper()
	as, err := h.AddrList(link(t, h, name), netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, a := range as {
		s = append(s, a.IPNet.String())
	}
	return strings.Join(s, " ")
}

func countRules(t *testing.T) int {
	t.Helper()
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	n := 0
	for _, ch := range []string{"forward", "postrouting"} {
		rules, err := c.GetRules(table, &nftables.Chain{Name: ch, Table: table})
		if err != nil {
			t.Fatal(err)
		}
		n += len(rules)
	}
	return n
}

// readSysctl reads key (with slashes) in the process's namespace: on a
// goroutine not locked to a changed thread, which is every thread here.
func readSysctl(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func writeSysctl(t *testing.T, key, v string) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/"+key, []byte(v), 0); err != nil {
		t.Fatal(err)
	}
}
