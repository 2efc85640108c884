//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillRunCLI kills `myctr run -d` with SIGKILL: a container whose id
// was printed keeps running; one caught half-way is either listed and
// removable or absent, and never breaks ps.
func TestKillRunCLI(t *testing.T) {
	t.Parallel()
	t.Run("after the id is printed", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := myctrCommand(ctx, "run", "-d", "--name", name, image, "sleep", "300")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		id, err := bufio.NewReader(stdout).ReadString('\n')
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		id = strings.TrimSpace(id)
		if err != nil || !isFullID(id) {
			t.Fatalf("run -d printed %q (%v); stderr: %s", id, err, stderr.String())
		}
		time.Sleep(500 * time.Millisecond)
		p, ok := psFind(psJSON(t, false), name)
		if !ok || p.Id != id || p.State != "running" {
			t.Errorf("after SIGKILL of the CLI: ps entry %+v (found %v), want %s running", p, ok, id)
		}
		if in := inspect(t, name); !in.State.Running {
			t.Errorf("inspect State %+v, want running", in.State)
		}
	})

	t.Run("at random points", func(t *testing.T) {
		t.Parallel()
		for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
			name := ctrName(t, fmt.Sprint(i))
			// A command line unique to this attempt, to find leaked processes.
			argv := []string{"sleep", fmt.Sprintf("%d%d", 3000+i, os.Getpid())}
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			cmd := myctrCommand(ctx, append([]string{"run", "-d", "--name", name, image}, argv...)...)
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			cancel()

			ps := psJSON(t, true) // must not fail whatever state was left
			if p, ok := psFind(ps, name); ok {
				t.Logf("killed after %s: left %s in state %s", delay, name, p.State)
				if _, errOut, code := myctr(t, "rm", "-f", name); code != 0 {
					t.Errorf("killed after %s: rm -f %s: exit %d: %s", delay, name, code, errOut)
				}
				if _, err := os.Stat(containerDir(p.Id)); !os.IsNotExist(err) {
					t.Errorf("killed after %s: container dir after rm -f: %v, want it gone", delay, err)
				}
			}
			waitFor(t, 5*time.Second, fmt.Sprintf("no process %q left after rm -f (killed after %s)", argv, delay), func() bool {
				return len(findProcs(argv)) == 0
			})
			// The name is free again.
			runDetached(t, name, nil, "true")
			mustMyctr(t, "rm", "-f", name)
		}
	})

	// With a published port, the network's watcher, slirp4netns and the
	// port forwarder come into play: after rm -f, whatever state the kill
	// left, the host port is free again (the forwarder that held it is
	// gone).
	t.Run("with a published port at random points", func(t *testing.T) {
		t.Parallel()
		for i, delay := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
			name := ctrName(t, fmt.Sprint(i))
			port := freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			cmd := myctrCommand(ctx, "run", "-d", "--name", name, "--network", "slirp4netns",
				"-p", fmt.Sprintf("127.0.0.1:%d:80", port), image, "sleep", "300")
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			cancel()
			if _, ok := psFind(psJSON(t, true), name); ok {
				if _, errOut, code := myctr(t, "rm", "-f", name); code != 0 {
					t.Errorf("killed after %s: rm -f %s: exit %d: %s", delay, name, code, errOut)
				}
			}
			waitFor(t, 10*time.Second, fmt.Sprintf("port %d free after rm -f (killed after %s)", port, delay), func() bool {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err == nil {
					l.Close()
				}
				return err == nil
			})
		}
	})
}

// TestKillMonitor kills the process that watches the container's init.
func TestKillMonitor(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	id := runDetached(t, name, nil, "sleep", "300")
	in := inspect(t, name)
	pid := in.State.Pid
	_, monitor, start, ok := procStat(pid)
	if !ok {
		t.Fatalf("container pid %d does not exist on the host", pid)
	}
	if monitor <= 1 || monitor == os.Getpid() {
		t.Fatalf("the container's init (pid %d) has parent %d, want a monitor process", pid, monitor)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", monitor))
	t.Logf("monitor pid %d: %q", monitor, strings.ReplaceAll(string(cmdline), "\x00", " "))
	_, _, monStart, _ := procStat(monitor)
	if err := syscall.Kill(monitor, syscall.SIGKILL); err != nil {
		t.Fatalf("kill monitor %d: %v", monitor, err)
	}
	waitFor(t, 5*time.Second, "the monitor to die", func() bool { return processGone(monitor, monStart) })

	p, ok := psFind(psJSON(t, true), name)
	if !ok {
		t.Errorf("ps -a does not list %s after its monitor died", name)
	} else if p.State != "running" && p.State != "exited" {
		t.Errorf("ps -a state %q after the monitor died, want running or exited", p.State)
	}
	inspect(t, name) // must still work

	mustMyctr(t, "rm", "-f", name)
	if _, ok := psFind(psJSON(t, true), name); ok {
		t.Errorf("%s still listed after rm -f", name)
	}
	if _, err := os.Stat(containerDir(id)); !os.IsNotExist(err) {
		t.Errorf("container dir %s after rm -f: %v, want it gone", containerDir(id), err)
	}
	waitFor(t, 5*time.Second, fmt.Sprintf("container process %d to go", pid), func() bool {
		return processGone(pid, start)
	})
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, tmpRoot) {
			t.Errorf("host mountinfo has a mount under the test root: %s", l)
		}
	}
}

// findProcs returns the pids of live processes whose command line is argv.
func findProcs(argv []string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(b) == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestBrokenStdoutPipe: `run ... | head -1`: the reader goes away after
// the first line. The CLI (the container's monitor) is not killed by
// SIGPIPE: it says so (exit 126, as Podman), the container runs to its
// end, its output is logged whole and its exit code recorded, and --rm
// still removes it.
func TestBrokenStdoutPipe(t *testing.T) {
	t.Parallel()
	for _, rm := range []bool{false, true} {
		name := ctrName(t, strconv.FormatBool(rm))
		args := []string{"run", "--name", name}
		if rm {
			args = append(args, "--rm")
		}
		args = append(args, image, "sh", "-c", "echo first; sleep 0.5; seq 2000; exit 4")
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		cmd := myctrCommand(ctx, args...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errOut strings.Builder
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		out.Close() // as head -1 does
		err = cmd.Wait()
		cancel()
		if line != "first\n" {
			t.Errorf("rm=%v: first line %q", rm, line)
		}
		if code := cmd.ProcessState.ExitCode(); code != 126 || !strings.HasPrefix(errOut.String(), "Error: ") || !strings.Contains(errOut.String(), "broken pipe") {
			t.Errorf("rm=%v: exit %d (%v), stderr %q; want 126 and an Error about the broken pipe", rm, code, err, errOut.String())
		}
		if rm {
			if _, ok := psFind(psJSON(t, true), name); ok {
				t.Errorf("the --rm container %s is still there", name)
			}
			continue
		}
		if st := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); st != "exited 4" {
			t.Errorf("state %q, want exited 4", st)
		}
		if logs := mustMyctr(t, "logs", name); !strings.Contains(logs, "\n2000\n") {
			t.Errorf("the log lacks the output written after the pipe broke (%d bytes)", len(logs))
		}
	}
}
