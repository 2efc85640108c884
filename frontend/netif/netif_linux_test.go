package netif

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const envInner = "_NETIF_TEST_INNER"

// TestConfigureInNamespace runs the *Inner tests in a user and network
// namespace made for it (unshare --user --map-root-user --net), where the
// test is root of the user namespace that owns the network namespace, as
// the container's init is, and may make links: it touches no other
// namespace. It needs only unprivileged user namespaces, as any user or
// root, so it runs with the unit tests.
func TestConfigureInNamespace(t *testing.T) {
	if os.Getenv(envInner) != "" {
		t.Skip("already inside the test's namespace")
	}
	for _, p := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found: install util-linux and iproute2 (tests/setup/deps.sh does)", p)
		}
	}
	if err := exec.Command("unshare", "--user", "--map-root-user", "--net", "true").Run(); err != nil {
		t.Skipf("cannot make a user and network namespace here (%v): unprivileged user namespaces are needed", err)
	}
	self, _ := os.Executable()
	args := []string{"--user", "--map-root-user", "--net", self, "-test.run=^Test(Configure|MarkedLocal)Inner$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), envInner+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside the namespace:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, inner := range []string{"TestConfigureInner", "TestMarkedLocalInner"} {
		if !strings.Contains(string(out), "--- PASS: "+inner) && testing.Verbose() {
			t.Fatalf("%s did not run", inner)
		}
	}
}

func TestConfigureInner(t *testing.T) {
	if os.Getenv(envInner) == "" {
		t.Skip("runs only inside TestConfigureInNamespace's namespace")
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	// As the helper hands it over: one end of a veth pair, down, with a
	// name of its own.
	run("link", "add", "vh1234", "type", "veth", "peer", "name", "vhpeer")

	err := Configure(Config{Interface: "nosuch0", Name: "eth0", Address: []byte{10, 88, 0, 5}, PrefixLen: 16})
	if err == nil || !strings.Contains(err.Error(), "find interface nosuch0") {
		t.Errorf("missing interface: %v", err)
	}

	cfg := Config{Interface: "vh1234", Name: "eth0", Address: []byte{10, 88, 0, 5}, PrefixLen: 16, Gateway: []byte{10, 88, 0, 1}, MTU: 1400}
	if err := Configure(cfg); err != nil {
		t.Fatal(err)
	}
	ifc, err := net.InterfaceByName("eth0")
	if err != nil {
		t.Fatalf("eth0 after Configure: %v", err)
	}
	if _, err := net.InterfaceByName("vh1234"); err == nil {
		t.Error("the old name still exists")
	}
	if ifc.MTU != 1400 {
		t.Errorf("MTU %d, want 1400", ifc.MTU)
	}
	if ifc.Flags&net.FlagUp == 0 {
		t.Errorf("flags %v: not up", ifc.Flags)
	}
	addrs, _ := ifc.Addrs()
	if len(addrs) != 1 || addrs[0].String() != "10.88.0.5/16" {
		t.Errorf("addresses %v, want 10.88.0.5/16", addrs)
	}
	if gw, dev := defaultRoute(t); gw != "10.88.0.1" || dev != "eth0" {
		t.Errorf("default route via %q dev %q, want via 10.88.0.1 dev eth0", gw, dev)
	}
	// Configure is not idempotent: a second run fails on its first step,
	// and says which.
	if err := Configure(cfg); err == nil || !strings.Contains(err.Error(), "find interface vh1234") {
		t.Errorf("second run: %v", err)
	}

	// Without a rename, an MTU or a gateway.
	run("link", "add", "eth1", "type", "veth", "peer", "name", "eth1peer")
	if err := Configure(Config{Interface: "eth1", Name: "eth1", Address: []byte{192, 0, 2, 9}, PrefixLen: 24}); err != nil {
		t.Fatal(err)
	}
	if ifc, err := net.InterfaceByName("eth1"); err != nil || ifc.MTU != 1500 || ifc.Flags&net.FlagUp == 0 {
		t.Errorf("eth1: %+v, %v", ifc, err)
	}
}

// defaultRoute reads the IPv4 default route from /proc/net/route (of this
// network namespace).
func defaultRoute(t *testing.T) (gw, dev string) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 || fl[1] != "00000000" || fl[7] != "00000000" {
			continue
		}
		b, err := hex.DecodeString(fl[2])
		if err != nil || len(b) != 4 {
			t.Fatalf("gateway field %q", fl[2])
		}
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], binary.BigEndian.Uint32(b))
		return netip.AddrFrom4(a).String(), fl[0]
	}
	return "", ""
}

func TestValidate(t *testing.T) {
	v6 := func(last byte) []byte { return []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last} }
	ok := Config{Interface: "vh1", Name: "eth0", Address: []byte{10, 88, 0, 2}, PrefixLen: 16, Gateway: []byte{10, 88, 0, 1}, MTU: 1500}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"no gateway, no MTU", func(c *Config) { c.Gateway, c.MTU = nil, 0 }, ""},
		{"ipv6", func(c *Config) { c.Address, c.PrefixLen, c.Gateway = v6(2), 64, v6(1) }, ""},
		{"long name", func(c *Config) { c.Name = "0123456789abcdef" }, "interface name"},
		{"no interface", func(c *Config) { c.Interface = "" }, "interface name"},
		{"no address", func(c *Config) { c.Address = nil }, "address of 0 bytes"},
		{"prefix too long", func(c *Config) { c.PrefixLen = 33 }, "prefix length"},
		{"mixed families", func(c *Config) { c.Gateway = v6(1) }, "families"},
		{"tiny MTU", func(c *Config) { c.MTU = 10 }, "MTU"},
	} {
		c := ok
		tc.mutate(&c)
		err := c.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAddrString(t *testing.T) {
	if s := addrString([]byte{10, 88, 0, 2}, 16); s != "10.88.0.2/16" {
		t.Errorf("v4: %s", s)
	}
	if s := addrString([]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34}, -1); s != "fd00:0:0:0:0:0:0:1234" {
		t.Errorf("v6: %s", s)
	}
}

// TestMarkedLocalInner: MarkedLocal's rule and route, made twice; then what
// they are for: a connection marked and bound to a foreign address with
// IP_TRANSPARENT reaches a server on an address of a veth, and the
// server sees that foreign address. Without the rule the server's replies
// would leave through the link and the connection would never be set up.
func TestMarkedLocalInner(t *testing.T) {
	if os.Getenv(envInner) == "" {
		t.Skip("runs only inside TestConfigureInNamespace's namespace")
	}
	ip := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	ip("link", "add", "d0", "type", "veth", "peer", "name", "d0peer")
	ip("addr", "add", "10.0.2.100/24", "dev", "d0")
	ip("link", "set", "d0", "up")
	ip("link", "set", "d0peer", "up")
	ip("route", "replace", "default", "via", "10.0.2.2", "dev", "d0")
	const mark = 0x6d79
	for i := 0; i < 2; i++ {
		if err := MarkedLocal(mark, 100); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if r := ip("-4", "rule", "show"); strings.Count(r, "100:\tfrom all fwmark 0x6d79 lookup 28025") != 1 {
		t.Errorf("rules:\n%s", r)
	}
	if r := ip("-4", "route", "show", "table", "28025"); strings.TrimSpace(r) != "local default dev lo scope host" {
		t.Errorf("table 28025: %q", r)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_fwmark_accept", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "10.0.2.100:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			seen <- err.Error()
			return
		}
		seen <- c.RemoteAddr().String()
		_, _ = c.Write([]byte("x"))
		c.Close()
	}()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(3 * time.Second))
	for _, err := range []error{
		unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1),
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, mark),
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv),
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv),
		unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{198, 51, 100, 7}, Port: 4321}),
		unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{10, 0, 2, 100}, Port: l.Addr().(*net.TCPAddr).Port}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A flow's rule: added twice, one rule; deleted twice, none.
	flow := Flow{Dst: [4]byte{198, 51, 100, 9}, SrcPort: 9000, DstPort: 4000, Proto: unix.IPPROTO_UDP}
	want := "100:\tfrom all to 198.51.100.9 ipproto udp sport 9000 dport 4000 lookup 28025"
	for i := 0; i < 2; i++ {
		if err := FlowRule(true, flow, mark, 100); err != nil {
			t.Fatalf("add %d: %v", i+1, err)
		}
	}
	if r := ip("-4", "rule", "show"); strings.Count(r, want) != 1 {
		t.Errorf("after adding the flow's rule, want one %q:\n%s", want, r)
	}
	for i := 0; i < 2; i++ {
		if err := FlowRule(false, flow, mark, 100); err != nil {
			t.Fatalf("delete %d: %v", i+1, err)
		}
	}
	if r := ip("-4", "rule", "show"); strings.Contains(r, "198.51.100.9") {
		t.Errorf("the flow's rule is still there:\n%s", r)
	}

	if got := <-seen; got != "198.51.100.7:4321" {
		t.Errorf("the server saw %s, want 198.51.100.7:4321", got)
	}
	b := make([]byte, 1)
	if n, err := unix.Read(fd, b); n != 1 || b[0] != 'x' {
		t.Errorf("read from the server: %d %v", n, err)
	}
}
