package cgroup

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	mountsUnified = "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
	mountsHybrid  = "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n" +
		"31 30 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n" +
		"32 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
		"33 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"34 30 0:31 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n" +
		"35 30 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n" +
		"36 30 0:33 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
	mountsV1 = "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n" +
		"33 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"35 30 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
	userCgroup = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope"
)

// fakeHost writes a fake /proc/self and /sys/fs/cgroup under a temp dir:
// files maps paths to contents; bus makes the user bus socket.
func fakeHost(t *testing.T, files map[string]string, bus bool) Env {
	root := t.TempDir()
	for p, c := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := Env{Root: root, UID: 1000, RuntimeDir: "/run/user/1000"}
	if bus {
		dir := filepath.Join(root, e.RuntimeDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// A socket path may be long; listen from inside the directory.
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", "bus")
		os.Chdir(wd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	return e
}

func unifiedHost(t *testing.T, delegated string, bus bool) Env {
	return fakeHost(t, map[string]string{
		"proc/self/mountinfo":              mountsUnified,
		"proc/self/cgroup":                 "0::" + userCgroup + "\n",
		"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers": delegated,
	}, bus)
}

func mustParse(t *testing.T, kv ...string) *Resources {
	r, err := parse(flags(kv...), 4)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// unavailable runs Check and returns its *UnavailableError, failing the
// test if there is none.
func unavailable(t *testing.T, r *Resources, d *Detection) *UnavailableError {
	t.Helper()
	err := Check(r, d)
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check: %v, want an *UnavailableError", err)
	}
	return ue
}

func TestDetectUnifiedDelegated(t *testing.T) {
	d, err := Detect(unifiedHost(t, "cpuset cpu io memory pids\n", true))
	if err != nil {
		t.Fatal(err)
	}
	want := &Detection{Layout: Unified, UnifiedControllers: []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"},
		Own: userCgroup, Manager: "/user.slice/user-1000.slice/user@1000.service",
		Delegated: []string{"cpuset", "cpu", "io", "memory", "pids"}, Bus: true, UID: 1000}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Detect =\n %+v\nwant\n %+v", d, want)
	}
	if err := Check(&Resources{}, d); err != nil {
		t.Errorf("no resource flags: %v", err)
	}
	if !d.UserScope() {
		t.Error("UserScope() = false with a manager, its bus and cgroup v2")
	}
	if err := Check(mustParse(t, "memory", "1g", "device-write-bps", "/dev/sda:1mb", "cpuset-cpus", "0"), d); err != nil {
		t.Errorf("every controller delegated: %v", err)
	}
}

// A process outside the manager's tree (su, a service started as the
// user) still gets the user's manager, found at its usual cgroup.
func TestDetectUnifiedManagerOutsideItsTree(t *testing.T) {
	e := fakeHost(t, map[string]string{
		"proc/self/mountinfo": mountsUnified,
		"proc/self/cgroup":    "0::/system.slice/cron.service\n",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers": "cpu memory pids\n",
	}, true)
	d, err := Detect(e)
	if err != nil {
		t.Fatal(err)
	}
	if d.Manager != "/user.slice/user-1000.slice/user@1000.service" || !d.UserScope() {
		t.Fatalf("Detect = %+v, want the manager at its usual cgroup", d)
	}
	if err := Check(mustParse(t, "pids-limit", "10"), d); err != nil {
		t.Errorf("pids delegated: %v", err)
	}
	ue := unavailable(t, mustParse(t, "blkio-weight", "100"), d)
	if ue.Controller != "io" || !strings.Contains(ue.Reason, "not delegated") {
		t.Errorf("got %+v", ue)
	}
}

func TestDetectUnifiedNoIO(t *testing.T) {
	d, err := Detect(unifiedHost(t, "cpu memory pids\n", true))
	if err != nil {
		t.Fatal(err)
	}
	ue := unavailable(t, mustParse(t, "memory", "1g", "device-write-bps", "/dev/sda:1mb"), d)
	if ue.Flag != "device-write-bps" || ue.Controller != "io" || !strings.Contains(ue.Reason, "not delegated") ||
		!strings.Contains(ue.Reason, "cpu memory pids") || !strings.Contains(ue.Hint, "Delegate=cpu cpuset io memory pids") {
		t.Errorf("got %+v; want the io flag, its controller, what is delegated and the drop-in", ue)
	}
	if !strings.Contains(ue.Error(), "--device-write-bps /dev/sda:1mb") {
		t.Errorf("error %q does not name the flag and value", ue.Error())
	}
}

func TestDetectUnifiedNoManager(t *testing.T) {
	e := fakeHost(t, map[string]string{
		"proc/self/mountinfo": mountsUnified,
		"proc/self/cgroup":    "0::/system.slice/sshd.service\n",
	}, true)
	d, err := Detect(e)
	if err != nil {
		t.Fatal(err)
	}
	if d.Manager != "" {
		t.Fatalf("Manager = %q, want none", d.Manager)
	}
	ue := unavailable(t, mustParse(t, "pids-limit", "10"), d)
	if ue.Controller != "pids" || !strings.Contains(ue.Reason, "/system.slice/sshd.service") || !strings.Contains(ue.Hint, "linger") {
		t.Errorf("got %+v", ue)
	}
}

func TestDetectUnifiedNoBus(t *testing.T) {
	d, err := Detect(unifiedHost(t, "cpu memory pids\n", false))
	if err != nil {
		t.Fatal(err)
	}
	if d.Bus {
		t.Fatal("Bus = true without a socket")
	}
	ue := unavailable(t, mustParse(t, "cpus", "1"), d)
	if !strings.Contains(ue.Reason, "bus") {
		t.Errorf("got %+v", ue)
	}
}

func TestDetectHybrid(t *testing.T) {
	e := fakeHost(t, map[string]string{
		"proc/self/mountinfo":                      mountsHybrid,
		"proc/self/cgroup":                         "0::/\n1:memory:/\n",
		"sys/fs/cgroup/unified/cgroup.controllers": "",
	}, true)
	d, err := Detect(e)
	if err != nil {
		t.Fatal(err)
	}
	if d.Layout != Hybrid || d.Manager != "" || len(d.UnifiedControllers) != 0 {
		t.Fatalf("Detect = %+v, want hybrid, no manager, no v2 controllers", d)
	}
	for _, c := range []struct{ flag, val, ctrl string }{
		{"memory", "512m", "memory"}, {"cpus", "1", "cpu"}, {"cpuset-cpus", "0", "cpuset"},
		{"pids-limit", "5", "pids"}, {"blkio-weight", "100", "io"},
	} {
		ue := unavailable(t, mustParse(t, c.flag, c.val), d)
		if ue.Flag != c.flag || ue.Controller != c.ctrl || !strings.Contains(ue.Reason, "hybrid") ||
			!strings.Contains(ue.Reason, "cgroup v1 hierarchy") || !strings.Contains(ue.Reason, "no controllers") ||
			!strings.Contains(ue.Hint, "systemd.unified_cgroup_hierarchy=1") || !strings.Contains(ue.Hint, "Delegate=") {
			t.Errorf("--%s: got %+v", c.flag, ue)
		}
	}
}

func TestDetectV1(t *testing.T) {
	d, err := Detect(fakeHost(t, map[string]string{"proc/self/mountinfo": mountsV1}, false))
	if err != nil {
		t.Fatal(err)
	}
	if d.Layout != V1 || !reflect.DeepEqual(d.V1Controllers, []string{"memory", "pids"}) {
		t.Fatalf("Detect = %+v, want v1 with memory and pids", d)
	}
	ue := unavailable(t, mustParse(t, "memory", "64m"), d)
	if !strings.Contains(ue.Reason, "cgroup v1 only") || !strings.Contains(ue.Reason, "v1 hierarchy") {
		t.Errorf("got %+v", ue)
	}
	ue = unavailable(t, mustParse(t, "cpus", "1"), d)
	if !strings.Contains(ue.Reason, "on no cgroup hierarchy") {
		t.Errorf("cpu on a v1 host without it: got %+v", ue)
	}
	if _, err := Detect(Env{Root: t.TempDir()}); err == nil {
		t.Error("Detect without /proc/self/mountinfo: no error")
	}
}

// TestDetectThisHost reads the real host: only reads, and must not fail.
func TestDetectThisHost(t *testing.T) {
	if _, err := Detect(HostEnv()); err != nil {
		t.Fatal(err)
	}
}

func TestChoose(t *testing.T) {
	withHelper := func(d *Detection) *Detection { cp := *d; cp.Helper = true; return &cp }
	noIO, err := Detect(unifiedHost(t, "cpu memory pids\n", true))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Detect(unifiedHost(t, "cpuset cpu io memory pids\n", true))
	noBus, _ := Detect(unifiedHost(t, "cpu memory pids\n", false))
	hybrid, _ := Detect(fakeHost(t, map[string]string{"proc/self/mountinfo": mountsHybrid, "proc/self/cgroup": "0::/\n"}, true))
	for _, c := range []struct {
		name string
		d    *Detection
		kv   []string
		want string
		err  bool
	}{
		{"user manager has it", noIO, []string{"memory", "64m"}, SourceUser, false},
		{"user manager, no limits", noIO, nil, SourceUser, false},
		{"io not delegated, no helper", noIO, []string{"blkio-weight", "100"}, "", true},
		{"io not delegated, helper", withHelper(noIO), []string{"blkio-weight", "100"}, SourceHelper, false},
		{"io delegated", withHelper(all), []string{"blkio-weight", "100"}, SourceUser, false},
		{"no bus, helper", withHelper(noBus), nil, SourceHelper, false},
		{"hybrid, helper: no use", withHelper(hybrid), []string{"pids-limit", "5"}, "", true},
		{"hybrid, no limits", withHelper(hybrid), nil, "", false},
	} {
		got, err := Choose(mustParse(t, c.kv...), c.d)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: Choose = %q, %v; want %q, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestInService(t *testing.T) {
	for own, want := range map[string]bool{
		"/system.slice/web.service":                                           true,
		"/system.slice/web.service/supervisor":                                true,
		"/user.slice/user-1000.slice/user@1000.service/app.slice/web.service": true,
		"/user.slice/user-1000.slice/user@1000.service/init.scope":            false,
		"/user.slice/user-1000.slice/session-3.scope":                         false,
		"/user.slice/user-1000.slice/user@1000.service":                       false,
		"/":                                      false,
		"/myctr.slice/myctr-abc.scope/container": false,
	} {
		if got := InService(own); got != want {
			t.Errorf("InService(%q) = %v, want %v", own, got, want)
		}
	}
}
