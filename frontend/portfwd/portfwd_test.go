package portfwd

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestRateLog: within one period only the first line is written; the next
// one after the period says how many were left out. The clock is the
// test's: it moves only when the test moves it.
func TestRateLog(t *testing.T) {
	var lines []string
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &rateLog{every: time.Second, now: func() time.Time { return now }, printf: func(format string, args ...any) {
		lines = append(lines, fmt.Sprintf(format, args...))
	}}
	for i := 0; i < 5; i++ {
		r.logf("refused %d", i)
		now = now.Add(100 * time.Millisecond)
	}
	if len(lines) != 1 || lines[0] != "refused 0" {
		t.Fatalf("within the period: %q", lines)
	}
	now = now.Add(499 * time.Millisecond) // 999ms after the first line
	r.logf("refused %d", 5)
	if len(lines) != 1 {
		t.Fatalf("just before the period ends: %q", lines)
	}
	now = now.Add(time.Millisecond) // one period after the first line
	r.logf("refused %d", 6)
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "refused 6 ") || !strings.Contains(lines[1], "and 5 more") {
		t.Fatalf("after the period: %q", lines)
	}
	now = now.Add(time.Second)
	r.logf("refused %d", 7)
	if len(lines) != 3 || lines[2] != "refused 7" {
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
