//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			killAfter(t, myctrCommand(ctx, append([]string{"run", "-d", "--name", name, image}, argv...)...), delay)
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
			killAfter(t, myctrCommand(ctx, "run", "-d", "--name", name, "--network", "slirp4netns",
				"-p", fmt.Sprintf("127.0.0.1:%d:80", port), image, "sleep", "300"), delay)
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

// killAfter starts cmd, kills it with SIGKILL after delay and waits for
// it.
func killAfter(t *testing.T, cmd *exec.Cmd, delay time.Duration) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
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
	return procsWhere(func(args []string) bool { return slices.Equal(args, argv) })
}

// procsWhere returns the pids of live processes whose command line
// matches.
func procsWhere(match func(args []string) bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && len(b) > 0 && match(strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestBrokenStdoutPipe: `run ... | head -1`: the reader goes away after
// the first line. The CLI is not killed by SIGPIPE: it ends at once with
// an error (exit 126, as Podman) while the container runs on; the
// container's output is logged whole, its exit code recorded, and --rm
// still removes it.
func TestBrokenStdoutPipe(t *testing.T) {
	t.Parallel()
	for _, rm := range []bool{false, true} {
		name := ctrName(t, strconv.FormatBool(rm))
		args := []string{"run", "--name", name}
		if rm {
			args = append(args, "--rm")
		}
		args = append(args, image, "sh", "-c", "echo first; sleep 0.5; seq 2000; sleep 1.5; exit 4")
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
		// The CLI ended with the pipe, not with the container.
		if p, ok := psFind(psJSON(t, true), name); !ok || p.State != "running" {
			t.Errorf("rm=%v: right after the CLI ended, ps -a has %+v (listed %v), want it running", rm, p, ok)
		}
		if rm {
			waitFor(t, 10*time.Second, "the --rm container "+name+" to be removed", func() bool {
				_, ok := psFind(psJSON(t, true), name)
				return !ok
			})
			continue
		}
		waitFor(t, 10*time.Second, name+" to exit", func() bool {
			return inspect(t, name).State.Status == "exited"
		})
		if st := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); st != "exited 4" {
			t.Errorf("state %q, want exited 4", st)
		}
		if logs := mustMyctr(t, "logs", name); !strings.Contains(logs, "\n2000\n") {
			t.Errorf("the log lacks the output written after the pipe broke (%d bytes)", len(logs))
		}
	}
}

// TestKillForegroundCLI kills a foreground `myctr run` with SIGKILL while
// its container runs: the container runs on to its end, its exit code is
// the real one in inspect and ps, its output after the kill is in the
// log, and --rm still removes it; nothing of it is left running.
func TestKillForegroundCLI(t *testing.T) {
	t.Parallel()
	for _, rm := range []bool{false, true} {
		t.Run(fmt.Sprintf("rm=%v", rm), func(t *testing.T) {
			t.Parallel()
			name := ctrName(t, "")
			args := []string{"run", "--name", name}
			if rm {
				args = append(args, "--rm")
			}
			// A command line unique to this test, to find what is left.
			marker := fmt.Sprintf("sleep 1.%d%d", os.Getpid(), len(args))
			args = append(args, image, "sh", "-c", "echo before; "+marker+"; echo after; exit 3")
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			cmd := myctrCommand(ctx, args...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, _ := bufio.NewReader(out).ReadString('\n'); line != "before\n" {
				t.Fatalf("first line %q", line)
			}
			in := inspect(t, name)
			monitor := in.State.ConmonPid
			if monitor <= 0 || monitor == cmd.Process.Pid {
				t.Errorf("the container's monitor is pid %d, the CLI %d: want a monitor of its own", monitor, cmd.Process.Pid)
			}
			_, _, monStart, _ := procStat(monitor)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if rm {
				waitFor(t, 10*time.Second, "the --rm container to be removed", func() bool {
					_, ok := psFind(psJSON(t, true), name)
					return !ok
				})
				if _, err := os.Stat(containerDir(in.Id)); !os.IsNotExist(err) {
					t.Errorf("container dir after the run: %v, want it gone", err)
				}
			} else {
				waitFor(t, 10*time.Second, name+" to exit", func() bool {
					return inspect(t, name).State.Status == "exited"
				})
				st := inspect(t, name).State
				if st.ExitCode != 3 || st.Error != "" {
					t.Errorf("State: exit code %d, error %q; want 3 and no error", st.ExitCode, st.Error)
				}
				if p, _ := psFind(psJSON(t, true), name); !strings.HasPrefix(p.Status, "Exited (3)") {
					t.Errorf("ps -a status %q, want Exited (3) ...", p.Status)
				}
				if logs := mustMyctr(t, "logs", name); logs != "before\nafter\n" {
					t.Errorf("logs %q, want before and after", logs)
				}
				mustMyctr(t, "rm", name)
			}
			waitFor(t, 5*time.Second, "the monitor to exit", func() bool { return processGone(monitor, monStart) })
			if left := findProcs(strings.Fields(marker)); len(left) > 0 {
				t.Errorf("processes left: %v", left)
			}
		})
	}
}

// TestKillBuild kills `myctr build` with SIGKILL during a RUN step: the
// step ends with the build (no process of it left after a second), and
// its container goes with it, so that nothing of the build is left in
// the store or mounted.
func TestKillBuild(t *testing.T) {
	t.Parallel()
	marker := fmt.Sprintf("sleep 6%d", os.Getpid())
	ctx := buildContext(t, map[string]string{
		"Containerfile": "FROM bb\nRUN echo step-started; " + marker + "\n",
	})
	before := map[string]bool{}
	ents, _ := os.ReadDir(filepath.Join(root, "containers"))
	for _, e := range ents {
		before[e.Name()] = true
	}
	cctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := myctrCommand(cctx, "build", "-t", "it-killed-build", ctx)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	started := false
	for !started && sc.Scan() {
		started = strings.Contains(sc.Text(), "step-started")
	}
	if !started {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the RUN step did not start")
	}
	waitFor(t, 5*time.Second, "the step's process to run", func() bool {
		return len(findProcs(strings.Fields(marker))) > 0
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, time.Second, "the step's process to end with the build", func() bool {
		return len(findProcs(strings.Fields(marker))) == 0
	})
	waitFor(t, 5*time.Second, "the step's container to be removed", func() bool {
		ents, _ := os.ReadDir(filepath.Join(root, "containers"))
		for _, e := range ents {
			if !before[e.Name()] && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".lock") {
				// Another test's container may come and go: only a
				// build step's is the killed build's.
				if b, err := os.ReadFile(filepath.Join(root, "containers", e.Name(), "container.json")); err == nil && strings.Contains(string(b), `"BuildStep":true`) {
					return false
				}
			}
		}
		return true
	})
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), tmpRoot) {
		t.Errorf("a mount under the test root is left:\n%s", mi)
	}
	if _, _, code := myctr(t, "image", "exists", "it-killed-build"); code == 0 {
		t.Errorf("the killed build made its image")
	}
}
