//go:build vm

package vmtest

// The resources cases (issue: cgroup v2 limits in a delegated cgroup):
// vmuser's containers get a transient scope of vmuser's own systemd
// manager (user@UID.service, lingering), with Delegate=yes; the container
// runs in the scope's "container" leaf with the limits; the monitor stays
// outside and watches memory.events. The kernel enforces them: these cases look at the cgroup
// files as root and at what the container's processes could do.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

type cgInspect struct {
	Id    string
	State struct {
		Pid, ConmonPid int
		ExitCode       int
		OOMKilled      bool
		Status         string
		CgroupPath     string
		CgroupManager  string
		CgroupUnit     string
	}
	HostConfig struct {
		Memory, MemorySwap, NanoCpus, PidsLimit int64
	}
}

func cgInspectOf(t testing.TB, u *testUser, ref string) cgInspect {
	t.Helper()
	out := u.Must(t, "inspect", ref)
	var all []cgInspect
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return all[0]
}

// managerCgroup is the cgroup of u's systemd user manager.
func (u *testUser) managerCgroup() string {
	return fmt.Sprintf("/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service", u.UID, u.UID)
}

func readCg(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// scopes lists the containers' scopes left in u's myctr.slice.
func (u *testUser) scopes(t testing.TB) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(u.managerCgroup(), "myctr.slice", "myctr-*.scope"))
	return m
}

// cgLine is the cgroup v2 path in a /proc/PID/cgroup text.
func cgLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "0::"); ok {
			return p
		}
	}
	return ""
}

// TestCgroupUserScope: a container run with limits gets its own scope of
// the user's manager; the files hold the limits; the init is in the
// scope's container leaf, the monitor outside; inside, /sys/fs/cgroup is the
// container's own cgroup (read-only) and its cgroup namespace has it as
// root, also for exec'd processes; rm -f leaves no cgroup behind.
func TestCgroupUserScope(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-limits"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--memory", "64m", "--memory-swap", "96m",
		"--pids-limit", "40", "--cpus", "0.5", image, "sleep", "600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	if got := strings.TrimSpace(u.Must(t, "info", "-f", "{{.Host.CgroupManager}}")); got != "systemd" {
		t.Errorf("info: cgroupManager %q, want systemd", got)
	}
	in := cgInspectOf(t, u, name)
	want := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service/myctr.slice/myctr-%s.scope/container", u.UID, u.UID, in.Id)
	if in.State.CgroupPath != want || in.State.CgroupManager != "systemd" || in.State.CgroupUnit != "myctr-"+in.Id+".scope" {
		t.Fatalf("inspect State: CgroupPath %q, manager %q, unit %q; want %q, systemd, myctr-ID.scope",
			in.State.CgroupPath, in.State.CgroupManager, in.State.CgroupUnit, want)
	}
	if in.HostConfig.Memory != 64<<20 || in.HostConfig.MemorySwap != 96<<20 || in.HostConfig.NanoCpus != 5e8 || in.HostConfig.PidsLimit != 40 {
		t.Errorf("inspect HostConfig: %+v", in.HostConfig)
	}
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	for f, v := range map[string]string{
		"memory.max": strconv.Itoa(64 << 20), "memory.swap.max": strconv.Itoa(32 << 20),
		"pids.max": "40", "cpu.max": "50000 100000",
	} {
		if got := readCg(t, dir, f); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", in.State.Pid)); err != nil || cgLine(string(b)) != in.State.CgroupPath {
		t.Errorf("the init %d is in %q (%v), want %s", in.State.Pid, cgLine(string(b)), err, in.State.CgroupPath)
	}
	// The monitor stays where it was started: a foreground run's must
	// stay in its login session's scope, for logind and polkit.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", in.State.ConmonPid)); err != nil || strings.Contains(cgLine(string(b)), "myctr.slice") {
		t.Errorf("the monitor %d is in %q (%v), want outside myctr.slice", in.State.ConmonPid, cgLine(string(b)), err)
	}
	// Inside: the namespace's root is the container's cgroup, for the
	// exec'd process too (moved into it before it ran anything).
	out, errOut, _ := u.Myctr(t, "exec", name, "sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; echo 100 > /sys/fs/cgroup/pids.max && echo WROTE")
	if !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("writing pids.max inside: stderr %q, want a read-only file system", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || cgLine(lines[0]) != "/" || lines[1] != strconv.Itoa(64<<20) || strings.Contains(out, "WROTE") {
		t.Errorf("exec: %q; want 0::/, the memory limit, and a read-only /sys/fs/cgroup", out)
	}
	if got := readCg(t, dir, "pids.max"); got != "40" {
		t.Errorf("pids.max = %q after the container tried to write it", got)
	}
	// update: the running container's limit changes in its cgroup and in
	// its record; a combination that cannot hold and a controller the
	// manager does not delegate are refused, and change nothing.
	u.Must(t, "update", "--memory", "128m", "--memory-swap", "160m", "--pids-limit", "50", name)
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("after update --memory 128m: memory.max = %q", got)
	}
	if got := readCg(t, dir, "pids.max"); got != "50" {
		t.Errorf("after update --pids-limit 50: pids.max = %q", got)
	}
	if in := cgInspectOf(t, u, name); in.HostConfig.Memory != 128<<20 || in.HostConfig.PidsLimit != 50 {
		t.Errorf("inspect after update: %+v", in.HostConfig)
	}
	if _, errOut, code := u.Myctr(t, "update", "--memory", "256m", name); code != 125 || !strings.Contains(errOut, "--memory-swap") {
		t.Errorf("update --memory 256m over a 160m memory+swap: exit %d, stderr %q; want 125 naming --memory-swap", code, errOut)
	}
	if !strings.Contains(" "+readCg(t, dir, "cgroup.controllers")+" ", " io ") {
		if _, errOut, code := u.Myctr(t, "update", "--blkio-weight", "100", name); code != 125 || !strings.Contains(errOut, "io") || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("update --blkio-weight without io: exit %d, stderr %q; want 125, the controller and a Hint", code, errOut)
		}
	}
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("after refused updates: memory.max = %q", got)
	}
	u.Must(t, "rm", "-f", name)
	waitFor(t, 60*time.Second, "the scope outlives rm -f", func() string {
		if _, err := os.Stat(filepath.Dir(dir)); err == nil {
			return filepath.Dir(dir) + " exists"
		}
		return ""
	})
}

// TestCgroupOOMKilled: a process allocating past --memory is killed by
// the kernel's OOM killer: run exits 137, and inspect says OOMKilled (from
// memory.events, not guessed from the code). The same work under a
// larger limit exits 0 and is not OOMKilled.
func TestCgroupOOMKilled(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-oom"
	defer u.Run(cmdTimeout, "rm", "-f", name)
	_, errOut, code := u.Myctr(t, "run", "--network", "none", "--name", name, "--memory", "32m", "--memory-swap", "32m",
		image, "dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1")
	if code != 137 {
		t.Errorf("exit %d, want 137 (OOM-killed); stderr %q", code, errOut)
	}
	if in := cgInspectOf(t, u, name); !in.State.OOMKilled || in.State.ExitCode != 137 {
		t.Errorf("inspect State: OOMKilled %v, ExitCode %d; want true, 137", in.State.OOMKilled, in.State.ExitCode)
	}
	u.Must(t, "rm", name)
	const ok = "cg-oom-ok"
	defer u.Run(cmdTimeout, "rm", "-f", ok)
	u.Must(t, "run", "--network", "none", "--name", ok, "--memory", "256m", image, "dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1")
	if in := cgInspectOf(t, u, ok); in.State.OOMKilled || in.State.ExitCode != 0 {
		t.Errorf("under 256m: OOMKilled %v, ExitCode %d; want false, 0", in.State.OOMKilled, in.State.ExitCode)
	}
}

// TestCgroupPidsLimit: a fork loop stops at --pids-limit.
func TestCgroupPidsLimit(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	// The forks run in a subshell, which the shell gives up when one
	// fails; the reading is done with builtins only, as no fork is left.
	out := u.Must(t, "run", "--rm", "--network", "none", "--pids-limit", "12", image, "sh", "-c",
		"(for i in $(seq 30); do sleep 60 & done) 2>/dev/null; read c < /sys/fs/cgroup/pids.current; read m < /sys/fs/cgroup/pids.max; echo $c $m; "+
			"while read l; do echo $l; done < /sys/fs/cgroup/pids.events")
	f := strings.Fields(out)
	if len(f) < 4 {
		t.Fatalf("output %q", out)
	}
	cur, _ := strconv.Atoi(f[0])
	ev := regexp.MustCompile(`max (\d+)`).FindStringSubmatch(out)
	if cur < 2 || cur > 12 || f[1] != "12" || ev == nil || ev[1] == "0" {
		t.Errorf("pids.current %s, pids.max %s, events %v: want at most 12 tasks and forks refused\n%s", f[0], f[1], ev, out)
	}
}

// TestCgroupCPUQuota: a busy loop under --cpus 0.5 uses about half a CPU
// (cpu.stat over a fixed interval; slack for TCG), and is throttled.
func TestCgroupCPUQuota(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-cpu"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--cpus", "0.5", image, "sh", "-c", "while :; do :; done")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	dir := "/sys/fs/cgroup" + cgInspectOf(t, u, name).State.CgroupPath
	usage := func() (uint64, time.Time) {
		for _, l := range strings.Split(readCg(t, dir, "cpu.stat"), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				n, _ := strconv.ParseUint(v, 10, 64)
				return n, time.Now()
			}
		}
		t.Fatal("no usage_usec in cpu.stat")
		return 0, time.Time{}
	}
	time.Sleep(2 * time.Second)
	u0, t0 := usage()
	time.Sleep(6 * time.Second)
	u1, t1 := usage()
	ratio := float64(u1-u0) / float64(t1.Sub(t0).Microseconds())
	t.Logf("busy loop under --cpus 0.5: %.2f CPUs", ratio)
	if ratio > 0.65 || ratio < 0.1 {
		t.Errorf("the busy loop used %.2f CPUs, want about 0.5", ratio)
	}
	if st := readCg(t, dir, "cpu.stat"); !regexp.MustCompile(`nr_throttled [1-9]`).MatchString(st) {
		t.Errorf("never throttled:\n%s", st)
	}
}

// TestCgroupUndelegatedRefused: a limit whose controller the user's
// manager does not delegate (io and cpuset on a stock Debian) needs the
// helper's scope; for vmother, whom polkit refuses org.myctr.helper.cgroup,
// run fails with exit 125, the action, and both fixes (the polkit rule,
// the manager's drop-in), and nothing is left: never a dropped limit.
func TestCgroupUndelegatedRefused(t *testing.T) {
	begin(t)
	u := users[deniedUser]
	have := strings.Fields(readCg(t, u.managerCgroup(), "cgroup.controllers"))
	cases := []struct{ flag, value, ctrl string }{
		{"--device-write-bps", "/dev/vda:1mb", "io"},
		{"--blkio-weight", "100", "io"},
		{"--cpuset-cpus", "0", "cpuset"},
	}
	for _, c := range cases {
		if strings.Contains(" "+strings.Join(have, " ")+" ", " "+c.ctrl+" ") {
			t.Logf("%s: the manager delegates %s here (%v): not a refusal case", c.flag, c.ctrl, have)
			continue
		}
		_, errOut, code := u.Myctr(t, "run", "--rm", "--network", "none", c.flag, c.value, image, "true")
		if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, "org.myctr.helper.cgroup") ||
			!strings.Contains(errOut, "\nHint: ") || !strings.Contains(errOut, "polkit rule") || !strings.Contains(errOut, "Delegate=cpu cpuset io memory pids") {
			t.Errorf("%s %s: exit %d, stderr %q; want 125, the action and both fixes", c.flag, c.value, code, errOut)
		}
	}
	if m, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/myctr.slice/myctr-u%d-*.scope", u.UID)); len(m) > 0 {
		t.Errorf("scopes of %s left: %v", u.Name, m)
	}
	if out, _, _ := u.Run(cmdTimeout, "ps", "-a", "--format", "{{.Names}}"); strings.TrimSpace(out) != "" {
		t.Errorf("ps -a after refused runs: %q", out)
	}
}

// TestHelperCgroup: the second source. vmuser's manager does not delegate
// io, so --device-write-bps gets a scope of the system manager from the
// helper (polkit allows vmuser): the scope is handed to vmuser, the limits
// are in its container leaf (io.max for the disk, memory.max), exec joins
// it, stats reads it; killed, it leaves no scope, and the helper's ledger
// drops its record.
func TestHelperCgroup(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-helper"
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/vda", &st); err != nil {
		t.Fatalf("the guest's disk: %v", err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--device-write-bps", "/dev/vda:1mb", "--memory", "64m", image, "sleep", "600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	in := cgInspectOf(t, u, name)
	if in.State.CgroupManager != "helper" || !regexp.MustCompile(fmt.Sprintf(`^/myctr\.slice/myctr-u%d-[0-9a-f]{16}\.scope/container$`, u.UID)).MatchString(in.State.CgroupPath) {
		t.Fatalf("inspect: CgroupManager %q, CgroupPath %q; want the helper's scope", in.State.CgroupManager, in.State.CgroupPath)
	}
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	scope := filepath.Dir(dir)
	var sst syscall.Stat_t
	if err := syscall.Stat(scope, &sst); err != nil || sst.Uid != u.UID {
		t.Errorf("the scope %s: owner %d (%v), want %s's %d", scope, sst.Uid, err, u.Name, u.UID)
	}
	if got := readCg(t, dir, "io.max"); !strings.Contains(got, dev+" ") || !strings.Contains(got, "wbps=1048576") {
		t.Errorf("io.max = %q, want %s wbps=1048576", got, dev)
	}
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(64<<20) {
		t.Errorf("memory.max = %q", got)
	}
	if out := u.Must(t, "exec", name, "cat", "/proc/self/cgroup"); cgLine(out) != "/" {
		t.Errorf("exec: %q, want 0::/ (in the container's leaf)", out)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(u.Must(t, "stats", "--no-stream", "--format", "json", name)), &rows); err != nil || len(rows) != 1 || rows[0]["pids"] != readCg(t, dir, "pids.current") {
		t.Errorf("stats: %v %v; pids.current %s", rows, err, readCg(t, dir, "pids.current"))
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d/%s", u.UID, in.Id)))
	record := fmt.Sprintf("%s/cgroups/%d/%x.json", stateDir, u.UID, sum)
	if _, err := os.Stat(record); err != nil {
		t.Errorf("the record of %s: %v (all: %v)", name, err, cgroupLedgerFiles(u.UID))
	}
	for _, pid := range []int{in.State.ConmonPid, in.State.Pid} {
		if err := syscallKill(pid); err != nil {
			t.Fatalf("kill -9 %d: %v", pid, err)
		}
	}
	waitFor(t, 60*time.Second, "the helper's scope outlives its killed processes", func() string {
		if _, err := os.Stat(scope); err == nil {
			return scope + " exists"
		}
		return ""
	})
	u.Must(t, "rm", "-f", name)
	// The next call reaps the record of the collected scope.
	u.Must(t, "run", "--rm", "--network", "none", "--device-write-bps", "/dev/vda:1mb", image, "true")
	if _, err := os.Stat(record); err == nil {
		t.Errorf("the helper's ledger keeps %s of a collected scope", record)
	}
}

// cgroupLedgerFiles are the helper's cgroup records of uid.
func cgroupLedgerFiles(uid uint32) []string {
	m, _ := filepath.Glob(fmt.Sprintf("%s/cgroups/%d/*.json", stateDir, uid))
	return m
}

// TestCgroupNothingLeaks: kill -9 of the monitor and of the container,
// then 20 runs with a limit: no scope is left in myctr.slice.
func TestCgroupNothingLeaks(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-kill"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--memory", "64m", image, "sleep", "600")
	in := cgInspectOf(t, u, name)
	scope := filepath.Dir("/sys/fs/cgroup" + in.State.CgroupPath)
	for _, pid := range []int{in.State.ConmonPid, in.State.Pid} {
		if err := syscallKill(pid); err != nil {
			t.Fatalf("kill -9 %d: %v", pid, err)
		}
	}
	waitFor(t, 60*time.Second, "the scope outlives its killed processes", func() string {
		if _, err := os.Stat(scope); err == nil {
			return scope + " exists"
		}
		return ""
	})
	u.Must(t, "rm", "-f", name)
	for i := 0; i < 20; i++ {
		u.Must(t, "run", "--rm", "--network", "none", "--memory", "64m", image, "true")
	}
	waitFor(t, 60*time.Second, "scopes left after 20 runs", func() string {
		if s := u.scopes(t); len(s) > 0 {
			return fmt.Sprint(s)
		}
		return ""
	})
}

func syscallKill(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("no pid")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// TestCgroupRestart: a container started again gets a new scope with the
// limits of its record (also right after it ended, while the last scope
// may still be on its way out), and update's new limit holds there too.
func TestCgroupRestart(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-restart"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--memory", "48m", image, "sleep", "600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	first := cgInspectOf(t, u, name).State.CgroupPath
	u.Must(t, "update", "--pids-limit", "33", name)
	u.Must(t, "kill", name)
	u.Must(t, "wait", name)
	u.Must(t, "start", name)
	in := cgInspectOf(t, u, name)
	if in.State.Status != "running" || in.State.CgroupPath == "" {
		t.Fatalf("after start: %+v", in.State)
	}
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(48<<20) {
		t.Errorf("after start: memory.max = %q", got)
	}
	if got := readCg(t, dir, "pids.max"); got != "33" {
		t.Errorf("after start: pids.max = %q, want update's 33", got)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", in.State.Pid)); err != nil || cgLine(string(b)) != in.State.CgroupPath {
		t.Errorf("the new init is in %q (%v), want %s (first run: %s)", cgLine(string(b)), err, in.State.CgroupPath, first)
	}
}

// TestCgroupIOThroughUserManager: a user whose manager delegates io (job.sh
// gives vmprompt's the drop-in README documents) gets --device-write-bps
// from it: io.max holds the rate for the disk's major:minor, and a direct
// write of 4 MiB at 1 MiB/s takes seconds, where the same write without
// the limit does not.
func TestCgroupIOThroughUserManager(t *testing.T) {
	begin(t)
	u := users[promptUser]
	if have := readCg(t, u.managerCgroup(), "cgroup.controllers"); !strings.Contains(" "+have+" ", " io ") {
		t.Fatalf("vmprompt's manager has %q: job.sh's drop-in did not take", have)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/vda", &st); err != nil {
		t.Fatalf("the guest's disk: %v", err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	write := func(name string, limit ...string) time.Duration {
		args := append([]string{"run", "-d", "--network", "none", "--name", name}, limit...)
		u.Must(t, append(args, image, "sleep", "600")...)
		start := time.Now()
		u.Must(t, "exec", name, "dd", "if=/dev/zero", "of=/var/f", "bs=1M", "count=4", "oflag=direct")
		return time.Since(start)
	}
	defer u.Run(cmdTimeout, "rm", "-f", "cg-io", "cg-io-free")
	limited := write("cg-io", "--device-write-bps", "/dev/vda:1mb", "--cpuset-cpus", "0")
	in := cgInspectOf(t, u, "cg-io")
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	if got := readCg(t, dir, "io.max"); !strings.Contains(got, dev+" ") || !strings.Contains(got, "wbps=1048576") {
		t.Errorf("io.max = %q, want %s wbps=1048576", got, dev)
	}
	if got := readCg(t, dir, "cpuset.cpus"); got != "0" {
		t.Errorf("cpuset.cpus = %q, want 0", got)
	}
	free := write("cg-io-free")
	t.Logf("4 MiB direct write: %s at 1 MiB/s, %s without a limit", limited.Round(time.Millisecond), free.Round(time.Millisecond))
	if limited < 2500*time.Millisecond || limited < 2*free {
		t.Errorf("the write under --device-write-bps /dev/vda:1mb took %s (without: %s): not throttled", limited, free)
	}
}

// TestStatsMatchCgroup: stats --no-stream --format json shows what the
// container's cgroup files hold: the memory limit exactly, the PIDs, the
// memory use (within what changes between two reads); -a lists it too.
func TestStatsMatchCgroup(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-stats"
	// 20 MB in a tmpfs: shared memory, counted as used (not as
	// reclaimable page cache).
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--memory", "64m", image, "sh", "-c",
		"dd if=/dev/zero of=/dev/shm/ballast bs=1M count=20 2>/dev/null; sleep 600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	dir := "/sys/fs/cgroup" + cgInspectOf(t, u, name).State.CgroupPath
	waitFor(t, 60*time.Second, "the ballast is not written", func() string {
		if n, _ := strconv.Atoi(readCg(t, dir, "memory.current")); n < 20<<20 {
			return "memory.current " + strconv.Itoa(n)
		}
		return ""
	})
	var rows []map[string]string
	out := u.Must(t, "stats", "--no-stream", "--format", "json", name)
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	r := rows[0]
	used, limit, ok := strings.Cut(r["mem_usage"], " / ")
	// Three significant digits, as Podman prints them: 67108864 is 67.1MB.
	if l := parseDecimalSize(limit); !ok || l < 67.05e6 || l > 67.15e6 {
		t.Errorf("mem_usage %q: want a limit of 67.1MB (memory.max %s)", r["mem_usage"], readCg(t, dir, "memory.max"))
	}
	st, _ := readKeyedFile(filepath.Join(dir, "memory.stat"))
	cur, _ := strconv.ParseFloat(readCg(t, dir, "memory.current"), 64)
	want := cur - st["inactive_file"]
	if got := parseDecimalSize(used); got < want-2e6 || got > want+2e6 {
		t.Errorf("mem_usage %q = %.0f bytes; memory.current - inactive_file = %.0f", used, got, want)
	}
	if r["pids"] != readCg(t, dir, "pids.current") || r["name"] != name || !strings.HasSuffix(r["cpu_percent"], "%") || r["cpu_time"] == "--" {
		t.Errorf("stats row %v; pids.current %s", r, readCg(t, dir, "pids.current"))
	}
	if out := u.Must(t, "stats", "-a", "--no-stream", "--format", "{{.Name}}"); !strings.Contains(out, name) {
		t.Errorf("stats -a: %q", out)
	}
}

func readKeyedFile(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	m := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k], _ = strconv.ParseFloat(v, 64)
		}
	}
	return m, err
}

// parseDecimalSize reads "21.5MB", "980kB", "12B" (decimal units).
func parseDecimalSize(s string) float64 {
	m := regexp.MustCompile(`^([0-9.]+)([kMGT]?)B$`).FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return n * map[string]float64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m[2]]
}

// TestCgroupParentAndNamespace: --cgroup-parent names the user manager's
// slice that holds the scope; --cgroupns=host shows the container its
// cgroup's whole path, the default private namespace shows "/".
func TestCgroupParentAndNamespace(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const name = "cg-parent"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--cgroup-parent", "mine-test.slice", image, "sleep", "600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	in := cgInspectOf(t, u, name)
	want := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service/mine.slice/mine-test.slice/myctr-%s.scope/container", u.UID, u.UID, in.Id)
	if in.State.CgroupPath != want {
		t.Errorf("--cgroup-parent mine-test.slice: CgroupPath %q, want %q", in.State.CgroupPath, want)
	}
	out := u.Must(t, "exec", name, "cat", "/proc/self/cgroup")
	if got := cgLine(out); got != "/" {
		t.Errorf("private cgroupns: %q", got)
	}
	out = u.Must(t, "run", "--rm", "--network", "none", "--cgroupns=host", image, "cat", "/proc/self/cgroup")
	if got := cgLine(out); !strings.HasPrefix(got, fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service/myctr.slice/myctr-", u.UID, u.UID)) || !strings.HasSuffix(got, ".scope/container") {
		t.Errorf("--cgroupns=host: the container sees %q, want its full path", got)
	}
}

// TestHelperCgroupfs: the third source, the helper making cgroups itself
// (cgroupfs), as where PID 1 is not systemd: a second helper, started by
// hand in a delegated scope this test makes (cgroup_root = that scope),
// serves the bus name for the test's time. vmuser's io limit gets a
// cgroup below the root, handed to vmuser, with the limits in its leaf;
// exec joins it (through the helper's exec leaf); an empty one is removed
// at the next call.
func TestHelperCgroupfs(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	const scope = "myctr-fs-helper"
	const conf = "/etc/myctr/helper-fs.conf"
	root := "/system.slice/" + scope + ".scope"
	if err := os.WriteFile(conf, []byte("# TestHelperCgroupfs: a helper that makes cgroups itself\nstate_dir = /run/myctr-helper-fs\ncgroup_root = "+root+"\nidle_timeout = 600s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(conf)
	command(cmdTimeout, "systemctl", "stop", unit)
	h := exec.Command("systemd-run", "--scope", "-p", "Delegate=yes", "--unit="+scope, helperExe, "--config", conf)
	var hlog bytes.Buffer
	h.Stdout, h.Stderr = &hlog, &hlog
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		command(cmdTimeout, "systemctl", "stop", scope+".scope")
		h.Wait()
		t.Logf("the cgroupfs helper's log:\n%s", hlog.String())
	}()
	waitFor(t, 60*time.Second, "the hand-started helper does not own the name", func() string {
		out, err := command(10*time.Second, "busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			"GetConnectionUnixProcessID", "s", protocol.BusName)
		if err != nil || strings.TrimSpace(out) != fmt.Sprintf("u %d", h.Process.Pid) {
			return fmt.Sprintf("owner: %q %v", strings.TrimSpace(out), err)
		}
		return ""
	})
	const name = "cg-fs"
	u.Must(t, "run", "-d", "--network", "none", "--name", name, "--device-write-bps", "/dev/vda:1mb", "--memory", "64m", image, "sleep", "600")
	defer u.Run(cmdTimeout, "rm", "-f", name)
	in := cgInspectOf(t, u, name)
	if in.State.CgroupManager != "helper" || !regexp.MustCompile(fmt.Sprintf(`^%s/myctr-u%d-[0-9a-f]{16}/container$`, regexp.QuoteMeta(root), u.UID)).MatchString(in.State.CgroupPath) {
		t.Fatalf("inspect: CgroupManager %q, CgroupPath %q; want the cgroupfs helper's cgroup below %s", in.State.CgroupManager, in.State.CgroupPath, root)
	}
	dir := "/sys/fs/cgroup" + in.State.CgroupPath
	ctr := filepath.Dir(dir)
	var sst syscall.Stat_t
	if err := syscall.Stat(ctr, &sst); err != nil || sst.Uid != u.UID {
		t.Errorf("%s: owner %d (%v), want %d", ctr, sst.Uid, err, u.UID)
	}
	if got := readCg(t, dir, "io.max"); !strings.Contains(got, "wbps=1048576") {
		t.Errorf("io.max = %q", got)
	}
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(64<<20) {
		t.Errorf("memory.max = %q", got)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", in.State.Pid)); err != nil || cgLine(string(b)) != in.State.CgroupPath {
		t.Errorf("the init is in %q (%v)", cgLine(string(b)), err)
	}
	if out := u.Must(t, "exec", name, "cat", "/proc/self/cgroup"); cgLine(out) != "/" {
		t.Errorf("exec: %q, want 0::/ (moved on into the container's leaf)", out)
	}
	// The limits hold in the helper's own cgroups.
	enforced(t, u, "helper", "--device-write-bps", "/dev/vda:1mb")
	u.Must(t, "rm", "-f", name)
	waitFor(t, 30*time.Second, "the container's cgroup stays populated", func() string {
		if b, _ := os.ReadFile(filepath.Join(ctr, "cgroup.events")); strings.Contains(string(b), "populated 1") {
			return "populated"
		}
		return ""
	})
	u.Must(t, "run", "--rm", "--network", "none", "--device-write-bps", "/dev/vda:1mb", image, "true")
	if _, err := os.Stat(ctr); err == nil {
		t.Errorf("%s is left after the next call", ctr)
	}
}

// enforced runs the kernel's checks of the limits through one source of a
// container's cgroup (extra forces it: an io flag sends vmuser to the
// helper): a process allocating past --memory (swap included) is
// OOM-killed, run exits 137 and inspect says OOMKilled; a fork loop stops
// at --pids-limit; a busy loop under --cpus 0.5 is throttled; update
// changes a running container's memory.max.
func enforced(t *testing.T, u *testUser, manager string, extra ...string) {
	t.Helper()
	name := "cg-enf-" + manager
	defer u.Run(cmdTimeout, "rm", "-f", name, name+"-cpu")
	args := append([]string{"run", "--network", "none", "--name", name, "--memory", "32m", "--memory-swap", "32m"}, extra...)
	_, errOut, code := u.Myctr(t, append(args, image, "dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1")...)
	in := cgInspectOf(t, u, name)
	if code != 137 || !in.State.OOMKilled {
		t.Errorf("%s: allocating past --memory: exit %d, OOMKilled %v; want 137, true (stderr %q)", manager, code, in.State.OOMKilled, errOut)
	}
	u.Must(t, "rm", name)
	args = append([]string{"run", "--rm", "--network", "none", "--pids-limit", "12"}, extra...)
	out := u.Must(t, append(args, image, "sh", "-c",
		"(for i in $(seq 30); do sleep 60 & done) 2>/dev/null; read c < /sys/fs/cgroup/pids.current; echo $c; while read l; do echo $l; done < /sys/fs/cgroup/pids.events")...)
	if f := strings.Fields(out); len(f) < 3 || f[1] != "max" || f[2] == "0" {
		t.Errorf("%s: fork loop under --pids-limit 12: %q, want forks refused", manager, out)
	} else if n, _ := strconv.Atoi(f[0]); n > 12 {
		t.Errorf("%s: %d tasks under --pids-limit 12", manager, n)
	}
	args = append([]string{"run", "-d", "--network", "none", "--name", name + "-cpu", "--cpus", "0.5", "--memory", "64m"}, extra...)
	u.Must(t, append(args, image, "sh", "-c", "while :; do :; done")...)
	cin := cgInspectOf(t, u, name+"-cpu")
	if cin.State.CgroupManager != manager {
		t.Fatalf("CgroupManager %q, want %s", cin.State.CgroupManager, manager)
	}
	dir := "/sys/fs/cgroup" + cin.State.CgroupPath
	waitFor(t, 30*time.Second, "the busy loop is never throttled", func() string {
		if st := readCg(t, dir, "cpu.stat"); !regexp.MustCompile(`nr_throttled [1-9]`).MatchString(st) {
			return st
		}
		return ""
	})
	u.Must(t, "update", "--memory", "128m", name+"-cpu")
	if got := readCg(t, dir, "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("%s: after update --memory 128m: memory.max %q", manager, got)
	}
}

// TestHelperCgroupEnforced: the limits hold in the helper's scopes too
// (the system manager's).
func TestHelperCgroupEnforced(t *testing.T) {
	begin(t)
	enforced(t, users[allowedUser], "helper", "--device-write-bps", "/dev/vda:1mb")
}

// TestCgroupSplit: --cgroups=split makes the container's cgroup below the
// one myctr runs in, when that one is delegated to the user: myctr as the
// service of a transient unit of vmuser's manager with Delegate=yes. The
// container sees its own cgroup with the limit; run from a cgroup that is
// not vmuser's, the flag is refused with the fix.
func TestCgroupSplit(t *testing.T) {
	begin(t)
	u := users[allowedUser]
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := u.userBusCommand(ctx, "systemd-run", "--user", "--wait", "--pipe", "--quiet", "-p", "Delegate=yes",
		"/usr/bin/myctr", "run", "--rm", "--network", "none", "--cgroups=split", "--memory", "48m", image,
		"sh", "-c", "cat /proc/self/cgroup /sys/fs/cgroup/memory.max")
	out, err := cmd.CombinedOutput()
	t.Logf("systemd-run --user -p Delegate=yes myctr run --cgroups=split ...: %v\n%s", err, out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 2 || cgLine(lines[0]) != "/" || lines[1] != strconv.Itoa(48<<20) {
		t.Errorf("want the container's own cgroup (0::/) with memory.max %d", 48<<20)
	}
	_, errOut, code := u.Myctr(t, "run", "--rm", "--network", "none", "--cgroups=split", image, "true")
	if code != 125 || !strings.Contains(errOut, "not delegated to you") || !strings.Contains(errOut, "Delegate=yes") {
		t.Errorf("split outside a delegated cgroup: exit %d, stderr %q", code, errOut)
	}
}
