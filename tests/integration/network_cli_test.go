//go:build integration

package integration

// The network commands over named networks' records (Podman 4.3's):
// create, ls, inspect, exists, rm, prune. Other tests share the store, so
// every name, label and given subnet here is the test's own, and prune
// always filters on a label of its test.

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// netName returns a network name unique to the test (and suffix), and
// removes that network when the test ends.
func netName(t *testing.T, suffix string) string {
	t.Helper()
	n := "n-" + strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()+"-"+suffix), "-"), "-")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "network", "rm", "-f", n) })
	return n
}

// networkJSON is network inspect's record, in Podman's (netavark's) keys.
type networkJSON struct {
	Name             string `json:"name"`
	ID               string `json:"id"`
	Driver           string `json:"driver"`
	NetworkInterface string `json:"network_interface"`
	Subnets          []struct {
		Subnet  string `json:"subnet"`
		Gateway string `json:"gateway"`
	} `json:"subnets"`
	IPv6Enabled bool              `json:"ipv6_enabled"`
	Internal    bool              `json:"internal"`
	DNSEnabled  bool              `json:"dns_enabled"`
	Labels      map[string]string `json:"labels"`
	Options     map[string]string `json:"options"`
	IPAMOptions map[string]string `json:"ipam_options"`
}

func networkInspect(t *testing.T, name string) networkJSON {
	t.Helper()
	out := mustMyctr(t, "network", "inspect", name)
	var list []networkJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("network inspect %s: %v\n%s", name, err, out)
	}
	return list[0]
}

// create with a subnet chosen and one given; inspect shows Podman's
// record; ls, its filters and formats; exists.
func TestNetworkCreateInspectLs(t *testing.T) {
	t.Parallel()
	auto, given := netName(t, "auto"), netName(t, "given")
	label := "it-test=" + auto
	if out := mustMyctr(t, "network", "create", "--label", label, auto); out != auto+"\n" {
		t.Errorf("network create printed %q, want the name", out)
	}
	mustMyctr(t, "network", "create", given, "--subnet", "10.213.7.0/24", "--gateway", "10.213.7.254",
		"--internal", "--disable-dns", "--opt", "mtu=1400", "--label", label)

	a := networkInspect(t, auto)
	p, err := netip.ParsePrefix(a.Subnets[0].Subnet)
	if err != nil || len(a.Subnets) != 1 || p.Bits() != 24 || !netip.MustParsePrefix("10.89.0.0/16").Contains(p.Addr()) ||
		a.Subnets[0].Gateway != p.Addr().Next().String() {
		t.Errorf("auto subnet %+v, want a /24 of 10.89.0.0/16 with its first address as gateway", a.Subnets)
	}
	if !isFullID(a.ID) || a.Driver != "bridge" || !regexp.MustCompile(`^myctr[0-9]+$`).MatchString(a.NetworkInterface) ||
		a.IPv6Enabled || a.Internal || !a.DNSEnabled || a.IPAMOptions["driver"] != "host-local" || a.Labels["it-test"] != auto {
		t.Errorf("inspect %s = %+v", auto, a)
	}
	g := networkInspect(t, given)
	if g.Subnets[0].Subnet != "10.213.7.0/24" || g.Subnets[0].Gateway != "10.213.7.254" || !g.Internal || g.DNSEnabled ||
		g.Options["mtu"] != "1400" || g.NetworkInterface == a.NetworkInterface {
		t.Errorf("inspect %s = %+v", given, g)
	}
	// Podman's keys, and only those.
	var raw []map[string]any
	if err := json.Unmarshal([]byte(mustMyctr(t, "network", "inspect", given)), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"created", "dns_enabled", "driver", "id", "internal", "ipam_options", "ipv6_enabled", "labels", "name",
		"network_interface", "options", "subnets"}; !slices.Equal(keys, want) {
		t.Errorf("inspect keys %v, want %v", keys, want)
	}
	if out := mustMyctr(t, "network", "inspect", "--format", "{{.Name}} {{range .Subnets}}{{.Subnet}}{{end}}", given, a.ID[:16]); out != given+" 10.213.7.0/24\n"+auto+" "+p.String()+"\n" {
		t.Errorf("inspect --format: %q", out)
	}

	// ls: the table, -q, filters, json, --no-trunc.
	out := mustMyctr(t, "network", "ls")
	if !strings.HasPrefix(out, "NETWORK ID") || !regexp.MustCompile(`(?m)^`+a.ID[:12]+` +`+auto+` +bridge$`).MatchString(out) {
		t.Errorf("network ls:\n%s", out)
	}
	if out := mustMyctr(t, "network", "ls", "-q", "--filter", "label="+label); out != auto+"\n"+given+"\n" && out != given+"\n"+auto+"\n" {
		t.Errorf("ls -q --filter label=: %q", out)
	}
	if out := mustMyctr(t, "network", "ls", "-q", "--filter", "name=^"+given+"$"); out != given+"\n" {
		t.Errorf("ls -q --filter name=: %q", out)
	}
	if out := mustMyctr(t, "network", "ls", "--noheading", "--no-trunc", "--filter", "id="+a.ID[:10], "--format", "{{.ID}} {{.Name}} {{.Labels}}"); out != a.ID+" "+auto+" "+label+"\n" {
		t.Errorf("ls --no-trunc --filter id=: %q", out)
	}
	var list []networkJSON
	if err := json.Unmarshal([]byte(mustMyctr(t, "network", "ls", "--format", "json", "--filter", "label="+label, "--filter", "name="+given)), &list); err != nil ||
		len(list) != 1 || list[0].Name != given || list[0].Subnets[0].Subnet != "10.213.7.0/24" {
		t.Errorf("ls --format json: %+v, %v", list, err)
	}
	if _, _, code := myctr(t, "network", "ls", "--filter", "color=red"); code != 125 {
		t.Errorf("ls --filter color=red: exit %d, want 125", code)
	}

	if _, _, code := myctr(t, "network", "exists", given); code != 0 {
		t.Errorf("network exists %s: exit %d", given, code)
	}
	if out, errOut, code := myctr(t, "network", "exists", given+"-not"); code != 1 || out != "" || errOut != "" {
		t.Errorf("network exists of none: exit %d, %q %q; want 1 and no output", code, out, errOut)
	}
}

// Create's failures: exit 125, Error and Hint, nothing made.
func TestNetworkCreateErrors(t *testing.T) {
	t.Parallel()
	name, other := netName(t, "a"), netName(t, "b")
	mustMyctr(t, "network", "create", "--subnet", "10.213.16.0/22", name)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{name}, "Error: network name " + name + " already used: network already exists"},
		{[]string{"--subnet", "10.213.18.0/24", other}, "Error: subnet 10.213.18.0/24 overlaps subnet 10.213.16.0/22 of network " + name},
		{[]string{"--subnet", "10.213.32.0/24", "--gateway", "10.213.33.1", other}, "not in subnet"},
		{[]string{"--subnet", "10.213.32.5/24", other}, "not a network address"},
		{[]string{"--subnet", "fe80::/64", other}, "link-local"},
		{[]string{"--subnet", "10.213.48.0/24", "--subnet", "10.213.49.0/24", other}, "a second subnet of its family"},
		{[]string{"--subnet", "fd00:213::/64", "--gateway", "fd00:213::1", "--gateway", "10.213.50.1", other}, "cannot set more gateways than subnets"},
		{[]string{"--opt", "vlan=3", other}, "option vlan"},
		{[]string{"-d", "macvlan", other}, "unsupported driver macvlan"},
		{[]string{"host"}, `Error: cannot create network with name "host" because it conflicts with a valid network mode`},
		{[]string{"bad/name"}, "invalid"},
	} {
		out, errOut, code := myctr(t, append([]string{"network", "create"}, tc.args...)...)
		if code != 125 || out != "" || !strings.Contains(errOut, tc.err) || !strings.Contains(errOut, "\nHint: ") {
			t.Errorf("network create %q: exit %d, stdout %q, stderr %q; want 125, %q and a Hint", tc.args, code, out, errOut, tc.err)
		}
	}
	if _, _, code := myctr(t, "network", "exists", other); code != 1 {
		t.Errorf("a failed create left network %s (exists: exit %d)", other, code)
	}
	// --ignore: the name is printed, the network stays as it was.
	if out := mustMyctr(t, "network", "create", "--ignore", "--subnet", "10.213.40.0/24", name); out != name+"\n" {
		t.Errorf("create --ignore printed %q", out)
	}
	if n := networkInspect(t, name); n.Subnets[0].Subnet != "10.213.16.0/22" {
		t.Errorf("create --ignore changed the network: %+v", n.Subnets)
	}
}

// rm: each removed name printed; a network that is not there is exit 1;
// --time needs --force.
func TestNetworkRm(t *testing.T) {
	t.Parallel()
	a, b := netName(t, "a"), netName(t, "b")
	mustMyctr(t, "network", "create", a)
	id := networkInspect(t, a).ID
	mustMyctr(t, "network", "create", b)
	out, errOut, code := myctr(t, "network", "rm", a+"-none")
	if code != 1 || out != "" || !strings.Contains(errOut, "Error: unable to find network with name or ID "+a+"-none: network not found") {
		t.Errorf("rm of none: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = myctr(t, "network", "rm", id[:16], a+"-none", b)
	if code != 1 || out != id[:16]+"\n"+b+"\n" || strings.Count(errOut, "Error:") != 1 {
		t.Errorf("rm of two and one missing: exit %d, stdout %q, stderr %q; want 1 and the two", code, out, errOut)
	}
	for _, n := range []string{a, b} {
		if _, _, code := myctr(t, "network", "exists", n); code != 1 {
			t.Errorf("%s still there", n)
		}
	}
	if _, errOut, code := myctr(t, "network", "rm", "-t", "3", a); code != 125 || !strings.Contains(errOut, "--force option must be specified to use the --time option") {
		t.Errorf("rm -t without -f: exit %d, %q", code, errOut)
	}
	// --force: a network that is not there is no error, as Podman's.
	if out, errOut, code := myctr(t, "network", "rm", "--force", a+"-none"); code != 0 || out != "" || errOut != "" {
		t.Errorf("rm --force of none: exit %d, %q %q; want 0 and nothing", code, out, errOut)
	}
}

// TestNetworkLsDefault: network ls lists Podman's default network,
// podman (the helper's bridge), among the others by name; it is never
// dangling, as prune never removes it.
func TestNetworkLsDefault(t *testing.T) {
	t.Parallel()
	a := netName(t, "ls")
	mustMyctr(t, "network", "create", a)
	names := strings.Fields(mustMyctr(t, "network", "ls", "-q"))
	if !slices.Contains(names, "podman") || !slices.Contains(names, a) || !slices.IsSorted(names) {
		t.Errorf("network ls -q: %q; want podman and %s, by name", names, a)
	}
	if out := mustMyctr(t, "network", "ls", "--noheading", "--filter", "name=^podman$", "--format", "{{.Name}} {{.Driver}} {{.NetworkInterface}}"); !strings.HasPrefix(out, "podman bridge ") {
		t.Errorf("network ls of the default network: %q", out)
	}
	if out := mustMyctr(t, "network", "ls", "-q", "--filter", "dangling=true"); slices.Contains(strings.Fields(out), "podman") {
		t.Errorf("network ls --filter dangling=true lists the default network: %q", out)
	}
}

// prune --filter label= removes the test's unused networks only.
func TestNetworkPrune(t *testing.T) {
	t.Parallel()
	a, b, keep := netName(t, "a"), netName(t, "b"), netName(t, "keep")
	label := "it-prune=" + a
	mustMyctr(t, "network", "create", "--label", label, a)
	mustMyctr(t, "network", "create", "--label", label, b)
	mustMyctr(t, "network", "create", "--label", "it-prune=other-"+a, keep)
	out := mustMyctr(t, "network", "prune", "-f", "--filter", "label="+label)
	if got := strings.Fields(out); !slices.Equal(got, []string{a, b}) {
		t.Errorf("prune printed %q, want %s and %s", out, a, b)
	}
	if _, _, code := myctr(t, "network", "exists", keep); code != 0 {
		t.Errorf("prune removed %s, which its filter does not match", keep)
	}
	if _, _, code := myctr(t, "network", "prune", "-f", "--filter", "name=x"); code != 125 {
		t.Errorf("prune --filter name=: exit %d, want 125 (Podman's prune takes label and until)", code)
	}
}
