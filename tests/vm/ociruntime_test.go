//go:build vm

package vmtest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRuntimeCgroupLimits: myctr-runtime as root on a cgroup v2 host with
// its controllers (systemd's): the cgroupsPath it is given holds the
// container with the spec's memory and pids limits, update changes them,
// pause freezes it, and delete removes the cgroup.
func TestRuntimeCgroupLimits(t *testing.T) {
	begin(t)
	const rt = "/usr/bin/myctr-runtime"
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := command(time.Minute, "tar", "-xf", os.Getenv("MYCTR_VM_BB_TAR"), "-C", rootfs); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	if out, err := command(time.Minute, rt, "spec", "--bundle", bundle); err != nil {
		t.Fatalf("spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	mem, pids := int64(64<<20), int64(20)
	spec.Process.Terminal, spec.Process.Args = false, []string{"sleep", "1000"}
	spec.Linux.CgroupsPath = "/myctr-vm-runtime/c1"
	spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}, Pids: &specs.LinuxPids{Limit: &pids}}
	if b, err = json.Marshal(&spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	dir := "/sys/fs/cgroup/myctr-vm-runtime/c1"
	t.Cleanup(func() {
		command(time.Minute, rt, "--root", state, "delete", "--force", "c1")
		os.Remove(filepath.Dir(dir))
	})
	// The container keeps the runtime's stdio: a file, not command's
	// pipe, which it would hold open.
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt, "--root", state, "run", "-d", "--bundle", bundle, "c1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("run -d: %v\n%s", err, b)
	}
	if got := readCg(t, dir, "memory.max") + " " + readCg(t, dir, "pids.max"); got != "67108864 20" {
		t.Fatalf("memory.max and pids.max: %q, want 67108864 20", got)
	}
	if procs := strings.Fields(readCg(t, dir, "cgroup.procs")); len(procs) != 1 {
		t.Fatalf("cgroup.procs: %v, want the init alone", procs)
	}
	if out, err := command(time.Minute, rt, "--root", state, "update", "--memory", "128m", "--pids-limit", "30", "c1"); err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if got := readCg(t, dir, "memory.max") + " " + readCg(t, dir, "pids.max"); got != "134217728 30" {
		t.Fatalf("after update: %q, want 134217728 30", got)
	}
	if out, err := command(time.Minute, rt, "--root", state, "pause", "c1"); err != nil {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	if out, _ := command(time.Minute, rt, "--root", state, "state", "c1"); !strings.Contains(out, `"paused"`) {
		t.Fatalf("state after pause: %s", out)
	}
	if out, err := command(time.Minute, rt, "--root", state, "delete", "--force", "c1"); err != nil {
		t.Fatalf("delete --force of a paused container: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the container's cgroup is left: %v", err)
	}
}
