package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestBridgeResolvConf(t *testing.T) {
	v4 := netip.MustParsePrefix("10.88.0.2/16")
	v6 := netip.MustParsePrefix("fd00::2/64")
	for _, tc := range []struct {
		name, host string
		addr       netip.Prefix
		want       string
		ok         bool
	}{
		{"loopback resolvers go", "# by resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.com\n", v4,
			"# by resolved\noptions edns0 trust-ad\nsearch example.com\n", false},
		{"others stay", "nameserver 127.0.0.1\nnameserver 192.0.2.53\nnameserver ::1\nsearch a b\n", v4,
			"nameserver 192.0.2.53\nsearch a b\n", true},
		{"ipv6 only for ipv6 containers", "nameserver 2001:db8::53\nnameserver 192.0.2.53\n", v4, "nameserver 192.0.2.53\n", true},
		{"ipv6 kept for ipv6", "nameserver 2001:db8::53\n", v6, "nameserver 2001:db8::53\n", true},
		{"garbage dropped", "nameserver bogus\n", v4, "", false},
		{"empty", "", v4, "", false},
	} {
		got, ok := BridgeResolvConf(tc.host, tc.addr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidateBridge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []string
		ports []PortMapping
		is    error
	}{
		{"plain", nil, []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}, {HostIP: "127.0.0.1", ContainerPort: 53, Protocol: "udp"}}, nil},
		{"options", []string{"x=1"}, nil, ErrInvalidOption},
		{"ipv6 host address", nil, []PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80, Protocol: "tcp"}}, ErrUnsupported},
		{"no container port", nil, []PortMapping{{HostPort: 80, Protocol: "tcp"}}, ErrInvalidPublish},
	} {
		err := ValidateBridge(tc.opts, tc.ports)
		if (tc.is == nil) != (err == nil) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
		}
		if err != nil && tc.is == ErrUnsupported && !strings.Contains(Hint(err), "IPv4") {
			t.Errorf("%s: hint %q", tc.name, Hint(err))
		}
	}
}
