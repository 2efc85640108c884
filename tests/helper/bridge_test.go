//go:build helper

package helpertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
)

// myctr run --network bridge, end to end, as the users.

// TestPublishKeepsClientAddress: a bridged container of the allowed user
// with -p 8080:80 serves a client in the client namespace through
// 10.99.0.1:8080, and sees the client's own address (no masquerade of
// incoming connections).
func TestPublishKeepsClientAddress(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	before := veths(t)
	name := ctrName(t, u, "")
	in := runBridged(t, u, name, append([]string{"-p", "8080:80"}, httpdFlags()...), "/ht")
	ip := in.ip(t)

	body := fetchFrom(t, clientNetns, "http://"+testAddr+":8080/", 20*time.Second)
	if !strings.Contains(body, "you are "+clientAddr+":") {
		t.Errorf("the server saw another address than the client's %s: %q", clientAddr, body)
	}
	logs := u.Must(t, "logs", name)
	if !strings.Contains(logs, "request from "+clientAddr+":") {
		t.Errorf("the server's log has no request from %s:\n%s", clientAddr, logs)
	}

	// What it stands on while it runs.
	if nv := newVeths(before, veths(t)); len(nv) != 1 {
		t.Errorf("new host veths %v, want one", nv)
	}
	rules := nftRules(t)
	if m := helperprobe.Mentions(rules, ip, "8080"); len(m) != 2 {
		t.Errorf("nftables table ip myctr names %v of [%s 8080]:\n%s", m, ip, rules)
	}
	if f := ledgerFiles(t, name, in.Id); len(f) == 0 {
		t.Errorf("no ledger record names %s or its id in %s", name, conf.stateDir)
	}

	u.Must(t, "rm", "-f", name)
	waitFor(t, 10*time.Second, "rm -f left things behind", func() string {
		return leftovers(t, before, []string{name, in.Id}, ip, "8080")
	})
}

// TestContainersReachEachOther: two bridged containers talk over the bridge
// both ways, each seeing the other's own address (no NAT between them).
func TestContainersReachEachOther(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	a, b := ctrName(t, u, "a"), ctrName(t, u, "b")
	ina := runBridged(t, u, a, httpdFlags(), "/ht")
	inb := runBridged(t, u, b, httpdFlags(), "/ht")
	ipa, ipb := ina.ip(t), inb.ip(t)
	if ipa == ipb {
		t.Fatalf("both containers have address %s", ipa)
	}
	for _, dir := range []struct{ from, fromIP, to, toIP string }{{b, ipb, a, ipa}, {a, ipa, b, ipb}} {
		var out, errOut string
		var code int
		deadline := time.Now().Add(20 * time.Second)
		for {
			// This binary, bound in at /ht, as the client.
			out, errOut, code = u.Myctr(t, "exec", dir.from, "env", roleEnv+"=get", "MYCTR_HT_URL=http://"+dir.toIP+"/", "/ht")
			if code == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if code != 0 {
			t.Errorf("GET from %s (%s) to %s (%s): exit %d\n%s%s", dir.from, dir.fromIP, dir.to, dir.toIP, code, out, errOut)
		} else if !strings.Contains(out, "you are "+dir.fromIP+":") {
			t.Errorf("%s saw another address than %s's %s: %q", dir.to, dir.from, dir.fromIP, out)
		}
	}
}

// TestDeniedUser: the user outside the polkit rule is refused with the
// action's name, exit 125, and nothing is made for it.
func TestDeniedUser(t *testing.T) {
	begin(t)
	u := users[deniedUser]
	before := veths(t)
	rulesBefore := nftRules(t)
	for _, detached := range []bool{false, true} {
		name := ctrName(t, u, fmt.Sprint(detached))
		args := []string{"run", "--rm", "--network", "bridge", "--name", name, image, "true"}
		if detached {
			args = []string{"run", "-d", "--network", "bridge", "--name", name, "-p", "8086:80", image, "sleep", "600"}
		}
		out, errOut, code := u.Myctr(t, args...)
		all := out + errOut
		if code != 125 {
			t.Errorf("%s: exit %d, want 125\n%s", strings.Join(args, " "), code, all)
		}
		for _, want := range []string{"Error: not authorized", protocol.ActionNetwork} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: output lacks %q:\n%s", strings.Join(args, " "), want, all)
			}
		}
		if why := leftovers(t, before, []string{name}, "", "8086"); why != "" {
			t.Errorf("after the refusal: %s", why)
		}
	}
	if rules := nftRules(t); rules != rulesBefore {
		t.Errorf("the refused runs changed the nftables rules:\nbefore:\n%s\nafter:\n%s", rulesBefore, rules)
	}
}

// TestLowPortDenied: publishing port 80 (below
// net.ipv4.ip_unprivileged_port_start) as the allowed user asks for
// org.myctr.helper.publish-low-port, which the rule does not grant; the run
// fails and leaves nothing attached.
func TestLowPortDenied(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	before := veths(t)
	name := ctrName(t, u, "")
	out, errOut, code := u.Myctr(t, "run", "--rm", "--network", "bridge", "--name", name, "-p", "80:80", image, "true")
	all := out + errOut
	if code != 125 {
		t.Errorf("exit %d, want 125\n%s", code, all)
	}
	for _, want := range []string{"Error: not authorized", protocol.ActionPublishLowPort} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
	waitFor(t, 10*time.Second, "the refused run left things behind", func() string {
		return leftovers(t, before, []string{name}, "", "80")
	})
}

// TestRemoveLeavesNothing: rm -f of a running bridged container with a
// published port, and the end of a foreground --rm one, leave no veth,
// rule or ledger record.
func TestRemoveLeavesNothing(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	t.Run("rm -f", func(t *testing.T) {
		before := veths(t)
		name := ctrName(t, u, "")
		in := runBridged(t, u, name, []string{"-p", "8083:80"}, "sleep", "600")
		ip := in.ip(t)
		if nv := newVeths(before, veths(t)); len(nv) != 1 {
			t.Errorf("while it runs: new veths %v, want one", nv)
		}
		if m := helperprobe.Mentions(nftRules(t), ip, "8083"); len(m) != 2 {
			t.Errorf("while it runs: the rules name %v of [%s 8083]", m, ip)
		}
		if f := ledgerFiles(t, name, in.Id); len(f) == 0 {
			t.Errorf("while it runs: no ledger record")
		}
		u.Must(t, "rm", "-f", name)
		waitFor(t, 10*time.Second, "rm -f left things behind", func() string {
			return leftovers(t, before, []string{name, in.Id}, ip, "8083")
		})
	})
	t.Run("run --rm", func(t *testing.T) {
		before := veths(t)
		name := ctrName(t, u, "")
		out := u.Must(t, "run", "--rm", "--network", "bridge", "--name", name, "-p", "8087:80", image,
			"sh", "-c", "ip -4 -o addr show; ip route")
		// The container had its address and a default route.
		if !strings.Contains(out, "default via") || !strings.Contains(out, "inet 10.") {
			t.Errorf("inside the container: no address or default route:\n%s", out)
		}
		waitFor(t, 10*time.Second, "run --rm left things behind", func() string {
			return leftovers(t, before, []string{name}, "", "8087")
		})
	})
}

// TestPortConflict: a host port one bridged container has published is
// refused to a second one with an Error naming the port and a Hint; the
// refused container leaves nothing attached, and the first keeps its rule.
func TestPortConflict(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	first := ctrName(t, u, "first")
	in := runBridged(t, u, first, []string{"-p", "8089:80"}, "sleep", "600")
	ip := in.ip(t)
	before := veths(t)
	recordsBefore := len(ledgerFiles(t, ".json"))
	second := ctrName(t, u, "second")
	out, errOut, code := u.Myctr(t, "run", "--rm", "--network", "bridge", "--name", second, "-p", "8089:80", image, "true")
	all := out + errOut
	if code != 125 {
		t.Errorf("second -p 8089:80: exit %d, want 125\n%s", code, all)
	}
	for _, want := range []string{"Error: host port 8089/tcp is already published", "Hint:"} {
		if !strings.Contains(all, want) {
			t.Errorf("second -p 8089:80: output lacks %q:\n%s", want, all)
		}
	}
	waitFor(t, 10*time.Second, "the refused container left things behind", func() string {
		if nv := newVeths(before, veths(t)); len(nv) != 0 {
			return fmt.Sprintf("new veths %v", nv)
		}
		if n := len(ledgerFiles(t, ".json")); n != recordsBefore {
			return fmt.Sprintf("%d ledger records, %d before", n, recordsBefore)
		}
		return ""
	})
	if m := helperprobe.Mentions(nftRules(t), ip, "8089"); len(m) != 2 {
		t.Errorf("the first container's rule for 8089 is gone: names %v of [%s 8089]", m, ip)
	}
	u.Must(t, "rm", "-f", first)
}
