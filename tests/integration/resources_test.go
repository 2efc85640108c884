//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// resourceCases are every resource flag of run with a valid value, and the
// cgroup v2 controller the error must name.
var resourceCases = []struct{ flag, value, controller string }{
	{"--memory", "64m", "memory"},
	{"--memory-reservation", "32m", "memory"},
	{"--cpus", "0.5", "cpu"},
	{"--cpu-shares", "512", "cpu"},
	{"--cpu-quota", "50000", "cpu"},
	{"--cpu-period", "100000", "cpu"},
	{"--cpuset-cpus", "0", "cpuset"},
	{"--cpuset-mems", "0", "cpuset"},
	{"--pids-limit", "20", "pids"},
	{"--blkio-weight", "100", "io"},
	{"--blkio-weight-device", "/dev/null:100", "io"},
	{"--device-read-bps", "/dev/null:1mb", "io"},
	{"--device-write-bps", "/dev/null:1mb", "io"},
	{"--device-read-iops", "/dev/null:100", "io"},
	{"--device-write-iops", "/dev/null:100", "io"},
}

// hybridHost reports whether this host mounts cgroup v1 beside v2 (the
// test host's layout, see TESTING.md).
func hybridHost() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	return err == nil && strings.Contains(string(b), " /sys/fs/cgroup/unified ")
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		// .rm-ID: an --rm container of an earlier case, whose directory
		// a background reaper is deleting.
		if !strings.HasPrefix(e.Name(), ".rm-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestResourceFlagsRefused: on a host that cannot give a container a
// cgroup v2 of its own (this hybrid host), every resource flag fails with
// exit 125, an Error naming the flag and the missing controller, and a
// Hint with the fix; no container record and no directory is left. A run
// without resource flags still runs.
func TestResourceFlagsRefused(t *testing.T) {
	hybrid := hybridHost()
	for _, c := range resourceCases {
		t.Run(strings.TrimPrefix(c.flag, "--"), func(t *testing.T) {
			before := dirEntries(t, filepath.Join(root, "containers"))
			name := ctrName(t, "res")
			args := []string{"run", "--name", name, c.flag, c.value}
			if c.flag == "--memory-reservation" {
				args = append(args, "--memory", "64m")
			}
			_, errOut, code := myctr(t, append(args, image, "true")...)
			if code != 125 {
				t.Errorf("exit %d, want 125; stderr %q", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "Error: ") || !strings.HasPrefix(lines[1], "Hint: ") {
				t.Fatalf("stderr = %q, want an Error line and a Hint line", errOut)
			}
			flagShown := c.flag
			if c.flag == "--memory-reservation" {
				flagShown = "--memory" // the first flag given names the error
			}
			if !strings.Contains(lines[0], flagShown+" ") || !strings.Contains(lines[0], "the "+c.controller+" controller") {
				t.Errorf("Error %q does not name %s and the %s controller", lines[0], flagShown, c.controller)
			}
			if hybrid {
				if !strings.Contains(lines[0], "hybrid") || !strings.Contains(lines[1], "systemd.unified_cgroup_hierarchy=1") ||
					!strings.Contains(lines[1], "Delegate=cpu cpuset io memory pids") {
					t.Errorf("on this hybrid host: stderr %q, want the hybrid reason and both fixes", errOut)
				}
			}
			for _, p := range psJSON(t, true) {
				for _, n := range p.Names {
					if n == name {
						t.Errorf("ps -a lists %s after a refused run", name)
					}
				}
			}
			if after := dirEntries(t, filepath.Join(root, "containers")); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("containers dir changed: %v -> %v", before, after)
			}
		})
	}

	// A fresh store: the refusal comes before anything is made, so the
	// roots are not even created.
	fresh := filepath.Join(t.TempDir(), "fresh")
	cmd := exec.Command(bin, "--root", filepath.Join(fresh, "root"), "--runroot", filepath.Join(fresh, "run"),
		"run", "--pids-limit", "20", image, "true")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 {
		t.Errorf("fresh store: %v, %s; want exit 125", err, out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("fresh store: %s exists after a refused run (%v)", fresh, err)
	}

	// A bad value is a usage error naming the flag and the value.
	_, errOut, code := myctr(t, "run", "--rm", "--memory", "lots", image, "true")
	if code != 125 || !strings.Contains(errOut, `--memory "lots"`) {
		t.Errorf("--memory lots: exit %d, stderr %q; want 125 naming the flag and value", code, errOut)
	}

	// Without resource flags a container runs as before.
	if out := runOut(t, nil, "echo", "ran"); strings.TrimSpace(out) != "ran" {
		t.Errorf("run without resource flags: %q", out)
	}
}

// TestCgroupFlags: --cgroups, --cgroup-parent, --cgroupns and
// --oom-score-adj, as Podman spells them, on a host where no container
// gets a cgroup of its own (this hybrid host): the combinations that
// cannot work are refused before anything is made, and the ones that can
// run.
func TestCgroupFlags(t *testing.T) {
	refused := []struct {
		args      []string
		err, hint string
	}{
		{[]string{"--cgroups=disabled", "--memory", "64m"}, "--cgroups=disabled cannot go with --memory", "drop"},
		{[]string{"--cgroups=split", "--cgroup-parent", "x.slice"}, "--cgroups=split cannot go with --cgroup-parent", "drop"},
		{[]string{"--cgroups=no-conmon"}, "--cgroups=no-conmon is not supported", "--cgroups=enabled"},
		{[]string{"--cgroups=sometimes"}, `invalid --cgroups "sometimes"`, ""},
		{[]string{"--cgroup-parent", "/sys/fs/cgroup/x"}, "invalid --cgroup-parent", "name a slice"},
		{[]string{"--cgroup-parent", "../evil.slice"}, "invalid --cgroup-parent", "name a slice"},
		{[]string{"--cgroupns", "container:web"}, `--cgroupns "container:web" is not supported`, "--cgroupns=private"},
		{[]string{"--oom-score-adj", "1001"}, "invalid --oom-score-adj 1001", ""},
	}
	if hybridHost() {
		refused = append(refused, struct {
			args      []string
			err, hint string
		}{[]string{"--cgroup-parent", "mine.slice"}, "no systemd user manager can make the container's cgroup here", "without --cgroup-parent"},
			struct {
				args      []string
				err, hint string
			}{[]string{"--cgroups=split"}, "--cgroups=split: it needs cgroup v2 alone, and this host's cgroups are hybrid", "--cgroups=enabled"})
	}
	for _, c := range refused {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			before := dirEntries(t, filepath.Join(root, "containers"))
			_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, c.args...), image, "true")...)
			if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, c.err) {
				t.Errorf("exit %d, stderr %q; want 125 and %q", code, errOut, c.err)
			}
			if c.hint != "" && !strings.Contains(errOut, "\nHint: ") || !strings.Contains(errOut, c.hint) {
				t.Errorf("stderr %q: want a Hint with %q", errOut, c.hint)
			}
			if after := dirEntries(t, filepath.Join(root, "containers")); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("containers dir changed: %v -> %v", before, after)
			}
		})
	}

	// The cgroup namespace is made by the init once it is in the
	// container's cgroup: private, the container sees its cgroup as /.
	// With --cgroupns=host it sees the path the host sees (here, where
	// this test runs).
	if got := v2Line(runOut(t, nil, "cat", "/proc/self/cgroup")); got != "/" {
		t.Errorf("--cgroupns private (default): cgroup v2 path %q, want /", got)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if hostV2 := v2Line(string(own)); hostV2 != "/" {
		if got := v2Line(runOut(t, []string{"--cgroupns=host"}, "cat", "/proc/self/cgroup")); got != hostV2 {
			t.Errorf("--cgroupns=host: cgroup v2 path %q, want the host's %q", got, hostV2)
		}
	}
	if out := strings.TrimSpace(runOut(t, []string{"--cgroups=disabled"}, "echo", "ok")); out != "ok" {
		t.Errorf("--cgroups=disabled: %q", out)
	}

	// oom_score_adj: raising it is anyone's right; lowering it below
	// what the user has is refused with exit 125, not ignored.
	if out := strings.TrimSpace(runOut(t, []string{"--oom-score-adj", "500"}, "cat", "/proc/self/oom_score_adj")); out != "500" {
		t.Errorf("--oom-score-adj 500: oom_score_adj = %q", out)
	}
	_, errOut, code := myctr(t, "run", "--rm", "--oom-score-adj", "-1000", image, "true")
	if code != 125 || !strings.Contains(errOut, "oom_score_adj") {
		t.Errorf("--oom-score-adj -1000 as a user: exit %d, stderr %q; want 125 naming oom_score_adj", code, errOut)
	}
}

// v2Line is the cgroup v2 path in a /proc/PID/cgroup text.
func v2Line(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "0::"); ok {
			return p
		}
	}
	return ""
}

// TestUpdateWithoutCgroup: update needs the container's own cgroup; on
// this host (or with --cgroups=disabled) there is none: exit 125 with an
// Error that says why and a Hint, and the record is unchanged.
func TestUpdateWithoutCgroup(t *testing.T) {
	name := ctrName(t, "upd")
	mustMyctr(t, "run", "-d", "--cgroups=disabled", "--name", name, image, "sleep", "60")
	defer myctr(t, "rm", "-f", name)
	_, errOut, code := myctr(t, "update", "--memory", "128m", name)
	if code != 125 || !strings.Contains(errOut, "no cgroup of its own") || !strings.Contains(errOut, "--cgroups=disabled") || !strings.Contains(errOut, "\nHint: ") {
		t.Errorf("update: exit %d, stderr %q; want 125, why, and a Hint", code, errOut)
	}
	if out := mustMyctr(t, "inspect", "--format", "{{.HostConfig.Memory}}", name); strings.TrimSpace(out) != "0" {
		t.Errorf("HostConfig.Memory after a refused update: %q", out)
	}
	if _, errOut, code := myctr(t, "update", name); code != 125 || !strings.Contains(errOut, "no limit to change") {
		t.Errorf("update without flags: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "update", "--memory", "1m", name); code != 125 || !strings.Contains(errOut, `--memory "1m"`) {
		t.Errorf("update --memory 1m: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := myctr(t, "update", "--memory", "64m", "no-such-ctr"); code != 125 {
		t.Errorf("update of an unknown container: exit %d", code)
	}
}

// TestInfoCgroups: info says where a container's cgroup would come from,
// and on this hybrid host that there is none, and why.
func TestInfoCgroups(t *testing.T) {
	out := mustMyctr(t, "info", "--format", "json")
	var info struct {
		Host struct {
			CgroupVersion, CgroupManager, CgroupSource string
			Rootless                                   bool
		}
		Store struct{ GraphRoot string }
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("info: %v\n%s", err, out)
	}
	if !info.Host.Rootless || info.Store.GraphRoot != root {
		t.Errorf("info: rootless %v, graphRoot %q (want %q)", info.Host.Rootless, info.Store.GraphRoot, root)
	}
	if hybridHost() && (info.Host.CgroupManager != "none" || !strings.Contains(info.Host.CgroupSource, "hybrid") || !strings.HasPrefix(info.Host.CgroupVersion, "v1")) {
		t.Errorf("info on a hybrid host: %+v", info.Host)
	}
	if got := strings.TrimSpace(mustMyctr(t, "info", "-f", "{{.Host.CgroupManager}}")); got != info.Host.CgroupManager {
		t.Errorf("info -f: %q, want %q", got, info.Host.CgroupManager)
	}
}

// TestStatsWithoutCgroup: stats reads a container's own cgroup; on this
// host a running container has none: exit 125, why, and a Hint. Stopped
// containers show no use; bad input is refused.
func TestStatsWithoutCgroup(t *testing.T) {
	name := ctrName(t, "st")
	mustMyctr(t, "run", "-d", "--name", name, image, "sleep", "60")
	defer myctr(t, "rm", "-f", name)
	if !hybridHost() {
		t.Skip("this host gives containers their own cgroups: the VM tier tests stats there (TestStats*)")
	}
	_, errOut, code := myctr(t, "stats", "--no-stream", name)
	if code != 125 || !strings.Contains(errOut, "Error: stats need the container's own cgroup: "+name+" has none") || !strings.Contains(errOut, "\nHint: ") {
		t.Errorf("stats of a running container without a cgroup: exit %d, stderr %q", code, errOut)
	}
	stopped := ctrName(t, "stopped")
	mustMyctr(t, "run", "--name", stopped, image, "true")
	defer myctr(t, "rm", "-f", stopped)
	out := mustMyctr(t, "stats", "--no-stream", "--format", "json", stopped)
	var rows []map[string]string
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0]["name"] != stopped ||
		rows[0]["cpu_percent"] != "--" || rows[0]["mem_usage"] != "-- / --" {
		t.Errorf("stats of a stopped container: %v, %q", err, out)
	}
	if out := mustMyctr(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", stopped); strings.TrimSpace(out) != stopped+" --" {
		t.Errorf("stats --format template: %q", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stats", "--no-stream", "no-such-ctr"}, "no-such-ctr"},
		{[]string{"stats", "--no-stream", "--format", "{{.Nope}}", stopped}, "--format"},
		{[]string{"stats", "--interval", "0", stopped}, "--interval"},
	} {
		if _, errOut, code := myctr(t, c.args...); code != 125 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 125 naming %s", c.args, code, errOut, c.want)
		}
	}
}
