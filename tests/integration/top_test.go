//go:build integration

package integration

import (
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTopDefault lists a container's processes with Podman's default
// columns, with pids as the container sees them.
func TestTopDefault(t *testing.T) {
	name := ctrName(t, "c")
	runDetached(t, name, nil, "sh", "-c", "sleep 1000 & exec sleep 1001")
	// run -d returns once the shell runs: wait until it has started its
	// child and executed the second sleep.
	var out string
	waitFor(t, 10*time.Second, "the shell to become sleep 1001 beside its child", func() bool {
		out = mustMyctr(t, "top", name, "args")
		return strings.Contains(out, "sleep 1000") && strings.Contains(out, "sleep 1001") && !strings.Contains(out, "sh -c")
	})
	out = mustMyctr(t, "top", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("top printed %d lines, want a header and 2 processes:\n%s", len(lines), out)
	}
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "USER PID PPID %CPU ELAPSED TTY TIME COMMAND" {
		t.Errorf("header %q", lines[0])
	}
	first := strings.Fields(lines[1])
	if first[0] != "root" || first[1] != "1" || first[2] != "0" || strings.Join(first[7:], " ") != "sleep 1001" {
		t.Errorf("PID 1 row %q", lines[1])
	}
	second := strings.Fields(lines[2])
	if second[2] != "1" || strings.Join(second[7:], " ") != "sleep 1000" {
		t.Errorf("child row %q", lines[2])
	}
	// `container top` is the same verb.
	if out2 := mustMyctr(t, "container", "top", name, "pid"); strings.Fields(out2)[0] != "PID" {
		t.Errorf("container top: %q", out2)
	}
}

// TestTopDescriptors checks host and container users, comma- and
// space-separated descriptors, and that nothing of the image runs.
func TestTopDescriptors(t *testing.T) {
	name := ctrName(t, "c")
	runDetached(t, name, nil, "sleep", "1000")
	// An image's ps or nsenter must never be used (CVE-2022-1227).
	mustMyctr(t, "exec", name, "rm", "-f", "/bin/ps", "/usr/bin/nsenter")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	out := mustMyctr(t, "top", name, "huser,user", "hpid", "capeff")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("top printed:\n%s", out)
	}
	if h := strings.Join(strings.Fields(lines[0]), " "); h != "HUSER USER HPID EFFECTIVE CAPS" {
		t.Errorf("header %q", h)
	}
	f := strings.Fields(lines[1])
	if f[0] != u.Username && f[0] != u.Uid {
		t.Errorf("HUSER %q, want %s", f[0], u.Username)
	}
	if f[1] != "root" {
		t.Errorf("USER %q, want root", f[1])
	}
	if in := inspect(t, name); strconv.Itoa(in.State.Pid) != f[2] {
		t.Errorf("HPID %s, want %d", f[2], in.State.Pid)
	}
	if !strings.Contains(f[3], "CHOWN") {
		t.Errorf("capeff %q", f[3])
	}
}

// TestTopErrors: an unknown descriptor and a stopped container are
// errors (exit 125) that say what is wrong.
func TestTopErrors(t *testing.T) {
	name := ctrName(t, "c")
	runDetached(t, name, nil, "sleep", "1000")
	_, errOut, code := myctr(t, "top", name, "pid,nosuch")
	if code != 125 || !strings.Contains(errOut, "unknown descriptor: nosuch") {
		t.Errorf("unknown descriptor: exit %d, %q", code, errOut)
	}
	mustMyctr(t, "rm", "-f", "-t", "0", name)
	if _, _, code := myctr(t, "top", "it-no-such-container"); code != 125 {
		t.Errorf("missing container: exit %d, want 125", code)
	}
}

// TestKillInvalidSignal matches Podman's messages for bad signals.
func TestKillInvalidSignal(t *testing.T) {
	for _, c := range []struct{ sig, msg string }{
		{"0", "Error: invalid signal: 0"},
		{"SIGBADSIG", "Error: invalid signal: SIGBADSIG"},
		{"-BADSIG", "Error: invalid signal: BADSIG"},
		{"65", "Error: valid signals are 1 through 64"},
		{"-65", "Error: valid signals are 1 through 64"},
	} {
		_, errOut, code := myctr(t, "kill", "-s", c.sig, "nosuchcontainer")
		if code != 125 || strings.TrimSpace(errOut) != c.msg {
			t.Errorf("kill -s %s: exit %d, %q, want 125 %q", c.sig, code, errOut, c.msg)
		}
	}
}
