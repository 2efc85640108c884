//go:build vm

package vmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/tests/helperprobe"
)

// TestRuntimeCgroupLimits: myctr-runtime as root on a cgroup v2 host with
// its controllers (systemd's): the cgroupsPath it is given holds the
// container with the spec's memory and pids limits, update changes them,
// pause freezes it, and delete removes the cgroup.
func TestRuntimeCgroupLimits(t *testing.T) {
	begin(t)
	const rt = "/usr/bin/myctr-runtime"
	mem, pids := int64(64<<20), int64(20)
	bundle := runtimeBundle(t, nil, func(spec *specs.Spec) {
		spec.Linux.CgroupsPath = "/myctr-vm-runtime/c1"
		spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}, Pids: &specs.LinuxPids{Limit: &pids}}
	})
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

// runtimeBundle makes a bundle of the busybox rootfs for myctr-runtime,
// whose config.json is `spec`'s (`spec --rootless` for a user u, whose
// bundle it is) running sleep 1000 without a terminal, then edit's.
func runtimeBundle(t *testing.T, u *testUser, edit func(*specs.Spec)) string {
	t.Helper()
	// Not t.TempDir(), which only root may enter.
	bundle, err := os.MkdirTemp("/var/tmp", "myctr-vm-bundle-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bundle) })
	if err := os.Chmod(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := command(time.Minute, "tar", "-xf", os.Getenv("MYCTR_VM_BB_TAR"), "-C", rootfs); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	args := []string{"spec", "--bundle", bundle}
	if u != nil {
		args = append(args, "--rootless")
		if out, err := command(time.Minute, "chown", "-R", fmt.Sprintf("%d:%d", u.UID, u.GID), bundle); err != nil {
			t.Fatalf("chown: %v\n%s", err, out)
		}
	}
	if out, code := runtimeAs(t, u, args...); code != 0 {
		t.Fatalf("spec: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal, spec.Process.Args = false, []string{"sleep", "1000"}
	edit(&spec)
	if b, err = json.Marshal(&spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// runtimeAs runs /usr/bin/myctr-runtime as root (u nil) or as u, and
// returns its output (stdout and stderr) and exit code. Its output goes
// to a file: a detached container keeps the runtime's stdio, and would
// hold a pipe open.
func runtimeAs(t *testing.T, u *testUser, args ...string) (string, int) {
	t.Helper()
	f, err := os.CreateTemp("", "myctr-vm-runtime-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/myctr-runtime", args...)
	if u != nil {
		cmd = u.Command(ctx, "/usr/bin/myctr-runtime", args...)
	}
	cmd.Stdout, cmd.Stderr = f, f
	start := time.Now()
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("myctr-runtime %s: %v", strings.Join(args, " "), err)
	}
	b, _ := os.ReadFile(f.Name())
	who := "root"
	if u != nil {
		who = u.Name
	}
	t.Logf("%s: myctr-runtime %s -> exit %d (%s)\n%s", who, strings.Join(args, " "), code, time.Since(start).Round(10*time.Millisecond), b)
	return string(b), code
}

// runtimeMust is runtimeAs, failing the test unless it exits 0.
func runtimeMust(t *testing.T, u *testUser, args ...string) string {
	t.Helper()
	out, code := runtimeAs(t, u, args...)
	if code != 0 {
		t.Fatalf("myctr-runtime %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// runtimeState is the container's state as `state` prints it.
func runtimeState(t *testing.T, u *testUser, root, id string) specs.State {
	t.Helper()
	var st specs.State
	if out := runtimeMust(t, u, "--root", root, "state", id); json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("state %s: %q", id, out)
	}
	return st
}

// systemctlAs runs systemctl as root (u nil: the system manager) or as u
// (--user: u's manager) and returns its output and exit code.
func systemctlAs(t *testing.T, u *testUser, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	if u != nil {
		cmd = u.Command(ctx, "systemctl", append([]string{"--user"}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("systemctl %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), code
}

// checkSystemdScope runs a container with memory and pids limits through
// --systemd-cgroup, as root (u nil) or as u, and checks what systemd and
// the kernel hold at each step: the init in the scope cgroup (the unit,
// active), the limits there, the limits kept over a daemon-reload (which
// makes systemd write its units' cgroup files again), update, pause and
// resume, and after delete --force no unit and no cgroup.
func checkSystemdScope(t *testing.T, u *testUser, root, id, cgroupsPath, unit, cg string) {
	mem, pids := int64(64<<20), int64(20)
	bundle := runtimeBundle(t, u, func(spec *specs.Spec) {
		spec.Linux.CgroupsPath = cgroupsPath
		spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}, Pids: &specs.LinuxPids{Limit: &pids}}
	})
	dir := "/sys/fs/cgroup" + cg
	t.Cleanup(func() {
		runtimeAs(t, u, "--root", root, "delete", "--force", id)
		systemctlAs(t, u, "stop", unit)
	})
	runtimeMust(t, u, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", bundle, id)
	st := runtimeState(t, u, root, id)
	if st.Status != "running" || st.Pid <= 0 {
		t.Fatalf("state after run -d: %+v", st)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.Pid)); err != nil || strings.TrimSpace(string(b)) != "0::"+cg {
		t.Fatalf("the init %d is in %q (%v), want 0::%s", st.Pid, strings.TrimSpace(string(b)), err, cg)
	}
	if out, _ := systemctlAs(t, u, "is-active", unit); out != "active" {
		t.Errorf("systemctl is-active %s: %q, want active", unit, out)
	}
	out, _ := systemctlAs(t, u, "show", "-p", "Delegate", "-p", "ControlGroup", unit)
	if p := helperprobe.Properties(out); p["Delegate"] != "yes" || p["ControlGroup"] != cg {
		t.Errorf("systemctl show %s: %q, want Delegate=yes and its ControlGroup", unit, out)
	}
	if got := readCg(t, dir, "memory.max") + " " + readCg(t, dir, "pids.max"); got != "67108864 20" {
		t.Fatalf("memory.max and pids.max: %q, want 67108864 20", got)
	}
	if u == nil {
		// Any package install reloads systemd, which writes its units'
		// cgroup files again from what it knows of them.
		if out, err := command(time.Minute, "systemctl", "daemon-reload"); err != nil {
			t.Fatalf("daemon-reload: %v\n%s", err, out)
		}
		if got := readCg(t, dir, "memory.max") + " " + readCg(t, dir, "pids.max"); got != "67108864 20" {
			t.Errorf("after systemctl daemon-reload, memory.max and pids.max: %q, want 67108864 20", got)
		}
	}
	if out := runtimeMust(t, u, "--root", root, "ps", id); !strings.Contains(out, strconv.Itoa(st.Pid)) {
		t.Errorf("ps: %q, want the init %d", out, st.Pid)
	}
	runtimeMust(t, u, "--root", root, "update", "--memory", "128m", "--pids-limit", "30", id)
	if got := readCg(t, dir, "memory.max") + " " + readCg(t, dir, "pids.max"); got != "134217728 30" {
		t.Errorf("after update: %q, want 134217728 30", got)
	}
	runtimeMust(t, u, "--root", root, "pause", id)
	if st := runtimeState(t, u, root, id); st.Status != "paused" || readCg(t, dir, "cgroup.freeze") != "1" {
		t.Errorf("after pause: %s, cgroup.freeze %s", st.Status, readCg(t, dir, "cgroup.freeze"))
	}
	runtimeMust(t, u, "--root", root, "resume", id)
	if st := runtimeState(t, u, root, id); st.Status != "running" {
		t.Errorf("after resume: %s", st.Status)
	}
	runtimeMust(t, u, "--root", root, "delete", "--force", id)
	if out, code := systemctlAs(t, u, "status", unit); code != 4 || !strings.Contains(out, "could not be found") {
		t.Errorf("systemctl status %s after delete: exit %d, %q; want 4, not found", unit, code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the scope's cgroup is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, id)); !os.IsNotExist(err) {
		t.Errorf("the state directory is left: %v", err)
	}
}

// TestRuntimeSystemdCgroup: myctr-runtime --systemd-cgroup as root, as
// Podman and containerd's shim call it where systemd runs: the system
// manager makes the scope slice:prefix:name asks for (see
// checkSystemdScope). A second container asking for the same scope is
// refused with a hint, leaving nothing of its own and the first one's
// scope alone; a path not in systemd's form is refused, naming the form.
func TestRuntimeSystemdCgroup(t *testing.T) {
	begin(t)
	root := t.TempDir()
	checkSystemdScope(t, nil, root, "c2", "system.slice:myctr-vm:c2", "myctr-vm-c2.scope", "/system.slice/myctr-vm-c2.scope")

	keep := runtimeBundle(t, nil, func(spec *specs.Spec) { spec.Linux.CgroupsPath = "system.slice:myctr-vm:held" })
	t.Cleanup(func() { runtimeAs(t, nil, "--root", root, "delete", "--force", "held") })
	runtimeMust(t, nil, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", keep, "held")
	dup := runtimeBundle(t, nil, func(spec *specs.Spec) { spec.Linux.CgroupsPath = "system.slice:myctr-vm:held" })
	if out, code := runtimeAs(t, nil, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", dup, "dup"); code == 0 ||
		!strings.Contains(out, "myctr-vm-held.scope") || !strings.Contains(out, "Hint: ") {
		t.Errorf("a second container for the same scope: exit %d, %q; want an error naming the unit, and a hint", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "dup")); !os.IsNotExist(err) {
		t.Errorf("the refused container's state directory is left: %v", err)
	}
	if out, _ := systemctlAs(t, nil, "is-active", "myctr-vm-held.scope"); out != "active" {
		t.Errorf("the first container's scope after the refusal: %q, want active", out)
	}
	runtimeMust(t, nil, "--root", root, "delete", "--force", "held")

	bad := runtimeBundle(t, nil, func(spec *specs.Spec) { spec.Linux.CgroupsPath = "/myctr-vm-runtime/c3" })
	if out, code := runtimeAs(t, nil, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", bad, "c3"); code == 0 || !strings.Contains(out, "slice:prefix:name") {
		t.Errorf("a cgroupfs path with --systemd-cgroup: exit %d, %q; want the expected form named", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "c3")); !os.IsNotExist(err) {
		t.Errorf("the refused container's state directory is left: %v", err)
	}
}

// TestRuntimeSystemdCgroupUser: myctr-runtime --systemd-cgroup as
// vmuser, whose lingering manager delegates cpu, memory and pids: the
// user's manager makes the scope, in its user.slice for an empty
// cgroupsPath (see checkSystemdScope). Where XDG_RUNTIME_DIR has no
// bus, create fails naming the user's manager, with a hint, and leaves
// no state.
func TestRuntimeSystemdCgroupUser(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	root := filepath.Join(u.RuntimeDir(), "myctr-vm-runtime")
	checkSystemdScope(t, u, root, "u1", "", "myctr-runtime-u1.scope",
		fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service/user.slice/myctr-runtime-u1.scope", u.UID, u.UID))

	noBus, err := os.MkdirTemp("/var/tmp", "myctr-vm-nobus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(noBus) })
	if err := os.Chown(noBus, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	lost := *u.User
	lost.Env = append(append([]string(nil), lost.Env...), "XDG_RUNTIME_DIR="+noBus)
	bundle := runtimeBundle(t, u, func(*specs.Spec) {})
	out, code := runtimeAs(t, &testUser{&lost}, "--root", filepath.Join(noBus, "state"), "--systemd-cgroup", "run", "-d", "--bundle", bundle, "u2")
	if code != 1 || !strings.Contains(out, "Error: --systemd-cgroup: connect to your systemd user manager") || !strings.Contains(out, "Hint: ") {
		t.Errorf("run with no user bus: exit %d, %q; want 1, the user manager named, and a hint", code, out)
	}
	if ents, _ := os.ReadDir(filepath.Join(noBus, "state")); len(ents) != 0 {
		t.Errorf("a refused create left %v", ents)
	}
}

// TestRuntimeSystemdProperties: with --systemd-cgroup, the spec's
// org.systemd.property.NAME annotations set the scope's properties, as
// runc and crun set them: after myctr-runtime's own (Description), NAMESec
// as NAMEUSec in microseconds; a value that does not parse is refused
// naming the annotation, before anything is made.
func TestRuntimeSystemdProperties(t *testing.T) {
	begin(t)
	root := t.TempDir()
	const id, unit = "props", "myctr-vm-props.scope"
	bundle := runtimeBundle(t, nil, func(spec *specs.Spec) {
		spec.Linux.CgroupsPath = "system.slice:myctr-vm:props"
		spec.Annotations = map[string]string{
			"org.systemd.property.Description":    "'set by an annotation'",
			"org.systemd.property.TimeoutStopSec": "uint64 17",
			"org.systemd.property.CPUWeight":      "uint64 42",
		}
	})
	t.Cleanup(func() {
		runtimeAs(t, nil, "--root", root, "delete", "--force", id)
		systemctlAs(t, nil, "stop", unit)
	})
	runtimeMust(t, nil, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", bundle, id)
	out, _ := systemctlAs(t, nil, "show", "-p", "Description", "-p", "TimeoutStopUSec", "-p", "CPUWeight", "-p", "Delegate", unit)
	p := helperprobe.Properties(out)
	if p["Description"] != "set by an annotation" || p["TimeoutStopUSec"] != "17s" || p["CPUWeight"] != "42" || p["Delegate"] != "yes" {
		t.Errorf("systemctl show %s: %q; want the annotations' Description, TimeoutStopUSec=17s and CPUWeight=42, and myctr-runtime's Delegate=yes", unit, out)
	}
	if w := readCg(t, "/sys/fs/cgroup/system.slice/"+unit, "cpu.weight"); w != "42" {
		t.Errorf("the scope's cpu.weight: %q, want 42", w)
	}
	runtimeMust(t, nil, "--root", root, "delete", "--force", id)

	bad := runtimeBundle(t, nil, func(spec *specs.Spec) {
		spec.Linux.CgroupsPath = "system.slice:myctr-vm:badprops"
		spec.Annotations = map[string]string{"org.systemd.property.CPUWeight": "uint64 lots"}
	})
	if out, code := runtimeAs(t, nil, "--root", root, "--systemd-cgroup", "run", "-d", "--bundle", bad, "badprops"); code == 0 ||
		!strings.Contains(out, "annotation org.systemd.property.CPUWeight") {
		t.Errorf("a value that does not parse: exit %d, %q; want an error naming the annotation", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "badprops")); !os.IsNotExist(err) {
		t.Errorf("the refused container's state directory is left: %v", err)
	}
	if out, code := systemctlAs(t, nil, "status", "myctr-vm-badprops.scope"); code != 4 {
		t.Errorf("the refused container's scope: exit %d, %q; want 4, not found", code, out)
	}
}

// TestRuntimeSystemdCgroupPodman: Podman as root with its default
// cgroup manager where systemd runs (systemd: it passes --systemd-cgroup
// and machine.slice:libpod:ID) and myctr-runtime as its OCI runtime: the
// container's memory limit is the memory.max it sees in its own cgroup
// (its cgroup namespace's root), and nothing of it is left after --rm.
// Then the same as vmuser (rootless Podman runs the runtime as root of
// its user namespace, which gets its scope from vmuser's manager).
func TestRuntimeSystemdCgroupPodman(t *testing.T) {
	begin(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is not in the guest (tests/vm/guest-packages lists it): %v", err)
	}
	tarball := os.Getenv("MYCTR_VM_BB_TAR")
	for _, u := range []*testUser{nil, users[allowedUser]} {
		podman := func(args ...string) (string, int) {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "podman", args...)
			who := "root"
			if u != nil {
				cmd, who = u.Command(ctx, "podman", args...), u.Name
			}
			start := time.Now()
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
			}
			t.Logf("%s: podman %s -> exit %d (%s)\n%s", who, strings.Join(args, " "), code, time.Since(start).Round(10*time.Millisecond), out)
			return string(out), code
		}
		if out, code := podman("import", tarball, "localhost/myctr-vm-bb"); code != 0 {
			t.Fatalf("podman import: exit %d\n%s", code, out)
		}
		if out, _ := podman("info", "--format", "{{.Host.CgroupManager}}"); strings.TrimSpace(out) != "systemd" {
			t.Fatalf("podman's cgroup manager: %q, want systemd", out)
		}
		out, code := podman("--runtime", "/usr/bin/myctr-runtime", "run", "--rm", "--network", "none", "--name", "myctr-vm-sd",
			"--memory", "64m", "localhost/myctr-vm-bb", "sh", "-c", "cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup")
		if lines := strings.Fields(out); code != 0 || len(lines) < 2 || lines[len(lines)-2] != "67108864" || lines[len(lines)-1] != "0::/" {
			t.Errorf("podman run --memory 64m: exit %d, %q; want 67108864 and 0::/ (its own cgroup namespace)", code, out)
		}
		if out, _ := podman("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("podman ps -a after run --rm: %q", out)
		}
		pattern := "/sys/fs/cgroup/machine.slice/libpod-*.scope"
		if u != nil {
			pattern = fmt.Sprintf("/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service/user.slice/libpod-*.scope", u.UID, u.UID)
		}
		// conmon's scope (libpod-conmon-ID.scope) ends as conmon exits,
		// which may be just after podman does.
		waitFor(t, time.Minute, "scopes left after run --rm", func() string {
			m, _ := filepath.Glob(pattern)
			return strings.Join(m, " ")
		})
	}
}
