//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPauseNoCgroup: this host gives a rootless container no cgroup of its
// own (cgroup v2 here has no controllers and no systemd delegates one), so
// pause has nothing to freeze: it fails with exit 125, Error: and the
// Hint: with the fix, and the container runs on unchanged, not paused.
func TestPauseNoCgroup(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	id := runDetached(t, name, []string{"--network", "none"}, "sh", "-c", "while true; do date +%s%N >>/tmp/ticks; sleep 0.1; done")
	before := inspect(t, name)
	if before.State.CgroupPath != "" {
		t.Skipf("the container has a cgroup of its own here (%s): TestPauseNoCgroup is for hosts that give none (the VM tier tests pause itself)", before.State.CgroupPath)
	}
	out, errOut, code := myctr(t, "pause", name)
	if code != 125 || out != "" || !strings.Contains(errOut, "Error: "+name+": cannot pause: the container has no cgroup of its own") ||
		!strings.Contains(errOut, "Hint: ") || !strings.Contains(errOut, "systemd user manager") {
		t.Errorf("pause without a cgroup: exit %d\nstdout: %q\nstderr: %s\nwant 125, Error: and Hint:", code, out, errOut)
	}
	after := inspect(t, name)
	if after.State.Status != "running" || !after.State.Running || after.State.Paused || after.State.Pid != before.State.Pid {
		t.Errorf("after a refused pause: status %q running %v paused %v pid %d (was %d)",
			after.State.Status, after.State.Running, after.State.Paused, after.State.Pid, before.State.Pid)
	}
	if ps, ok := psFind(psJSON(t, false), name); !ok || ps.State != "running" || !strings.HasPrefix(ps.Status, "Up") {
		t.Errorf("ps after a refused pause: %+v", ps)
	}
	// Still running: its counter moves, and exec works.
	count := func() int {
		return len(strings.Fields(mustMyctr(t, "exec", name, "cat", "/tmp/ticks")))
	}
	n := count()
	waitFor(t, 20*time.Second, "the counter to move after a refused pause", func() bool { return count() > n })
	if out := mustMyctr(t, "ps", "-a", "--filter", "status=paused", "--format", "{{.Names}}"); strings.Contains(out, name) {
		t.Errorf("ps --filter status=paused lists %s: %q", name, out)
	}
	if out, errOut, code := myctr(t, "unpause", name); code != 125 || out != "" ||
		!strings.Contains(errOut, `Error: "`+id+`" is not paused, can't unpause: container state improper`) {
		t.Errorf("unpause of a running container: exit %d, %q, %q", code, out, errOut)
	}
	if out, errOut, code := myctr(t, "pause", "it-no-such-container"); code != 125 || out != "" ||
		!strings.Contains(errOut, `Error: no container with name or ID "it-no-such-container" found: no such container`) {
		t.Errorf("pause of no container: exit %d, %q, %q", code, out, errOut)
	}
	if out, errOut, code := myctr(t, "container", "unpause", "it-no-such-container"); code != 125 ||
		!strings.Contains(errOut, `Error: no container with name or ID "it-no-such-container" found: no such container`) {
		t.Errorf("container unpause of no container: exit %d, %q, %q", code, out, errOut)
	}
}

// TestPauseNotRunning: pause of a created or exited container, and
// unpause of one that is not paused, are refused in Podman's words.
func TestPauseNotRunning(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	id := strings.TrimSpace(mustMyctr(t, "create", "--name", name, "--network", "none", image, "true"))
	for _, tc := range []struct {
		verb, want string
	}{
		{"pause", `Error: "created" is not running, can't pause: container state improper`},
		{"unpause", `Error: "` + id + `" is not paused, can't unpause: container state improper`},
	} {
		if out, errOut, code := myctr(t, tc.verb, name); code != 125 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s of a created container: exit %d, %q, %q; want 125 and %q", tc.verb, code, out, errOut, tc.want)
		}
	}
	mustMyctr(t, "start", name)
	waitState(t, name, "exited", 30*time.Second)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", name}, `Error: "exited" is not running, can't pause: container state improper`},
		{[]string{"container", "pause", name}, `Error: "exited" is not running, can't pause: container state improper`},
		{[]string{"unpause", name}, `Error: "` + id + `" is not paused, can't unpause: container state improper`},
	} {
		if out, errOut, code := myctr(t, tc.args...); code != 125 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s of an exited container: exit %d, %q, %q; want 125 and %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
		}
	}
	if got := inspect(t, name); got.State.Status != "exited" || got.State.Paused {
		t.Errorf("after the refusals: status %q paused %v", got.State.Status, got.State.Paused)
	}
}

// TestAPIPause: POST /containers/{id}/pause and /unpause answer as Docker
// does: 404 for no such container, 409 for one that is not running or not
// paused, and, for a running container without a cgroup of its own (this
// host), an error saying why; the container runs on.
func TestAPIPause(t *testing.T) {
	a := startAPIService(t)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", a.sock)
	}}}
	post := func(path string) (int, string) {
		resp, err := hc.Post("http://d/v1.41"+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var msg struct{ Message string }
		if len(body) > 0 && json.Unmarshal(body, &msg) != nil {
			t.Errorf("POST %s: body %q is not Docker's error body", path, body)
		}
		return resp.StatusCode, msg.Message
	}
	running := ctrName(t, "running")
	runDetached(t, running, []string{"--network", "none"}, "sleep", "600")
	stopped := ctrName(t, "stopped")
	mustMyctr(t, "create", "--name", stopped, "--network", "none", image, "true")
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/containers/it-no-such-container/pause", 404, "No such container"},
		{"/containers/it-no-such-container/unpause", 404, "No such container"},
		{"/containers/" + stopped + "/pause", 409, "is not running, can't pause"},
		{"/containers/" + stopped + "/unpause", 409, "is not paused, can't unpause"},
		{"/containers/" + running + "/unpause", 409, "is not paused, can't unpause"},
	} {
		if code, msg := post(tc.path); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("POST %s: %d %q, want %d with %q", tc.path, code, msg, tc.code, tc.want)
		}
	}
	if inspect(t, running).State.CgroupPath == "" {
		if code, msg := post("/containers/" + running + "/pause"); code != 500 || !strings.Contains(msg, "no cgroup of its own") {
			t.Errorf("POST pause of a container without a cgroup: %d %q, want 500 saying why", code, msg)
		}
		if _, errOut, code := a.docker(t, time.Minute, "pause", running); code == 0 || !strings.Contains(errOut, "no cgroup of its own") {
			t.Errorf("docker pause of a container without a cgroup: exit %d, %q", code, errOut)
		}
	}
	if _, errOut, code := a.docker(t, time.Minute, "unpause", stopped); code == 0 || !strings.Contains(errOut, "is not paused") {
		t.Errorf("docker unpause of a created container: exit %d, %q", code, errOut)
	}
	if got := inspect(t, running); got.State.Status != "running" || got.State.Paused {
		t.Errorf("after the refusals: status %q paused %v", got.State.Status, got.State.Paused)
	}
}

// TestPodPauseNoCgroup: pod pause leaves alone what it cannot act on, as
// Podman's: a pod with nothing running is paused without error, and pod
// unpause of a pod with nothing paused too. Where its running containers
// have no cgroup of their own, pod pause fails with the fix, and they run
// on. The VM tier tests the freezing itself (TestPodPause).
func TestPodPauseNoCgroup(t *testing.T) {
	t.Parallel()
	pn := podName(t, "pause")
	id := podCreate(t, pn, "--network", "none")
	for _, verb := range []string{"pause", "unpause"} {
		if out, errOut, code := myctr(t, "pod", verb, pn); code != 0 || strings.TrimSpace(out) != id {
			t.Errorf("pod %s of a pod with nothing running: exit %d, stdout %q, stderr %q; want 0 and the pod's id", verb, code, out, errOut)
		}
	}
	if out, errOut, code := myctr(t, "pod", "pause", "it-no-such-pod"); code != 125 || out != "" ||
		!strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, "Hint: myctr pod ps lists your pods") {
		t.Errorf("pod pause of no pod: exit %d, %q, %q", code, out, errOut)
	}

	m := ctrName(t, "m")
	runDetached(t, m, []string{"--pod", pn}, "sleep", "300")
	if in := inspect(t, m); in.State.CgroupPath != "" {
		t.Skipf("the container has a cgroup of its own here (%s): the rest is for hosts that give none (the VM tier tests pod pause itself)", in.State.CgroupPath)
	}
	out, errOut, code := myctr(t, "pod", "pause", pn)
	if code != 125 || out != "" || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, m+": cannot pause: the container has no cgroup of its own") ||
		!strings.Contains(errOut, "Hint: ") || !strings.Contains(errOut, "systemd user manager") {
		t.Errorf("pod pause without cgroups: exit %d\nstdout: %q\nstderr: %s\nwant 125, Error: and Hint:", code, out, errOut)
	}
	if in := inspect(t, m); in.State.Status != "running" || in.State.Paused {
		t.Errorf("the member after a refused pod pause: %+v", in.State)
	}
	if st := podInspect(t, pn).State; st != "Running" {
		t.Errorf("pod inspect State after a refused pod pause: %q, want Running", st)
	}
	if out, errOut, code := myctr(t, "pod", "unpause", pn); code != 0 || strings.TrimSpace(out) != id {
		t.Errorf("pod unpause of a pod with nothing paused: exit %d, %q, %q", code, out, errOut)
	}
}
