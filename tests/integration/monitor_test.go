//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMonitorHandOff: once a detached container runs, its monitor is the
// small myctr-monitor (the same process the record names, now executing
// that program, mapping no myctr binary), which keeps the output in the
// log as the CLI writes it (a partial line as P, then the rest), passes
// a SIGTERM on as the container's stop signal, and at the end hands over
// to myctr, which records the container's own exit code and output.
func TestMonitorHandOff(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(filepath.Dir(bin), "myctr-monitor")); err != nil {
		t.Fatalf("no myctr-monitor beside %s (make build makes it): %v", bin, err)
	}
	name := ctrName(t, "")
	runDetached(t, name, nil, "sh", "-c", `trap 'echo got-term; exit 7' TERM; printf part; sleep 0.3; echo ial; echo to-stderr >&2; while :; do sleep 0.1; done`)
	in := inspect(t, name)
	monitor := in.State.ConmonPid
	if monitor <= 0 {
		t.Fatalf("inspect: ConmonPid %d", monitor)
	}
	_, _, monStart, _ := procStat(monitor)
	waitFor(t, 10*time.Second, "the monitor to become myctr-monitor", func() bool {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", monitor))
		return filepath.Base(exe) == "myctr-monitor"
	})
	if maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", monitor)); err != nil {
		t.Errorf("read the monitor's maps: %v", err)
	} else if strings.Contains(string(maps), "/myctr\n") || strings.Contains(string(maps), "libc.so") {
		t.Errorf("myctr-monitor maps the CLI's binary or a shared library:\n%s", maps)
	}
	waitFor(t, 10*time.Second, "the output in the log", func() bool {
		out, _, _ := myctr(t, "logs", name)
		return strings.Contains(out, "partial\n")
	})
	out, errOut, _ := myctr(t, "logs", name)
	if out != "partial\n" || errOut != "to-stderr\n" {
		t.Errorf("logs: stdout %q, stderr %q; want \"partial\\n\" and \"to-stderr\\n\"", out, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(containerDir(in.Id), "ctr.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" stdout P part\n", " stdout F ial\n", " stderr F to-stderr\n"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("ctr.log lacks the record %q:\n%s", want, raw)
		}
	}

	// SIGTERM to the monitor (what systemctl stop does): the container
	// gets its stop signal, and its own exit is recorded.
	if err := syscall.Kill(monitor, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the monitor to end", func() bool { return processGone(monitor, monStart) })
	end := inspect(t, name)
	if end.State.Status != "exited" || end.State.ExitCode != 7 {
		t.Errorf("after SIGTERM to the monitor: status %s, exit %d; want exited, 7 (the trap's)", end.State.Status, end.State.ExitCode)
	}
	if out, _, _ := myctr(t, "logs", name); !strings.Contains(out, "got-term") {
		t.Errorf("logs after the stop lack the trap's output: %q", out)
	}

	// Without myctr-monitor installed (myctr, myctr-init and myctr-seccomp, as
	// installMyctr lays them out), the monitor stage stays: the same
	// container, with its output kept by the Go monitor.
	myctrBin, _ := installMyctr(t)
	goName := ctrName(t, "go")
	if _, errOut, code := runWith(myctrBin, cmdTimeout, "run", "-d", "--name", goName, image, "sh", "-c", "echo kept-by-go; sleep 1000"); code != 0 {
		t.Fatalf("run -d with %s: exit %d: %s", myctrBin, code, errOut)
	}
	goMonitor := inspect(t, goName).State.ConmonPid
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", goMonitor)); exe != myctrBin {
		t.Errorf("without myctr-monitor, the monitor runs %q, want %s", exe, myctrBin)
	}
	waitFor(t, 10*time.Second, "the Go monitor's log", func() bool {
		out, _, _ := myctr(t, "logs", goName)
		return out == "kept-by-go\n"
	})
	mustMyctr(t, "rm", "-f", goName)
}

// TestNetworkWatchHandOff: a container's network watcher, once its tool
// and port forwarder run, is myctr-monitor's watch too (a child of the
// monitor, still the parent of slirp4netns and the forwarder, which
// survive the hand-over and serve the published port), and it ends them
// with the container.
func TestNetworkWatchHandOff(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	port := freePort(t)
	webServer(t, name, []string{"--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port)}, "watched")
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "watched") {
		t.Fatalf("the published port answers %q", body)
	}
	monitor := inspect(t, name).State.ConmonPid
	children := func(parent int) (pids []int) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
				continue
			}
			if _, pp, _, ok := procStat(pid); ok && pp == parent {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	var watcher int
	for _, pid := range children(monitor) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(cmdline), "myctr-network-watch\x00watch\x00") {
			watcher = pid
		}
	}
	if watcher == 0 {
		t.Fatalf("no child of the monitor (%d) runs myctr-monitor's watch", monitor)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", watcher)); filepath.Base(exe) != "myctr-monitor" {
		t.Errorf("the watcher runs %q, want myctr-monitor", exe)
	}
	var tools []string
	starts := map[int]uint64{watcher: 0}
	for _, pid := range children(watcher) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		tools = append(tools, filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0]))
		_, _, starts[pid], _ = procStat(pid)
	}
	_, _, starts[watcher], _ = procStat(watcher)
	if strings.Join(tools, " ") != "slirp4netns myctr-port-forward" && strings.Join(tools, " ") != "myctr-port-forward slirp4netns" {
		t.Errorf("the watcher's children are %q, want slirp4netns and the port forwarder", tools)
	}
	mustMyctr(t, "rm", "-f", name)
	waitFor(t, 10*time.Second, "the watcher, the tool and the forwarder to go", func() bool {
		for pid, start := range starts {
			if !processGone(pid, start) {
				return false
			}
		}
		return true
	})
}
