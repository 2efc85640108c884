package helperclient

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPty returns the two ends of a new pseudo-terminal.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// fakeAgent puts a pkttyagent in PATH that records its arguments, its pid
// and whether its stdin is a terminal, waits a little, closes the notify
// fd (as the real one does once registered) and then waits to be ended.
func fakeAgent(t *testing.T) (record string) {
	dir := t.TempDir()
	record = filepath.Join(dir, "record")
	script := `#!/bin/sh
tty=no; [ -t 0 ] && tty=yes
sleep 0.3
echo "$$ $tty $*" > ` + record + `
eval "exec $2>&-"
exec sleep 60
`
	if err := os.WriteFile(filepath.Join(dir, "pkttyagent"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return record
}

// TestAgentOnTerminal: on a terminal the agent is started as systemctl
// starts it, StartAgent returns only once it closed the notify fd, and
// Stop ends it.
func TestAgentOnTerminal(t *testing.T) {
	record := fakeAgent(t)
	_, slave := openPty(t)
	a, err := StartAgent(slave)
	if err != nil || a == nil {
		t.Fatalf("StartAgent = %v, %v; want an agent", a, err)
	}
	// The record is written before the fd is closed: it must exist now.
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("StartAgent returned before the agent closed its notify fd: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 5 || f[1] != "yes" || strings.Join(f[2:], " ") != "--notify-fd 3 --fallback" {
		t.Errorf("agent saw %q, want pid, a terminal on stdin, and --notify-fd 3 --fallback", b)
	}
	pid, _ := strconv.Atoi(f[0])
	a.Stop()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("agent %d still runs after Stop", pid)
	}
	a.Stop() // idempotent
}

// TestAgentNotOnTerminal: no terminal, no agent.
func TestAgentNotOnTerminal(t *testing.T) {
	record := fakeAgent(t)
	a, err := StartAgent(devNull(t))
	if a != nil || err != nil {
		t.Fatalf("StartAgent = %v, %v; want none", a, err)
	}
	// StartAgent starts an agent with exec.Cmd.Start, which returns once
	// the program runs: an agent started for this call would be our child
	// now, whether or not it has written its record yet (or exec'd sleep).
	if kids := childrenWithPath(t, filepath.Dir(record)); len(kids) != 0 || fileExists(record) {
		t.Errorf("an agent was started without a terminal: children %v", kids)
	}
}

// childrenWithPath returns the pids of this process's children whose
// environment has dir in PATH: what this test started, since fakeAgent put
// dir there.
func childrenWithPath(t *testing.T, dir string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// Field 4, after the command name in parentheses, is the parent.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		for _, v := range strings.Split(string(env), "\x00") {
			if p, ok := strings.CutPrefix(v, "PATH="); ok && strings.Contains(":"+p+":", ":"+dir+":") {
				out = append(out, pid)
			}
		}
	}
	return out
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestAgentNotInstalled: a terminal but no pkttyagent: no agent, no error.
func TestAgentNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, slave := openPty(t)
	if a, err := StartAgent(slave); a != nil || err != nil {
		t.Fatalf("StartAgent = %v, %v; want none", a, err)
	}
}

// TestClientStartsAgent: an Interactive client on a terminal starts the
// agent before its first authorizing call (not for GetVersion), once, and
// Close ends it; a client that is not Interactive never starts one.
func TestClientStartsAgent(t *testing.T) {
	for _, interactive := range []bool{true, false} {
		record := fakeAgent(t)
		addr := helpertestBus(t)
		_, slave := openPty(t)
		c, err := Connect(Options{Address: addr, Interactive: interactive, Stdin: slave})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if _, err := c.Version(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(record); err == nil {
			t.Fatal("agent started for GetVersion")
		}
		for range 2 {
			if err := c.ReleaseNetwork(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(record)
		if !interactive {
			if err == nil {
				t.Error("a client that is not Interactive started an agent")
			}
			c.Close()
			continue
		}
		if err != nil {
			t.Fatalf("no agent before the authorizing call: %v", err)
		}
		pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
		c.Close()
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("agent %d still runs after Close", pid)
		}
	}
}
