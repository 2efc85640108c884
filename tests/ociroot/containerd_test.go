//go:build ociroot

// Package ociroot holds the root tier of myctr-runtime: the tests that
// need root on the host, run by tests/setup/run-integration.sh's "oci"
// phase. containerd 1.6 (Debian's) drives myctr-runtime as a node would,
// and a bundle without a user namespace runs as root's containers do.
// Everything lives in a temporary directory: containerd gets its own
// root, state and socket, and a namespace of its own.
package ociroot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Set by TestMain.
var (
	binDir  string // myctr and myctr-runtime
	runtime string // myctr-runtime
	tmp     string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	binDir = os.Getenv("MYCTR_BIN_DIR")
	if binDir == "" || os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "run as root with MYCTR_BIN_DIR set to the built binaries (tests/setup/run-integration.sh does this)")
		return 1
	}
	runtime = filepath.Join(binDir, "myctr-runtime")
	var err error
	if tmp, err = os.MkdirTemp("", "myctr-ociroot-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	return m.Run()
}

// run runs a command with a time limit and returns its combined output
// and exit code.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// Files, not a pipe: a detached container's process keeps what it
	// was given open past its caller's exit.
	f, err := os.CreateTemp(tmp, "out")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	out, _ := os.ReadFile(f.Name())
	t.Logf("%s %s -> exit %d\n%s", name, strings.Join(args, " "), code, out)
	return string(out), code
}

// imageArchive makes an OCI archive of the busybox image with myctr (as
// root, in a store of its own).
func imageArchive(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	setup, _ := filepath.Abs("../setup/busybox-rootfs.sh")
	if out, code := run(t, time.Minute, setup, filepath.Join(dir, "bb.tar")); code != 0 {
		t.Fatalf("busybox-rootfs.sh: %s", out)
	}
	myctr := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}
	if out, code := run(t, time.Minute, filepath.Join(binDir, "myctr"), append(myctr, "import", filepath.Join(dir, "bb.tar"), "localhost/bb:latest")...); code != 0 {
		t.Fatalf("myctr import: %s", out)
	}
	archive := filepath.Join(dir, "bb-oci.tar")
	if out, code := run(t, time.Minute, filepath.Join(binDir, "myctr"), append(myctr, "save", "--format", "oci-archive", "-o", archive, "localhost/bb:latest")...); code != 0 {
		t.Fatalf("myctr save: %s", out)
	}
	return archive
}

// TestContainerdDrivesRuntime: containerd's runc shim with
// --runc-binary myctr-runtime: run --rm (output, exit code), a detached
// task with exec (exit code), kill and delete; afterwards no state under
// the runtime's root, no process and no mount of the task is left.
func TestContainerdDrivesRuntime(t *testing.T) {
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Fatalf("needs containerd (tests/setup/deps.sh installs it): %v", err)
	}
	archive := imageArchive(t)
	dir, err := os.MkdirTemp(tmp, "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s", "containerd.sock")
	// The CRI plugin stays away from the hybrid cgroup layout; nothing
	// else of the host's containerd configuration applies.
	config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n"+
		"[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_cgroup = true\n",
		filepath.Join(dir, "r"), filepath.Join(dir, "s"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("containerd's log:\n%s", b)
		}
	})
	ns := fmt.Sprintf("myctr-test-%d", os.Getpid())
	ctr := func(timeout time.Duration, args ...string) (string, int) {
		return run(t, timeout, "ctr", append([]string{"--address", sock, "--namespace", ns}, args...)...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, code := ctr(10*time.Second, "version"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not answer")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, code := ctr(time.Minute, "image", "import", "--base-name", "localhost/bb", archive); code != 0 {
		t.Fatalf("ctr image import: %s", out)
	}
	img := "localhost/bb:latest"
	if out, code := ctr(time.Minute, "run", "--runc-binary", runtime, "--rm", img, "r1", "sh", "-c", "echo hi from containerd; id -u; exit 3"); code != 3 || out != "hi from containerd\n0\n" {
		t.Fatalf("ctr run --rm: exit %d, %q; want 3, the output and uid 0", code, out)
	}
	if out, code := ctr(time.Minute, "run", "-d", "--runc-binary", runtime, img, "d1", "sleep", "1000"); code != 0 {
		t.Fatalf("ctr run -d: exit %d: %s", code, out)
	}
	out, _ := ctr(time.Minute, "task", "ls")
	if !strings.Contains(out, "RUNNING") {
		t.Fatalf("task ls: %q, want d1 running", out)
	}
	var pid int
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "d1" {
			fmt.Sscan(f[1], &pid)
		}
	}
	if out, code := ctr(time.Minute, "task", "exec", "--exec-id", "e1", "d1", "sh", "-c", "echo in exec; exit 4"); code != 4 || out != "in exec\n" {
		t.Fatalf("task exec: exit %d, %q; want 4", code, out)
	}
	if out, code := ctr(time.Minute, "task", "kill", "-s", "SIGKILL", "d1"); code != 0 {
		t.Fatalf("task kill: %s", out)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _ := ctr(time.Minute, "task", "ls")
		if strings.Contains(out, "STOPPED") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("d1 did not stop: %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, code := ctr(time.Minute, "task", "delete", "d1"); code != 0 {
		t.Fatalf("task delete: %s", out)
	}
	if out, code := ctr(time.Minute, "container", "delete", "d1"); code != 0 {
		t.Fatalf("container delete: %s", out)
	}
	// The shim gives the runtime --root /run/containerd/runc/NAMESPACE.
	stateRoot := filepath.Join("/run/containerd/runc", ns)
	if ents, _ := os.ReadDir(stateRoot); len(ents) != 0 {
		t.Fatalf("the runtime's root %s keeps %v", stateRoot, ents)
	}
	os.Remove(stateRoot)
	if pid > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Fatalf("d1's process %d is still there", pid)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), filepath.Join(dir, "s")) && strings.Contains(string(mi), "d1") {
		t.Fatalf("a mount of d1 is left:\n%s", mi)
	}
}

// TestRootBundleWithoutUserNamespace: as root, a spec with no user
// namespace (runc's default `spec`) runs as the host's root, with the
// spec's capabilities only.
func TestRootBundleWithoutUserNamespace(t *testing.T) {
	bundle := rootBundle(t, []string{"sh", "-c", "cat /proc/self/uid_map; grep CapEff /proc/self/status; exit 6"}, nil)
	out, code := run(t, time.Minute, runtime, "--root", t.TempDir(), "run", "--bundle", bundle, "root1")
	// The host's whole map; AUDIT_WRITE, KILL and NET_BIND_SERVICE.
	if code != 6 || !strings.Contains(out, "4294967295") || !strings.Contains(out, "CapEff:\t0000000020000420") {
		t.Fatalf("run: exit %d, %q; want 6, the host's uid_map and three capabilities", code, out)
	}
}
