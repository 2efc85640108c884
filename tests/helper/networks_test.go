//go:build helper

package helpertest

import (
	"strings"
	"testing"
	"time"
)

// Named networks on the helper's bridge (network create --driver
// bridge-helper): each is a group of its user's containers.

// helperNet creates a bridge-helper network of u's, removed (with its
// containers) when the test ends.
func helperNet(t *testing.T, u *testUser, name string) string {
	t.Helper()
	u.Must(t, "network", "create", "--driver", "bridge-helper", name)
	t.Cleanup(func() { u.Run(cmdTimeout, "network", "rm", "-f", name) })
	return name
}

// TestHelperNetworks: containers on one bridge-helper network reach each
// other directly, by name and alias (their /etc/hosts, kept as they come
// and go), with their own addresses; a container on another of the same
// user's networks, or on plain --network bridge, reaches neither them nor
// their names; a published port still answers from the host. Removing
// everything leaves no veth, rule or record.
func TestHelperNetworks(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	before := veths(t)
	front, back := helperNet(t, u, "htnet-front"), helperNet(t, u, "htnet-back")
	if out := u.Must(t, "network", "ls", "--filter", "driver=bridge-helper", "--format", "{{.Name}} {{.Driver}}"); !strings.Contains(out, "htnet-front bridge-helper") {
		t.Errorf("network ls does not list htnet-front as bridge-helper:\n%s", out)
	}
	a, b, c, d := ctrName(t, u, "a"), ctrName(t, u, "b"), ctrName(t, u, "c"), ctrName(t, u, "d")
	run := func(name, net string, flags ...string) inspectInfo {
		t.Helper()
		args := append([]string{"run", "-d", "--network", net, "--name", name}, flags...)
		u.Must(t, append(append(args, httpdFlags()...), image, "/ht")...)
		return inspect(t, u, name)
	}
	ipA := run(a, front, "--network-alias", "web", "-p", "8097:80").ip(t)
	inB := run(b, front)
	ipB := inB.ip(t)
	ipC := run(c, back).ip(t)
	ipD := run(d, "bridge").ip(t)

	// b reaches a by name and by alias, a reaches b by name (b came
	// later: a's /etc/hosts was rewritten), each seeing the other's own
	// address.
	for _, g := range []struct{ from, url, fromIP string }{
		{b, "http://" + a + "/", ipB}, {b, "http://web/", ipB}, {a, "http://" + b + "/", ipA},
	} {
		out, err := getIn(t, u, g.from, g.url, 20*time.Second)
		if err != nil {
			t.Errorf("GET %s from %s: %v\n%s's /etc/hosts:\n%s", g.url, g.from, err, g.from, u.Must(t, "exec", g.from, "cat", "/etc/hosts"))
		} else if !strings.Contains(out, "you are "+g.fromIP+":") {
			t.Errorf("GET %s from %s: the server saw another address than %s: %q", g.url, g.from, g.fromIP, out)
		}
	}
	// Another network of the same user, and its plain bridged container:
	// no frame gets through, and the names are not known there.
	for _, g := range []struct{ from, url string }{
		{c, "http://" + ipA + "/"}, {d, "http://" + ipA + "/"}, {a, "http://" + ipC + "/"}, {a, "http://" + ipD + "/"},
	} {
		if out, err := getIn(t, u, g.from, g.url, 0); err == nil {
			t.Errorf("%s reached %s across networks: %q", g.from, g.url, out)
		}
	}
	for _, ctr := range []string{c, d} {
		if hosts := u.Must(t, "exec", ctr, "cat", "/etc/hosts"); strings.Contains(hosts, a) || strings.Contains(hosts, "web") {
			t.Errorf("%s's /etc/hosts names front's container:\n%s", ctr, hosts)
		}
	}
	// The published port of a container on the network answers from the
	// host, with the client's address kept.
	if body := fetchFrom(t, clientNetns, "http://"+testAddr+":8097/", 20*time.Second); !strings.Contains(body, "you are "+clientAddr+":") {
		t.Errorf("the published port of %s answered %q, want the client %s seen", a, body, clientAddr)
	}
	net := inspect(t, u, a).NetworkSettings.Networks[front]
	if net.IPAddress != ipA {
		t.Errorf("inspect %s: Networks[%s].IPAddress %q, want %s", a, front, net.IPAddress, ipA)
	}

	// b goes: its name leaves a's /etc/hosts.
	u.Must(t, "rm", "-f", b)
	if hosts := u.Must(t, "exec", a, "cat", "/etc/hosts"); strings.Contains(hosts, b) {
		t.Errorf("after rm of %s, %s's /etc/hosts still names it:\n%s", b, a, hosts)
	}

	// Bad input: Error and Hint, exit 125, nothing made.
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "--driver", "bridge-helper", "--subnet", "10.77.0.0/24", "htnet-bad"}, "--subnet with --driver bridge-helper"},
		{[]string{"run", "--rm", "--network", front, "--network", back, image, "true"}, "on no other network"},
		{[]string{"run", "--rm", "--network", front + ":ip=10.88.0.200", image, "true"}, "--ip on network"},
		{[]string{"network", "connect", back, a}, "myctr-helper's bridge"},
	} {
		out, errOut, code := u.Myctr(t, bad.args...)
		if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, bad.want) || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("%s: exit %d, want 125 with Error (%q) and Hint:\n%s%s", strings.Join(bad.args, " "), code, bad.want, out, errOut)
		}
	}
	if _, _, code := u.Myctr(t, "network", "exists", "htnet-bad"); code == 0 {
		t.Error("a refused network create left a network")
	}

	u.Must(t, "rm", "-f", a, c, d)
	u.Must(t, "network", "rm", front, back)
	waitFor(t, 10*time.Second, "rm -f left things behind", func() string {
		return leftovers(t, before, []string{a, b, c, d, inB.Id}, ipA, "8097")
	})
}
