package container

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestCheckDNS(t *testing.T) {
	for _, ok := range [][3][]string{
		{{"192.0.2.1", "2001:db8::1"}, {"example.com", "a-b.example.", "x"}, {"ndots:2", "edns0", "timeout:1"}},
		{{"none"}, nil, nil},
		{nil, {"."}, nil},
		{nil, nil, nil},
	} {
		if err := CheckDNS(ok[0], ok[1], ok[2]); err != nil {
			t.Errorf("CheckDNS(%q) = %v", ok, err)
		}
	}
	for _, bad := range [][3][]string{
		{{"192.0.2"}, nil, nil},
		{{"fe80::1%eth0"}, nil, nil},
		{{"none", "192.0.2.1"}, nil, nil},
		{{"none"}, {"example.com"}, nil},
		{{"none"}, nil, {"ndots:1"}},
		{nil, {".", "example.com"}, nil},
		{nil, {"-bad.example"}, nil},
		{nil, {"bad domain"}, nil},
		{nil, {"a\nnameserver 6.6.6.6"}, nil},
		{nil, nil, {"ndots:1\nnameserver 6.6.6.6"}},
		{nil, nil, {"two words"}},
		{nil, nil, {""}},
		{nil, nil, {"x#y"}},
	} {
		if err := CheckDNS(bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidDNS) {
			t.Errorf("CheckDNS(%q) = %v, want ErrInvalidDNS", bad, err)
		}
	}
}

func TestCustomResolv(t *testing.T) {
	base := "nameserver 10.0.2.3\nsearch host.example\noptions rotate\n"
	for _, tc := range []struct {
		servers, search, options []string
		want                     string
	}{
		{nil, nil, nil, base}, // nothing of its own: the network's file as it is
		{[]string{"192.0.2.1", "192.0.2.2"}, nil, nil, "search host.example\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions rotate\n"},
		{nil, []string{"a.example", "b.example"}, nil, "search a.example b.example\nnameserver 10.0.2.3\noptions rotate\n"},
		{nil, []string{"."}, []string{"ndots:2"}, "nameserver 10.0.2.3\noptions ndots:2\n"},
	} {
		if got := customResolv(base, tc.servers, tc.search, tc.options); got != tc.want {
			t.Errorf("customResolv(%q, %q, %q) =\n%s\nwant:\n%s", tc.servers, tc.search, tc.options, got, tc.want)
		}
	}
}

func TestDNSConfigUnder(t *testing.T) {
	d := DNSConfig{Servers: []string{"192.0.2.1"}, Search: []string{"conf.example"}, Options: []string{"ndots:4"}}
	s, q, o := d.under([]string{"192.0.2.9"}, []string{"flag.example"}, []string{"edns0"})
	if !slices.Equal(s, []string{"192.0.2.1", "192.0.2.9"}) || !slices.Equal(q, []string{"conf.example", "flag.example"}) || !slices.Equal(o, []string{"ndots:4", "edns0"}) {
		t.Errorf("under: %q %q %q; want containers.conf's first", s, q, o)
	}
	// --dns none and --dns-search . stand alone.
	if s, q, o := d.under([]string{DNSNone}, nil, nil); !slices.Equal(s, []string{DNSNone}) || q != nil || o != nil {
		t.Errorf("under --dns none: %q %q %q", s, q, o)
	}
	if _, q, _ := d.under(nil, []string{"."}, nil); !slices.Equal(q, []string{"."}) {
		t.Errorf("under --dns-search .: %q", q)
	}
	// The file's own slices are never written through.
	d.under([]string{"192.0.2.9"}, nil, nil)
	if len(d.Servers) != 1 {
		t.Errorf("under changed the configuration: %q", d.Servers)
	}
}

func TestBaseHosts(t *testing.T) {
	dir := t.TempDir()
	f := dir + "/hosts"
	if err := os.WriteFile(f, []byte("192.0.2.10 base\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := (&HostConfig{BaseHostsFile: f}).baseHosts(); err != nil || got != "192.0.2.10 base\n" {
		t.Errorf("baseHosts of a file: %q, %v", got, err)
	}
	if got, err := (&HostConfig{BaseHostsFile: "none"}).baseHosts(); err != nil || got != "" {
		t.Errorf("baseHosts none: %q, %v", got, err)
	}
	if _, err := (&HostConfig{BaseHostsFile: dir + "/missing"}).baseHosts(); err == nil {
		t.Error("baseHosts of a missing file: no error")
	}
	if got := (&HostConfig{HostContainersInternalIP: "192.0.2.99"}).hostInternalIP(); got != "192.0.2.99" {
		t.Errorf("hostInternalIP = %q", got)
	}
}
