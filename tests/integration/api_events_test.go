//go:build integration

package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAPIEventsSinceUntil: `docker events --since --until` replays the
// events log in Docker's words: a container's create, start, die (with
// its exit code) and destroy, chosen by container, label and event
// filters.
func TestAPIEventsSinceUntil(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apiev")
	if _, errOut, code := a.docker(t, time.Minute, "run", "--name", name, "--network", "none", "--label", "it.events=1", imageFull, "sh", "-c", "exit 4"); code != 4 {
		t.Fatalf("docker run ... exit 4: exit %d, stderr %q", code, errOut)
	}
	a.mustDocker(t, "rm", name)
	assertGone(t, name)
	// The docker CLI sends --until 0s as whole seconds: let the second
	// of the last event pass, or it is after until (as with dockerd).
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))

	out := a.mustDocker(t, "events", "--since", "1m", "--until", "0s", "--filter", "container="+name,
		"--format", `{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "exitCode"}}`)
	got := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"container create " + name, "container start " + name, "container die " + name + " 4", "container destroy " + name}
	if !equalTrimmed(got, want) {
		t.Errorf("docker events --filter container=%s: %q, want %q", name, got, want)
		all, errOut, code := a.docker(t, time.Minute, "events", "--since", "1m", "--until", "0s", "--format", "{{json .}}")
		t.Logf("all events of the last minute (exit %d, stderr %q):\n%s", code, errOut, all)
	}
	out = a.mustDocker(t, "events", "--since", "1m", "--until", "0s", "--filter", "label=it.events=1", "--filter", "event=die",
		"--format", "{{.Status}} {{.ID}} {{.From}}")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "die" || !isFullID(f[1]) || f[2] != imageFull {
		t.Errorf("docker events --filter label= --filter event=die: %q, want die ID %s", out, imageFull)
	}
	out = a.mustDocker(t, "events", "--since", "1m", "--until", "0s", "--filter", "container="+name, "--filter", "type=image")
	if strings.TrimSpace(out) != "" {
		t.Errorf("container= and type=image: %q, want nothing", out)
	}
	if _, errOut, code := a.docker(t, time.Minute, "events", "--since", "1m", "--until", "0s", "--filter", "colour=red"); code == 0 || !strings.Contains(errOut, "colour") {
		t.Errorf("docker events --filter colour=red: exit %d, stderr %q: want a refusal naming the filter", code, errOut)
	}
}

func equalTrimmed(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if strings.TrimSpace(got[i]) != want[i] {
			return false
		}
	}
	return true
}

// TestAPIEventsLive: a `docker events` left running sees a container
// start and die as they happen.
func TestAPIEventsLive(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apievl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, "events", "--filter", "container="+name, "--format", `{{.Action}} {{index .Actor.Attributes "exitCode"}}`)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+a.sock, "DOCKER_CONFIG="+a.config)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
	}()
	// The stream is open before the container exists: what it shows
	// happened after.
	time.Sleep(time.Second)
	if _, errOut, code := a.docker(t, time.Minute, "run", "--rm", "--name", name, "--network", "none", imageFull, "sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("docker run --rm ... exit 7: exit %d, stderr %q", code, errOut)
	}
	var seen []string
	timeout := time.After(30 * time.Second)
	for !strings.Contains(strings.Join(seen, ";"), "die 7") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("docker events ended early after %q", seen)
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("docker events showed %q in 30s, want start and die 7", seen)
		}
	}
	if len(seen) < 3 || seen[0] != "create" || seen[1] != "start" {
		t.Errorf("docker events: %q, want create, start, die 7", seen)
	}
}

// TestAPIResources: docker run --memory sets the container's memory.max
// through the service, as `myctr run --memory` does, and inspect shows
// it; a limit this host cannot enforce is refused, not ignored.
func TestAPIResources(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apires")
	out, errOut, code := a.docker(t, time.Minute, "run", "--name", name, "--network", "none", "--memory", "64m", imageFull, "cat", "/sys/fs/cgroup/memory.max")
	if code != 0 && (strings.Contains(errOut, "memory") || strings.Contains(errOut, "cgroup")) {
		// The host cannot set a memory limit: the refusal must say so,
		// as `myctr run --memory` does; the VM tier sees the limit set.
		t.Logf("docker run --memory 64m refused: %s", errOut)
		_, cliErr, cliCode := myctr(t, "run", "--rm", "--network", "none", "--memory", "64m", imageFull, "true")
		if cliCode == 0 {
			t.Errorf("the API refused --memory 64m (%s) but myctr run accepted it", errOut)
		}
		t.Logf("myctr run --memory 64m: exit %d: %s", cliCode, cliErr)
		assertGone(t, name)
		return
	}
	if code != 0 || strings.TrimSpace(out) != "67108864" {
		t.Fatalf("docker run --memory 64m cat memory.max: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := strings.TrimSpace(a.mustDocker(t, "inspect", "--format", "{{.HostConfig.Memory}}", name)); got != "67108864" {
		t.Errorf("docker inspect HostConfig.Memory: %q", got)
	}
	a.mustDocker(t, "rm", name)
	if _, errOut, code := a.docker(t, time.Minute, "run", "--rm", "--network", "none", "--cpu-rt-runtime", "1000", imageFull, "true"); code == 0 || !strings.Contains(errOut, "CpuRealtime") {
		t.Errorf("docker run --cpu-rt-runtime: exit %d, stderr %q: want a refusal", code, errOut)
	}
	if _, errOut, code := a.docker(t, time.Minute, "run", "--rm", "--network", "none", "--memory", "1k", imageFull, "true"); code == 0 || !strings.Contains(errOut, "memory") {
		t.Errorf("docker run --memory 1k: exit %d, stderr %q: want a refusal", code, errOut)
	}
}
