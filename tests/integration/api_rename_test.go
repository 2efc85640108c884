//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRename: myctr rename and container rename on a running and a
// stopped container: ps shows the new name, the old one finds nothing,
// a name in use is refused naming its container, the events log has a
// rename event, and on a named network the running container answers to
// its new name (the network's DNS keys on names) and no more to its old.
func TestRename(t *testing.T) {
	since := time.Now().Add(-time.Second).Format(time.RFC3339)
	net := namedNetwork(t, "net")
	run, stopped := ctrName(t, "run"), ctrName(t, "stopped")
	runNew, stoppedNew := ctrName(t, "run-new"), ctrName(t, "stopped-new")
	runID := runDetached(t, run, []string{"--network", net}, "sh", "-c", serveCmd("via-new-name"))
	stoppedID := strings.TrimSpace(mustMyctr(t, "create", "--name", stopped, image, "true"))

	mustMyctr(t, "rename", run, runNew)
	mustMyctr(t, "container", "rename", stopped, stoppedNew)
	ps := psJSON(t, true)
	for name, id := range map[string]string{runNew: runID, stoppedNew: stoppedID} {
		p, ok := psFind(ps, name)
		if !ok || p.Id != id {
			t.Errorf("ps -a: no %s with id %.12s (%+v)", name, id, p)
		}
	}
	for _, old := range []string{run, stopped} {
		if _, ok := psFind(ps, old); ok {
			t.Errorf("ps -a still lists %s", old)
		}
		if _, errOut, code := myctr(t, "inspect", "--type", "container", old); code == 0 || !strings.Contains(errOut, "no container with name or ID") {
			t.Errorf("inspect %s after the rename: exit %d, %q; want no such container", old, code, errOut)
		}
	}
	if st := inspect(t, runNew).State.Status; st != "running" {
		t.Errorf("%s is %s after the rename, want running", runNew, st)
	}

	_, errOut, code := myctr(t, "rename", stoppedNew, runNew)
	if code != 125 || !strings.Contains(errOut, runID) || !strings.Contains(errOut, "already in use") {
		t.Errorf("rename to a name in use: exit %d, %q; want 125 naming %s", code, errOut, runID)
	}
	if _, errOut, code := myctr(t, "rename", stoppedNew, "bad/name"); code != 125 || !strings.Contains(errOut, "invalid container name") {
		t.Errorf("rename to an invalid name: exit %d, %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "rename", "it-no-such-container", "x"+stoppedNew); code != 125 || !strings.Contains(errOut, "no container with name or ID") {
		t.Errorf("rename of no container: exit %d, %q", code, errOut)
	}

	for host, want := range map[string]bool{runNew: true, run: false} {
		out, _, _ := myctr(t, "run", "--rm", "--network", net, image, "sh", "-c", ncGet(host))
		if got := strings.Contains(out, "via-new-name"); got != want {
			t.Errorf("GET %s:8080 on %s after the rename: %q (reached: %v, want %v)", host, net, out, got, want)
		}
	}

	evs := mustMyctr(t, "events", "--stream=false", "--since", since, "--filter", "event=rename", "--format", "{{.Status}} {{.Name}}")
	for _, want := range []string{"rename " + runNew, "rename " + stoppedNew} {
		if !strings.Contains(evs, want) {
			t.Errorf("events: %q, want a line %q", evs, want)
		}
	}
}

// TestAPIRename: docker rename over the API (204), the old name gone and
// the new one found; 409 for a name in use, 404 for no such container.
func TestAPIRename(t *testing.T) {
	a := startAPIService(t)
	old, renamed, other := ctrName(t, "old"), ctrName(t, "renamed"), ctrName(t, "other")
	id := strings.TrimSpace(a.mustDocker(t, "run", "-d", "--name", old, imageFull, "sleep", "300"))
	a.mustDocker(t, "create", "--name", other, imageFull, "true")

	a.mustDocker(t, "rename", old, renamed)
	if got := strings.TrimSpace(a.mustDocker(t, "inspect", "--format", "{{.Id}} {{.Name}} {{.State.Status}}", renamed)); got != id+" /"+renamed+" running" {
		t.Errorf("inspect %s: %q, want %s /%s running", renamed, got, id, renamed)
	}
	if _, errOut, code := a.docker(t, time.Minute, "container", "inspect", old); code == 0 || !strings.Contains(errOut, "No such") {
		t.Errorf("inspect %s after the rename: exit %d, %q", old, code, errOut)
	}
	if out := a.mustDocker(t, "ps", "--format", "{{.Names}}"); !strings.Contains(out, renamed) {
		t.Errorf("docker ps: %q, want %s", out, renamed)
	}
	// docker 20.10 prints the daemon's message after "Error response
	// from daemon:"; the status shows in the message's form.
	if _, errOut, code := a.docker(t, time.Minute, "rename", other, renamed); code == 0 || !strings.Contains(errOut, "already in use") || !strings.Contains(errOut, id) {
		t.Errorf("docker rename to a name in use: exit %d, %q", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "rename", "it-no-such-container", "x"+other); code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("docker rename of no container: exit %d, %q", code, errOut)
	}
	a.mustDocker(t, "rm", "-f", renamed, other)
	assertGone(t, old, renamed, other)
}

// composeRecreateFile: one service whose environment the test changes
// between two `up -d`; it prints it and sleeps.
const composeRecreateFile = `version: "2.4"
services:
  app:
    image: %s
    stop_grace_period: 1s
    environment:
      GREETING: %s
    command: ["sh", "-c", "echo greeting=$$GREETING; exec sleep 300"]
`

// TestAPIComposeRecreate: docker-compose 1.29 recreates a service whose
// configuration changed (it renames the old container, creates the new
// one, removes the old): the second up -d makes a new container, which
// has the new environment, and down leaves nothing.
func TestAPIComposeRecreate(t *testing.T) {
	composeBin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("docker-compose is not installed (tests/setup/deps.sh installs it): %v", err)
	}
	a := startAPIService(t)
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	write := func(greeting string) {
		if err := os.WriteFile(file, []byte(fmt.Sprintf(composeRecreateFile, imageFull, greeting)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	project := strings.ReplaceAll(ctrName(t, "p"), "-", "")
	compose := composeRunner(t, a, composeBin, project, file)
	ctr := project + "_app_1"
	t.Cleanup(func() {
		for _, ref := range psJSON(t, true) {
			if strings.Contains(strings.Join(ref.Names, " "), project) {
				runMyctr(cmdTimeout, nil, "rm", "-f", ref.Id)
			}
		}
		runMyctr(cmdTimeout, nil, "network", "rm", "-f", project+"_default")
	})
	idOf := func() string {
		return strings.TrimSpace(a.mustDocker(t, "inspect", "--format", "{{.Id}}", ctr))
	}

	write("first")
	compose("up", "-d")
	first := idOf()
	waitFor(t, 20*time.Second, "the first greeting", func() bool {
		out, _, _ := a.docker(t, time.Minute, "logs", ctr)
		return strings.Contains(out, "greeting=first")
	})

	write("second")
	out := compose("up", "-d")
	if !strings.Contains(out, "Recreating") {
		t.Errorf("the second up -d did not recreate %s: %q", ctr, out)
	}
	second := idOf()
	if second == first {
		t.Fatalf("%s has the same id after a changed configuration's up -d: %s", ctr, second)
	}
	if env := compose("exec", "-T", "app", "sh", "-c", "echo $GREETING"); strings.TrimSpace(env) != "second" {
		t.Errorf("docker-compose exec app echo $GREETING: %q, want second", env)
	}
	if all := a.mustDocker(t, "ps", "-a", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(all) != second {
		t.Errorf("the project's containers after the recreate: %q, want %s alone", all, second)
	}

	compose("down", "-t", "1")
	if left := a.mustDocker(t, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(left) != "" {
		t.Errorf("docker-compose down left containers: %q", left)
	}
	assertGone(t, project)
}
