//go:build helper

package helpertest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/tests/helperprobe"
)

// Attacks on the shared bridge and on the helper's network namespace, by
// containers (of the same user or another one) and by neighbours: issue
// 20, items 5 to 8.

// TestUsersIsolatedOnBridge: a container of another user (the attacker,
// with NET_ADMIN and NET_RAW in its own user namespace, which any user can
// give their container) can neither reach the victim's unpublished service
// directly, nor send frames with another MAC or IPv4 source, nor take the
// victim's published port over by claiming its address (a secondary
// address and gratuitous ARP): the host's neighbour entry keeps the
// victim's MAC and clients keep getting the victim's page. The victim's
// own second container still reaches it directly, and the attacker still
// reaches its published port through the host.
func TestUsersIsolatedOnBridge(t *testing.T) {
	begin(t)
	victim, attacker := users[allowedUser], users[otherUser]
	a, c, b := ctrName(t, victim, "a"), ctrName(t, victim, "c"), ctrName(t, attacker, "b")
	ipA := runBridged(t, victim, a, append([]string{"--hostname", "victim", "-p", "8094:80"}, httpdFlags()...), "/ht").ip(t)
	runBridged(t, victim, c, httpdFlags(), "sleep", "600")
	ipB := runBridged(t, attacker, b, append([]string{"--hostname", "attacker",
		"--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW"}, httpdFlags()...), "/ht").ip(t)
	published := "http://" + testAddr + ":8094/"
	if body := fetchFrom(t, clientNetns, published, 20*time.Second); !strings.Contains(body, "hello from victim") {
		t.Fatalf("the published port answers %q, want the victim's page", body)
	}
	macA := strings.TrimSpace(victim.Must(t, "exec", a, "cat", "/sys/class/net/eth0/address"))

	// Direct traffic: the same user's container yes, another user's no.
	if out, err := getIn(t, victim, c, "http://"+ipA+"/", 20*time.Second); err != nil {
		t.Errorf("the victim's second container cannot reach %s directly: %v", ipA, err)
	} else if !strings.Contains(out, "hello from victim") {
		t.Errorf("the victim's second container got %q from %s", out, ipA)
	}
	if out, err := getIn(t, attacker, b, "http://"+ipA+"/", 0); err == nil {
		t.Errorf("another user's container reached the unpublished %s:80 directly: %q", ipA, out)
	}
	if out, err := getIn(t, attacker, b, published, 20*time.Second); err != nil || !strings.Contains(out, "hello from victim") {
		t.Errorf("another user's container cannot reach the published port %s through the host: %q %v", published, out, err)
	}

	// Forged sources: only the honest frame (sent last) reaches the host.
	gw := gateway(t)
	sink := udpSink(t, conf.netns, gw+":9703")
	rawIn(t, attacker, b,
		"udp "+macA+" self "+gw+" 9703 forged-mac",
		"udp self "+ipA+" "+gw+" 9703 forged-ip",
		"udp 02:00:00:00:00:99 self "+gw+" 9703 random-mac",
		"udp self self "+gw+" 9703 honest")
	sink.settle(t, "honest")
	for _, p := range []string{"forged-mac", "forged-ip", "random-mac"} {
		if sink.has(p) {
			t.Errorf("a frame from %s's port with a forged source (%s) reached the host", b, p)
		}
	}

	// The take-over: B adds A's address and announces it.
	attacker.Must(t, "exec", b, "ip", "addr", "add", ipA+"/16", "dev", "eth0")
	rawIn(t, attacker, b, "garp "+ipA)
	if mac := neighMAC(t, ipA); mac != "" && mac != macA {
		t.Errorf("the host's neighbour entry of %s moved to %s (the victim's MAC is %s; %s is at %s)", ipA, mac, macA, b, ipB)
	}
	for i := range 5 {
		if body := fetchFrom(t, clientNetns, published, 20*time.Second); !strings.Contains(body, "hello from victim") {
			t.Errorf("fetch %d of %s after the take-over attempt: %q, want the victim's page", i+1, published, body)
		}
	}
}

// TestForwardOnlyPublished: a neighbour that routes the bridge's subnet
// through the host reaches a container's published port (through DNAT)
// and not the container's own address; and the host forwards between its
// other interfaces as it did before the helper came (helper-env.sh makes
// its namespace with forwarding off, the kernel's default, and the helper
// is what turned ip_forward on; the hostnet unit tests cover a host that
// forwarded already).
func TestForwardOnlyPublished(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	name := ctrName(t, u, "")
	ip := runBridged(t, u, name, append([]string{"-p", "8095:80"}, httpdFlags()...), "/ht").ip(t)
	fetchFrom(t, clientNetns, "http://"+testAddr+":8095/", 20*time.Second)
	ipCmd(t, clientNetns, "route", "add", conf.raw["subnet"], "via", testAddr)
	t.Cleanup(func() { inNetns(t, clientNetns, "ip", "route", "del", conf.raw["subnet"]) })
	if out, err := dialFrom(clientNetns, ip+":80"); err == nil {
		t.Errorf("a neighbour routing %s through the host reached the unpublished %s:80: %q", conf.raw["subnet"], ip, out)
	}
	if body := fetchFrom(t, clientNetns, "http://"+testAddr+":8095/", 10*time.Second); !strings.Contains(body, "you are "+clientAddr) {
		t.Errorf("the published port: %q", body)
	}

	// A third namespace beside the helper's, as another uplink of the host.
	far := farNetns(t)
	l := listenIn(t, far, "tcp4", "10.98.0.2:9707")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "far\n")
			c.Close()
		}
	}()
	if out, err := dialFrom(conf.netns, "10.98.0.2:9707"); err != nil || out != "far\n" {
		t.Fatalf("the helper's namespace cannot reach the far namespace: %q %v", out, err)
	}
	ipCmd(t, clientNetns, "route", "add", "10.98.0.0/24", "via", testAddr)
	t.Cleanup(func() { inNetns(t, clientNetns, "ip", "route", "del", "10.98.0.0/24") })
	if out, err := dialFrom(clientNetns, "10.98.0.2:9707"); err == nil {
		t.Errorf("the host forwards between two of its other interfaces, which it did not before the helper: %q", out)
	}
}

// TestLoopbackNotReachableFromBridge: route_localnet on the bridge (which
// the host's own loopback clients of published ports need) does not let a
// container reach a host service bound to 127.0.0.1 (the CVE-2020-8558
// pattern): a hand-made datagram to 127.0.0.1 through the gateway is
// dropped, the same datagram to the gateway's address arrives, and
// 127.0.0.1:HOSTPORT still reaches the published port from the host.
func TestLoopbackNotReachableFromBridge(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	name := ctrName(t, u, "")
	runBridged(t, u, name, append([]string{"--cap-add", "NET_RAW", "-p", "8096:80"}, httpdFlags()...), "/ht")
	if body := fetchFrom(t, conf.netns, "http://127.0.0.1:8096/", 20*time.Second); !strings.Contains(body, "hello from") {
		t.Errorf("the host's loopback client of the published port: %q", body)
	}
	gw := gateway(t)
	lo, control := udpSink(t, conf.netns, "127.0.0.1:9705"), udpSink(t, conf.netns, gw+":9706")
	rawIn(t, u, name, "udp self self 127.0.0.1 9705 to-loopback", "udp self self "+gw+" 9706 control")
	control.settle(t, "control")
	if lo.has("to-loopback") {
		t.Errorf("a container reached a host service bound to 127.0.0.1 through the bridge")
	}
}

// TestPublishedPortsHeld: while a port is published the helper holds it,
// so a host server started later fails with EADDRINUSE instead of being
// silently bypassed by the DNAT rule; the helper does not exit idle then;
// UnpublishPort frees the port; a restarted helper holds the ports again
// from its ledger, and drops (rule and record) a port that someone bound
// while no helper ran.
func TestPublishedPortsHeld(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	name := ctrName(t, u, "")
	in := runBridged(t, u, name, append([]string{"-p", "8097:80", "-p", "8098:80/udp", "-p", "8099:80"}, httpdFlags()...), "/ht")
	binds := []struct {
		proto, addr string
		reuse       bool
	}{{"tcp4", ":8097", true}, {"tcp4", testAddr + ":8097", true}, {"udp4", ":8098", false}, {"udp4", ":8098", true}, {"udp4", testAddr + ":8098", true}}
	for _, b := range binds {
		if err := bindIn(conf.netns, b.proto, b.addr, b.reuse); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("a host server's bind of published %s %s (SO_REUSEADDR %v): %v, want EADDRINUSE", b.proto, b.addr, b.reuse, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	pid := helperprobe.HelperPid(t)
	time.Sleep(conf.idleTimeout + 2*conf.reapInterval) // the window in which an idle helper would leave
	if p := helperprobe.HelperPid(t); p != pid {
		t.Fatalf("the helper (pid %d) left while it held published ports (now pid %d)", pid, p)
	}

	r := callAs(t, u, clientCall{Method: "UnpublishPort", Container: in.Id, Protocol: "tcp", HostPort: 8097})
	if r.ErrorName != "" {
		t.Fatalf("UnpublishPort 8097: %s %v", r.ErrorName, r.ErrorBody)
	}
	if err := bindIn(conf.netns, "tcp4", ":8097", true); err != nil {
		t.Errorf("after UnpublishPort, a host server cannot bind 8097: %v", err)
	}

	// A restart: while no helper runs, someone takes 8099.
	stopHelper(t, pid)
	taken := listenIn(t, conf.netns, "tcp4", ":8099")
	if r := callAs(t, u, clientCall{Method: "GetVersion"}); r.ErrorName != "" {
		t.Fatalf("GetVersion: %s %v", r.ErrorName, r.ErrorBody)
	}
	waitFor(t, 10*time.Second, "the new helper does not hold 8098/udp again", func() string {
		if err := bindIn(conf.netns, "udp4", ":8098", false); !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Sprintf("bind: %v", err)
		}
		return ""
	})
	if m := helperprobe.Mentions(nftRules(t), "8098"); len(m) == 0 {
		t.Errorf("after the restart, no rule for 8098")
	}
	waitFor(t, 10*time.Second, "the port taken meanwhile is still published", func() string {
		if m := helperprobe.Mentions(nftRules(t), "8099"); len(m) != 0 {
			return "a rule names 8099"
		}
		if f := ledgerFiles(t, "8099"); len(f) != 0 {
			return fmt.Sprintf("the record %v names 8099", f)
		}
		return ""
	})
	if b, _ := os.ReadFile(helperLog); !strings.Contains(string(b), "host port 8099/tcp is bound on the host now: unpublished") {
		t.Errorf("the helper's log does not say that it unpublished 8099")
	}
	taken.Close()

	u.Must(t, "rm", "-f", name)
	waitFor(t, 10*time.Second, "8098/udp is still held after rm", func() string {
		if err := bindIn(conf.netns, "udp4", ":8098", false); err != nil {
			return err.Error()
		}
		return ""
	})
}

// ---- tools of these tests -----------------------------------------------------

// gateway is the bridge's address: the subnet's first host address.
func gateway(t testing.TB) string {
	p, err := netip.ParsePrefix(conf.raw["subnet"])
	if err != nil {
		t.Fatalf("subnet %q: %v", conf.raw["subnet"], err)
	}
	return p.Masked().Addr().Next().String()
}

// inNS runs f on a fresh OS thread that entered the network namespace at
// path; the thread is never given back to the runtime. Sockets made in f
// stay in that namespace.
func inNS(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			errc <- fmt.Errorf("enter %s: %w", path, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// bindIn binds (and for TCP listens on) addr in netns as a host server
// would, then closes the socket.
func bindIn(netns, proto, addr string, reuse bool) error {
	return inNS(netns, func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, map[bool]int{true: 1}[reuse])
			})
			return serr
		}}
		var c io.Closer
		var err error
		if strings.HasPrefix(proto, "tcp") {
			c, err = lc.Listen(context.Background(), proto, addr)
		} else {
			c, err = lc.ListenPacket(context.Background(), proto, addr)
		}
		if err == nil {
			c.Close()
		}
		return err
	})
}

// listenIn listens on addr in netns until the test ends.
func listenIn(t testing.TB, netns, proto, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := inNS(netns, func() (err error) { l, err = net.Listen(proto, addr); return err }); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, netns, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// dialFrom connects to addr from netns and returns what the server says
// first (3 s at most).
func dialFrom(netns, addr string) (string, error) {
	var out string
	err := inNS(netns, func() error {
		c, err := net.DialTimeout("tcp4", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
			return err
		}
		b, err := io.ReadAll(c)
		out = string(b)
		if len(b) > 0 {
			return nil
		}
		return err
	})
	return out, err
}

// sink collects the datagrams that reach a UDP socket.
type sink struct {
	mu  sync.Mutex
	got map[string]bool
}

func udpSink(t testing.TB, netns, addr string) *sink {
	t.Helper()
	var pc net.PacketConn
	if err := inNS(netns, func() (err error) { pc, err = net.ListenPacket("udp4", addr); return err }); err != nil {
		t.Fatalf("listen on udp %s in %s: %v", addr, netns, err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &sink{got: map[string]bool{}}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got[string(buf[:n])] = true
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sink) has(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[p]
}

// settle waits for the datagram p, which was sent after the ones the test
// then looks for, and a little more for stragglers.
func (s *sink) settle(t testing.TB, p string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the control datagram "+p+" did not arrive", func() string {
		if s.has(p) {
			return ""
		}
		return "not yet"
	})
	time.Sleep(500 * time.Millisecond)
}

// getIn GETs url from inside ctr (this binary, bound in at /ht), retrying
// for up to timeout (once when timeout is 0).
func getIn(t testing.TB, u *testUser, ctr, url string, timeout time.Duration) (string, error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, errOut, code := u.Myctr(t, "exec", ctr, "env", roleEnv+"=get", "MYCTR_HT_URL="+url, "/ht")
		if code == 0 {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("exit %d: %s", code, errOut)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// rawIn runs the raw role in ctr with the commands (see rawFrameRole).
func rawIn(t testing.TB, u *testUser, ctr string, cmds ...string) {
	t.Helper()
	u.Must(t, "exec", ctr, "env", roleEnv+"=rawframe", "MYCTR_HT_GW="+gateway(t), "MYCTR_HT_RAW="+strings.Join(cmds, ";"), "/ht")
}

// neighMAC is the helper namespace's neighbour entry of ip ("" if none).
func neighMAC(t testing.TB, ip string) string {
	t.Helper()
	out, err := inNetns(t, conf.netns, "ip", "-j", "neigh", "show", ip)
	if err != nil {
		t.Fatal(err)
	}
	var ns []struct {
		Lladdr string `json:"lladdr"`
	}
	if err := json.Unmarshal([]byte(out), &ns); err != nil {
		t.Fatalf("ip -j neigh: %v\n%s", err, out)
	}
	if len(ns) == 0 {
		return ""
	}
	return ns[0].Lladdr
}

func ipCmd(t testing.TB, netns string, args ...string) {
	t.Helper()
	if _, err := inNetns(t, netns, append([]string{"ip"}, args...)...); err != nil {
		t.Fatal(err)
	}
}

// farNetns makes the namespace myctr-helper-far, joined to the helper's by
// a veth (10.98.0.1 there, 10.98.0.2 here, routing back through it), and
// removes it when the test ends.
func farNetns(t testing.TB) string {
	t.Helper()
	const name = "myctr-helper-far"
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	path := "/run/netns/" + name
	ipCmd(t, conf.netns, "link", "add", "mhf0", "type", "veth", "peer", "name", "mhf1", "netns", name)
	t.Cleanup(func() { inNetns(t, conf.netns, "ip", "link", "del", "mhf0") })
	ipCmd(t, conf.netns, "addr", "add", "10.98.0.1/24", "dev", "mhf0")
	ipCmd(t, conf.netns, "link", "set", "mhf0", "up")
	ipCmd(t, path, "addr", "add", "10.98.0.2/24", "dev", "mhf1")
	ipCmd(t, path, "link", "set", "mhf1", "up")
	ipCmd(t, path, "link", "set", "lo", "up")
	ipCmd(t, path, "route", "add", "default", "via", "10.98.0.1")
	return path
}

// stopHelper sends SIGTERM to the test's helper (pid, whose command line
// names the test configuration) and waits until it is gone.
func stopHelper(t testing.TB, pid int) {
	t.Helper()
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if pid <= 0 || !strings.Contains(string(cmdline), conf.path) {
		t.Fatalf("pid %d is not the test's helper (%q)", pid, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the helper did not exit on SIGTERM", func() string {
		if err := syscall.Kill(pid, 0); err == nil {
			if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z ") {
				return fmt.Sprintf("pid %d runs", pid)
			}
		}
		return ""
	})
}

// rawFrameRole sends hand-made frames from eth0 through an AF_PACKET socket
// (the container needs CAP_NET_RAW in its own user namespace), one command
// per ";"-separated part of MYCTR_HT_RAW:
//
//	garp IP                    3 s of gratuitous ARP (requests and replies) claiming IP for eth0's MAC
//	udp MAC SRC DST PORT TEXT  one UDP datagram from MAC and SRC ("self": eth0's) to DST:PORT,
//	                           sent to the MAC of the gateway MYCTR_HT_GW
func rawFrameRole() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "raw: "+format+"\n", args...)
		return 1
	}
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return fail("%v", err)
	}
	var self net.IP
	if addrs, err := ifi.Addrs(); err == nil && len(addrs) > 0 {
		self = addrs[0].(*net.IPNet).IP.To4()
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return fail("AF_PACKET socket: %v", err)
	}
	send := func(dst net.HardwareAddr, proto uint16, frame []byte) error {
		sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: proto<<8 | proto>>8, Halen: 6}
		copy(sa.Addr[:], dst)
		return unix.Sendto(fd, frame, 0, sa)
	}
	var gwMAC net.HardwareAddr
	for _, cmd := range strings.Split(os.Getenv("MYCTR_HT_RAW"), ";") {
		f := strings.Fields(cmd)
		switch {
		case len(f) == 2 && f[0] == "garp":
			ip := net.ParseIP(f[1]).To4()
			bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			for range 20 {
				for _, op := range []byte{1, 2} {
					frame := append(append(append([]byte{}, bcast...), ifi.HardwareAddr...), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, op)
					frame = append(append(append(frame, ifi.HardwareAddr...), ip...), bcast...)
					if err := send(bcast, unix.ETH_P_ARP, append(frame, ip...)); err != nil {
						return fail("send ARP: %v", err)
					}
				}
				time.Sleep(150 * time.Millisecond)
			}
		case len(f) == 6 && f[0] == "udp":
			mac, src, dst := ifi.HardwareAddr, self, net.ParseIP(f[3]).To4()
			if f[1] != "self" {
				if mac, err = net.ParseMAC(f[1]); err != nil {
					return fail("%v", err)
				}
			}
			if f[2] != "self" {
				src = net.ParseIP(f[2]).To4()
			}
			var port int
			fmt.Sscan(f[4], &port)
			if gwMAC == nil {
				if gwMAC, err = neighbourOf(os.Getenv("MYCTR_HT_GW")); err != nil {
					return fail("%v", err)
				}
			}
			if err := send(gwMAC, unix.ETH_P_IP, udpFrame(gwMAC, mac, src, dst, port, f[5])); err != nil {
				return fail("send UDP: %v", err)
			}
		default:
			return fail("bad command %q", cmd)
		}
	}
	fmt.Println("sent")
	return 0
}

// neighbourOf makes the kernel resolve ip (a datagram to its discard
// port) and reads its MAC from /proc/net/arp.
func neighbourOf(ip string) (net.HardwareAddr, error) {
	if c, err := net.Dial("udp4", ip+":9"); err == nil {
		c.Write([]byte("arp"))
		c.Close()
	}
	for range 50 {
		b, _ := os.ReadFile("/proc/net/arp")
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 4 && f[0] == ip && f[2] == "0x2" {
				return net.ParseMAC(f[3])
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("no neighbour entry for %s", ip)
}

// udpFrame is an Ethernet frame carrying an IPv4 UDP datagram (no UDP
// checksum, which IPv4 allows).
func udpFrame(dstMAC, srcMAC net.HardwareAddr, src, dst net.IP, port int, text string) []byte {
	ip := make([]byte, 28+len(text))
	ip[0], ip[6], ip[8], ip[9] = 0x45, 0x40, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], src)
	copy(ip[16:], dst)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(ip[20:], 40000)
	binary.BigEndian.PutUint16(ip[22:], uint16(port))
	binary.BigEndian.PutUint16(ip[24:], uint16(8+len(text)))
	copy(ip[28:], text)
	frame := append(append(append([]byte{}, dstMAC...), srcMAC...), 0x08, 0x00)
	return append(frame, ip...)
}
