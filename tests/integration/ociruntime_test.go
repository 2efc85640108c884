//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runtimeBin is myctr-runtime, built beside myctr.
func runtimeBin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(bin), "myctr-runtime")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("myctr-runtime is not built beside myctr (make build): %v", err)
	}
	return p
}

// ociRuntime runs myctr-runtime with its state under stateDir and returns
// stdout, stderr and the exit code.
func ociRuntime(t *testing.T, stateDir string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin(t), append([]string{"--root", stateDir}, args...)...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	// Files, not pipes: a created container's process keeps the
	// runtime's stdio, which would hold a pipe open past the runtime's
	// exit.
	dir := t.TempDir()
	var files [2]*os.File
	for i := range files {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("myctr-runtime %s: %v", strings.Join(args, " "), err)
	}
	out, _ := os.ReadFile(files[0].Name())
	errOut, _ := os.ReadFile(files[1].Name())
	t.Logf("myctr-runtime %s -> exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	return string(out), string(errOut), code
}

// ociBundle makes a bundle: a root directory with the host's static
// busybox and its applets, and the config.json `myctr-runtime spec
// --rootless` writes, with the process args, no terminal and a writable
// root, then changed by edit.
func ociBundle(t *testing.T, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(hostBusybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "echo", "cat", "sleep", "id", "hostname", "touch", "ls", "true", "grep", "tty", "stty"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if _, errOut, code := ociRuntime(t, t.TempDir(), nil, "spec", "--rootless", "--bundle", dir); code != 0 {
		t.Fatalf("spec --rootless: exit %d: %s", code, errOut)
	}
	var spec specs.Spec
	readJSON(t, filepath.Join(dir, "config.json"), &spec)
	spec.Process.Args, spec.Process.Terminal, spec.Root.Readonly = args, false, false
	if edit != nil {
		edit(&spec)
	}
	out, err := json.Marshal(&spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

func ociState(t *testing.T, stateDir, id string) specs.State {
	t.Helper()
	out, errOut, code := ociRuntime(t, stateDir, nil, "state", id)
	if code != 0 {
		t.Fatalf("state %s: exit %d: %s", id, code, errOut)
	}
	var st specs.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("state %s: %v\n%s", id, err, out)
	}
	return st
}

// TestOCIRuntimeRun: `run` runs the bundle's process in its own user
// namespace (the caller's ids mapped to root), passes its output and exit
// code through, and leaves no state behind.
func TestOCIRuntimeRun(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sh", "-c", "echo hello; id -u; hostname; exit 3"}, nil)
	state := t.TempDir()
	out, _, code := ociRuntime(t, state, nil, "run", "--bundle", bundle, "r1")
	if code != 3 {
		t.Fatalf("run: exit %d, want 3", code)
	}
	if out != "hello\n0\nmyctr\n" {
		t.Fatalf("run: output %q, want hello, uid 0 and the spec's hostname", out)
	}
	if list, _, _ := ociRuntime(t, state, nil, "list", "-q"); list != "" {
		t.Fatalf("after run, list shows %q", list)
	}
}

// TestOCIRuntimeLifecycle: create sets everything up without executing the
// process, start executes it, state follows (created, running, stopped),
// kill signals it, a running container is deleted only with --force, and
// the pid file names the init.
func TestOCIRuntimeLifecycle(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sh", "-c", "touch /tmp/started; exec sleep 1000"}, nil)
	state := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pid")
	if _, errOut, code := ociRuntime(t, state, nil, "create", "--bundle", bundle, "--pid-file", pidFile, "c1"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ociRuntime(t, state, nil, "delete", "--force", "c1") })
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	st := ociState(t, state, "c1")
	if st.Status != specs.StateCreated || strconv.Itoa(st.Pid) != string(b) || st.Bundle != bundle || st.ID != "c1" {
		t.Fatalf("after create: state %+v, pid file %q", st, b)
	}
	marker := filepath.Join(bundle, "rootfs/tmp/started")
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the process ran before start")
	}
	if _, errOut, code := ociRuntime(t, state, nil, "create", "--bundle", bundle, "c1"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("a second create of c1: exit %d, %q; want 1 and exists", code, errOut)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "start", "c1"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	waitFor(t, 5*time.Second, "the process to run", func() bool { _, err := os.Stat(marker); return err == nil })
	if run := ociState(t, state, "c1"); run.Status != specs.StateRunning || run.Pid != st.Pid {
		t.Fatalf("after start: %+v, want running with pid %d", run, st.Pid)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "start", "c1"); code != 1 || !strings.Contains(errOut, "running") {
		t.Fatalf("start of a running container: exit %d, %q", code, errOut)
	}
	out, _, code := ociRuntime(t, state, nil, "ps", "--format", "json", "c1")
	var pids []int
	if code != 0 || json.Unmarshal([]byte(out), &pids) != nil || len(pids) != 1 || pids[0] != st.Pid {
		t.Fatalf("ps: exit %d, %q; want [%d]", code, out, st.Pid)
	}
	if list, _, _ := ociRuntime(t, state, nil, "list", "--format", "json"); !strings.Contains(list, `"status":"running"`) && !strings.Contains(list, `"status": "running"`) {
		t.Fatalf("list --format json: %s", list)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "delete", "c1"); code != 1 || !strings.Contains(errOut, "not stopped") {
		t.Fatalf("delete of a running container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "kill", "c1", "KILL"); code != 0 {
		t.Fatalf("kill: exit %d: %s", code, errOut)
	}
	waitFor(t, 5*time.Second, "the container to stop", func() bool { return ociState(t, state, "c1").Status == specs.StateStopped })
	if _, errOut, code := ociRuntime(t, state, nil, "kill", "c1", "TERM"); code != 1 || !strings.Contains(errOut, "not running") {
		t.Fatalf("kill of a stopped container: exit %d, %q", code, errOut)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "delete", "c1"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, errOut)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "state", "c1"); code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("state after delete: exit %d, %q", code, errOut)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Fatalf("the state root keeps %v", ents)
	}
}

// TestOCIRuntimeHooks: prestart and createRuntime hooks run at create,
// poststart at start, poststop at delete, each with the state on its
// stdin; a failing createRuntime hook fails the create and leaves nothing.
func TestOCIRuntimeHooks(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(out, name)}}
	}
	bundle := ociBundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{hook("prestart")}, CreateRuntime: []specs.Hook{hook("createRuntime")},
			Poststart: []specs.Hook{hook("poststart")}, Poststop: []specs.Hook{hook("poststop")}}
	})
	state := t.TempDir()
	if _, errOut, code := ociRuntime(t, state, nil, "run", "--detach", "--bundle", bundle, "h1"); code != 0 {
		t.Fatalf("run --detach: exit %d: %s", code, errOut)
	}
	st := ociState(t, state, "h1")
	ociRuntime(t, state, nil, "delete", "--force", "h1")
	for _, name := range []string{"prestart", "createRuntime", "poststart", "poststop"} {
		var got specs.State
		readJSON(t, filepath.Join(out, name), &got)
		if got.ID != "h1" || got.Bundle != bundle || (name != "poststop" && got.Pid != st.Pid) {
			t.Fatalf("%s hook got state %+v, want id h1, bundle %s, pid %d", name, got, bundle, st.Pid)
		}
	}
	failing := ociBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no way >&2; exit 9"}}}}
	})
	if _, errOut, code := ociRuntime(t, state, nil, "create", "--bundle", failing, "h2"); code != 1 || !strings.Contains(errOut, "no way") {
		t.Fatalf("create with a failing hook: exit %d, %q", code, errOut)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Fatalf("a failed create keeps %v", ents)
	}
}

// TestOCIRuntimeContainerHooks: createContainer hooks run at create, in
// the container's namespaces before pivot_root (a host path resolves),
// startContainer hooks at start, inside the container's root before its
// process; each gets the state on its stdin. A failing createContainer
// hook fails create and leaves nothing; a failing startContainer hook
// stops the container before its process runs.
func TestOCIRuntimeContainerHooks(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	bundle := ociBundle(t, []string{"touch", "/tmp/ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
				"cat > " + filepath.Join(out, "cc") + "; readlink /proc/self/ns/mnt > " + filepath.Join(out, "cc-mnt")}}},
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /tmp/started"}}},
		}
	})
	rootfs := filepath.Join(bundle, "rootfs")
	state := t.TempDir()
	if _, errOut, code := ociRuntime(t, state, nil, "create", "--bundle", bundle, "c1"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ociRuntime(t, state, nil, "delete", "--force", "c1") })
	st := ociState(t, state, "c1")
	var cc specs.State
	readJSON(t, filepath.Join(out, "cc"), &cc)
	if cc.ID != "c1" || cc.Status != specs.StateCreating || cc.Pid != st.Pid || cc.Bundle != bundle {
		t.Fatalf("createContainer hook got %+v, want c1, creating, pid %d, bundle %s", cc, st.Pid, bundle)
	}
	mnt, err := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := os.Readlink("/proc/self/ns/mnt")
	if b, _ := os.ReadFile(filepath.Join(out, "cc-mnt")); strings.TrimSpace(string(b)) != mnt || mnt == own {
		t.Fatalf("createContainer hook ran in mount namespace %q, want the container's %q (ours %q)", b, mnt, own)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "tmp/started")); !os.IsNotExist(err) {
		t.Fatalf("startContainer hook ran before start: %v", err)
	}
	if _, errOut, code := ociRuntime(t, state, nil, "start", "c1"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	waitFor(t, cmdTimeout, "the container to stop", func() bool { return ociState(t, state, "c1").Status == specs.StateStopped })
	var sc specs.State
	readJSON(t, filepath.Join(rootfs, "tmp/started"), &sc)
	if sc.ID != "c1" || sc.Status != specs.StateCreated || sc.Pid != st.Pid {
		t.Fatalf("startContainer hook got %+v, want c1, created, pid %d", sc, st.Pid)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "tmp/ran")); err != nil {
		t.Fatalf("the process did not run after the startContainer hook: %v", err)
	}

	failCreate := ociBundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo not here >&2; exit 9"}}}}
	})
	state2 := t.TempDir()
	if _, errOut, code := ociRuntime(t, state2, nil, "create", "--bundle", failCreate, "c2"); code != 1 || !strings.Contains(errOut, "not here") {
		t.Fatalf("create with a failing createContainer hook: exit %d, %q", code, errOut)
	}
	if ents, _ := os.ReadDir(state2); len(ents) != 0 {
		t.Fatalf("a failed create keeps %v", ents)
	}
	failStart := ociBundle(t, []string{"touch", "/tmp/ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 9"}}}}
	})
	if _, errOut, code := ociRuntime(t, state2, nil, "create", "--bundle", failStart, "c3"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ociRuntime(t, state2, nil, "delete", "--force", "c3") })
	ociRuntime(t, state2, nil, "start", "c3")
	waitFor(t, cmdTimeout, "the container to stop", func() bool { return ociState(t, state2, "c3").Status == specs.StateStopped })
	if _, err := os.Stat(filepath.Join(failStart, "rootfs/tmp/ran")); !os.IsNotExist(err) {
		t.Fatalf("the process ran although its startContainer hook failed: %v", err)
	}
}

// TestOCIRuntimeRunHooks: `run` starts the process without the exec fifo
// of create and start (nothing waits between them): the state directory
// has none while the createRuntime hook runs; the startContainer hook
// still runs inside the container before the process (status created),
// and poststart after it. A failing startContainer hook fails `run`
// before the process runs and leaves nothing.
func TestOCIRuntimeRunHooks(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	state := t.TempDir()
	bundle := ociBundle(t, []string{"sh", "-c", "test -f /tmp/started && touch /tmp/ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			CreateRuntime:  []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "ls " + filepath.Join(state, "r1") + " > " + filepath.Join(out, "ls")}}},
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /tmp/started"}}},
			Poststart:      []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(out, "poststart")}}},
		}
	})
	if _, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", bundle, "r1"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(out, "ls")); err != nil || strings.TrimSpace(string(b)) != "state.json" {
		t.Fatalf("the state directory during run's createRuntime hook: %q (%v), want state.json alone", b, err)
	}
	var sc, ps specs.State
	readJSON(t, filepath.Join(bundle, "rootfs/tmp/started"), &sc)
	if sc.ID != "r1" || sc.Status != specs.StateCreated || sc.Pid == 0 {
		t.Fatalf("startContainer hook got %+v, want r1, created, a pid", sc)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/tmp/ran")); err != nil {
		t.Fatalf("the process did not run after the startContainer hook: %v", err)
	}
	readJSON(t, filepath.Join(out, "poststart"), &ps)
	if ps.ID != "r1" || ps.Pid != sc.Pid {
		t.Fatalf("poststart hook got %+v, want r1 and pid %d", ps, sc.Pid)
	}

	fail := ociBundle(t, []string{"touch", "/tmp/ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo refused >&2; exit 9"}}}}
	})
	if _, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", fail, "r2"); code != 1 || !strings.Contains(errOut, "startContainer hook") {
		t.Fatalf("run with a failing startContainer hook: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(fail, "rootfs/tmp/ran")); !os.IsNotExist(err) {
		t.Fatalf("the process ran although its startContainer hook failed: %v", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Fatalf("after the failed run, the state root holds %v", ents)
	}
}

// TestOCIRuntimeSeccompCache: a bundle's seccomp profile is compiled once
// (by myctr-seccomp) and kept in the runtime root: the filter is in force
// in every container with that profile (mkdir fails with its errno), one
// program is cached for it, another profile adds another, and `list`
// shows no container for the cache. Without myctr-seccomp, a profile is
// an error with its fix.
func TestOCIRuntimeSeccompCache(t *testing.T) {
	t.Parallel()
	profile := func(errno uint) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
		}
	}
	state := t.TempDir()
	cached := func() int {
		ents, _ := os.ReadDir(filepath.Join(state, "seccomp@cache"))
		return len(ents)
	}
	for i, tc := range []struct {
		errno  uint
		want   string
		cached int
	}{
		{1, "Operation not permitted", 1}, {1, "Operation not permitted", 1}, {13, "Permission denied", 2},
	} {
		bundle := ociBundle(t, []string{"busybox", "mkdir", "/tmp/d"}, profile(tc.errno))
		_, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", bundle, fmt.Sprintf("s%d", i))
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Fatalf("run %d: exit %d, %q; want mkdir refused with %q", i, code, errOut, tc.want)
		}
		if n := cached(); n != tc.cached {
			t.Fatalf("after run %d the cache holds %d programs, want %d", i, n, tc.cached)
		}
	}
	if list, _, _ := ociRuntime(t, state, nil, "list", "-q"); list != "" {
		t.Fatalf("list shows %q", list)
	}

	// A copy of myctr-runtime without myctr-seccomp beside it: a profile
	// it has not compiled is an error that says what to install, and
	// leaves nothing; a bundle without one runs.
	lone := t.TempDir()
	for _, name := range []string{"myctr-runtime", "myctr-init"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(bin), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(lone, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	state2 := t.TempDir()
	run := func(bundle, id string) (string, int) {
		cmd := exec.Command(filepath.Join(lone, "myctr-runtime"), "--root", state2, "run", "--bundle", bundle, id)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run(ociBundle(t, []string{"true"}, profile(5)), "n1"); code != 1 ||
		!strings.Contains(out, "Error: linux.seccomp: compiling a seccomp profile needs myctr-seccomp") || !strings.Contains(out, "Hint: install myctr-runtime with make install") {
		t.Fatalf("without myctr-seccomp: exit %d, %q", code, out)
	}
	if ents, _ := os.ReadDir(state2); len(ents) != 0 {
		t.Fatalf("the failed run left %v", ents)
	}
	if out, code := run(ociBundle(t, []string{"true"}, nil), "n2"); code != 0 {
		t.Fatalf("without myctr-seccomp, a bundle without a profile: exit %d, %q", code, out)
	}
}

// TestOCIRuntimeExec: exec runs a process in a running container's
// namespaces, from args or a --process file, with its exit code; one that
// cannot be executed fails as runc's does.
func TestOCIRuntimeExec(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) { s.Hostname = "exechost" })
	state := t.TempDir()
	if _, errOut, code := ociRuntime(t, state, nil, "run", "-d", "--bundle", bundle, "e1"); code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ociRuntime(t, state, nil, "delete", "--force", "e1") })
	out, _, code := ociRuntime(t, state, nil, "exec", "--env", "X=42", "e1", "sh", "-c", "hostname; echo $X; exit 4")
	if code != 4 || out != "exechost\n42\n" {
		t.Fatalf("exec: exit %d, %q; want 4 and the container's hostname", code, out)
	}
	proc := specs.Process{Args: []string{"sh", "-c", "echo from-file; exit 5"}, Cwd: "/tmp", Env: []string{"PATH=/bin"}}
	pf := filepath.Join(t.TempDir(), "process.json")
	b, _ := json.Marshal(&proc)
	if err := os.WriteFile(pf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := ociRuntime(t, state, nil, "exec", "--process", pf, "e1"); code != 5 || out != "from-file\n" {
		t.Fatalf("exec --process: exit %d, %q", code, out)
	}
	// --cap adds to the container's own three (AUDIT_WRITE, KILL,
	// NET_BIND_SERVICE): SYS_ADMIN is bit 21.
	if out, _, code := ociRuntime(t, state, nil, "exec", "--cap", "CAP_SYS_ADMIN", "e1", "grep", "CapEff", "/proc/self/status"); code != 0 || !strings.Contains(out, "0000000020200420") {
		t.Fatalf("exec --cap: exit %d, %q", code, out)
	}
	if out, _, code := ociRuntime(t, state, nil, "exec", "e1", "grep", "CapEff", "/proc/self/status"); code != 0 || !strings.Contains(out, "0000000020000420") {
		t.Fatalf("exec: exit %d, %q", code, out)
	}
	// --preserve-fds 1: the caller's descriptor 3 is the process's 3;
	// without it, the process has no descriptor 3.
	passed := filepath.Join(t.TempDir(), "passed")
	if err := os.WriteFile(passed, []byte("through fd 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, preserve := range []bool{true, false} {
		f, err := os.Open(passed)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"--root", state, "exec", "e1", "sh", "-c", "cat <&3"}
		if preserve {
			args = append(args[:3], append([]string{"--preserve-fds", "1"}, args[3:]...)...)
		}
		cmd := exec.Command(runtimeBin(t), args...)
		cmd.ExtraFiles = []*os.File{f}
		outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = outFile, outFile
		err = cmd.Run()
		f.Close()
		outFile.Close()
		out, _ := os.ReadFile(outFile.Name())
		if preserve && (err != nil || string(out) != "through fd 3\n") {
			t.Fatalf("exec --preserve-fds 1: %v, %q", err, out)
		}
		if !preserve && err == nil {
			t.Fatalf("exec without --preserve-fds read descriptor 3: %q", out)
		}
	}
	// As runc: 255, and a message that callers (Podman) map to 127.
	if _, errOut, code := ociRuntime(t, state, nil, "exec", "e1", "no-such-command"); code != 255 || !strings.Contains(errOut, "executable file not found") {
		t.Fatalf("exec of a missing command: exit %d, %q; want 255", code, errOut)
	}
}

// TestOCIRuntimeRefuses: what myctr-runtime does not do is refused by
// name, with an error and exit 1, before anything is made.
func TestOCIRuntimeRefuses(t *testing.T) {
	t.Parallel()
	limit := int64(64 << 20)
	for name, tc := range map[string]struct {
		edit func(*specs.Spec)
		want string
	}{
		"memory limit": {func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
		}, "memory"},
		"apparmor": {func(s *specs.Spec) { s.Process.ApparmorProfile = "p" }, "AppArmor"},
		"time ns": {func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time"})
		}, `"time"`},
		"rlimit": {func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}} }, "RLIMIT_BOGUS"},
		"capability": {func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
		}, "CAP_TEST"},
	} {
		bundle := ociBundle(t, []string{"true"}, tc.edit)
		state := t.TempDir()
		_, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", bundle, "x")
		if code != 1 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %q; want 1 and an error naming %s", name, code, errOut, tc.want)
		}
		if ents, _ := os.ReadDir(state); len(ents) != 0 {
			t.Errorf("%s: the refused run keeps %v", name, ents)
		}
	}
}

// TestOCIRuntimeKilledCreate: a create killed (SIGKILL) at a random
// point, then `delete --force`, leaves no state, no process and no mount
// of the bundle.
func TestOCIRuntimeKilledCreate(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sleep", "1000"}, nil)
	rootfs := filepath.Join(bundle, "rootfs")
	state := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < 8; i++ {
		id := "k" + strconv.Itoa(i)
		cmd := exec.Command(runtimeBin(t), "--root", state, "create", "--bundle", bundle, id)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if _, errOut, code := ociRuntime(t, state, nil, "delete", "--force", id); code != 0 {
			t.Fatalf("delete --force %s: exit %d: %s", id, code, errOut)
		}
	}
	waitFor(t, 5*time.Second, "no process in the bundle's root", func() bool {
		return len(procsIn(rootfs)) == 0
	})
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Fatalf("the state root keeps %v", ents)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), rootfs) {
		t.Fatalf("a mount of the bundle is left:\n%s", mi)
	}
}

// procsIn lists processes whose root directory is dir.
func procsIn(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if root, err := os.Readlink("/proc/" + e.Name() + "/root"); err == nil && root == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// podmanSession is podman 4.3 with storage of its own (vfs) under one
// temporary directory, kept for the test's commands, and myctr-runtime as
// its OCI runtime.
type podmanSession struct {
	t    *testing.T
	args []string
	dir  string
}

func newPodmanSession(t *testing.T) *podmanSession {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("needs podman (tests/setup/deps.sh installs it): %v", err)
	}
	// podman refuses a run root path longer than 50 characters.
	dir, err := os.MkdirTemp("", "pmrt")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanSession{t: t, dir: dir, args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--runtime", runtimeBin(t), "--events-backend", "file", "--cgroup-manager", "cgroupfs"}}
	t.Cleanup(func() {
		p.run(nil, "rm", "-a", "-f", "-t", "0")
		exec.Command("podman", append(p.args, "unshare", "rm", "-rf", filepath.Join(dir, "root"))...).Run()
		os.RemoveAll(dir)
	})
	if out, code := p.run(nil, "import", filepath.Join(tmpRoot, "bb.tar"), "localhost/bb"); code != 0 {
		t.Fatalf("podman import: exit %d\n%s", code, out)
	}
	return p
}

// run runs podman with the session's storage and returns its combined
// output (less podman's warning about "/" not being a shared mount, which
// this host's set-up gives every rootless podman) and exit code.
func (p *podmanSession) run(stdin []byte, args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append(p.args, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+p.dir)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if !strings.Contains(l, "is not a shared mount") {
			kept = append(kept, l)
		}
	}
	p.t.Logf("podman %s -> exit %d\n%s", strings.Join(args, " "), code, out)
	return strings.Join(kept, ""), code
}

// TestPodmanDrivesRuntime: rootless Podman with `--runtime myctr-runtime`
// (through conmon): run --rm with exit codes, run -d then logs, exec (exit
// codes, a missing command, stdin), stop (the container's own SIGTERM
// handler runs) and rm, a terminal through the console socket (-t, and
// -it with input), and a published port through Podman's own slirp4netns.
func TestPodmanDrivesRuntime(t *testing.T) {
	t.Parallel()
	p := newPodmanSession(t)
	if out, code := p.run(nil, "run", "--rm", "--network", "none", "localhost/bb", "sh", "-c", "echo hi; exit 5"); code != 5 || out != "hi\n" {
		t.Fatalf("run --rm: exit %d, %q; want 5 and hi", code, out)
	}
	if out, code := p.run(nil, "run", "--rm", "localhost/bb", "no-such-command"); code != 127 {
		t.Fatalf("run of a missing command: exit %d, want 127\n%s", code, out)
	}
	script := `echo started; trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done`
	if out, code := p.run(nil, "run", "-d", "--name", "d1", "--network", "none", "localhost/bb", "sh", "-c", script); code != 0 {
		t.Fatalf("run -d: exit %d\n%s", code, out)
	}
	waitFor(t, 10*time.Second, "the container's first line", func() bool {
		out, _ := p.run(nil, "logs", "d1")
		return out == "started\n"
	})
	if out, code := p.run(nil, "exec", "d1", "sh", "-c", "echo in-exec; exit 6"); code != 6 || out != "in-exec\n" {
		t.Fatalf("exec: exit %d, %q", code, out)
	}
	if out, code := p.run(nil, "exec", "d1", "no-such-command"); code != 127 {
		t.Fatalf("exec of a missing command: exit %d, want 127\n%s", code, out)
	}
	if out, code := p.run([]byte("piped\n"), "exec", "-i", "d1", "cat"); code != 0 || out != "piped\n" {
		t.Fatalf("exec -i: exit %d, %q", code, out)
	}
	if out, code := p.run(nil, "stop", "-t", "10", "d1"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if out, _ := p.run(nil, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "d1 Exited (7)") {
		t.Fatalf("after stop: %q, want Exited (7)", out)
	}
	if out, _ := p.run(nil, "logs", "d1"); out != "started\ngot-term\n" {
		t.Fatalf("logs after stop: %q", out)
	}
	if out, code := p.run(nil, "rm", "d1"); code != 0 {
		t.Fatalf("rm: exit %d\n%s", code, out)
	}
	// A terminal: conmon makes the console socket, myctr-runtime sends
	// the pty's master over it.
	if out, code := p.run(nil, "run", "--rm", "-t", "--network", "none", "localhost/bb", "sh", "-c", "tty; exit 2"); code != 2 || !strings.HasPrefix(out, "/dev/pts/") {
		t.Fatalf("run -t: exit %d, %q; want 2 and a pts", code, out)
	}
	// -it: stdin goes through conmon to the pty (podman warns that it
	// is no terminal here, and goes on).
	if out, code := p.run([]byte("echo typed-$((6*7)); exit 3\n"), "run", "--rm", "-it", "--network", "none", "localhost/bb", "sh"); code != 3 || !strings.Contains(out, "typed-42") {
		t.Fatalf("run -it: exit %d, %q; want 3 and the typed command's output", code, out)
	}
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("through podman\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePort(t))
	if out, code := p.run(nil, "run", "-d", "--name", "web", "-p", "127.0.0.1:"+port+":8080", "-v", www+":/www:ro",
		"localhost/bb", "httpd", "-f", "-p", "8080", "-h", "/www"); code != 0 {
		t.Fatalf("run -d -p: exit %d\n%s", code, out)
	}
	if body := httpGet(t, "http://127.0.0.1:"+port+"/"); body != "through podman\n" {
		t.Fatalf("GET through the published port: %q", body)
	}
	if out, code := p.run(nil, "rm", "-f", "-t", "0", "web"); code != 0 {
		t.Fatalf("rm -f: exit %d\n%s", code, out)
	}
}

// TestOCIRuntimeJoinNamespaces: a namespace with a path is joined: a
// second container in the first one's user and UTS namespaces (the
// user namespace's maps are the first one's) sees its hostname.
func TestOCIRuntimeJoinNamespaces(t *testing.T) {
	t.Parallel()
	first := ociBundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) { s.Hostname = "first-host" })
	state := t.TempDir()
	if _, errOut, code := ociRuntime(t, state, nil, "run", "-d", "--bundle", first, "j1"); code != 0 {
		t.Fatalf("run -d: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ociRuntime(t, state, nil, "delete", "--force", "j1") })
	pid := ociState(t, state, "j1").Pid
	second := ociBundle(t, []string{"sh", "-c", "hostname; id -u"}, func(s *specs.Spec) {
		s.Hostname = ""
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.UserNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pid) + "/ns/user"
			case specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + strconv.Itoa(pid) + "/ns/uts"
			}
		}
	})
	if out, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", second, "j2"); code != 0 || out != "first-host\n0\n" {
		t.Fatalf("run in the first one's namespaces: exit %d, %q %s", code, out, errOut)
	}
}

// TestOCIRuntimeRootSpecRootless: a spec written for root (no user
// namespace, `spec` without --rootless) run by the user gets a user
// namespace of its own, as crun gives it: the user's id as root and the
// subordinate range from 1, so a process of another user works.
func TestOCIRuntimeRootSpecRootless(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sh", "-c", "cat /proc/self/uid_map; id -u"}, func(s *specs.Spec) {
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace })
		s.Process.User = specs.User{UID: 1000, GID: 1000}
	})
	out, errOut, code := ociRuntime(t, t.TempDir(), nil, "run", "--bundle", bundle, "rs1")
	f := strings.Fields(out)
	if code != 0 || len(f) != 7 || f[0] != "0" || f[1] != strconv.Itoa(os.Getuid()) || f[2] != "1" || f[3] != "1" || f[6] != "1000" {
		t.Fatalf("run: exit %d, %q %s; want uid_map 0 UID 1, 1 START COUNT, and uid 1000", code, out, errOut)
	}
}

// TestOCIRuntimeTerminal: `run` of a spec with a terminal and no
// --console-socket (runc's foreground run) relays the container's pty to
// its own terminal: the size is passed on, what is typed arrives, and the
// exit code is the process's.
func TestOCIRuntimeTerminal(t *testing.T) {
	t.Parallel()
	bundle := ociBundle(t, []string{"sh"}, func(s *specs.Spec) { s.Process.Terminal = true })
	state := t.TempDir()
	s := startPTYCommand(t, 27, 91, func(ctx context.Context) *exec.Cmd {
		return exec.CommandContext(ctx, runtimeBin(t), "--root", state, "run", "--bundle", bundle, "tt1")
	})
	s.send(`echo "T""TY=$(tty) SIZE=$(stty size)"`)
	m := s.expect(`TTY=(\S+) SIZE=(\d+ \d+)`, 10*time.Second)
	if !strings.HasPrefix(m[1], "/dev/pts/") || m[2] != "27 91" {
		t.Fatalf("in the container: tty %q, size %q; want a pts of 27 91", m[1], m[2])
	}
	s.send("exit 6")
	if code := s.exitCode(); code != 6 {
		t.Fatalf("run: exit %d, want 6\n%s", code, s.out.String())
	}
}
