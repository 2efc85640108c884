package netholder

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func testNet(subnet, gw string) Network {
	return Network{Name: "web", Bridge: "myctr1", Subnet: netip.MustParsePrefix(subnet), Gateway: netip.MustParseAddr(gw)}
}

func TestBroadcast(t *testing.T) {
	for p, want := range map[string]string{"10.89.0.0/24": "10.89.0.255", "10.0.0.0/8": "10.255.255.255", "192.168.1.0/30": "192.168.1.3", "172.16.4.0/22": "172.16.7.255"} {
		if got := broadcast(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("broadcast(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestAllocate(t *testing.T) {
	n := testNet("10.89.0.0/24", "10.89.0.1")
	taken := map[netip.Addr]bool{}
	used := func(a netip.Addr) bool { return taken[a] }
	a, err := allocate(n, "", used)
	if err != nil || a.String() != "10.89.0.2" {
		t.Fatalf("first address = %v, %v; want 10.89.0.2", a, err)
	}
	taken[a] = true
	if a, _ = allocate(n, "", used); a.String() != "10.89.0.3" {
		t.Errorf("second address = %v, want 10.89.0.3", a)
	}
	if _, err := allocate(n, "10.89.0.2", used); !errors.Is(err, ErrAddress) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a taken --ip: %v", err)
	}
	for _, bad := range []string{"10.89.0.1", "10.89.0.0", "10.89.0.255", "10.89.1.5", "fd00::1", "x"} {
		if _, err := allocate(n, bad, used); !errors.Is(err, ErrAddress) {
			t.Errorf("--ip %s: %v, want ErrAddress", bad, err)
		}
	}
	if a, err := allocate(n, "10.89.0.77", used); err != nil || a.String() != "10.89.0.77" {
		t.Errorf("--ip 10.89.0.77 = %v, %v", a, err)
	}
	// A gateway in the middle is skipped; a full /30 is exhausted.
	small := testNet("192.168.7.0/30", "192.168.7.2")
	if a, _ := allocate(small, "", used); a.String() != "192.168.7.1" {
		t.Errorf("/30 first = %v", a)
	}
	full := func(a netip.Addr) bool { return a.String() == "192.168.7.1" }
	if _, err := allocate(small, "", full); !errors.Is(err, ErrExhausted) {
		t.Errorf("full /30: %v, want ErrExhausted", err)
	}
}

func TestValidate(t *testing.T) {
	id := strings.Repeat("ab", 32)
	good := Request{Op: OpAttach, Network: testNet("10.89.0.0/24", "10.89.0.1"), ContainerID: id, Names: []string{"web", "www"}, Interface: "eth0"}
	if err := good.validate(); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	for name, mutate := range map[string]func(*Request){
		"op":         func(r *Request) { r.Op = "rm" },
		"net name":   func(r *Request) { r.Network.Name = "../x" },
		"bridge":     func(r *Request) { r.Network.Bridge = "a-very-long-bridge-name" },
		"subnet v6":  func(r *Request) { r.Network.Subnet = netip.MustParsePrefix("fd00::/64") },
		"unmasked":   func(r *Request) { r.Network.Subnet = netip.MustParsePrefix("10.89.0.5/24") },
		"gateway":    func(r *Request) { r.Network.Gateway = netip.MustParseAddr("10.89.0.255") },
		"mtu":        func(r *Request) { r.Network.MTU = 20 },
		"id":         func(r *Request) { r.ContainerID = "abc" },
		"no names":   func(r *Request) { r.Names = nil },
		"alias":      func(r *Request) { r.Names = []string{"web", "a b"} },
		"ip outside": func(r *Request) { r.IP = "10.90.0.2" },
		"no iface":   func(r *Request) { r.Interface = "" },
		"iface lo":   func(r *Request) { r.Interface = "lo" },
		"iface 100":  func(r *Request) { r.Interface = "eth100" },
		"iface 01":   func(r *Request) { r.Interface = "eth01" },
	} {
		r := good
		r.Network = good.Network
		r.Names = append([]string(nil), good.Names...)
		mutate(&r)
		if err := r.validate(); err == nil {
			t.Errorf("%s: a bad request passed", name)
		}
	}
	detach := Request{Op: OpDetach, Network: Network{Name: "web"}, ContainerID: id}
	if err := detach.validate(); err != nil {
		t.Errorf("a good detach: %v", err)
	}
	detach.Network.Name = "../x"
	if err := detach.validate(); err == nil {
		t.Error("a detach of network ../x passed")
	}
}

func TestInterfaceIndex(t *testing.T) {
	for name, want := range map[string]int{"eth0": 0, "eth1": 1, "eth99": 99, "eth100": -1, "eth01": -1, "eth": -1, "eth-1": -1, "wlan0": -1, "eth1a": -1} {
		if got := InterfaceIndex(name); got != want {
			t.Errorf("InterfaceIndex(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestAllocate6(t *testing.T) {
	n := testNet("10.89.0.0/24", "10.89.0.1")
	n.Subnet6, n.Gateway6 = netip.MustParsePrefix("fd10:2f::/64"), netip.MustParseAddr("fd10:2f::1")
	taken := map[netip.Addr]bool{}
	used := func(a netip.Addr) bool { return taken[a] }
	for _, want := range []string{"fd10:2f::2", "fd10:2f::3"} {
		a, err := allocate6(n, used)
		if err != nil || a.String() != want {
			t.Fatalf("allocate6 = %v, %v; want %s", a, err, want)
		}
		taken[a] = true
	}
	small := n
	small.Subnet6, small.Gateway6 = netip.MustParsePrefix("fd10:2f::/120"), netip.MustParseAddr("fd10:2f::ff")
	all := func(netip.Addr) bool { return true }
	if _, err := allocate6(small, all); !errors.Is(err, ErrExhausted) {
		t.Errorf("a full /120: %v, want ErrExhausted", err)
	}
	id := strings.Repeat("cd", 32)
	r := Request{Op: OpAttach, Network: n, ContainerID: id, Names: []string{"web"}, Interface: "eth0"}
	if err := r.validate(); err != nil {
		t.Errorf("a dual-stack attach: %v", err)
	}
	for name, mutate := range map[string]func(*Network){
		"v4 as v6":     func(n *Network) { n.Subnet6 = netip.MustParsePrefix("10.90.0.0/24") },
		"unmasked":     func(n *Network) { n.Subnet6 = netip.MustParsePrefix("fd10:2f::5/64") },
		"too small":    func(n *Network) { n.Subnet6 = netip.MustParsePrefix("fd10:2f::/126") },
		"gw outside":   func(n *Network) { n.Gateway6 = netip.MustParseAddr("fd10:30::1") },
		"gw is subnet": func(n *Network) { n.Gateway6 = netip.MustParseAddr("fd10:2f::") },
		"gw alone":     func(n *Network) { n.Subnet6 = netip.Prefix{} },
	} {
		bad := r
		mutate(&bad.Network)
		if err := bad.validate(); err == nil {
			t.Errorf("%s: a bad IPv6 network passed", name)
		}
	}
}
