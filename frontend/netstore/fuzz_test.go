package netstore

import (
	"net/netip"
	"testing"
)

func TestParseSubnet(t *testing.T) {
	for s, ok := range map[string]bool{
		"10.89.0.0/24": true, "192.168.0.0/16": true, "11.0.0.0/8": true, "172.16.4.0/30": true,
		"10.0.0.0/16": false, // holds 10.0.2.0/24
		"10.0.2.0/23": false, "10.0.3.0/24": true, "127.0.0.0/8": false, "0.0.0.0/8": false,
		"169.254.1.0/24": false, "224.0.0.0/8": false, "240.0.0.0/8": false,
		"10.89.0.1/24": false, "10.89.0.0/31": false, "10.89.0.0": false, "": false,
		"::ffff:10.89.0.0/120": false, "fd00::/64": false,
	} {
		if _, err := ParseSubnet(s); (err == nil) != ok {
			t.Errorf("ParseSubnet(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestParseGateway(t *testing.T) {
	p := netip.MustParsePrefix("10.5.0.0/30")
	for s, want := range map[string]string{"": "10.5.0.1", "10.5.0.2": "10.5.0.2", "10.5.0.3": "", "10.5.0.0": "", "10.5.0.4": "", "::1": ""} {
		a, err := ParseGateway(s, p)
		if (want == "") != (err != nil) || (err == nil && a.String() != want) {
			t.Errorf("ParseGateway(%q) = %v, %v; want %q", s, a, err, want)
		}
	}
}

// FuzzSubnet checks, for any --subnet and --gateway, that what is accepted
// is a network address in the allowed range with a host address as its
// gateway, and that the subnet chosen beside it never overlaps it.
func FuzzSubnet(f *testing.F) {
	for _, seed := range [][2]string{
		{"10.89.0.0/24", ""}, {"10.89.0.0/16", "10.89.255.254"}, {"10.0.2.0/24", ""}, {"192.168.1.0/30", "192.168.1.2"},
		{"10.89.1.0/24", "10.89.1.255"}, {"fd00::/64", ""}, {"1.2.3.4/33", ""}, {"10.89.0.0/23", "10.89.1.1"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, subnet, gateway string) {
		p, err := ParseSubnet(subnet)
		if err != nil {
			return
		}
		if !p.Addr().Is4() || p.Masked() != p || p.Bits() < minPrefixLen || p.Bits() > maxPrefixLen {
			t.Fatalf("ParseSubnet(%q) accepted %s", subnet, p)
		}
		for _, r := range reserved {
			if r.prefix.Overlaps(p) {
				t.Fatalf("ParseSubnet(%q) accepted %s, which overlaps %s", subnet, p, r.prefix)
			}
		}
		gw, err := ParseGateway(gateway, p)
		if err == nil && (!p.Contains(gw) || gw == p.Addr() || gw == broadcast(p)) {
			t.Fatalf("gateway %s accepted for %s", gw, p)
		}
		used := []*Network{{Name: "x", Subnets: []Subnet{{Subnet: p.String()}}}}
		free, err := freeSubnet(used)
		if err != nil {
			if !p.Overlaps(DefaultPool) || p.Bits() > DefaultPool.Bits() {
				t.Fatalf("no free subnet beside %s: %v", p, err)
			}
			return
		}
		if free.Overlaps(p) || !DefaultPool.Contains(free.Addr()) || free.Bits() != 24 {
			t.Fatalf("free subnet %s beside %s", free, p)
		}
	})
}
