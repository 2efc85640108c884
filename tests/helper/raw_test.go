//go:build helper

package helpertest

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/protocol"
	"github.com/myctr/myctr/tests/helperprobe"
)

// The raw client's calls: the D-Bus API as a caller that is not myctr sees
// it.

// TestActivation: GetVersion as the allowed user activates the helper under
// test (the test activation file's command line) and reports this API.
func TestActivation(t *testing.T) {
	begin(t)
	r := callAs(t, users[allowedUser], clientCall{Method: "GetVersion"})
	if r.ErrorName != "" {
		t.Fatalf("GetVersion: %s %v", r.ErrorName, r.ErrorBody)
	}
	if len(r.Reply) != 2 {
		t.Fatalf("GetVersion reply %v, want (u, as)", r.Reply)
	}
	if v, _ := r.Reply[0].(float64); uint32(v) != protocol.Version {
		t.Errorf("version %v, want %d", r.Reply[0], protocol.Version)
	}
	got := fmt.Sprint(r.Reply[1])
	for _, f := range protocol.Features {
		if !strings.Contains(got, f) {
			t.Errorf("features %s lack %s", got, f)
		}
	}
	pid := helperprobe.HelperPid(t)
	if pid == 0 {
		t.Fatal("after a call, org.myctr.Helper1 has no owner")
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), conf.path) {
		t.Errorf("the helper (pid %d) runs %q, not with --config %s: not the test activation file's helper", pid,
			strings.ReplaceAll(string(cmdline), "\x00", " "), conf.path)
	}
	// GetVersion asks no one; the user outside the rule gets it too, and is
	// refused everything else, with the action named.
	if r := callAs(t, users[deniedUser], clientCall{Method: "GetVersion"}); r.ErrorName != "" {
		t.Errorf("GetVersion as %s: %s %v", deniedUser, r.ErrorName, r.ErrorBody)
	}
	r = callAs(t, users[deniedUser], clientCall{Method: "ReleaseNetwork", Container: "ht-denied"})
	if r.ErrorName != protocol.ErrNotAuthorized.Name || len(r.ErrorBody) < 2 || r.ErrorBody[1] != protocol.ActionNetwork {
		t.Errorf("ReleaseNetwork as %s: %s %v, want %s naming %s", deniedUser, r.ErrorName, r.ErrorBody,
			protocol.ErrNotAuthorized.Name, protocol.ActionNetwork)
	}
}

// introspected is the part of the introspection format the test compares.
type introspected struct {
	Interfaces []struct {
		Name    string `xml:"name,attr"`
		Methods []struct {
			Name string `xml:"name,attr"`
			Args []struct {
				Name      string `xml:"name,attr"`
				Type      string `xml:"type,attr"`
				Direction string `xml:"direction,attr"`
			} `xml:"arg"`
		} `xml:"method"`
		Signals []struct {
			Name string `xml:"name,attr"`
		} `xml:"signal"`
		Properties []struct {
			Name string `xml:"name,attr"`
		} `xml:"property"`
	} `xml:"interface"`
}

// methods flattens the interface's methods to "Name(dir name type, ...)"
// lines, signals and properties to their names.
func (n introspected) methods(iface string) (out []string, found bool) {
	for _, i := range n.Interfaces {
		if i.Name != iface {
			continue
		}
		found = true
		for _, m := range i.Methods {
			var args []string
			for _, a := range m.Args {
				dir := a.Direction
				if dir == "" {
					dir = "in"
				}
				args = append(args, dir+" "+a.Name+" "+a.Type)
			}
			out = append(out, m.Name+"("+strings.Join(args, ", ")+")")
		}
		for _, s := range i.Signals {
			out = append(out, "signal "+s.Name)
		}
		for _, p := range i.Properties {
			out = append(out, "property "+p.Name)
		}
	}
	slices.Sort(out)
	return out, found
}

// TestIntrospection: the live object declares exactly the methods and
// arguments of protocol.IntrospectionXML.
func TestIntrospection(t *testing.T) {
	begin(t)
	var live string
	obj := helperprobe.SystemBus(t).Object(protocol.BusName, protocol.ObjectPath)
	if err := obj.Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&live); err != nil {
		t.Fatalf("Introspect %s: %v", protocol.ObjectPath, err)
	}
	var want, got introspected
	if err := xml.Unmarshal([]byte(protocol.IntrospectionXML), &want); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal([]byte(live), &got); err != nil {
		t.Fatalf("the live introspection is not XML: %v\n%s", err, live)
	}
	w, _ := want.methods(protocol.Interface)
	g, ok := got.methods(protocol.Interface)
	if !ok {
		t.Fatalf("the live object has no interface %s:\n%s", protocol.Interface, live)
	}
	if !slices.Equal(w, g) {
		t.Errorf("live %s differs from protocol.IntrospectionXML\nlive:\n  %s\nprotocol:\n  %s\nlive XML:\n%s",
			protocol.Interface, strings.Join(g, "\n  "), strings.Join(w, "\n  "), live)
	}
}

// nsHolder starts `unshare FLAGS... sleep 600` as u (root when u is nil)
// and returns its pid once sleep runs in the new namespaces.
func nsHolder(t testing.TB, u *testUser, flags ...string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := append(flags, "sleep", "600")
	var cmd *exec.Cmd
	if u == nil {
		cmd = exec.CommandContext(ctx, "unshare", args...)
	} else {
		cmd = u.Command(ctx, "/usr/bin/unshare", args...)
	}
	cmd.SysProcAttr = orNew(cmd.SysProcAttr)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("unshare %v: %v", flags, err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "sleep" {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare %v (pid %d) never ran sleep", flags, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func orNew(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		return &syscall.SysProcAttr{}
	}
	return a
}

// openNS opens /proc/PID/ns/KIND (as root); closed at cleanup.
func openNS(t testing.TB, pid int, kind string) *os.File {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestNotOwner: namespaces the caller does not own are refused with
// NotOwner, and nothing is created for them.
func TestNotOwner(t *testing.T) {
	begin(t)
	allowed, denied := users[allowedUser], users[deniedUser]
	ownU := nsHolder(t, allowed, "-Ur")    // a user namespace the caller owns
	otherN := nsHolder(t, allowed, "-Urn") // the caller's too, but another user namespace's netns
	nosub := nsHolder(t, denied, "-Urn")   // another user's
	rootN := nsHolder(t, nil, "-n")        // root's: belongs to the initial user namespace
	for _, tc := range []struct {
		name          string
		userns, netns *os.File
	}{
		{"user and net namespaces of another user", openNS(t, nosub, "user"), openNS(t, nosub, "net")},
		{"own user namespace, netns of another user namespace", openNS(t, ownU, "user"), openNS(t, otherN, "net")},
		{"own user namespace, netns of root", openNS(t, ownU, "user"), openNS(t, rootN, "net")},
		{"user namespace of another user, own netns", openNS(t, nosub, "user"), openNS(t, otherN, "net")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := veths(t)
			ctr := "ht-notowner"
			r := callAs(t, allowed, clientCall{Method: "AttachNetwork", Container: ctr}, tc.userns, tc.netns)
			if r.ErrorName != protocol.ErrNotOwner.Name {
				t.Errorf("AttachNetwork: %s %v %v, want %s", r.ErrorName, r.ErrorBody, r.Reply, protocol.ErrNotOwner.Name)
				callAs(t, allowed, clientCall{Method: "ReleaseNetwork", Container: ctr})
			}
			if why := leftovers(t, before, []string{ctr}, ""); why != "" {
				t.Errorf("after a refused AttachNetwork: %s", why)
			}
		})
	}
}

var peerName = regexp.MustCompile(`^mp[0-9a-f]{12}$`)

// TestOwnNamespaces: the positive control of TestNotOwner, through the same
// raw client: the caller's own user and network namespaces are attached
// (the peer lands in the netns, the host end on the bridge, a ledger
// record), and ReleaseNetwork removes all of it, twice without error.
func TestOwnNamespaces(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	holder := nsHolder(t, u, "-Urn")
	netns := fmt.Sprintf("/proc/%d/ns/net", holder)
	ctr := "ht-raw-own"
	before := veths(t)
	r := callAs(t, u, clientCall{Method: "AttachNetwork", Container: ctr}, openNS(t, holder, "user"), openNS(t, holder, "net"))
	t.Cleanup(func() { callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: ctr}) })
	if r.ErrorName != "" || len(r.Reply) != 4 {
		t.Fatalf("AttachNetwork of own namespaces: %s %v, reply %v", r.ErrorName, r.ErrorBody, r.Reply)
	}
	iface, addr, gw, _ := r.Reply[0].(string), r.Reply[1].(string), r.Reply[2].(string), r.Reply[3]
	mtu, _ := r.Reply[3].(float64)
	if !peerName.MatchString(iface) {
		t.Errorf("interface %q, want mp + 12 hex", iface)
	}
	var inNS *link
	for _, l := range links(t, netns) {
		if l.Name == iface {
			inNS = &l
		}
	}
	if inNS == nil {
		t.Errorf("interface %s is not in the caller's netns", iface)
	} else if want := conf.raw["mtu"]; want != "" && fmt.Sprint(inNS.MTU) != want {
		t.Errorf("peer MTU %d, want %s (config)", inNS.MTU, want)
	}
	if want := conf.raw["mtu"]; want != "" && fmt.Sprint(uint32(mtu)) != want {
		t.Errorf("reply MTU %v, want %s", mtu, want)
	}
	pfx, err := netip.ParsePrefix(addr)
	subnet, err2 := netip.ParsePrefix(conf.raw["subnet"])
	if err != nil || err2 != nil || !subnet.Contains(pfx.Addr()) || pfx.Bits() != subnet.Bits() {
		t.Errorf("address %q, want one of %s with its prefix length (%v, %v)", addr, conf.raw["subnet"], err, err2)
	}
	if g, err := netip.ParseAddr(gw); err != nil || !subnet.Contains(g) {
		t.Errorf("gateway %q, want an address of %s", gw, conf.raw["subnet"])
	}
	nv := newVeths(before, veths(t))
	if len(nv) != 1 {
		t.Fatalf("new host veths %v, want exactly one", nv)
	}
	bridge := conf.raw["bridge"]
	for _, l := range links(t, conf.netns) {
		if l.Name == nv[0] && l.Master != bridge {
			t.Errorf("host veth %s has master %q, want %s", l.Name, l.Master, bridge)
		}
	}
	if f := ledgerFiles(t, ctr); len(f) == 0 {
		t.Errorf("no ledger record names %s in %s", ctr, conf.stateDir)
	}
	// Attaching the same container again with the same namespaces is
	// idempotent: the same answer, no second veth.
	r2 := callAs(t, u, clientCall{Method: "AttachNetwork", Container: ctr}, openNS(t, holder, "user"), openNS(t, holder, "net"))
	if r2.ErrorName != "" || fmt.Sprint(r2.Reply) != fmt.Sprint(r.Reply) {
		t.Errorf("second AttachNetwork: %s %v, reply %v, want the first reply %v", r2.ErrorName, r2.ErrorBody, r2.Reply, r.Reply)
	}
	if nv2 := newVeths(before, veths(t)); len(nv2) != 1 {
		t.Errorf("after a second AttachNetwork: new veths %v, want one", nv2)
	}

	for i := 0; i < 2; i++ {
		if r := callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: ctr}); r.ErrorName != "" {
			t.Errorf("ReleaseNetwork #%d: %s %v", i+1, r.ErrorName, r.ErrorBody)
		}
	}
	waitFor(t, 5*time.Second, "ReleaseNetwork left things behind", func() string {
		why := leftovers(t, before, []string{ctr}, strings.Split(addr, "/")[0])
		for _, l := range links(t, netns) {
			if l.Name == iface {
				why += "; the peer " + iface + " in the caller's netns"
			}
		}
		return why
	})
}

// TestInvalidArgs: malformed names and unknown options are refused with
// InvalidArgs before anything is done.
func TestInvalidArgs(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	holder := nsHolder(t, u, "-Urn")
	before := veths(t)
	for _, tc := range []struct {
		name    string
		call    clientCall
		withNS  bool
		mention string
	}{
		{"AttachNetwork container ../x", clientCall{Method: "AttachNetwork", Container: "../x"}, true, "../x"},
		{"AttachNetwork unknown option", clientCall{Method: "AttachNetwork", Container: "ht-inval", Options: map[string]any{"zzz": "1"}}, true, "zzz"},
		{"AttachNetwork bridge of wrong type", clientCall{Method: "AttachNetwork", Container: "ht-inval", Options: map[string]any{"bridge": float64(1)}}, true, "bridge"},
		{"ReleaseNetwork container ../x", clientCall{Method: "ReleaseNetwork", Container: "../x"}, false, "../x"},
		{"ReleaseNetwork unknown option", clientCall{Method: "ReleaseNetwork", Container: "ht-inval", Options: map[string]any{"zzz": true}}, false, "zzz"},
		{"PublishPort container ../x", clientCall{Method: "PublishPort", Container: "../x", Protocol: "tcp", HostPort: 8090, ContainerPort: 80}, false, "../x"},
		{"PublishPort protocol sctp", clientCall{Method: "PublishPort", Container: "ht-inval", Protocol: "sctp", HostPort: 8090, ContainerPort: 80}, false, "sctp"},
		{"PublishPort unknown option", clientCall{Method: "PublishPort", Container: "ht-inval", Protocol: "tcp", HostPort: 8090, ContainerPort: 80, Options: map[string]any{"zzz": "1"}}, false, "zzz"},
		{"UnpublishPort container ../x", clientCall{Method: "UnpublishPort", Container: "../x", Protocol: "tcp", HostPort: 8090}, false, "../x"},
		{"ReleaseAll unknown option", clientCall{Method: "ReleaseAll", Options: map[string]any{"zzz": "1"}}, false, "zzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []*os.File
			if tc.withNS {
				files = []*os.File{openNS(t, holder, "user"), openNS(t, holder, "net")}
			}
			r := callAs(t, u, tc.call, files...)
			if r.ErrorName != protocol.ErrInvalidArgs.Name {
				t.Errorf("%s %v, reply %v; want %s", r.ErrorName, r.ErrorBody, r.Reply, protocol.ErrInvalidArgs.Name)
				if tc.call.Method == "AttachNetwork" {
					callAs(t, u, clientCall{Method: "ReleaseNetwork", Container: tc.call.Container})
				}
			} else if len(r.ErrorBody) == 0 || !strings.Contains(fmt.Sprint(r.ErrorBody[0]), tc.mention) {
				t.Errorf("message %v does not name %q", r.ErrorBody, tc.mention)
			}
		})
	}
	if why := leftovers(t, before, []string{"ht-inval"}, "", "8090"); why != "" {
		t.Errorf("after refused calls: %s", why)
	}
}
