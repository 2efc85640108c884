//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStop is timing-sensitive and does not run in parallel.
func TestStop(t *testing.T) {
	t.Run("TERM handled", func(t *testing.T) {
		name := ctrName(t, "")
		runDetached(t, name, nil, "sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done")
		waitLogs(t, name, "ready", 10*time.Second)
		start := time.Now()
		mustMyctr(t, "stop", name)
		took := time.Since(start)
		if took > 5*time.Second {
			t.Errorf("stop of a container that exits on TERM took %s", took)
		}
		in := inspect(t, name)
		if in.State.Status != "exited" || in.State.Running || in.State.ExitCode != 0 {
			t.Errorf("after stop: State %+v, want exited with code 0", in.State)
		}
		if out, _, _ := myctr(t, "logs", name); !strings.Contains(out, "got TERM") {
			t.Errorf("logs lack %q:\n%s", "got TERM", out)
		}
	})

	t.Run("TERM ignored", func(t *testing.T) {
		name := ctrName(t, "")
		runDetached(t, name, nil, "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done")
		waitLogs(t, name, "ready", 10*time.Second)
		start := time.Now()
		mustMyctr(t, "stop", "-t", "2", name)
		took := time.Since(start)
		if took < 2*time.Second || took >= 8*time.Second {
			t.Errorf("stop -t 2 of a container ignoring TERM took %s, want 2s..8s", took)
		}
		in := inspect(t, name)
		if in.State.Status != "exited" || in.State.ExitCode != 137 {
			t.Errorf("after stop: State %+v, want exited with code 137", in.State)
		}
		if p, ok := psFind(psJSON(t, true), name); !ok || p.State != "exited" || p.ExitCode != 137 {
			t.Errorf("ps -a entry %+v (found %v), want exited with 137", p, ok)
		}
	})
}

func TestRemoveRunning(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	id := runDetached(t, name, nil, "sleep", "300")
	in := inspect(t, name)
	_, _, start, ok := procStat(in.State.Pid)
	if !ok {
		t.Fatalf("container pid %d from inspect does not exist on the host", in.State.Pid)
	}
	if _, err := os.Stat(containerDir(id)); err != nil {
		t.Errorf("container dir: %v", err)
	}

	_, errOut, code := myctr(t, "rm", name)
	if code != 2 || !strings.Contains(errOut, "Error:") {
		t.Errorf("rm (no -f) of a running container: exit %d, stderr %q; want 2 (Podman's) and an Error:", code, errOut)
	}

	mustMyctr(t, "rm", "-f", name)
	if _, ok := psFind(psJSON(t, true), name); ok {
		t.Errorf("%s still listed by ps -a after rm -f", name)
	}
	if _, err := os.Stat(containerDir(id)); !os.IsNotExist(err) {
		t.Errorf("container dir %s after rm -f: %v, want it gone", containerDir(id), err)
	}
	waitFor(t, 5*time.Second, fmt.Sprintf("container process %d to go", in.State.Pid), func() bool {
		return processGone(in.State.Pid, start)
	})
	if _, _, code := myctr(t, "inspect", name); code == 0 {
		t.Errorf("inspect of a removed container succeeded")
	}
}

func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	const n = 20
	names := make([]string, n)
	for i := range names {
		names[i] = ctrName(t, fmt.Sprintf("c%d", i))
	}

	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, errOut, code := runMyctr(2*time.Minute, nil, "run", "-d", "--name", names[i], image, "sleep", "30")
			if code != 0 || !isFullID(strings.TrimSpace(out)) {
				errs[i] = fmt.Sprintf("run %s: exit %d, stdout %q, stderr %q", names[i], code, out, errOut)
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}

	ps := psJSON(t, false)
	ids := map[string]bool{}
	for _, name := range names {
		p, ok := psFind(ps, name)
		if !ok {
			t.Errorf("ps does not list %s", name)
			continue
		}
		if ids[p.Id] {
			t.Errorf("id %s listed twice", p.Id)
		}
		ids[p.Id] = true
		if p.State != "running" {
			t.Errorf("%s: state %q, want running", name, p.State)
		}
	}
	if len(ids) != n {
		t.Errorf("ps lists %d distinct ids for the %d containers", len(ids), n)
	}
	args := append([]string{"inspect"}, names...)
	var all []Inspect
	if err := json.Unmarshal([]byte(mustMyctr(t, args...)), &all); err != nil || len(all) != n {
		t.Errorf("inspect of %d containers: %d objects, %v", n, len(all), err)
	}

	for i := range n {
		wg.Go(func() {
			if _, errOut, code := runMyctr(2*time.Minute, nil, "rm", "-f", names[i]); code != 0 {
				errs[i] = fmt.Sprintf("rm -f %s: exit %d: %s", names[i], code, errOut)
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	ps = psJSON(t, true)
	for _, name := range names {
		if _, ok := psFind(ps, name); ok {
			t.Errorf("%s still listed after rm -f", name)
		}
	}
}

func TestStartRestartWaitKill(t *testing.T) {
	t.Parallel()
	t.Run("start again keeps the upper dir", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		mustMyctr(t, "run", "--name", name, image, "sh", "-c", "echo run >> /count")
		mustMyctr(t, "start", name)
		if out := strings.TrimSpace(mustMyctr(t, "wait", name)); out != "0" {
			t.Errorf("wait printed %q, want 0", out)
		}
		in := inspect(t, name)
		b, err := os.ReadFile(in.GraphDriver.Data.UpperDir + "/count")
		if err != nil || string(b) != "run\nrun\n" {
			t.Errorf("upper/count = %q, %v; want two runs", b, err)
		}
	})

	t.Run("restart gives a new pid", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		runDetached(t, name, nil, "sleep", "300")
		before := inspect(t, name)
		mustMyctr(t, "restart", name)
		after := inspect(t, name)
		if !after.State.Running || after.State.Pid <= 0 || after.State.Pid == before.State.Pid {
			t.Errorf("after restart State %+v, want running with a new pid (was %d)", after.State, before.State.Pid)
		}
	})

	t.Run("wait prints the exit code", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		runDetached(t, name, nil, "sh", "-c", "sleep 1; exit 4")
		out, errOut, code := myctr(t, "wait", name)
		if code != 0 || strings.TrimSpace(out) != "4" {
			t.Errorf("wait: exit %d, stdout %q, stderr %q; want 0 and 4", code, out, errOut)
		}
	})

	t.Run("kill -s USR1", func(t *testing.T) {
		t.Parallel()
		name := ctrName(t, "")
		runDetached(t, name, nil, "sh", "-c", "trap 'echo got USR1' USR1; echo ready; while true; do sleep 0.1; done")
		waitLogs(t, name, "ready", 10*time.Second)
		mustMyctr(t, "kill", "-s", "USR1", name)
		waitLogs(t, name, "got USR1", 10*time.Second)
		if in := inspect(t, name); !in.State.Running {
			t.Errorf("container stopped after USR1: %+v", in.State)
		}
		mustMyctr(t, "kill", name)
		in := waitState(t, name, "exited", 10*time.Second)
		if in.State.ExitCode != 137 {
			t.Errorf("after kill: exit code %d, want 137", in.State.ExitCode)
		}
	})
}

// TestInspectFormat: inspect --format applies a Go template to each
// container, with the fields of the JSON output and the json, join and
// upper functions; a template that does not parse or names a missing
// field is an error with a hint (exit 125).
func TestInspectFormat(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	runDetached(t, name, []string{"--network", "none"}, "sleep", "300")
	in := inspect(t, name)
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Pid}} {{.Name}}", name)); got != fmt.Sprintf("%d %s", in.State.Pid, name) {
		t.Errorf("--format pid and name: %q", got)
	}
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "-f", `{{join .Args ","}}\t{{upper .State.Status}}`, name)); got != "300\tRUNNING" {
		t.Errorf("join and upper: %q", got)
	}
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(mustMyctr(t, "inspect", "-f", "{{json .State}}", name)), &st); err != nil || st.Pid != in.State.Pid {
		t.Errorf("{{json .State}}: %+v %v", st, err)
	}
	for _, bad := range []string{"{{.State.Pid", "{{.State.NoSuchField}}"} {
		_, errOut, code := myctr(t, "inspect", "-f", bad, name)
		if code != 125 || !strings.Contains(errOut, "Error: --format") || !strings.Contains(errOut, "Hint:") {
			t.Errorf("--format %q: exit %d, stderr %q", bad, code, errOut)
		}
	}
}

// TestPsFormat: ps --format TEMPLATE prints one line per container with
// Podman's field names (Names a plain string, Ports as host->container),
// and the default table shows the ports too.
func TestPsFormat(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	port := freePort(t)
	runDetached(t, name, []string{"--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:80", port)}, "sleep", "300")
	out := mustMyctr(t, "ps", "--format", `{{.Names}}\t{{.State}}\t{{.Ports}}\t{{.Command}}`)
	want := fmt.Sprintf("%s\trunning\t127.0.0.1:%d->80/tcp\tsleep 300", name, port)
	if !slices.Contains(strings.Split(out, "\n"), want) {
		t.Errorf("ps --format: no line %q in\n%s", want, out)
	}
	// The default table has Podman's PORTS column.
	table := mustMyctr(t, "ps")
	if !strings.Contains(table, "PORTS") {
		t.Errorf("ps: no PORTS column:\n%s", table)
	}
	found := false
	for _, l := range strings.Split(table, "\n") {
		if strings.HasSuffix(l, " "+name) {
			found = strings.Contains(l, fmt.Sprintf(" 127.0.0.1:%d->80/tcp ", port))
		}
	}
	if !found {
		t.Errorf("ps: the row of %s does not show its port 127.0.0.1:%d->80/tcp:\n%s", name, port, table)
	}
	_, errOut, code := myctr(t, "ps", "--format", "{{.NoSuchField}}")
	if code != 125 || !strings.Contains(errOut, "Error: --format") || !strings.Contains(errOut, "Hint: the fields are") {
		t.Errorf("bad field: exit %d, stderr %q", code, errOut)
	}
}
