//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// healthOf reads inspect's .State.Health of name.
func healthOf(t *testing.T, name string) (status string, streak int, log []struct {
	ExitCode int
	Output   string
}) {
	t.Helper()
	var h struct {
		Status        string
		FailingStreak int
		Log           []struct {
			ExitCode int
			Output   string
		}
	}
	out, _, code := myctr(t, "inspect", "--format", "{{json .State.Health}}", name)
	if code != 0 || json.Unmarshal([]byte(out), &h) != nil {
		return "", 0, nil
	}
	return h.Status, h.FailingStreak, h.Log
}

// TestHealthcheck: run --health-cmd's check runs on its own every
// --health-interval (myctr-monitor starts it), ps and inspect show what
// it found, healthcheck run runs it at once (exit 0 silent, exit 1 and
// "unhealthy"), --health-retries failures in a row make the container
// unhealthy, and --health-on-failure=kill then kills it. The same with no
// myctr-monitor beside myctr, where myctr's own monitor runs the check.
func TestHealthcheck(t *testing.T) {
	t.Run("myctr-monitor", func(t *testing.T) {
		testHealthcheck(t, "myctr-monitor", func(args ...string) { mustMyctr(t, args...) })
	})
	t.Run("go-monitor", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{"myctr", "myctr-init", "myctr-seccomp"} {
			data, err := os.ReadFile(filepath.Join(filepath.Dir(bin), b))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, b), data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// The container is started by a myctr with no myctr-monitor
		// beside it: its own monitor stage holds the run.
		testHealthcheck(t, "myctr", func(args ...string) {
			cmd := exec.Command(filepath.Join(dir, "myctr"), globalArgs(args)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("myctr (no myctr-monitor) %v: %v\n%s", args, err, out)
			}
		})
	})
}

func testHealthcheck(t *testing.T, monitor string, start func(args ...string)) {
	name := ctrName(t, "health")
	t.Cleanup(func() { myctr(t, "rm", "-f", "-t", "0", name) })
	start("run", "-d", "--name", name, "--network", "none", "--health-cmd", "test ! -e /uh-oh && echo Life is good",
		"--health-interval", "1s", "--health-retries", "2", "--health-on-failure", "kill", image, "sleep", "1000")
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Config.HealthcheckOnFailureAction}} {{json .Config.Healthcheck.Test}}", name)); got != `kill ["CMD-SHELL","test ! -e /uh-oh \u0026\u0026 echo Life is good"]` && got != `kill ["CMD-SHELL","test ! -e /uh-oh && echo Life is good"]` {
		t.Errorf("inspect Config: %s", got)
	}
	pid := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.ConmonPid}}", name))
	if exe, err := os.Readlink("/proc/" + pid + "/exe"); err != nil || filepath.Base(exe) != monitor {
		t.Fatalf("the container's monitor (pid %s) runs %q (%v), want %s", pid, exe, err, monitor)
	}
	// On its own, within a few intervals.
	waitFor(t, 15*time.Second, "the first periodic check", func() bool {
		st, _, log := healthOf(t, name)
		return st == "healthy" && len(log) > 0 && log[len(log)-1].Output == "Life is good"
	})
	if out := mustMyctr(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.Contains(out, "(healthy)") {
		t.Errorf("ps status %q, want (healthy)", out)
	}
	if out := mustMyctr(t, "ps", "--filter", "health=healthy", "--format", "{{.Names}}"); !strings.Contains(out, name) {
		t.Errorf("ps --filter health=healthy: %q, want %s", out, name)
	}
	if out := mustMyctr(t, "ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"); strings.Contains(out, name) {
		t.Errorf("ps --filter health=unhealthy: %q lists the healthy %s", out, name)
	}
	if out, errOut, code := myctr(t, "healthcheck", "run", name); code != 0 || out != "" {
		t.Errorf("healthcheck run of a healthy container: exit %d, %q %q", code, out, errOut)
	}
	mustMyctr(t, "exec", name, "touch", "/uh-oh")
	out, _, code := myctr(t, "healthcheck", "run", name)
	if code != 1 || strings.TrimSpace(out) != "unhealthy" {
		t.Errorf("healthcheck run of a failing check: exit %d, %q; want 1 and unhealthy", code, out)
	}
	// The second failure in a row (this one or the next periodic one)
	// makes it unhealthy, and kill ends it.
	waitFor(t, 15*time.Second, "the kill of the unhealthy container", func() bool {
		st, _, _ := myctr(t, "inspect", "--format", "{{.State.Status}}", name)
		return strings.TrimSpace(st) == "exited"
	})
	st, streak, log := healthOf(t, name)
	if st != "unhealthy" || streak < 2 || len(log) == 0 || log[len(log)-1].ExitCode != 1 {
		t.Errorf("after the failures: %s, streak %d, log %+v", st, streak, log)
	}
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.ExitCode}}", name)); got != "137" {
		t.Errorf("exit code %s, want 137 (killed)", got)
	}
}

// TestHealthcheckRefused: bad --health-* flags are errors that name the
// problem, and healthcheck run of a container without a check says so.
func TestHealthcheckRefused(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--health-on-failure=kill"}, "cannot set on-failure action to kill without a health check"},
		{[]string{"--health-cmd", "true", "--health-on-failure", "reboot"}, "--health-on-failure \"reboot\""},
		{[]string{"--health-cmd", "true", "--health-interval", "soon"}, "--health-interval"},
		{[]string{"--health-cmd", "true", "--health-retries", "0"}, "--health-retries"},
		{[]string{"--health-interval", "5s"}, "need --health-cmd (the image has no HEALTHCHECK)"},
		{[]string{"--health-cmd", `["CMD"]`}, "CMD with no command"},
	} {
		_, errOut, code := myctr(t, append(append([]string{"create"}, tt.args...), image)...)
		if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, tt.want) {
			t.Errorf("create %v: exit %d, %q; want 125 and %q", tt.args, code, errOut, tt.want)
		}
	}
	name := ctrName(t, "nohealth")
	t.Cleanup(func() { myctr(t, "rm", "-f", "-t", "0", name) })
	mustMyctr(t, "run", "-d", "--name", name, "--network", "none", image, "sleep", "1000")
	if _, errOut, code := myctr(t, "healthcheck", "run", name); code != 125 || !strings.Contains(errOut, "no healthcheck") || !strings.Contains(errOut, "Hint: ") {
		t.Errorf("healthcheck run without a check: exit %d, %q", code, errOut)
	}
}

// TestAPIHealthcheck: docker run --health-cmd through the API service
// records the check, and docker inspect and docker ps show its findings.
func TestAPIHealthcheck(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "apihealth")
	t.Cleanup(func() { a.docker(t, time.Minute, "rm", "-f", name) })
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", "--health-cmd", "test -e /ready",
		"--health-interval", "1s", "--health-retries", "1", imageFull, "sleep", "1000")
	waitFor(t, 15*time.Second, "unhealthy", func() bool {
		out, _, _ := a.docker(t, time.Minute, "inspect", "--format", "{{.State.Health.Status}}", name)
		return strings.TrimSpace(out) == "unhealthy"
	})
	a.mustDocker(t, "exec", name, "touch", "/ready")
	waitFor(t, 15*time.Second, "healthy", func() bool {
		out, _, _ := a.docker(t, time.Minute, "inspect", "--format", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", name)
		return strings.TrimSpace(out) == "healthy 0"
	})
	if out := a.mustDocker(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.Contains(out, "(healthy)") {
		t.Errorf("docker ps status %q, want (healthy)", out)
	}
	if out := a.mustDocker(t, "ps", "--filter", "health=healthy", "--format", "{{.Names}}"); !strings.Contains(out, name) {
		t.Errorf("docker ps --filter health=healthy: %q, want %s", out, name)
	}
	if out := a.mustDocker(t, "inspect", "--format", "{{json .Config.Healthcheck}}", name); !strings.Contains(out, `"Interval":1000000000`) || !strings.Contains(out, `"CMD-SHELL"`) {
		t.Errorf("docker inspect Config.Healthcheck: %s", out)
	}
}

// TestHealthcheckFromImage: a HEALTHCHECK built into the image is the
// container's check without any flag; a --health-* flag replaces that one
// field of it, and --no-healthcheck the whole check.
func TestHealthcheckFromImage(t *testing.T) {
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\n" +
		"HEALTHCHECK --interval=1s --retries=5 CMD test -e /ready || exit 1\n"})
	tag := "it-health-image"
	t.Cleanup(func() { myctr(t, "rmi", "-f", tag) })
	mustBuild(t, "-t", tag, ctx)
	// inspect shows it, as Docker (Config.Healthcheck) and Podman
	// (HealthCheck) name it.
	if got := strings.TrimSpace(mustMyctr(t, "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}} {{.HealthCheck.Retries}}", tag)); got != `["CMD-SHELL","test -e /ready || exit 1"] 5` {
		t.Errorf("image inspect: %s", got)
	}

	name := ctrName(t, "imghealth")
	t.Cleanup(func() { myctr(t, "rm", "-f", "-t", "0", name) })
	mustMyctr(t, "run", "-d", "--name", name, "--network", "none", tag, "sleep", "1000")
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}", name)); got != `["CMD-SHELL","test -e /ready || exit 1"] 1s 5` {
		t.Errorf("the image's check: %s", got)
	}
	mustMyctr(t, "exec", name, "touch", "/ready")
	// wait --condition healthy returns once the check has found it so.
	if out, errOut, code := myctrT(t, 20*time.Second, "wait", "--condition", "healthy", name); code != 0 || strings.TrimSpace(out) != "-1" {
		t.Errorf("wait --condition healthy: exit %d, %q %q", code, out, errOut)
	}
	if st, _, _ := healthOf(t, name); st != "healthy" {
		t.Errorf("after wait --condition healthy: %s", st)
	}

	over := ctrName(t, "imghealth-over")
	t.Cleanup(func() { myctr(t, "rm", "-f", "-t", "0", over) })
	mustMyctr(t, "create", "--name", over, "--health-retries", "2", tag)
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}", over)); got != "1s 2" {
		t.Errorf("--health-retries over the image's check: %s, want 1s 2", got)
	}
	none := ctrName(t, "imghealth-none")
	t.Cleanup(func() { myctr(t, "rm", "-f", "-t", "0", none) })
	mustMyctr(t, "create", "--name", none, "--no-healthcheck", tag)
	if got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{if .Config.Healthcheck}}set{{else}}none{{end}}", none)); got != "none" {
		t.Errorf("--no-healthcheck: %s", got)
	}
}

// TestAPIPrivilegedSecurityOpt: docker run --privileged through the API
// is run --privileged (every capability of the user namespace, no seccomp
// filter), and --security-opt no-new-privileges sets the process's flag.
func TestAPIPrivilegedSecurityOpt(t *testing.T) {
	a := startAPIService(t)
	field := func(out, name string) string {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	def := a.mustDocker(t, "run", "--rm", "--network", "none", imageFull, "cat", "/proc/self/status")
	priv := a.mustDocker(t, "run", "--rm", "--network", "none", "--privileged", imageFull, "cat", "/proc/self/status")
	if field(priv, "CapBnd") == field(def, "CapBnd") || field(priv, "Seccomp") != "0" || field(def, "Seccomp") != "2" {
		t.Errorf("--privileged: CapBnd %s (default %s), Seccomp %s (default %s)", field(priv, "CapBnd"), field(def, "CapBnd"), field(priv, "Seccomp"), field(def, "Seccomp"))
	}
	nnp := a.mustDocker(t, "run", "--rm", "--network", "none", "--security-opt", "no-new-privileges", imageFull, "cat", "/proc/self/status")
	if field(nnp, "NoNewPrivs") != "1" {
		t.Errorf("--security-opt no-new-privileges: NoNewPrivs %q", field(nnp, "NoNewPrivs"))
	}
}

// TestHealthKillIsDoneOnReturn: with --health-on-failure kill, the
// healthcheck run that makes the container unhealthy returns only once
// its exit is recorded: the next inspect shows it exited (Podman's suite
// checks at once).
func TestHealthKillIsDoneOnReturn(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "killnow")
	mustMyctr(t, "run", "-d", "--name", name, "--network", "none", "--health-cmd", "test ! -e /uh-oh", "--health-retries", "1",
		"--health-on-failure", "kill", image, "sleep", "1000")
	mustMyctr(t, "exec", name, "touch", "/uh-oh")
	if out, _, code := myctr(t, "healthcheck", "run", name); code != 1 || strings.TrimSpace(out) != "unhealthy" {
		t.Fatalf("healthcheck run of a failing check: exit %d, %q", code, out)
	}
	if st := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); st != "exited 137" {
		t.Errorf("right after the failing run: %q, want exited 137", st)
	}
}
