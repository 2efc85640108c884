package network

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	pm := func(ip string, h, c uint16, p string) PortMapping {
		return PortMapping{HostIP: ip, HostPort: h, ContainerPort: c, Protocol: p}
	}
	tests := []struct {
		in   string
		want []PortMapping
	}{
		{"8080:80", []PortMapping{pm("", 8080, 80, "tcp")}},
		{"127.0.0.1:8080:80/udp", []PortMapping{pm("127.0.0.1", 8080, 80, "udp")}},
		{"8000-8001:80-81", []PortMapping{pm("", 8000, 80, "tcp"), pm("", 8001, 81, "tcp")}},
		{"80", []PortMapping{pm("", 0, 80, "tcp")}},
		{"80-81/udp", []PortMapping{pm("", 0, 80, "udp"), pm("", 0, 81, "udp")}},
		{"127.0.0.1::80", []PortMapping{pm("127.0.0.1", 0, 80, "tcp")}},
		{"[::1]:8080:80", []PortMapping{pm("::1", 8080, 80, "tcp")}},
		{"[::1]::80/udp", []PortMapping{pm("::1", 0, 80, "udp")}},
		{"65535:1", []PortMapping{pm("", 65535, 1, "tcp")}},
	}
	for _, tt := range tests {
		got, err := ParsePublish(tt.in)
		if err != nil {
			t.Errorf("ParsePublish(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePublish(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{
		"", "0", "8080:0", "65536:80", "80/sctp", "80/", "a:80", "8000-8002:80-81",
		"81-80", "::1:8080:80", "[::1]8080:80", "[127.0.0.1]:80:80", "1.2.3:80:80",
		"1.2.3.4:5:6:7", "[::1]:1:2:3", "-1", "+80", "8080:80/TCP", "[fe80::1%eth0]:80:80",
	} {
		_, err := ParsePublish(bad)
		if !errors.Is(err, ErrInvalidPublish) {
			t.Errorf("ParsePublish(%q) = %v, want ErrInvalidPublish", bad, err)
		} else if Hint(err) == "" {
			t.Errorf("ParsePublish(%q): no hint", bad)
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string // "" = valid; else a word the error must name
	}{
		{Config{Mode: "pasta"}, ""},
		{Config{Mode: "slirp4netns"}, ""},
		{Config{Mode: "bridge"}, "bridge"},
		{Config{Mode: "slirp4netns", Options: []string{"allow_host_loopback=true", "mtu=1500", "cidr=10.0.3.0/24", "enable_ipv6=false", "port_handler=slirp4netns", "outbound_addr=192.0.2.1"}}, ""},
		{Config{Mode: "slirp4netns", Options: []string{"bogus=1"}}, "bogus"},
		{Config{Mode: "slirp4netns", Options: []string{"allow_host_loopback=yes"}}, "allow_host_loopback"},
		{Config{Mode: "slirp4netns", Options: []string{"port_handler=rootlesskit"}}, "rootlesskit"},
		{Config{Mode: "slirp4netns", Options: []string{"cidr=10.0.3.0/16"}}, "cidr"},
		{Config{Mode: "slirp4netns", Options: []string{"mtu"}}, "mtu"},
		{Config{Mode: "pasta", Options: []string{"--map-gw", "-4", "--mtu=9000", "--outbound-if4", "eth0"}}, ""},
		{Config{Mode: "pasta", Options: []string{"--mtu", "1500"}}, ""},
		{Config{Mode: "pasta", Options: []string{"-t", "auto"}}, "-t"},
		{Config{Mode: "pasta", Options: []string{"--mtu"}}, "--mtu"},
		{Config{Mode: "pasta", Options: []string{"--map-gw=1"}}, "--map-gw"},
		{Config{Mode: "pasta", MTU: 70000}, "MTU"},
		// An IPv6 host address: myctr's forwarder listens there;
		// slirp4netns's add_hostfwd cannot.
		{Config{Mode: "slirp4netns", Ports: []PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80, Protocol: "tcp"}}}, ""},
		{Config{Mode: "slirp4netns", Ports: []PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80, Protocol: "udp"}}}, ""},
		{Config{Mode: "slirp4netns", Options: []string{"port_handler=slirp4netns"}, Ports: []PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80, Protocol: "udp"}}}, "IPv4"},
		{Config{Mode: "slirp4netns", Options: []string{"port_handler=slirp4netns"}, Ports: []PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80, Protocol: "tcp"}}}, "IPv4"},
		{Config{Mode: "slirp4netns", Options: []string{"port_handler=myctr"}}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tt.cfg, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("%+v: no error", tt.cfg)
		case tt.wantErr != "" && !strings.Contains(err.Error()+Hint(err), tt.wantErr):
			t.Errorf("%+v: error %q (hint %q) does not name %q", tt.cfg, err, Hint(err), tt.wantErr)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, c := range []Config{{Mode: "pasta"}, {Mode: "slirp4netns"}} {
		if c.ContainerIP() != "10.0.2.100" || c.Nameserver() != "10.0.2.3" || c.Gateway() != "10.0.2.2" {
			t.Errorf("%s: ip %s ns %s gw %s", c.Mode, c.ContainerIP(), c.Nameserver(), c.Gateway())
		}
	}
	c := Config{Mode: "slirp4netns", Options: []string{"cidr=10.9.8.0/24"}}
	if c.ContainerIP() != "10.9.8.100" || c.Nameserver() != "10.9.8.3" {
		t.Errorf("cidr: ip %s ns %s", c.ContainerIP(), c.Nameserver())
	}
}

func TestToolArgs(t *testing.T) {
	s, err := Config{Mode: "pasta", Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}.settings()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(s.pastaArgs(42, "/x/pid"), " ")
	for _, want := range []string{"--tcp-ports 127.0.0.1/8080:80", "--udp-ports none", "--tcp-ns none", "--udp-ns none", "--no-map-gw", "--mtu 65520", "--dns-forward 10.0.2.3"} {
		if !strings.Contains(args, want) {
			t.Errorf("pasta args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "auto") {
		t.Errorf("pasta args %q forward ports automatically", args)
	}
	s, _ = Config{Mode: "slirp4netns", AllowHostLoopback: true}.settings()
	args = strings.Join(s.slirpArgs(42, "/x/sock"), " ")
	if strings.Contains(args, "--disable-host-loopback") || !strings.Contains(args, "--mtu=65520") {
		t.Errorf("slirp4netns args %q", args)
	}
}

func TestParseExpose(t *testing.T) {
	for in, want := range map[string]string{"80": "80/tcp", "5353/udp": "5353/udp", "7000-7002": "7000/tcp 7001/tcp 7002/tcp", "9/tcp": "9/tcp"} {
		got, err := ParseExpose(in)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ParseExpose(%q) = %q, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "http", "80/sctp", "9-8", "65536", "", "1-"} {
		if _, err := ParseExpose(bad); !errors.Is(err, ErrInvalidPublish) {
			t.Errorf("ParseExpose(%q) = %v, want ErrInvalidPublish", bad, err)
		}
	}
}
