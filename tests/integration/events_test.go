//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEvents: what happens to a container, a volume and an image is
// recorded, and events (--stream=false) gives it back, oldest first, in
// Podman's fields; --events-backend=none records nothing; a stream shows
// a new event as it happens.
func TestEvents(t *testing.T) {
	since := time.Now().Add(-time.Second).Format(time.RFC3339)
	name := ctrName(t, "ev")
	if _, _, code := myctr(t, "run", "--rm", "--name", name, image, "sh", "-c", "exit 3"); code != 3 {
		t.Fatalf("run: exit %d, want 3", code)
	}
	evs := func(args ...string) []string {
		t.Helper()
		out := mustMyctr(t, append([]string{"events", "--stream=false", "--since", since, "--format", "{{.Type}} {{.Status}} {{.Name}}"}, args...)...)
		return strings.Split(strings.TrimSpace(out), "\n")
	}
	want := []string{"container create " + name, "container start " + name, "container died " + name, "container remove " + name}
	// The monitor removes an --rm container after run returned.
	waitFor(t, 10*time.Second, "the remove event", func() bool { return slices.Equal(evs("--filter", "container="+name), want) })
	if got := evs("--filter", "container="+name); !slices.Equal(got, want) {
		t.Errorf("events of %s: %q, want %q", name, got, want)
	}
	if got := evs("--filter", "container="+name, "--filter", "event=died"); !slices.Equal(got, want[2:3]) {
		t.Errorf("events --filter event=died: %q", got)
	}
	raw := mustMyctr(t, "events", "--stream=false", "--since", since, "--format", "json", "--filter", "container="+name, "--filter", "event=died")
	var died struct {
		ID, Name, Status, Type string
		ContainerExitCode      int
		Attributes             map[string]string
	}
	if err := json.Unmarshal([]byte(raw), &died); err != nil || died.ContainerExitCode != 3 || !isFullID(died.ID) || died.Attributes["image"] != imageFull {
		t.Errorf("died as json: %+v, %v\n%s", died, err, raw)
	}

	vol := strings.TrimPrefix(ctrName(t, "vol"), "it-")
	mustMyctr(t, "volume", "create", vol)
	mustMyctr(t, "volume", "rm", vol)
	if got := evs("--filter", "volume="+vol); !slices.Equal(got, []string{"volume create " + vol, "volume remove " + vol}) {
		t.Errorf("events of volume %s: %q", vol, got)
	}
	tag := "localhost/it-events:1"
	mustMyctr(t, "tag", image, tag)
	mustMyctr(t, "rmi", tag)
	if got := evs("--filter", "type=image", "--filter", "image="+tag); !slices.Equal(got, []string{"image tag " + tag, "image untag " + tag}) {
		t.Errorf("events of image %s: %q", tag, got)
	}

	quiet := ctrName(t, "quiet")
	mustMyctr(t, "--events-backend=none", "run", "--rm", "--name", quiet, image, "true")
	time.Sleep(500 * time.Millisecond)
	if out := mustMyctr(t, "events", "--stream=false", "--filter", "container="+quiet); out != "" {
		t.Errorf("--events-backend=none recorded: %q", out)
	}
	if _, errOut, code := myctr(t, "events", "--events-backend=none", "--stream=false"); code != 125 || errOut != "Error: cannot read events with the \"none\" backend\n" {
		t.Errorf("events with the none backend: exit %d, %q", code, errOut)
	}

	// A stream: the new event arrives while events runs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	later := ctrName(t, "later")
	cmd := myctrCommand(ctx, "events", "--filter", "container="+later, "--format", "{{.Status}}")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	mustMyctr(t, "create", "--name", later, image, "true")
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "create\n" {
		t.Errorf("the stream gave %q, %v; want create", line, err)
	}
}
