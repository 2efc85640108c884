//go:build vm

package vmtest

// The helper's cgroups beyond TestHelperCgroup and TestHelperCgroupFS
// (resources_test.go): an I/O limit that holds through the helper's scope,
// and the release at a container's end and at rm.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// vdaDev is the guest disk's major:minor.
func vdaDev(t *testing.T) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/vda", &st); err != nil {
		t.Fatalf("the guest's disk: %v", err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
}

// directWrite starts a container NAME with flags and times a 4 MiB
// direct write in it (exec: the write runs in the container's cgroup).
func directWrite(t *testing.T, u *testUser, name string, flags ...string) time.Duration {
	t.Helper()
	args := append([]string{"run", "-d", "--network", "none", "--name", name}, flags...)
	u.Must(t, append(args, image, "sleep", "600")...)
	start := time.Now()
	u.Must(t, "exec", name, "dd", "if=/dev/zero", "of=/var/f", "bs=1M", "count=4", "oflag=direct")
	return time.Since(start)
}

// TestHelperCgroupThrottle: vmuser's manager does not delegate io, so
// `run --device-write-bps /dev/vda:1mb` gets the helper's scope: inspect
// says helper, io.max holds wbps=1048576 for vda's major:minor, and a
// direct write of 4 MiB in it takes seconds where the same write without
// the limit does not. rm releases it at once: no scope, no record, with
// no reaper to wait for.
func TestHelperCgroupThrottle(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	if have := readCg(t, u.managerCgroup(), "cgroup.controllers"); strings.Contains(" "+have+" ", " io ") {
		t.Fatalf("vmuser's manager delegates io (%q): the helper would not be asked", have)
	}
	defer u.Run(cmdTimeout, "rm", "-f", "hcg-io", "hcg-free")
	limited := directWrite(t, u, "hcg-io", "--device-write-bps", "/dev/vda:1mb")
	in := cgInspectOf(t, u, "hcg-io")
	if in.State.CgroupManager != "helper" || in.State.CgroupUnit == "" {
		t.Fatalf("inspect: CgroupManager %q, unit %q; want the helper's scope", in.State.CgroupManager, in.State.CgroupUnit)
	}
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	if got := readCg(t, dir, "io.max"); !strings.Contains(got, vdaDev(t)+" ") || !strings.Contains(got, "wbps=1048576") {
		t.Errorf("io.max = %q, want %s wbps=1048576", got, vdaDev(t))
	}
	free := directWrite(t, u, "hcg-free")
	t.Logf("4 MiB direct write: %s at 1 MiB/s through the helper's scope, %s without a limit", limited.Round(time.Millisecond), free.Round(time.Millisecond))
	if limited < 2500*time.Millisecond || limited < 2*free {
		t.Errorf("the write under --device-write-bps /dev/vda:1mb took %s (without: %s): not throttled", limited, free)
	}
	records := cgroupLedgerFiles(u.UID)
	if len(records) == 0 {
		t.Errorf("no record of the scope in %s/cgroups", stateDir)
	}
	u.Must(t, "rm", "-f", "hcg-io")
	if _, err := os.Stat(filepath.Dir(dir)); err == nil {
		t.Errorf("the scope %s outlives rm -f", filepath.Dir(dir))
	}
	if r := cgroupLedgerFiles(u.UID); len(r) != 0 {
		t.Errorf("records left by rm -f (no reaper run yet): %v", r)
	}
}

// TestHelperCgroupRelease: a container in the helper's scope that ends by
// itself (run --rm in the foreground) is released at its end: no record
// stays, and no scope.
func TestHelperCgroupRelease(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	u.Must(t, "run", "--rm", "--network", "none", "--device-write-bps", "/dev/vda:1mb", image, "true")
	if r := cgroupLedgerFiles(u.UID); len(r) != 0 {
		t.Errorf("records left after the container's end: %v", r)
	}
	if m, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/myctr.slice/myctr-u%d-*.scope", u.UID)); len(m) > 0 {
		t.Errorf("scopes left: %v", m)
	}
}
