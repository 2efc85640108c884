//go:build ociroot

package ociroot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// inCgroup2 runs myctr-runtime with args in a private mount namespace
// whose /sys/fs/cgroup is the host's cgroup v2 hierarchy (on this hybrid
// host the v1 hierarchies are there: they are neither touched nor seen).
func inCgroup2(t *testing.T, args ...string) (string, int) {
	t.Helper()
	script := `mount -t cgroup2 none /sys/fs/cgroup && exec "$@"`
	return run(t, time.Minute, "unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", runtime}, args...)...)
}

// rootBundle makes a bundle for root from the busybox rootfs: args, no
// terminal, then edit.
func rootBundle(t *testing.T, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	setup, _ := filepath.Abs("../setup/busybox-rootfs.sh")
	tarball := filepath.Join(t.TempDir(), "bb.tar")
	if out, code := run(t, time.Minute, setup, tarball); code != 0 {
		t.Fatalf("busybox-rootfs.sh: %s", out)
	}
	if out, code := run(t, time.Minute, "tar", "-xf", tarball, "-C", rootfs); code != 0 {
		t.Fatalf("tar: %s", out)
	}
	if out, code := run(t, time.Minute, runtime, "spec", "--bundle", bundle); code != 0 {
		t.Fatalf("spec: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal, spec.Process.Args = false, args
	if edit != nil {
		edit(&spec)
	}
	if b, err = json.Marshal(&spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// TestRuntimeCgroup: with a cgroup v2 hierarchy, the container gets the
// cgroup its cgroupsPath names, its processes in it; pause freezes it
// (state "paused"), resume thaws it, delete removes it. A limit whose
// controller the hierarchy lacks (none here: they are bound to v1) fails
// the create, naming it, and leaves nothing.
func TestRuntimeCgroup(t *testing.T) {
	name := fmt.Sprintf("myctr-ociroot-%d", os.Getpid())
	host := "/sys/fs/cgroup/unified/" + name
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err != nil {
		host = "/sys/fs/cgroup/" + name // a unified host
	}
	t.Cleanup(func() { os.Remove(host) })
	bundle := rootBundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) { s.Linux.CgroupsPath = "/" + name })
	state := t.TempDir()
	if out, code := inCgroup2(t, "--root", state, "run", "-d", "--bundle", bundle, "cg1"); code != 0 {
		t.Fatalf("run -d: %s", out)
	}
	t.Cleanup(func() { inCgroup2(t, "--root", state, "delete", "--force", "cg1") })
	out, code := run(t, time.Minute, runtime, "--root", state, "state", "cg1")
	var st specs.State
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("state: %s", out)
	}
	procs, _ := os.ReadFile(filepath.Join(host, "cgroup.procs"))
	if strings.TrimSpace(string(procs)) != fmt.Sprint(st.Pid) {
		t.Fatalf("%s/cgroup.procs holds %q, want the init %d", host, procs, st.Pid)
	}
	// An exec'd process runs in the container's cgroup, as runc's does.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	if out, code := inCgroup2(t, "--root", state, "exec", "-d", "--pid-file", pidFile, "cg1", "sleep", "1000"); code != 0 {
		t.Fatalf("exec -d: %s", out)
	}
	b, _ := os.ReadFile(pidFile)
	procs, _ = os.ReadFile(filepath.Join(host, "cgroup.procs"))
	if pid := strings.TrimSpace(string(b)); pid == "" || !slices.Contains(strings.Fields(string(procs)), pid) {
		t.Fatalf("the exec stage %q is not in %s/cgroup.procs: %q", pid, host, procs)
	}
	if out, code := inCgroup2(t, "--root", state, "pause", "cg1"); code != 0 {
		t.Fatalf("pause: %s", out)
	}
	if out, _ := inCgroup2(t, "--root", state, "state", "cg1"); !strings.Contains(out, `"paused"`) {
		t.Fatalf("after pause: %s", out)
	}
	if ev, _ := os.ReadFile(filepath.Join(host, "cgroup.events")); !strings.Contains(string(ev), "frozen 1") {
		t.Fatalf("cgroup.events after pause: %s", ev)
	}
	if out, code := inCgroup2(t, "--root", state, "pause", "cg1"); code == 0 {
		t.Fatalf("pause of a paused container succeeded: %s", out)
	}
	if out, code := inCgroup2(t, "--root", state, "resume", "cg1"); code != 0 {
		t.Fatalf("resume: %s", out)
	}
	if out, _ := inCgroup2(t, "--root", state, "state", "cg1"); !strings.Contains(out, `"running"`) {
		t.Fatalf("after resume: %s", out)
	}
	if out, code := inCgroup2(t, "--root", state, "delete", "--force", "cg1"); code != 0 {
		t.Fatalf("delete --force: %s", out)
	}
	if _, err := os.Stat(host); !os.IsNotExist(err) {
		t.Fatalf("the container's cgroup %s is left: %v", host, err)
	}
	// No memory controller in this hierarchy: the limit is refused.
	limit := int64(64 << 20)
	limited := rootBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Linux.CgroupsPath = "/" + name
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	})
	out, code = inCgroup2(t, "--root", state, "run", "--bundle", limited, "cg2")
	if code != 1 || !strings.Contains(out, "memory controller") {
		t.Fatalf("run with a memory limit and no memory controller: exit %d, %q", code, out)
	}
	if _, err := os.Stat(host); !os.IsNotExist(err) {
		t.Fatalf("a refused create left the cgroup %s", host)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Fatalf("a refused create left %v", ents)
	}
}

// TestRuntimeSystemdCgroupNoSystemd: --systemd-cgroup where no systemd
// runs (this host: no systemd as PID 1, at most a bare system bus): with
// or without limits, create fails, says that it could not reach the
// system manager and how to go on, and leaves no state and no cgroup.
// The scope itself is tested under real systemd in the VM tier
// (tests/vm, TestRuntimeSystemdCgroup).
func TestRuntimeSystemdCgroupNoSystemd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: this case is for a host without it")
	}
	unit := fmt.Sprintf("myctr-ociroot-%d", os.Getpid())
	limit := int64(64 << 20)
	state := t.TempDir()
	for i, res := range []*specs.LinuxResources{nil, {Memory: &specs.LinuxMemory{Limit: &limit}}} {
		id := fmt.Sprintf("sd%d", i)
		bundle := rootBundle(t, []string{"true"}, func(s *specs.Spec) {
			s.Linux.CgroupsPath = "system.slice:" + unit + ":" + id
			s.Linux.Resources = res
		})
		out, code := inCgroup2(t, "--systemd-cgroup", "--root", state, "run", "--bundle", bundle, id)
		// No bus: connecting fails; a bus without systemd: the call does.
		if code != 1 || !strings.Contains(out, "Error: --systemd-cgroup: ") || !strings.Contains(out, "Hint: --systemd-cgroup asks systemd (PID 1)") {
			t.Errorf("run with --systemd-cgroup and no systemd (limits %v): exit %d, %q; want 1, the manager named, a hint", res != nil, code, out)
		}
		if ents, _ := os.ReadDir(state); len(ents) != 0 {
			t.Errorf("a refused create left %v", ents)
		}
	}
}
