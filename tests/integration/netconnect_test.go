//go:build integration

package integration

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNetworkConnect: a container on two named networks (two --network
// flags, or network connect, running or stopped) reaches the containers of
// both by name, through the DNS server of its first network; network
// disconnect takes its interface away at once; what cannot be done is an
// Error with a Hint, and changes nothing.
func TestNetworkConnect(t *testing.T) {
	netA := namedNetwork(t, "a")
	netB := namedNetwork(t, "b")
	serve := func(name, network, page string) {
		runDetached(t, name, []string{"--network", network}, "sh", "-c",
			"mkdir -p /www && echo "+page+" > /www/index.html && exec httpd -f -p 8080 -h /www")
	}
	srvA, srvB := ctrName(t, "srva"), ctrName(t, "srvb")
	serve(srvA, netA, "from-a")
	serve(srvB, netB, "from-b")
	get := func(host string) string {
		return "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + host + " 8080"
	}
	// reaches reports which of the servers cmdIn's container reaches by
	// name: "a", "b", "ab" or "".
	reaches := func(t *testing.T, run func(cmd string) string) string {
		t.Helper()
		got := ""
		if strings.Contains(run(get(srvA)), "from-a") {
			got += "a"
		}
		if strings.Contains(run(get(srvB)), "from-b") {
			got += "b"
		}
		return got
	}
	ifaces := func(out string) []string { return strings.Fields(out) }

	t.Run("two networks", func(t *testing.T) {
		flags := []string{"--network", netA, "--network", netB + ":alias=both"}
		got := reaches(t, func(cmd string) string {
			out, _, _ := myctr(t, append(append([]string{"run", "--rm"}, flags...), image, "sh", "-c", cmd)...)
			return out
		})
		if got != "ab" {
			t.Errorf("a container on %s and %s reaches %q by name, want ab", netA, netB, got)
		}
		out := runOut(t, flags, "sh", "-c", "ls /sys/class/net; grep -c ^nameserver /etc/resolv.conf")
		if f := ifaces(out); !slices.Equal(f, []string{"eth0", "eth1", "lo", "2"}) {
			t.Errorf("interfaces and nameservers of a container on two networks: %q, want eth0 eth1 lo and 2", out)
		}
		// Its alias on b is answered on b; the other servers still see
		// their own network alone.
		multi := ctrName(t, "multi")
		runDetached(t, multi, flags, "sleep", "1000")
		if out, _, code := myctr(t, "exec", srvB, "nslookup", "both"); code != 0 || !strings.Contains(out, ipOn(t, multi, netB)) {
			t.Errorf("nslookup both on %s: exit %d, %q; want %s", netB, code, out, ipOn(t, multi, netB))
		}
		if out, _, code := myctr(t, "exec", srvB, "nslookup", srvA); code == 0 && strings.Contains(out, ipOn(t, srvA, netA)) {
			t.Errorf("%s on %s resolves %s of %s: %q", srvB, netB, srvA, netA, out)
		}
		if got := inspect(t, multi).HostConfig.NetworkMode; got != netA {
			t.Errorf("NetworkMode %q, want the first network %s", got, netA)
		}
	})

	t.Run("connect running", func(t *testing.T) {
		cli := ctrName(t, "cli")
		runDetached(t, cli, []string{"--network", netA}, "sleep", "1000")
		run := func(cmd string) string { out, _, _ := myctr(t, "exec", cli, "sh", "-c", cmd); return out }
		if got := reaches(t, run); got != "a" {
			t.Fatalf("before connect: reaches %q, want a", got)
		}
		mustMyctr(t, "network", "connect", "--alias", "cli2", netB, cli)
		if got := reaches(t, run); got != "ab" {
			t.Errorf("after connect: reaches %q, want ab", got)
		}
		ip := ipOn(t, cli, netB)
		if out, _, _ := myctr(t, "exec", srvB, "nslookup", "cli2"); ip == "" || !strings.Contains(out, ip) {
			t.Errorf("nslookup cli2 on %s after connect: %q, want %q", netB, out, ip)
		}
		if got := psNames(t, "network="+netB); !slices.Contains(got, cli) {
			t.Errorf("ps --filter network=%s after connect: %q lacks %s", netB, got, cli)
		}
		// The network stays in use while the container is on it.
		if _, _, code := myctr(t, "network", "rm", netB); code != 2 {
			t.Errorf("network rm of %s with a connected container: exit %d, want 2", netB, code)
		}
		mustMyctr(t, "network", "disconnect", netB, cli)
		if got := reaches(t, run); got != "a" {
			t.Errorf("after disconnect: reaches %q, want a", got)
		}
		if out := run("ls /sys/class/net"); !slices.Equal(ifaces(out), []string{"eth0", "lo"}) {
			t.Errorf("interfaces after disconnect: %q, want eth0 lo", out)
		}
		if _, ok := inspect(t, cli).NetworkSettings.Networks[netB]; ok {
			t.Errorf("inspect still shows %s after disconnect", netB)
		}
		if got := psNames(t, "network="+netB); slices.Contains(got, cli) {
			t.Errorf("ps --filter network=%s after disconnect lists %s", netB, cli)
		}
	})

	t.Run("connect stopped", func(t *testing.T) {
		later := ctrName(t, "later")
		mustMyctr(t, "create", "--name", later, "--network", "none", image, "sleep", "1000")
		mustMyctr(t, "network", "connect", netB, later)
		mustMyctr(t, "start", later)
		run := func(cmd string) string { out, _, _ := myctr(t, "exec", later, "sh", "-c", cmd); return out }
		if got := reaches(t, run); got != "b" {
			t.Errorf("a --network none container connected to %s while stopped, then started: reaches %q, want b", netB, got)
		}
		// Off its last network, it is back to none at its next start.
		mustMyctr(t, "network", "disconnect", netB, later)
		mustMyctr(t, "rm", "-f", "-t", "0", later)
	})

	t.Run("pod on two", func(t *testing.T) {
		// A pod on both networks (one --network a,b list, as compose tools
		// pass it): its member answers by the pod's name on each.
		podName := ctrName(t, "pod")
		mustMyctr(t, "pod", "create", "--name", podName, "--network", netA+","+netB)
		t.Cleanup(func() { myctr(t, "pod", "rm", "-f", podName) })
		member := ctrName(t, "member")
		runDetached(t, member, []string{"--pod", podName}, "sh", "-c",
			"mkdir -p /www && echo in-pod > /www/index.html && exec httpd -f -p 8080 -h /www")
		for _, network := range []string{netA, netB} {
			if out, _, _ := myctr(t, "run", "--rm", "--network", network, image, "sh", "-c", get(podName)); !strings.Contains(out, "in-pod") {
				t.Errorf("the pod %s by its name on %s: %q", podName, network, out)
			}
		}
		mustMyctr(t, "pod", "rm", "-f", podName)
	})

	t.Run("bad input", func(t *testing.T) {
		alone := ctrName(t, "alone")
		runDetached(t, alone, []string{"--network", "none"}, "sleep", "1000")
		pod := ctrName(t, "pubbed")
		port := freePort(t)
		runDetached(t, pod, []string{"--network", netA, "-p", "127.0.0.1:" + strconv.Itoa(port) + ":8080"}, "sleep", "1000")
		for _, tc := range []struct {
			args []string
			hint bool
		}{
			{[]string{"network", "connect", netA, srvA}, false},            // connected already
			{[]string{"network", "disconnect", netB, srvA}, false},         // not connected
			{[]string{"network", "connect", "it-no-such-net", srvA}, true}, // no such network
			{[]string{"network", "connect", netB, alone}, true},            // running with none
			{[]string{"network", "connect", "--ip", "192.0.2.9", netB, srvA}, true},
			{[]string{"network", "connect", "--ip6", "fd00::9", netB, srvA}, true},
			{[]string{"network", "disconnect", netA, pod}, true}, // its ports go there
			{[]string{"run", "--rm", "--network", netA, "--network", "none", image, "true"}, true},
			{[]string{"run", "--rm", "--network", netA + ":mac=02:00:00:00:00:01", image, "true"}, true},
			{[]string{"run", "--rm", "--network", netA, "--network", netB, "--ip", "10.89.0.9", image, "true"}, true},
		} {
			before := mustMyctr(t, "inspect", srvA, alone, pod)
			_, errOut, code := myctr(t, tc.args...)
			if code != 125 || !strings.HasPrefix(errOut, "Error: ") || tc.hint != strings.Contains(errOut, "Hint: ") {
				t.Errorf("%v: exit %d, %q; want 125, an Error, a Hint: %v", tc.args, code, errOut, tc.hint)
			}
			if after := mustMyctr(t, "inspect", srvA, alone, pod); after != before {
				t.Errorf("%v changed the containers", tc.args)
			}
		}
	})
}

// ipOn is ref's address on network (inspect), "" when it has none.
func ipOn(t *testing.T, ref, network string) string {
	t.Helper()
	return strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{with index .NetworkSettings.Networks \""+network+"\"}}{{.IPAddress}}{{end}}", ref))
}

// psNames lists the names of the containers ps --filter filter shows.
func psNames(t *testing.T, filter string) []string {
	t.Helper()
	var rows []struct{ Names []string }
	if err := json.Unmarshal([]byte(mustMyctr(t, "ps", "-a", "--filter", filter, "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Names...)
	}
	return out
}
