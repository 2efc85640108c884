//go:build integration

package integration

// /etc/hosts as Podman writes it (issue 12, "Parity with Podman's
// defaults"): --add-host entries first, the host's /etc/hosts,
// host.containers.internal at an address where the container reaches the
// host, then the container's own names; --no-hosts keeps the image's file.

import (
	"bufio"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostsEntries parses a hosts file into (address, names) lines.
func hostsEntries(text string) [][]string {
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) >= 2 {
			out = append(out, f)
		}
	}
	return out
}

func hostsLookup(entries [][]string, name string) string {
	for _, e := range entries {
		if slices.Contains(e[1:], name) {
			return e[0]
		}
	}
	return ""
}

func TestHostsFile(t *testing.T) {
	hostFile, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	name := ctrName(t, "hosts")
	out := mustMyctr(t, "run", "--name", name, "--network", "slirp4netns", "--add-host", "db.example:192.0.2.9",
		"--add-host", "v6.example:fd00::5", "--add-host", "gw.example:host-gateway", image, "cat", "/etc/hosts")
	got := hostsEntries(out)
	if len(got) < 6 {
		t.Fatalf("/etc/hosts:\n%s", out)
	}
	// --add-host first, in order.
	if !slices.Equal(got[0], []string{"192.0.2.9", "db.example"}) || !slices.Equal(got[1], []string{"fd00::5", "v6.example"}) {
		t.Errorf("--add-host entries are not first:\n%s", out)
	}
	// The host's own entries follow.
	for _, e := range hostsEntries(string(hostFile)) {
		if !slices.ContainsFunc(got, func(g []string) bool { return slices.Equal(g, e) }) {
			t.Errorf("the host's entry %v is missing:\n%s", e, out)
		}
	}
	// host.containers.internal is one of the host's own non-loopback
	// addresses, and host-gateway means the same.
	hostIP := hostsLookup(got, "host.containers.internal")
	ip := net.ParseIP(hostIP)
	if ip == nil || ip.IsLoopback() || !hostHasAddress(t, ip) {
		t.Errorf("host.containers.internal = %q, want a non-loopback address of the host:\n%s", hostIP, out)
	}
	if gw := hostsLookup(got, "gw.example"); gw != hostIP {
		t.Errorf("gw.example:host-gateway = %q, want host.containers.internal's %q", gw, hostIP)
	}
	// Last, the container's own names at its address.
	c := inspect(t, name)
	if last := got[len(got)-1]; !slices.Equal(last, []string{"10.0.2.100", c.Id[:12], name}) {
		t.Errorf("last entry %v, want 10.0.2.100 %s %s", last, c.Id[:12], name)
	}
	if !slices.Equal(c.HostConfig.ExtraHosts, []string{"db.example:192.0.2.9", "v6.example:fd00::5", "gw.example:host-gateway"}) {
		t.Errorf("inspect HostConfig.ExtraHosts = %q", c.HostConfig.ExtraHosts)
	}

	t.Run("no network", func(t *testing.T) {
		got := hostsEntries(runOut(t, []string{"--network", "none", "--hostname", "solo"}, "cat", "/etc/hosts"))
		if last := got[len(got)-1]; len(last) < 2 || last[0] != "127.0.0.1" || last[1] != "solo" {
			t.Errorf("--network none: own entry %v, want 127.0.0.1 solo", last)
		}
	})
	t.Run("no-hosts", func(t *testing.T) {
		out := runOut(t, []string{"--no-hosts"}, "sh", "-c", "grep -c ' /etc/hosts ' /proc/self/mountinfo; cat /etc/hosts 2>/dev/null; true")
		if !strings.HasPrefix(out, "0\n") || strings.Contains(out, "host.containers.internal") {
			t.Errorf("--no-hosts: %q, want no /etc/hosts mount and the image's file", out)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, flags := range [][]string{{"--add-host", "nocolon"}, {"--add-host", "x:not-an-ip"}, {"--add-host", "x:1.2.3.4", "--no-hosts"}} {
			before := len(psJSON(t, true))
			_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, flags...), image, "true")...)
			if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "add-host") {
				t.Errorf("run %v: exit %d, stderr %q; want 125 and an Error about --add-host", flags, code, errOut)
			}
			if after := len(psJSON(t, true)); after != before {
				t.Errorf("run %v left a container", flags)
			}
		}
	})
}

// TestHostsReachHost: a container reaches a server of the host's by the
// name host.containers.internal (with slirp4netns, through the host's own
// address: nothing leaves the machine).
func TestHostsReachHost(t *testing.T) {
	hostIP := strings.TrimSpace(runOut(t, []string{"--network", "slirp4netns"}, "sh", "-c", "grep -w host.containers.internal /etc/hosts | cut -f1"))
	if net.ParseIP(hostIP) == nil {
		t.Fatalf("host.containers.internal = %q", hostIP)
	}
	port := tcpServer(t, hostIP, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("host got " + line))
	})
	out := runOut(t, []string{"--network", "slirp4netns"}, "sh", "-c", "echo hello | nc -w 5 host.containers.internal "+strconv.Itoa(port))
	if strings.TrimSpace(out) != "host got hello" {
		t.Errorf("from the container to host.containers.internal:%d: %q", port, out)
	}
}

func hostHasAddress(t *testing.T, ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
