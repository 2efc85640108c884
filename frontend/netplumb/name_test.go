package netplumb

import (
	"errors"
	"net/netip"
	"regexp"
	"testing"
)

func TestVethName(t *testing.T) {
	form := regexp.MustCompile(`^vm[0-9a-f]{10}$`)
	seen := map[string][2]string{}
	for _, in := range [][2]string{
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "podman"},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "other"},
		{"ab", "c"},
		{"a", "bc"}, // the separator keeps these apart
		{"", ""},
		{"x", "a network name far longer than any interface name could hold"},
		{"x", "eth0; rm -rf /"},
	} {
		name := VethName(in[0], in[1])
		if !form.MatchString(name) || checkName("veth", name) != nil {
			t.Errorf("VethName%q = %q: not of the form vm + 10 hex", in, name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("VethName%q = VethName%q = %q", in, prev, name)
		}
		seen[name] = in
		if again := VethName(in[0], in[1]); again != name {
			t.Errorf("VethName%q: %q, then %q", in, name, again)
		}
	}
	// A fixed value: the holder finds its leftovers by these names, so
	// they must not change between versions.
	if got := VethName("c1", "a"); got != "vm74ad8ee21d" {
		t.Errorf("VethName(c1, a) = %s, want vm74ad8ee21d (printf 'c1\\0a' | sha256sum)", got)
	}
}

func TestChecks(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"gateway ok", checkGateway(p("10.89.0.1/24"))},
		{"gateway /30", checkGateway(p("10.89.0.2/30"))},
		{"bridge name ok", checkName("bridge", "myctr-br.0_a")},
		{"MTU 0", checkMTU(0)},
		{"MTU 9000", checkMTU(9000)},
	} {
		if tc.err != nil {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"network address", checkGateway(p("10.89.0.0/24"))},
		{"broadcast", checkGateway(p("10.89.0.255/24"))},
		{"/31", checkGateway(p("10.89.0.1/31"))},
		{"/7", checkGateway(p("10.0.0.1/7"))},
		{"IPv6", checkGateway(p("fd00::1/64"))},
		{"loopback", checkGateway(p("127.0.0.1/8"))},
		{"link-local", checkGateway(p("169.254.0.1/16"))},
		{"zero prefix", checkGateway(netip.Prefix{})},
		{"empty name", checkName("bridge", "")},
		{"16 bytes", checkName("bridge", "abcdefghijklmnop")},
		{"slash", checkName("bridge", "a/b")},
		{"dot dot", checkName("bridge", "..")},
		{"leading dash", checkName("bridge", "-a")},
		{"space", checkName("bridge", "a b")},
		{"MTU 100", checkMTU(100)},
		{"MTU 65536", checkMTU(65536)},
		{"MTU negative", checkMTU(-1)},
	} {
		if !errors.Is(tc.err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, tc.err)
		}
	}
}

func TestCheckFirewall(t *testing.T) {
	p := netip.MustParsePrefix
	a := FirewallNet{Bridge: "mybr-a", Subnet: p("10.89.0.0/24")}
	b := FirewallNet{Bridge: "mybr-b", Subnet: p("10.89.1.0/24"), Internal: true}
	for _, tc := range []struct {
		name   string
		uplink string
		nets   []FirewallNet
		ok     bool
	}{
		{"two networks", "tap0", []FirewallNet{a, b}, true},
		{"none", "tap0", nil, true},
		{"host bits", "tap0", []FirewallNet{{Bridge: "x", Subnet: p("10.89.0.1/24")}}, true},
		{"bad uplink", "tap0 ", []FirewallNet{a}, false},
		{"bridge twice", "tap0", []FirewallNet{a, {Bridge: "mybr-a", Subnet: p("10.89.2.0/24")}}, false},
		{"bridge named like the uplink", "mybr-a", []FirewallNet{a}, false},
		{"overlap", "tap0", []FirewallNet{a, {Bridge: "x", Subnet: p("10.89.0.0/16")}}, false},
		{"IPv6", "tap0", []FirewallNet{{Bridge: "x", Subnet: p("fd00::/64")}}, false},
		{"no subnet", "tap0", []FirewallNet{{Bridge: "x"}}, false},
		{"/0", "tap0", []FirewallNet{{Bridge: "x", Subnet: p("0.0.0.0/0")}}, false},
		{"bad bridge", "tap0", []FirewallNet{{Bridge: "x;y", Subnet: p("10.89.0.0/24")}}, false},
	} {
		err := checkFirewall(tc.uplink, tc.nets)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
