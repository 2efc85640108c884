package network

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzParsePublish parses a -p value. Refusals are ErrInvalidPublish;
// what is accepted is tcp or udp, non-zero container ports in one run,
// a host address in canonical form, and written back as a -p value of
// its own ([ip]:hostPort:containerPort/proto) it parses to the same
// mapping.
func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{
		"80", "8080:80", "127.0.0.1:8080:80/udp", "8000-8001:80-81", "127.0.0.1::80", "[::1]:8080:80",
		"[::ffff:127.0.0.1]:1:1", "[fe80::1%eth0]:1:1", "0:80", "65536:1", "1-0:1", "a:b:c:d", "::80",
		"1.2.3.4:5", "80/sctp", "80/", "/tcp", "[::1]::80", "01:080", "1-65535:1-65535", "[", "]:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParsePublish(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPublish) {
				t.Fatalf("ParsePublish(%q): %v is not ErrInvalidPublish", s, err)
			}
			return
		}
		if len(ms) == 0 {
			t.Fatalf("ParsePublish(%q): no mapping", s)
		}
		for i, m := range ms {
			if m.Protocol != "tcp" && m.Protocol != "udp" || m.ContainerPort == 0 || m.ContainerPort != ms[0].ContainerPort+uint16(i) {
				t.Fatalf("ParsePublish(%q)[%d] = %+v", s, i, m)
			}
			if m.HostIP != "" {
				a, err := netip.ParseAddr(m.HostIP)
				if err != nil || a.String() != m.HostIP || a.Zone() != "" {
					t.Fatalf("ParsePublish(%q): host address %q", s, m.HostIP)
				}
			}
			again, err := ParsePublish(render(m))
			if err != nil || len(again) != 1 || again[0] != m {
				t.Fatalf("ParsePublish(%q)[%d] = %+v, written %q, parses to %+v, %v", s, i, m, render(m), again, err)
			}
		}
	})
}

// render writes m as a -p value.
func render(m PortMapping) string {
	var b strings.Builder
	switch {
	case strings.Contains(m.HostIP, ":"):
		b.WriteString("[" + m.HostIP + "]:")
	case m.HostIP != "":
		b.WriteString(m.HostIP + ":")
	}
	if m.HostPort != 0 {
		b.WriteString(strconv.Itoa(int(m.HostPort)))
	}
	if m.HostIP != "" || m.HostPort != 0 {
		b.WriteString(":")
	}
	b.WriteString(strconv.Itoa(int(m.ContainerPort)) + "/" + m.Protocol)
	return b.String()
}
