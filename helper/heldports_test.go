package helper

import (
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestNoIdleExitWhilePortsHeld: the Server holds published ports, so it
// stays past idle_timeout while any is published, and exits once none is.
func TestNoIdleExitWhilePortsHeld(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	h.start()
	if _, err := h.attach(newNS(t), "web", noOpts()); err != nil {
		t.Fatal(err)
	}
	hostIf, _ := ifNames(uid, "web")
	if g := h.net.guard(hostIf); g == "" {
		t.Errorf("AttachNetwork did not guard %s", hostIf)
	}
	if err := h.publish("web", "tcp", "", 8080, 80); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.errc:
		t.Fatalf("Serve returned (%v) while a port was published", err)
	case <-time.After(5 * h.cfg.IdleTimeout):
	}
	if err := h.call("UnpublishPort", "web", "tcp", "", uint16(8080), noOpts()).Err; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		h.srv.Close()
		h.srv = nil
	case <-time.After(10 * time.Second):
		t.Fatal("no idle exit 10 s after the last port was unpublished")
	}
}

// TestRestartDropsTakenPort: a restarted Server holds the recorded ports
// again; one that a host process bound meanwhile is unpublished (rule and
// record) and logged, and the others stay.
func TestRestartDropsTakenPort(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	if _, err := h.attach(newNS(t), "web", noOpts()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []uint16{8080, 8081} {
		if err := h.publish("web", "tcp", "", p, 80); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.net.setInUse("tcp/8081")
	h.start()
	hostIf, _ := ifNames(uid, "web")
	var ports []uint16
	h.srv.serial(func() error {
		for _, p := range h.srv.ledger.Get(uid, "web").Ports {
			ports = append(ports, p.HostPort)
		}
		return nil
	})
	rules := h.net.portsOf(hostIf)
	if len(ports) != 1 || ports[0] != 8080 || len(rules) != 1 || rules[0].HostPort != 8080 {
		t.Errorf("after the restart: recorded %v, rules %v; want 8080 alone", ports, rules)
	}
	if !strings.Contains(h.log.String(), "host port 8081/tcp is bound on the host now: unpublished") {
		t.Errorf("log:\n%s", h.log.String())
	}
	if err := h.call("ReleaseNetwork", "web", map[string]dbus.Variant{}).Err; err != nil {
		t.Fatal(err)
	}
	if g := h.net.guard(hostIf); g != "" {
		t.Errorf("after ReleaseNetwork, %s is still guarded (%s)", hostIf, g)
	}
}
