package netstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCreate(t *testing.T, s *Store, o CreateOptions) *Network {
	t.Helper()
	n, err := s.Create(o)
	if err != nil {
		t.Fatalf("Create(%+v): %v", o, err)
	}
	return n
}

func TestCreateDefaults(t *testing.T) {
	s := open(t)
	n := mustCreate(t, s, CreateOptions{Name: "web"})
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(n.ID) {
		t.Errorf("id %q", n.ID)
	}
	want := Network{Name: "web", ID: n.ID, Driver: "bridge", NetworkInterface: "myctr1", Created: n.Created,
		Subnets: []Subnet{{"10.89.0.0/24", "10.89.0.1"}}, DNSEnabled: true, IPAMOptions: map[string]string{"driver": "host-local"}}
	if fmt.Sprint(*n) != fmt.Sprint(want) {
		t.Errorf("Create = %+v\nwant     %+v", *n, want)
	}
	if time.Since(n.Created) > time.Minute {
		t.Errorf("created %v", n.Created)
	}
	// The record on disk is the same, in Podman's field names.
	b, err := os.ReadFile(filepath.Join(s.Dir(), "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "id", "driver", "network_interface", "created", "subnets", "ipv6_enabled", "internal", "dns_enabled", "ipam_options"} {
		if _, ok := m[k]; !ok {
			t.Errorf("record lacks %q: %s", k, b)
		}
	}
	for _, k := range []string{"labels", "options"} {
		if _, ok := m[k]; ok {
			t.Errorf("record has an empty %q: %s", k, b)
		}
	}
	got, err := s.Get("web")
	if err != nil || fmt.Sprint(*got) != fmt.Sprint(*n) {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestCreateOptions(t *testing.T) {
	s := open(t)
	n := mustCreate(t, s, CreateOptions{Name: "lab", Subnet: "192.168.7.0/24", Gateway: "192.168.7.254", Internal: true,
		DisableDNS: true, Labels: map[string]string{"team": "a"}, Options: map[string]string{"mtu": "01400"}})
	if n.Subnets[0] != (Subnet{"192.168.7.0/24", "192.168.7.254"}) || !n.Internal || n.DNSEnabled ||
		n.Labels["team"] != "a" || n.Options["mtu"] != "1400" {
		t.Errorf("Create = %+v", n)
	}
	// Without a name: Podman's podmanN, the first free one; bridges
	// myctrN, the first free one.
	a := mustCreate(t, s, CreateOptions{})
	b := mustCreate(t, s, CreateOptions{Name: "podman3"})
	c := mustCreate(t, s, CreateOptions{})
	if a.Name != "podman1" || c.Name != "podman2" || b.Name != "podman3" {
		t.Errorf("names %s %s %s", a.Name, b.Name, c.Name)
	}
	ifs := []string{n.NetworkInterface, a.NetworkInterface, b.NetworkInterface, c.NetworkInterface}
	if !slices.Equal(ifs, []string{"myctr1", "myctr2", "myctr3", "myctr4"}) {
		t.Errorf("interfaces %v", ifs)
	}
	// A removed network's bridge and subnet are free again.
	if _, err := s.Remove("podman1", nil); err != nil {
		t.Fatal(err)
	}
	d := mustCreate(t, s, CreateOptions{Name: "again"})
	if d.NetworkInterface != "myctr2" || d.Subnets[0].Subnet != a.Subnets[0].Subnet {
		t.Errorf("after rm: %+v (the removed one was %+v)", d, a)
	}
}

func TestCreateIPv6(t *testing.T) {
	s := open(t)
	given := mustCreate(t, s, CreateOptions{Name: "given", Subnet6: "fd10:2f::/64", Gateway6: "fd10:2f::fe"})
	if !given.IPv6Enabled || len(given.Subnets) != 2 || given.Subnets[1] != (Subnet{"fd10:2f::/64", "fd10:2f::fe"}) ||
		!strings.HasPrefix(given.Subnets[0].Subnet, "10.89.") {
		t.Errorf("an IPv6 --subnet: %+v, want dual-stack with the given IPv6 subnet second", given)
	}
	auto := mustCreate(t, s, CreateOptions{Name: "auto", IPv6: true})
	if !auto.IPv6Enabled || len(auto.Subnets) != 2 {
		t.Fatalf("--ipv6: %+v, want two subnets", auto)
	}
	p := netip.MustParsePrefix(auto.Subnets[1].Subnet)
	if p.Bits() != 64 || !DefaultPool6.Contains(p.Addr()) || auto.Subnets[1].Gateway != p.Addr().Next().String() {
		t.Errorf("--ipv6 chose %+v, want a /64 of %s, its first host the gateway", auto.Subnets[1], DefaultPool6)
	}
	if plain := mustCreate(t, s, CreateOptions{Name: "plain"}); plain.IPv6Enabled || len(plain.Subnets) != 1 {
		t.Errorf("no IPv6 asked for: %+v", plain)
	}
}

func TestCreateErrors(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "taken", Subnet: "172.20.0.0/16", Subnet6: "fd77:0:0:1::/64"})
	for _, tc := range []struct {
		o    CreateOptions
		want error
		text string
	}{
		{CreateOptions{Name: "taken"}, ErrExists, "network name taken already used: network already exists"},
		{CreateOptions{Name: "a/b"}, ErrInvalidArg, "network name a/b invalid"},
		{CreateOptions{Name: ".x"}, ErrInvalidArg, "invalid"},
		{CreateOptions{Name: "host"}, ErrReservedName, `cannot create network with name "host" because it conflicts with a valid network mode`},
		{CreateOptions{Name: "pasta"}, ErrReservedName, "conflicts"},
		{CreateOptions{Name: "podman"}, ErrReservedName, "default network"},
		{CreateOptions{Name: "n", Driver: "macvlan"}, ErrInvalidArg, "unsupported driver macvlan"},
		{CreateOptions{Name: "n", Driver: DriverHelper, Subnet: "10.1.2.0/24"}, ErrInvalidArg, "--subnet with --driver bridge-helper"},
		{CreateOptions{Name: "n", Driver: DriverHelper, IPv6: true}, ErrInvalidArg, "--ipv6 with"},
		{CreateOptions{Name: "n", Driver: DriverHelper, Internal: true}, ErrInvalidArg, "--internal with"},
		{CreateOptions{Name: "n", Driver: DriverHelper, Options: map[string]string{"mtu": "1400"}}, ErrInvalidArg, "--opt with"},
		{CreateOptions{Name: "taken", Driver: DriverHelper}, ErrExists, "already used"},
		{CreateOptions{Name: "n", Subnet: "fd00::/64"}, ErrInvalidArg, "not IPv4"},
		{CreateOptions{Name: "n", Subnet6: "10.1.2.0/24"}, ErrInvalidArg, "not IPv6"},
		{CreateOptions{Name: "n", Subnet6: "fe80::/64"}, ErrInvalidArg, "link-local"},
		{CreateOptions{Name: "n", Subnet6: "ff02::/64"}, ErrInvalidArg, "multicast"},
		{CreateOptions{Name: "n", Subnet6: "fd00::/124"}, ErrInvalidArg, "between /48 and /120"},
		{CreateOptions{Name: "n", Subnet6: "fd00::1/64"}, ErrInvalidArg, "not a network address"},
		{CreateOptions{Name: "n", Subnet6: "fd00:1::/64", Gateway6: "fd00:2::1"}, ErrInvalidArg, "not in subnet"},
		{CreateOptions{Name: "n", Subnet6: "fd00:1::/64", Gateway6: "10.1.2.1"}, ErrInvalidArg, "family"},
		{CreateOptions{Name: "n", Gateway6: "fd00:2::1"}, ErrInvalidArg, "without subnet"},
		{CreateOptions{Name: "n", Subnet6: "fd77::/48"}, ErrSubnetUsed, "overlaps subnet fd77:0:0:1::/64 of network taken"},
		{CreateOptions{Name: "n", Subnet: "172.20.5.0/24"}, ErrSubnetUsed, "overlaps subnet 172.20.0.0/16 of network taken"},
		{CreateOptions{Name: "n", Subnet: "172.0.0.0/8"}, ErrSubnetUsed, "taken"},
		{CreateOptions{Name: "n", Subnet: "10.0.2.0/24"}, ErrInvalidArg, "slirp4netns"},
		{CreateOptions{Name: "n", Subnet: "127.1.0.0/16"}, ErrInvalidArg, "loopback"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.3/24"}, ErrInvalidArg, "not a network address (that would be 10.1.2.0/24)"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.0/31"}, ErrInvalidArg, "between /8 and /30"},
		{CreateOptions{Name: "n", Subnet: "10.0.0.0/7"}, ErrInvalidArg, "between"},
		{CreateOptions{Name: "n", Subnet: "banana"}, ErrInvalidArg, "CIDR"},
		{CreateOptions{Name: "n", Gateway: "10.89.0.1"}, ErrInvalidArg, "cannot set gateway or range without subnet"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.0/24", Gateway: "10.1.3.1"}, ErrInvalidArg, "gateway 10.1.3.1 not in subnet 10.1.2.0/24"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.0/24", Gateway: "10.1.2.255"}, ErrInvalidArg, "broadcast"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.0/24", Gateway: "10.1.2.0"}, ErrInvalidArg, "network or broadcast"},
		{CreateOptions{Name: "n", Subnet: "10.1.2.0/24", Gateway: "nope"}, ErrInvalidArg, "not an IP address"},
		{CreateOptions{Name: "n", Options: map[string]string{"mtu": "67"}}, ErrInvalidArg, "invalid mtu"},
		{CreateOptions{Name: "n", Options: map[string]string{"vlan": "3"}}, ErrInvalidArg, "option vlan"},
	} {
		_, err := s.Create(tc.o)
		if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.text) {
			t.Errorf("Create(%+v) = %v, want %v containing %q", tc.o, err, tc.want, tc.text)
		}
	}
	// Nothing half-made: only the first network is there.
	if all, err := s.List(); err != nil || len(all) != 1 {
		t.Errorf("List = %v, %v", all, err)
	}
	// --ignore: the existing network, as it is.
	n, err := s.Create(CreateOptions{Name: "taken", Subnet: "10.9.9.0/24", IgnoreExisting: true})
	if err != nil || n.Subnets[0].Subnet != "172.20.0.0/16" {
		t.Errorf("--ignore: %+v, %v", n, err)
	}
}

func TestAutoSubnetSkipsUsed(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "a", Subnet: "10.89.0.0/23"})
	mustCreate(t, s, CreateOptions{Name: "b", Subnet: "10.89.3.0/24"})
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, mustCreate(t, s, CreateOptions{}).Subnets[0].Subnet)
	}
	if want := []string{"10.89.2.0/24", "10.89.4.0/24", "10.89.5.0/24"}; !slices.Equal(got, want) {
		t.Errorf("auto subnets %v, want %v", got, want)
	}
}

func TestAutoSubnetPoolFull(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "all", Subnet: "10.88.0.0/15"})
	if _, err := s.Create(CreateOptions{}); !errors.Is(err, ErrNoFreeSubnet) {
		t.Errorf("Create in a full pool: %v", err)
	}
}

func TestGet(t *testing.T) {
	s := open(t)
	a := mustCreate(t, s, CreateOptions{Name: "a"})
	b := mustCreate(t, s, CreateOptions{Name: "b"})
	a.ID, b.ID = "abc1"+strings.Repeat("0", 60), "abc2"+strings.Repeat("0", 60)
	for _, n := range []*Network{a, b} {
		data, _ := json.Marshal(n)
		if err := os.WriteFile(filepath.Join(s.Dir(), n.Name+".json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for ref, want := range map[string]string{"a": "a", a.ID: "a", "abc2": "b", "abc1000": "a"} {
		n, err := s.Get(ref)
		if err != nil || n.Name != want {
			t.Errorf("Get(%q) = %v, %v; want %s", ref, n, err, want)
		}
		if n, err := s.Lookup(ref); err != nil || n.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", ref, n, err, want)
		}
	}
	if _, err := s.Get("abc"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Get of an ambiguous prefix: %v", err)
	}
	_, err := s.Get("nope")
	if !errors.Is(err, ErrNoSuchNetwork) || err.Error() != "unable to find network with name or ID nope: network not found" {
		t.Errorf("Get(nope) = %v", err)
	}
	if _, err := s.Lookup(""); !errors.Is(err, ErrNoSuchNetwork) {
		t.Errorf("Lookup(\"\") = %v", err)
	}
}

func TestListSkipsLeftovers(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "zeta"})
	mustCreate(t, s, CreateOptions{Name: "alpha"})
	// What a crash in atomicfile leaves, and files that are no records.
	tmp := filepath.Join(s.Dir(), ".tmp-x.json-123")
	for _, f := range []string{tmp, filepath.Join(s.Dir(), "notes.txt")} {
		if err := os.WriteFile(f, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List()
	if err != nil || len(all) != 2 || all[0].Name != "alpha" || all[1].Name != "zeta" {
		t.Fatalf("List = %v, %v", all, err)
	}
	// The next create sweeps the temporary.
	mustCreate(t, s, CreateOptions{})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover %s not swept: %v", tmp, err)
	}
	// A record that does not parse is an error, never skipped silently.
	if err := os.WriteFile(filepath.Join(s.Dir(), "bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("List with a broken record: %v", err)
	}
}

// fakeUsers is the container store, as Remove and Prune see it.
type fakeUsers map[string][]string

func (f fakeUsers) NetworkUsers(n string) ([]string, error) { return f[n], nil }

func TestRemove(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "busy"})
	free := mustCreate(t, s, CreateOptions{Name: "free"})
	users := fakeUsers{"busy": {"web"}}
	_, err := s.Remove("busy", users)
	if !errors.Is(err, ErrInUse) || err.Error() != `"busy" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used` {
		t.Errorf("Remove of a network in use: %v", err)
	}
	if _, err := s.Get("busy"); err != nil {
		t.Errorf("refused network gone: %v", err)
	}
	if n, err := s.Remove(free.ID[:12], users); err != nil || n.Name != "free" {
		t.Errorf("Remove by id prefix: %v, %v", n, err)
	}
	if _, err := s.Remove("free", users); !errors.Is(err, ErrNoSuchNetwork) {
		t.Errorf("Remove twice: %v", err)
	}
	if _, err := s.Remove("busy", nil); err != nil {
		t.Errorf("Remove without the check: %v", err)
	}
}

func TestPrune(t *testing.T) {
	s := open(t)
	mustCreate(t, s, CreateOptions{Name: "used", Labels: map[string]string{"t": "1"}})
	mustCreate(t, s, CreateOptions{Name: "mine", Labels: map[string]string{"t": "1"}})
	mustCreate(t, s, CreateOptions{Name: "other"})
	f, err := ParseFilter([]string{"label=t=1"}, PruneFilterKeys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.Prune(fakeUsers{"used": {"c1"}}, func(n *Network) bool { return f.Match(n, false) })
	if err != nil || !slices.Equal(gone, []string{"mine"}) {
		t.Errorf("Prune = %v, %v", gone, err)
	}
	all, _ := s.List()
	if len(all) != 2 || all[0].Name != "other" || all[1].Name != "used" {
		t.Errorf("left %v", all)
	}
}

// Concurrent creates, in goroutines and in processes, never share a name,
// a subnet or a bridge.
func TestConcurrentCreate(t *testing.T) {
	s := open(t)
	const n = 16
	var wg sync.WaitGroup
	nets := make([]*Network, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			nets[i], errs[i] = s.Create(CreateOptions{})
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkDistinct(t, nets)
}

// TestMain is also the other process of TestConcurrentCreateProcesses:
// with NETSTORE_TEST_ROOT set it creates networks there and exits.
func TestMain(m *testing.M) {
	if dir := os.Getenv("NETSTORE_TEST_ROOT"); dir != "" {
		os.Exit(createMany(dir))
	}
	os.Exit(m.Run())
}

// createMany creates 8 networks with chosen names and subnets in the
// store under dir, and returns the exit code.
func createMany(dir string) int {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < 8; i++ {
		if _, err := s.Create(CreateOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestConcurrentCreateProcesses(t *testing.T) {
	root := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "NETSTORE_TEST_ROOT="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	s, _ := Open(root)
	all, err := s.List()
	if err != nil || len(all) != 24 {
		t.Fatalf("List = %d networks, %v; want 24", len(all), err)
	}
	checkDistinct(t, all)
}

func checkDistinct(t *testing.T, nets []*Network) {
	t.Helper()
	names, ifs, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var subnets []netip.Prefix
	for _, n := range nets {
		if names[n.Name] || ifs[n.NetworkInterface] || ids[n.ID] {
			t.Errorf("shared name, bridge or id: %+v", n)
		}
		names[n.Name], ifs[n.NetworkInterface], ids[n.ID] = true, true, true
		p := netip.MustParsePrefix(n.Subnets[0].Subnet)
		for _, q := range subnets {
			if p.Overlaps(q) {
				t.Errorf("subnets %s and %s overlap", p, q)
			}
		}
		subnets = append(subnets, p)
		if len(n.NetworkInterface) > 15 {
			t.Errorf("interface name %q longer than IFNAMSIZ-1", n.NetworkInterface)
		}
	}
}

func TestFilter(t *testing.T) {
	now := time.Now()
	n := &Network{Name: "web-net", ID: "abcdef" + strings.Repeat("0", 58), Driver: "bridge", Created: now.Add(-time.Hour),
		Labels: map[string]string{"app": "shop", "tier": "front"}}
	for _, tc := range []struct {
		filters []string
		inUse   bool
		want    bool
	}{
		{nil, false, true},
		{[]string{"name=^web"}, false, true},
		{[]string{"name=^db", "name=net$"}, false, true}, // one key: any
		{[]string{"name=^db"}, false, false},
		{[]string{"id=abcd"}, false, true},
		{[]string{"id=bcd"}, false, false},
		{[]string{"driver=bridge"}, false, true},
		{[]string{"label=app"}, false, true},
		{[]string{"label=app=shop", "label=tier=front"}, false, true},
		{[]string{"label=app=shop", "label=tier=back"}, false, false}, // labels: all
		{[]string{"label!=app=other"}, false, true},
		{[]string{"label!=app"}, false, false},
		{[]string{"until=30m"}, false, true},
		{[]string{"until=2h"}, false, false},
		{[]string{"dangling=true"}, false, true},
		{[]string{"dangling=true"}, true, false},
		{[]string{"dangling=false"}, true, true},
		{[]string{"name=web", "label=app=other"}, false, false}, // keys: all
	} {
		f, err := ParseFilter(tc.filters, ListFilterKeys, now)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.filters, err)
		}
		if got := f.Match(n, tc.inUse); got != tc.want {
			t.Errorf("filter %q (in use %v) = %v, want %v", tc.filters, tc.inUse, got, tc.want)
		}
	}
	for _, bad := range []string{"name", "name=(", "color=red", "dangling=maybe", "until=soon", "driver=macvlan"} {
		if _, err := ParseFilter([]string{bad}, ListFilterKeys, now); !errors.Is(err, ErrInvalidArg) {
			t.Errorf("filter %q: %v", bad, err)
		}
	}
	if _, err := ParseFilter([]string{"name=x"}, PruneFilterKeys, now); err == nil {
		t.Error("prune took a name filter")
	}
}

// TestCreateHelper: a bridge-helper network is a record with the helper's
// bridge and no subnet of its own; it takes no subnet from the pool, and
// the driver filter finds it.
func TestCreateHelper(t *testing.T) {
	s := open(t)
	n, err := s.Create(CreateOptions{Name: "hnet", Driver: DriverHelper, Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if n.Driver != DriverHelper || n.NetworkInterface != "myctr0" || len(n.Subnets) != 0 || !n.DNSEnabled || n.Labels["a"] != "b" {
		t.Errorf("record %+v", n)
	}
	b, err := s.Create(CreateOptions{Name: "plain"})
	if err != nil || b.Subnets[0].Subnet != "10.89.0.0/24" || b.NetworkInterface != "myctr1" {
		t.Errorf("the next bridge network: %+v, %v; want the first subnet and bridge", b, err)
	}
	f, err := ParseFilter([]string{"driver=bridge-helper"}, ListFilterKeys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(n, false) || f.Match(b, false) {
		t.Errorf("driver=bridge-helper matches hnet %v, plain %v", f.Match(n, false), f.Match(b, false))
	}
}
