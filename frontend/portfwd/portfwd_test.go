package portfwd

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestRateLog: within one period only the first line is written; the next
// one after the period says how many were left out.
func TestRateLog(t *testing.T) {
	var lines []string
	r := &rateLog{every: 50 * time.Millisecond, printf: func(format string, args ...any) {
		lines = append(lines, fmt.Sprintf(format, args...))
	}}
	for i := 0; i < 5; i++ {
		r.logf("refused %d", i)
	}
	if len(lines) != 1 || lines[0] != "refused 0" {
		t.Fatalf("within the period: %q", lines)
	}
	time.Sleep(60 * time.Millisecond)
	r.logf("refused %d", 5)
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "refused 5 ") || !strings.Contains(lines[1], "and 4 more") {
		t.Fatalf("after the period: %q", lines)
	}
	time.Sleep(60 * time.Millisecond)
	r.logf("refused %d", 6)
	if len(lines) != 3 || lines[2] != "refused 6" {
		t.Fatalf("the count restarts: %q", lines)
	}
}

// TestSourceFor: IPv4 clients (also as IPv4-mapped IPv6 addresses, as a
// dual-stack socket reports them) keep their address and port; IPv6
// clients take the gateway's address and any port.
func TestSourceFor(t *testing.T) {
	gw := netip.MustParseAddr("10.0.2.2")
	for client, want := range map[string]string{
		"127.0.0.2:4000":          "127.0.0.2:4000",
		"[::ffff:192.0.2.9]:5000": "192.0.2.9:5000",
		"[::1]:6000":              "10.0.2.2:0",
		"[2001:db8::1]:7000":      "10.0.2.2:0",
	} {
		if got := sourceFor(netip.MustParseAddrPort(client), gw).String(); got != want {
			t.Errorf("sourceFor(%s) = %s, want %s", client, got, want)
		}
	}
}
