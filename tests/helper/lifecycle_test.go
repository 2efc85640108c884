//go:build helper

package helpertest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/tests/helperprobe"
)

// The helper's own life: its reaper, its idle exit, its ledger across
// activations.

// TestReaperAfterKill: a bridged container whose monitor and processes die
// by SIGKILL (so that nobody calls ReleaseNetwork) is cleaned up by the
// helper's reaper within a few reap intervals: veth, rules, ledger record.
func TestReaperAfterKill(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	before := veths(t)
	name := ctrName(t, u, "")
	in := runBridged(t, u, name, append([]string{"-p", "8084:80"}, httpdFlags()...), "/ht")
	ip := in.ip(t)
	fetchFrom(t, clientNetns, "http://"+testAddr+":8084/", 20*time.Second)
	if f := ledgerFiles(t, name, in.Id); len(f) == 0 {
		t.Fatalf("no ledger record names %s before the kill", name)
	}
	if in.State.ConmonPid <= 0 || in.State.Pid <= 0 {
		t.Fatalf("inspect gives monitor pid %d, container pid %d", in.State.ConmonPid, in.State.Pid)
	}
	// A call just before the kill: the helper is running (not idle-exited
	// since the run), so its reaper, not its next activation, must clean up.
	if r := callAs(t, u, clientCall{Method: "GetVersion"}); r.ErrorName != "" {
		t.Fatalf("GetVersion: %s %v", r.ErrorName, r.ErrorBody)
	}
	pid := helperprobe.HelperPid(t)
	// The monitor first (it would release the network when the container
	// ends), then the container's init: its PID namespace dies with it.
	for _, pid := range []int{in.State.ConmonPid, in.State.Pid} {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", pid, err)
		}
	}
	killed := time.Now()
	limit := 4*conf.reapInterval + 5*time.Second
	waitFor(t, limit, "the reaper left things behind", func() string {
		return leftovers(t, before, []string{name, in.Id}, ip, "8084")
	})
	t.Logf("cleaned up %s after the kill (reap_interval %s)", time.Since(killed).Round(100*time.Millisecond), conf.reapInterval)
	if p := helperprobe.HelperPid(t); p != 0 && p != pid {
		t.Logf("note: the helper was re-activated meanwhile (pid %d, was %d)", p, pid)
	}
}

// TestIdleExitAndReactivation: idle for idle_timeout (with no published
// port, which it would hold: TestPublishedPortsHeld), the helper leaves the
// bus; the next call activates a new one, which knows the containers of
// the last one from its ledger: it keeps them and releases them on rm.
func TestIdleExitAndReactivation(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	before := veths(t)
	name := ctrName(t, u, "")
	in := runBridged(t, u, name, httpdFlags(), "/ht")
	ip := in.ip(t)
	pid1 := helperprobe.HelperPid(t)
	if pid1 == 0 {
		t.Fatal("no helper on the bus right after a bridged run")
	}

	// Only the bus driver is asked meanwhile: nothing calls the helper.
	limit := conf.idleTimeout + 2*conf.reapInterval + 10*time.Second
	start := time.Now()
	waitFor(t, limit, "the helper is still on the bus", func() string {
		if p := helperprobe.HelperPid(t); p != 0 {
			return "org.myctr.Helper1 owned by pid " + strconv.Itoa(p)
		}
		return ""
	})
	t.Logf("the helper (pid %d) left the bus after %s idle (idle_timeout %s)", pid1, time.Since(start).Round(100*time.Millisecond), conf.idleTimeout)

	r := callAs(t, u, clientCall{Method: "GetVersion"})
	if r.ErrorName != "" {
		t.Fatalf("GetVersion after the idle exit: %s %v", r.ErrorName, r.ErrorBody)
	}
	pid2 := helperprobe.HelperPid(t)
	if pid2 == 0 || pid2 == pid1 {
		t.Fatalf("after the call: helper pid %d, want a new one (was %d)", pid2, pid1)
	}

	// The new helper keeps the container it found in the ledger through
	// its reaper's passes: the one at start, before it answered, and a
	// periodic one (reap_interval is shorter than idle_timeout, so one
	// comes before the helper leaves again).
	waitReapPasses(t, 1)
	if body := fetchFrom(t, conf.netns, "http://"+ip+"/", 10*time.Second); !strings.Contains(body, "hello from") {
		t.Errorf("after re-activation, from the host: %q", body)
	}
	if f := ledgerFiles(t, name, in.Id); len(f) == 0 {
		t.Errorf("after re-activation: the ledger record of %s is gone", name)
	}
	if nv := newVeths(before, veths(t)); len(nv) != 1 {
		t.Errorf("after re-activation: new veths %v, want one", nv)
	}

	u.Must(t, "rm", "-f", name)
	waitFor(t, 10*time.Second, "rm -f through the re-activated helper left things behind", func() string {
		return leftovers(t, before, []string{name, in.Id}, ip)
	})
}

// waitReapPasses returns once the running helper's reaper has run n times
// from now. The reaper logs nothing when it finds nothing, so each pass is
// made visible by a decoy: a link (a bridge, which the helper's own
// bridges show this kernel has) with a helper-made name ("mp" and 12 hex
// digits, which no veth check counts) and no record, which every pass
// removes.
func waitReapPasses(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		decoy := fmt.Sprintf("mp%06x%06x", os.Getpid()&0xffffff, time.Now().UnixNano()&0xffffff)
		if _, err := inNetns(t, conf.netns, "ip", "link", "add", decoy, "type", "bridge"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*conf.reapInterval+10*time.Second, fmt.Sprintf("reaper pass %d of %d has not run", i+1, n), func() string {
			for _, l := range links(t, conf.netns) {
				if l.Name == decoy {
					return "the decoy link " + decoy + " is still there"
				}
			}
			return ""
		})
	}
}
