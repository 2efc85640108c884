//go:build integration

package integration

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// subRange is the current user's first range of /etc/subuid or
// /etc/subgid; the test skips without one.
func subRange(t *testing.T, file string) (start, count uint32) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Skipf("%s: %v", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) != 3 || (p[0] != u.Username && p[0] != u.Uid) {
			continue
		}
		s, err1 := strconv.ParseUint(p[1], 10, 32)
		c, err2 := strconv.ParseUint(p[2], 10, 32)
		if err1 == nil && err2 == nil && c > 0 {
			return uint32(s), uint32(c)
		}
	}
	t.Skipf("%s gives %s no range (tests/setup/user.sh gives the test user one)", file, u.Username)
	return 0, 0
}

// failingMapperPath is a PATH whose newuidmap prints a refusal and exits
// 3, beside the real newgidmap: the init stage's constructor runs both.
func failingMapperPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "newuidmap"), []byte("#!/bin/sh\necho 'newuidmap: refused by the test' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := exec.LookPath("newgidmap")
	if err != nil {
		t.Skip("newgidmap is not installed (tests/setup/deps.sh installs uidmap)")
	}
	if err := os.Symlink(p, filepath.Join(dir, "newgidmap")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMapperFailure: newuidmap, which the init stage's constructor runs
// on the user namespace it makes, fails: run reports the tool's command
// line, exit status and output with the hint for it, exits 125, and
// leaves no container behind.
func TestMapperFailure(t *testing.T) {
	t.Parallel()
	subRange(t, "/etc/subuid")
	dir := failingMapperPath(t)
	name := ctrName(t, "")
	_, errOut, code := myctrEnv(t, []string{"PATH=" + dir}, nil, "run", "--rm", "--name", name, "--network", "none", image, "true")
	for _, want := range []string{"Error: set up the user namespace: newuidmap ", " 0 " + strconv.Itoa(os.Getuid()) + " 1 1 ",
		": exit status 3: newuidmap: refused by the test", "Hint: newuidmap must be setuid root"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 125 {
		t.Errorf("exit %d, want 125", code)
	}
	if out := mustMyctr(t, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, name) {
		t.Errorf("the container is left: %q", out)
	}
}

// TestOCIRuntimeSubordinateMaps: myctr-runtime runs a bundle that maps
// the user's subordinate range (as Podman writes it) with the range
// mapped, newuidmap and newgidmap run by the init stage's constructor;
// with a newuidmap that fails, run reports the tool's report, exits 1
// and leaves nothing in the state root.
func TestOCIRuntimeSubordinateMaps(t *testing.T) {
	t.Parallel()
	us, uc := subRange(t, "/etc/subuid")
	gs, gc := subRange(t, "/etc/subgid")
	bundle := ociBundle(t, []string{"cat", "/proc/self/uid_map", "/proc/self/gid_map"}, func(s *specs.Spec) {
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getuid()), Size: 1}, {ContainerID: 1, HostID: us, Size: uc}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getgid()), Size: 1}, {ContainerID: 1, HostID: gs, Size: gc}}
	})
	state := t.TempDir()
	out, errOut, code := ociRuntime(t, state, nil, "run", "--bundle", bundle, "m1")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	want := []string{"0 " + strconv.Itoa(os.Getuid()) + " 1", "1 " + strconv.FormatUint(uint64(us), 10) + " " + strconv.FormatUint(uint64(uc), 10),
		"0 " + strconv.Itoa(os.Getgid()) + " 1", "1 " + strconv.FormatUint(uint64(gs), 10) + " " + strconv.FormatUint(uint64(gc), 10)}
	if code != 0 || strings.Join(lines, "; ") != strings.Join(want, "; ") {
		t.Fatalf("exit %d, maps %q (%s), want %q", code, lines, errOut, want)
	}

	cmd := exec.Command(runtimeBin(t), "--root", state, "run", "--bundle", bundle, "m2")
	cmd.Env = append(os.Environ(), "PATH="+failingMapperPath(t))
	b, err := cmd.CombinedOutput()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 1 || !strings.Contains(string(b), "set up the user namespace: newuidmap ") ||
		!strings.Contains(string(b), ": exit status 3: newuidmap: refused by the test") {
		t.Errorf("with a failing newuidmap: %v, output %q: want exit 1 and newuidmap's report", err, b)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("the state root keeps %v", ents)
	}
	if pids := procsIn(filepath.Join(bundle, "rootfs")); len(pids) != 0 {
		t.Errorf("processes in the bundle's root: %v", pids)
	}
}
