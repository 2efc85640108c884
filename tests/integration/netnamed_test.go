//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// namedNetwork makes a network for the test, removed (with its
// containers) at its end, and returns its name.
func namedNetwork(t *testing.T, suffix string, flags ...string) string {
	t.Helper()
	name := ctrName(t, suffix)
	mustMyctr(t, append(append([]string{"network", "create"}, flags...), name)...)
	t.Cleanup(func() { myctr(t, "network", "rm", "-f", name) })
	return name
}

// TestNamedNetwork: containers on one named network reach each other by
// name, alias and name.dns.podman; a container on
// another network neither resolves nor reaches them; a network reaches
// the host's address through the holder's way out, an --internal one does
// not; once nothing is attached the holder leaves, leaving nothing.
func TestNamedNetwork(t *testing.T) {
	netA := namedNetwork(t, "a")
	netB := namedNetwork(t, "b")
	srv := ctrName(t, "srv")
	runDetached(t, srv, []string{"--network", netA, "--network-alias", "db"}, "sh", "-c",
		"mkdir -p /www && echo via-name > /www/index.html && exec httpd -f -p 8080 -h /www")
	ip := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{(index .NetworkSettings.Networks \""+netA+"\").IPAddress}}", srv))
	if net.ParseIP(ip) == nil {
		t.Fatalf("the server's address on %s: %q", netA, ip)
	}
	// busybox's wget ends on SIGSEGV where it cannot connect, so HTTP is
	// spoken with nc; the names are resolved by the network's DNS server
	// over UDP.
	get := func(host string) string {
		return "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + host + " 8080"
	}
	for _, host := range []string{srv, "db", srv + ".dns.podman", ip} {
		out := runOut(t, []string{"--network", netA}, "sh", "-c", get(host))
		if !strings.Contains(out, "via-name") {
			t.Errorf("GET http://%s:8080/ from %s: %q, want via-name", host, netA, out)
		}
	}
	out := runOut(t, []string{"--network", netA}, "nslookup", "db")
	if !strings.Contains(out, ip) {
		t.Errorf("nslookup db on %s: %q, want %s", netA, out, ip)
	}

	t.Run("isolated", func(t *testing.T) {
		out, _, code := myctr(t, "run", "--rm", "--network", netB, image, "nslookup", srv)
		if code == 0 && strings.Contains(out, ip) {
			t.Errorf("%s resolves %s of %s: %q", netB, srv, netA, out)
		}
		if out, _, _ := myctr(t, "run", "--rm", "--network", netB, image, "sh", "-c", get(ip)); strings.Contains(out, "via-name") {
			t.Errorf("a container on %s reached %s:8080 on %s", netB, ip, netA)
		}
	})

	t.Run("way out", func(t *testing.T) {
		hostIP := strings.TrimSpace(runOut(t, []string{"--network", netA}, "sh", "-c", "grep -w host.containers.internal /etc/hosts | cut -f1"))
		if net.ParseIP(hostIP) == nil || !hostHasAddress(t, net.ParseIP(hostIP)) {
			t.Skipf("the host has no address of its own for host.containers.internal (%q)", hostIP)
		}
		port := tcpServer(t, hostIP, func(c net.Conn) {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("host got " + line))
		})
		cmd := "echo hello | nc -w 5 " + hostIP + " " + strconv.Itoa(port)
		if out := runOut(t, []string{"--network", netA}, "sh", "-c", cmd); strings.TrimSpace(out) != "host got hello" {
			t.Errorf("from %s to the host's %s:%d: %q", netA, hostIP, port, out)
		}
		internal := namedNetwork(t, "int", "--internal")
		if out, _, _ := myctr(t, "run", "--rm", "--network", internal, image, "sh", "-c", cmd); strings.Contains(out, "host got") {
			t.Errorf("an --internal network reached the host: %q", out)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		// A network in use is not removed (Podman's exit 2); nothing of it
		// goes.
		_, errOut, code := myctr(t, "network", "rm", netA)
		if code != 2 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "has associated containers") {
			t.Errorf("network rm of a network in use: exit %d, %q; want 2 and Podman's error", code, errOut)
		}
		if _, _, code := myctr(t, "network", "exists", netA); code != 0 {
			t.Errorf("network rm of a network in use removed it")
		}
		for _, args := range [][]string{
			{"--network", "it-no-such-network"},
			{"--network", netA, "--ip", "192.0.2.7"},
			{"--network", "none", "--network-alias", "x"},
			{"--network", netA, "--userns", "keep-id"},
		} {
			before := len(psJSON(t, true))
			_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, args...), image, "true")...)
			if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "Hint: ") {
				t.Errorf("run %v: exit %d, stderr %q; want 125, an Error and a Hint", args, code, errOut)
			}
			if after := len(psJSON(t, true)); after != before {
				t.Errorf("run %v left a container", args)
			}
		}
	})

	t.Run("monitor killed", func(t *testing.T) {
		// kill -9 of a container's monitor leaves the network of the
		// others (and its own) as it was.
		peer := ctrName(t, "peer")
		runDetached(t, peer, []string{"--network", netA}, "sh", "-c",
			"mkdir -p /www && echo from-peer > /www/index.html && exec httpd -f -p 8080 -h /www")
		pid := inspect(t, srv).State.Pid
		_, monitor, _, ok := procStat(pid)
		if !ok || monitor <= 1 {
			t.Fatalf("no monitor for %s (init %d)", srv, pid)
		}
		_, _, monStart, _ := procStat(monitor)
		if err := syscall.Kill(monitor, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the monitor to die", func() bool { return processGone(monitor, monStart) })
		if out := runOut(t, []string{"--network", netA}, "sh", "-c", get(srv)); !strings.Contains(out, "via-name") {
			t.Errorf("%s after its monitor was killed: %q", srv, out)
		}
		if out := runOut(t, []string{"--network", netA}, "sh", "-c", get(peer)); !strings.Contains(out, "from-peer") {
			t.Errorf("%s after %s's monitor was killed: %q", peer, srv, out)
		}
		mustMyctr(t, "rm", "-f", peer)
	})

	t.Run("pod", func(t *testing.T) {
		// A pod on a named network: its members share the infra's
		// namespaces, and the pod answers by its name on the network.
		podName := ctrName(t, "pod")
		mustMyctr(t, "pod", "create", "--name", podName, "--network", netA)
		t.Cleanup(func() { myctr(t, "pod", "rm", "-f", podName) })
		member := ctrName(t, "member")
		runDetached(t, member, []string{"--pod", podName}, "sh", "-c",
			"mkdir -p /www && echo in-pod > /www/index.html && exec httpd -f -p 8080 -h /www")
		if out := runOut(t, []string{"--network", netA}, "sh", "-c", get(podName)); !strings.Contains(out, "in-pod") {
			t.Errorf("the pod %s by its name on %s: %q", podName, netA, out)
		}
		mustMyctr(t, "pod", "rm", "-f", podName)
	})

	// The user's network holders of this run root.
	holders := func() []int {
		var pids []int
		want := "_MYCTR_HOLDER_DIR=" + filepath.Join(runRoot, "netholder") + "\x00"
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if b, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && strings.Contains(string(b), want) {
				pid, _ := strconv.Atoi(e.Name())
				pids = append(pids, pid)
			}
		}
		return pids
	}
	t.Run("holder killed", func(t *testing.T) {
		// kill -9 of the holder takes the networks of the containers on
		// it (their namespaces are its); the next run starts another,
		// and a new container is reached by name again.
		pids := holders()
		if len(pids) != 1 {
			t.Fatalf("network holders of this run root: %v, want one", pids)
		}
		_, _, start, _ := procStat(pids[0])
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the holder to die", func() bool { return processGone(pids[0], start) })
		again := ctrName(t, "again")
		runDetached(t, again, []string{"--network", netA}, "sh", "-c",
			"mkdir -p /www && echo again > /www/index.html && exec httpd -f -p 8080 -h /www")
		if out := runOut(t, []string{"--network", netA}, "sh", "-c", get(again)); !strings.Contains(out, "again") {
			t.Errorf("%s on a new holder: %q", again, out)
		}
		// srv, still running, was on the killed holder: it cannot be
		// connected to another network, and is told to restart.
		if _, errOut, code := myctr(t, "network", "connect", netB, srv); code != 125 || !strings.Contains(errOut, "Hint: restart the container") {
			t.Errorf("network connect of a container whose holder died: exit %d, %q; want 125 and a Hint to restart it", code, errOut)
		}
		mustMyctr(t, "rm", "-f", again)
	})

	// The holder leaves once no container is attached, and takes its
	// socket and its process with it.
	mustMyctr(t, "rm", "-f", srv)
	sock := filepath.Join(runRoot, "netholder", "control.sock")
	waitFor(t, 30*time.Second, "the network holder to leave", func() bool {
		_, err := os.Stat(sock)
		return os.IsNotExist(err) && len(holders()) == 0
	})
}

// TestNamedNetworkIPv6: a dual-stack network (--ipv6, or an IPv6
// --subnet) gives its containers an IPv6 address too: inspect shows it,
// the network's DNS server answers AAAA with it, and the containers reach
// each other over it.
func TestNamedNetworkIPv6(t *testing.T) {
	auto := namedNetwork(t, "auto", "--ipv6")
	given := namedNetwork(t, "given", "--subnet", "fd10:2f:77::/64")
	var recs []struct {
		IPv6Enabled bool `json:"ipv6_enabled"`
		Subnets     []struct{ Subnet, Gateway string }
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "network", "inspect", auto, given)), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !recs[0].IPv6Enabled || !recs[1].IPv6Enabled || len(recs[0].Subnets) != 2 || len(recs[1].Subnets) != 2 ||
		recs[1].Subnets[1].Subnet != "fd10:2f:77::/64" || recs[1].Subnets[1].Gateway != "fd10:2f:77::1" {
		t.Fatalf("network inspect of two dual-stack networks: %+v", recs)
	}
	for _, network := range []string{auto, given} {
		srv := ctrName(t, "srv-"+network)
		runDetached(t, srv, []string{"--network", network}, "sh", "-c",
			"mkdir -p /www && echo over-v6 > /www/index.html && exec httpd -f -p 8080 -h /www")
		v6 := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{with index .NetworkSettings.Networks \""+network+"\"}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}", srv))
		addr, gw, _ := strings.Cut(v6, " ")
		p, err := netip.ParsePrefix(addr)
		if err != nil || !p.Addr().Is6() || p.Bits() != 64 || gw == "" {
			t.Fatalf("the server's IPv6 address on %s: %q", network, v6)
		}
		if network == given && !netip.MustParsePrefix("fd10:2f:77::/64").Contains(p.Addr()) {
			t.Errorf("address %s outside the given subnet", p.Addr())
		}
		out := runOut(t, []string{"--network", network}, "sh", "-c",
			"nslookup -type=aaaa "+srv+"; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 "+p.Addr().String()+" 8080")
		if !strings.Contains(out, "Address: "+p.Addr().String()) {
			t.Errorf("AAAA of %s on %s: %q, want %s", srv, network, out, p.Addr())
		}
		if !strings.Contains(out, "over-v6") {
			t.Errorf("GET http://[%s]:8080/ on %s: %q", p.Addr(), network, out)
		}
	}
	for _, args := range [][]string{
		{"--subnet", "10.92.0.0/24", "--subnet", "10.93.0.0/24"},
		{"--subnet", "fe80::/64"},
		{"--subnet", "fd10:2f:77::/64"}, // the given network's
		{"--subnet", "fd10:2f:78::/64", "--gateway", "10.92.0.1"},
	} {
		_, errOut, code := myctr(t, append(append([]string{"network", "create"}, args...), "it-v6-bad")...)
		if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("network create %v: exit %d, %q; want 125, an Error and a Hint", args, code, errOut)
		}
		if _, _, code := myctr(t, "network", "exists", "it-v6-bad"); code == 0 {
			t.Errorf("network create %v made the network", args)
			myctr(t, "network", "rm", "it-v6-bad")
		}
	}
}
