//go:build vm

package vmtest

// myctr pause and unpause in a real delegated cgroup: vmuser's containers
// get a scope of vmuser's own systemd manager, and pause freezes its
// container leaf through cgroup v2's freezer.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pauseInspect struct {
	Id    string
	State struct {
		Status          string
		Running, Paused bool
		Pid             int
		CgroupPath      string
	}
}

func pauseInspectOf(t *testing.T, u *testUser, ref string) pauseInspect {
	t.Helper()
	var all []pauseInspect
	out := u.Must(t, "inspect", ref)
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return all[0]
}

// counted runs a container (own scope, no limits) that appends a line to
// out/c in a directory of u's every 0.1 s, waits for the first lines and
// returns the counter's reader and the container's cgroup directory. The
// run's flags are flags, by default --network none.
func counted(t *testing.T, u *testUser, name string, flags ...string) (count func() int, cg string) {
	t.Helper()
	dir := filepath.Join(u.Home, "pause-"+name)
	if out, err := u.userCommand(time.Minute, "mkdir", "-p", dir); err != nil {
		t.Fatalf("mkdir %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if len(flags) == 0 {
		flags = []string{"--network", "none"}
	}
	u.Must(t, append(append([]string{"run", "-d", "--name", name, "-v", dir + ":/out"}, flags...), image,
		"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >>/out/c; sleep 0.1; done")...)
	t.Cleanup(func() { u.Run(cmdTimeout, "rm", "-f", name) })
	count = func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "c"))
		return len(strings.Fields(string(b)))
	}
	waitFor(t, 2*time.Minute, "the counter to start", func() string {
		if n := count(); n < 3 {
			return fmt.Sprintf("%d lines", n)
		}
		return ""
	})
	in := pauseInspectOf(t, u, name)
	if in.State.CgroupPath == "" {
		t.Fatalf("the container has no cgroup of its own: %+v", in.State)
	}
	return count, "/sys/fs/cgroup" + in.State.CgroupPath
}

// frozenState is the cgroup's cgroup.freeze and the frozen line of its
// cgroup.events.
func frozenState(t *testing.T, cg string) (freeze, frozen string) {
	t.Helper()
	freeze = readCg(t, cg, "cgroup.freeze")
	for _, l := range strings.Split(readCg(t, cg, "cgroup.events"), "\n") {
		if v, ok := strings.CutPrefix(l, "frozen "); ok {
			frozen = v
		}
	}
	return freeze, frozen
}

// stillFor fails unless the counter stays where it is for d.
func stillFor(t *testing.T, count func() int, d time.Duration) {
	t.Helper()
	n := count()
	time.Sleep(d)
	if m := count(); m != n {
		t.Errorf("the counter of a paused container moved from %d to %d in %s", n, m, d)
	}
}

// movesAgain waits for the counter to move past where it is.
func movesAgain(t *testing.T, count func() int, what string) {
	t.Helper()
	n := count()
	waitFor(t, 2*time.Minute, what, func() string {
		if m := count(); m <= n {
			return fmt.Sprintf("still %d", m)
		}
		return ""
	})
}

// gone waits until the container's cgroup cg and its scope are removed.
func gone(t *testing.T, cg string) {
	t.Helper()
	waitFor(t, time.Minute, "the container's cgroup to go", func() string {
		for _, d := range []string{cg, filepath.Dir(cg)} {
			if _, err := os.Stat(d); err == nil {
				return d + " exists"
			}
		}
		return ""
	})
}

// noneFrozen fails if any cgroup of u's manager is left frozen (for when
// none of u's containers is paused).
func noneFrozen(t *testing.T, u *testUser) {
	t.Helper()
	filepath.WalkDir(u.managerCgroup(), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.freeze" {
			if b, _ := os.ReadFile(p); strings.TrimSpace(string(b)) == "1" {
				t.Errorf("%s is left frozen", filepath.Dir(p))
			}
		}
		return nil
	})
}

// TestPauseFreezes: pause freezes the container's cgroup (cgroup.freeze
// 1, cgroup.events frozen 1): its counter stops, ps says Paused, inspect
// paused, exec and start are refused; unpause lets it run again; stop of a
// paused container stops it (thawed for the stop signal, then SIGKILL)
// and leaves no cgroup, frozen or not.
func TestPauseFreezes(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "pause-counter"
	count, cg := counted(t, u, name)

	if out := u.Must(t, "pause", name); out != name+"\n" {
		t.Errorf("pause printed %q, want the name as given", out)
	}
	if freeze, frozen := frozenState(t, cg); freeze != "1" || frozen != "1" {
		t.Errorf("after pause: cgroup.freeze %q, cgroup.events frozen %q; want 1 and 1", freeze, frozen)
	}
	in := pauseInspectOf(t, u, name)
	if in.State.Status != "paused" || !in.State.Paused || in.State.Running {
		t.Errorf("inspect after pause: %+v; want paused, Paused true (Podman's Running false)", in.State)
	}
	if out := strings.TrimSpace(u.Must(t, "ps", "--filter", "name=^"+name+"$", "--format", "{{.Status}}")); out != "Paused" {
		t.Errorf("ps STATUS of a paused container %q, want Paused", out)
	}
	if out := strings.TrimSpace(u.Must(t, "ps", "--filter", "status=paused", "--format", "{{.Names}}")); out != name {
		t.Errorf("ps --filter status=paused: %q, want %s", out, name)
	}
	if out := strings.TrimSpace(u.Must(t, "wait", "--condition", "paused", name)); out != "-1" {
		t.Errorf("wait --condition paused of a paused container: %q", out)
	}
	stillFor(t, count, 1500*time.Millisecond)
	if _, errOut, code := u.Myctr(t, "exec", name, "true"); code != 125 || !strings.Contains(errOut, "is paused") {
		t.Errorf("exec into a paused container: exit %d, %q; want 125 saying it is paused", code, errOut)
	}
	if _, errOut, code := u.Myctr(t, "start", name); code != 125 || !strings.Contains(errOut, "cannot start paused container") {
		t.Errorf("start of a paused container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := u.Myctr(t, "pause", name); code != 125 || !strings.Contains(errOut, "is already paused") {
		t.Errorf("pause of a paused container: exit %d, %q", code, errOut)
	}
	if _, _, code := u.Myctr(t, "top", name); code != 0 {
		t.Errorf("top of a paused container: exit %d", code)
	}
	if _, _, code := u.Myctr(t, "stats", "--no-stream", name); code != 0 {
		t.Errorf("stats of a paused container: exit %d", code)
	}
	stillFor(t, count, 500*time.Millisecond)

	if out := u.Must(t, "unpause", name); out != name+"\n" {
		t.Errorf("unpause printed %q", out)
	}
	if freeze, frozen := frozenState(t, cg); freeze != "0" || frozen != "0" {
		t.Errorf("after unpause: cgroup.freeze %q, frozen %q; want 0 and 0", freeze, frozen)
	}
	if in := pauseInspectOf(t, u, name); in.State.Status != "running" || in.State.Paused || !in.State.Running {
		t.Errorf("inspect after unpause: %+v", in.State)
	}
	movesAgain(t, count, "the counter to move after unpause")
	u.Must(t, "exec", name, "true")

	// Paused again, then stop: sh, the container's PID 1, ignores
	// SIGTERM, so stop thaws it and SIGKILLs it after the timeout.
	u.Must(t, "container", "pause", name)
	u.Must(t, "stop", "-t", "2", name)
	if in := pauseInspectOf(t, u, name); in.State.Status != "exited" || in.State.Paused {
		t.Errorf("inspect after stop of a paused container: %+v", in.State)
	}
	gone(t, cg)
	noneFrozen(t, u)
}

// TestPauseRemoveKillRestart: rm -f and kill of a paused container end it
// (SIGKILL reaches a frozen process) and leave no cgroup; restart runs it
// again, not paused; pause -a and unpause -a take every running and every
// paused container.
func TestPauseRemoveKillRestart(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	_, cgA := counted(t, u, "pause-rm")
	countB, cgB := counted(t, u, "pause-kill")

	out := u.Must(t, "pause", "--all")
	ids := strings.Fields(out)
	if len(ids) != 2 {
		t.Errorf("pause --all printed %q, want the two ids", out)
	}
	for _, cg := range []string{cgA, cgB} {
		if freeze, frozen := frozenState(t, cg); freeze != "1" || frozen != "1" {
			t.Errorf("after pause --all: %s cgroup.freeze %q, frozen %q", cg, freeze, frozen)
		}
	}
	if out := u.Must(t, "unpause", "-a"); len(strings.Fields(out)) != 2 {
		t.Errorf("unpause -a printed %q", out)
	}
	movesAgain(t, countB, "the counter to move after unpause -a")

	u.Must(t, "pause", "pause-rm", "pause-kill")
	u.Must(t, "rm", "-f", "pause-rm")
	if _, _, code := u.Myctr(t, "container", "exists", "pause-rm"); code != 1 {
		t.Errorf("container exists after rm -f of a paused container: exit %d", code)
	}
	gone(t, cgA)

	u.Must(t, "kill", "pause-kill")
	if out := strings.TrimSpace(u.Must(t, "wait", "pause-kill")); out != "137" {
		t.Errorf("wait after kill of a paused container: %q, want 137", out)
	}
	gone(t, cgB)
	noneFrozen(t, u) // neither is paused any more

	u.Must(t, "start", "pause-kill")
	movesAgain(t, countB, "the counter to move after start")
	u.Must(t, "pause", "pause-kill")
	u.Must(t, "restart", "-t", "1", "pause-kill")
	in := pauseInspectOf(t, u, "pause-kill")
	if in.State.Status != "running" || in.State.Paused || in.State.CgroupPath == "" {
		t.Fatalf("inspect after restart of a paused container: %+v", in.State)
	}
	if freeze, _ := frozenState(t, "/sys/fs/cgroup"+in.State.CgroupPath); freeze != "0" {
		t.Errorf("after restart: cgroup.freeze %q", freeze)
	}
	movesAgain(t, countB, "the counter to move after restart")
}

// TestPauseAPI: POST /containers/{id}/pause and /unpause through the
// socket-activated API service: 204, then inspect says paused (Docker's
// Running and Paused true) and the cgroup is frozen; 409 for a second
// pause and for unpause of a running container; 404 for none.
func TestPauseAPI(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	enableAPISocket(t, u)
	hc := apiClient(apiSocketPath(u))
	const name = "pause-api"
	count, cg := counted(t, u, name)
	if code, b := apiCall(t, hc, "POST", "/containers/"+name+"/pause", nil); code != http.StatusNoContent {
		t.Fatalf("POST pause: %d %s", code, b)
	}
	if freeze, frozen := frozenState(t, cg); freeze != "1" || frozen != "1" {
		t.Errorf("after the API's pause: cgroup.freeze %q, frozen %q", freeze, frozen)
	}
	code, b := apiCall(t, hc, "GET", "/containers/"+name+"/json", nil)
	var in struct {
		State struct {
			Status          string
			Running, Paused bool
		}
	}
	if code != http.StatusOK || json.Unmarshal(b, &in) != nil || in.State.Status != "paused" || !in.State.Running || !in.State.Paused {
		t.Errorf("GET json of a paused container: %d %s", code, b)
	}
	stillFor(t, count, time.Second)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/containers/" + name + "/pause", http.StatusConflict},
		{"/containers/pause-api-none/pause", http.StatusNotFound},
		{"/containers/" + name + "/unpause", http.StatusNoContent},
		{"/containers/" + name + "/unpause", http.StatusConflict},
	} {
		if code, b := apiCall(t, hc, "POST", tc.path, nil); code != tc.code {
			t.Errorf("POST %s: %d %s, want %d", tc.path, code, b, tc.code)
		}
	}
	movesAgain(t, count, "the counter to move after the API's unpause")
}

// TestPodPause: pod pause freezes every running container of the pod, its
// infra container and its members, and pod ps says Paused; a second pod
// pause leaves them as they are, without error (Podman's); pod unpause
// thaws them all, and pod rm -f of a paused pod leaves no cgroup, frozen
// or not.
func TestPodPause(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const pod = "pause-pod"
	id := strings.TrimSpace(u.Must(t, "pod", "create", "--name", pod, "--network", "none"))
	t.Cleanup(func() { u.Run(cmdTimeout, "pod", "rm", "-f", pod) })
	count, cg := counted(t, u, "pause-pod-member", "--pod", pod)
	in := struct {
		State            string
		InfraContainerID string
	}{}
	if err := json.Unmarshal([]byte(u.Must(t, "pod", "inspect", pod)), &in); err != nil || in.InfraContainerID == "" {
		t.Fatalf("pod inspect: %v, %+v", err, in)
	}
	infra := pauseInspectOf(t, u, in.InfraContainerID)
	if infra.State.Status != "running" || infra.State.CgroupPath == "" {
		t.Fatalf("the pod's infra container: %+v; want running, in a cgroup of its own", infra.State)
	}
	infraCg := "/sys/fs/cgroup" + infra.State.CgroupPath
	podStatus := func() string {
		return strings.TrimSpace(u.Must(t, "pod", "ps", "--filter", "name=^"+pod+"$", "--format", "{{.Status}}"))
	}

	for i := 0; i < 2; i++ {
		if out := strings.TrimSpace(u.Must(t, "pod", "pause", pod)); out != id {
			t.Errorf("pod pause printed %q, want the pod's id %s", out, id)
		}
		for _, c := range []string{cg, infraCg} {
			if freeze, frozen := frozenState(t, c); freeze != "1" || frozen != "1" {
				t.Errorf("after pod pause: %s: cgroup.freeze %q, frozen %q; want 1 and 1", c, freeze, frozen)
			}
		}
		if st := podStatus(); st != "Paused" {
			t.Errorf("pod ps STATUS after pod pause: %q, want Paused", st)
		}
		if m := pauseInspectOf(t, u, "pause-pod-member"); m.State.Status != "paused" {
			t.Errorf("the member after pod pause: %+v", m.State)
		}
	}
	stillFor(t, count, 1500*time.Millisecond)

	for i := 0; i < 2; i++ {
		if out := strings.TrimSpace(u.Must(t, "pod", "unpause", pod)); out != id {
			t.Errorf("pod unpause printed %q, want the pod's id", out)
		}
		for _, c := range []string{cg, infraCg} {
			if freeze, frozen := frozenState(t, c); freeze != "0" || frozen != "0" {
				t.Errorf("after pod unpause: %s: cgroup.freeze %q, frozen %q; want 0 and 0", c, freeze, frozen)
			}
		}
		if st := podStatus(); st != "Running" {
			t.Errorf("pod ps STATUS after pod unpause: %q, want Running", st)
		}
	}
	movesAgain(t, count, "the counter to move after pod unpause")

	u.Must(t, "pod", "pause", pod)
	u.Must(t, "pod", "rm", "-f", pod)
	gone(t, cg)
	gone(t, infraCg)
	noneFrozen(t, u)
}
