package ociruntime

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/seccomp/progcache"
	"github.com/myctr/myctr/frontend/security"
)

func TestCheckID(t *testing.T) {
	for _, ok := range []string{"a", "c1", "my-ctr_1.2+x", strings.Repeat("a", 1024)} {
		if err := CheckID(ok); err != nil {
			t.Errorf("CheckID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a b", "a\x00", strings.Repeat("a", 1025), "ä"} {
		if err := CheckID(bad); err == nil {
			t.Errorf("CheckID(%q) accepted", bad)
		}
	}
	// Character for character, runc's rule.
	runc := regexp.MustCompile(`^[\w+\-.]+$`)
	for r := rune(0); r < 0x250; r++ {
		id := "x" + string(r)
		if got, want := CheckID(id) == nil, runc.MatchString(id); got != want {
			t.Errorf("CheckID(%q) accepts: %v, runc's rule: %v", id, got, want)
		}
	}
}

func TestCheckResources(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	for name, r := range map[string]*specs.LinuxResources{
		"nil":             nil,
		"devices only":    {Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
		"default shares":  {CPU: &specs.LinuxCPU{Shares: u(1024)}},
		"period only":     {CPU: &specs.LinuxCPU{Period: u(100000)}},
		"unlimited":       {Memory: &specs.LinuxMemory{Limit: i(-1), Swap: i(-1)}, Pids: &specs.LinuxPids{Limit: i(0)}},
		"no quota":        {CPU: &specs.LinuxCPU{Quota: i(-1)}},
		"empty sections":  {Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, BlockIO: &specs.LinuxBlockIO{}},
		"unlimited pids2": {Pids: &specs.LinuxPids{Limit: i(-1)}},
	} {
		if err := checkResources(r); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	for want, r := range map[string]*specs.LinuxResources{
		"swappiness":     {Memory: &specs.LinuxMemory{Swappiness: u(10)}},
		"realtime":       {CPU: &specs.LinuxCPU{RealtimeRuntime: i(1000)}},
		"leafWeight":     {BlockIO: &specs.LinuxBlockIO{LeafWeight: new(uint16)}},
		"hugepageLimits": {HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}},
		"unified":        {Unified: map[string]string{"memory.max": "1"}},
	} {
		err := checkResources(r)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming it", want, err)
		}
	}
	// What needs a cgroup, by controller; nothing for what limits nothing.
	for want, r := range map[string]*specs.LinuxResources{
		"memory": {Memory: &specs.LinuxMemory{Limit: i(1 << 20)}},
		"cpu":    {CPU: &specs.LinuxCPU{Quota: i(50000), Period: u(100000)}},
		"cpuset": {CPU: &specs.LinuxCPU{Cpus: "0"}},
		"pids":   {Pids: &specs.LinuxPids{Limit: i(10)}},
		"io":     {BlockIO: &specs.LinuxBlockIO{Weight: new(uint16)}},
		"":       {CPU: &specs.LinuxCPU{Shares: u(1024), Period: u(100000)}, Pids: &specs.LinuxPids{Limit: i(-1)}},
	} {
		if got := strings.Join(limits(r), " "); got != want {
			t.Errorf("limits: %q, want %q", got, want)
		}
	}
}

// TestDefaultSpecPasses: the specs `spec` writes pass the checks create
// makes (the root aside, which the caller fills).
func TestDefaultSpecPasses(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		s := DefaultSpec(rootless)
		if err := checkSpec(s); err != nil {
			t.Errorf("rootless %v: %v", rootless, err)
		}
		if newUserNS(s) != rootless || (len(s.Linux.UIDMappings) > 0) != rootless {
			t.Errorf("rootless %v: user namespace %v, maps %v", rootless, newUserNS(s), s.Linux.UIDMappings)
		}
	}
}

// TestInitEnv: the init stage's namespace environment from a spec: made
// ones in _MYCTR_INIT_NS, joined ones as descriptors (the user namespace
// first), no user namespace as "host".
func TestInitEnv(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a spec without a user namespace needs root: run as root to cover host mode")
	}
	self := "/proc/self/ns/"
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: self + "net"}, {Type: specs.PIDNamespace},
		{Type: specs.UserNamespace, Path: self + "user"}, {Type: specs.CgroupNamespace},
	}}}
	env, files, err := initEnv(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	want := []string{nsexec.EnvInitNS + "=mnt,pid", nsexec.EnvInitNSFDs + "=user=7,net=8"}
	if strings.Join(env, " ") != strings.Join(want, " ") || len(files) != 2 {
		t.Fatalf("env %q (%d files), want %q", env, len(files), want)
	}
	spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}}
	if env, _, err = initEnv(spec, 3); err != nil || strings.Join(env, " ") != nsexec.EnvInitNS+"=mnt,uts "+nsexec.EnvInitUser+"=host" {
		t.Fatalf("no user namespace: %q, %v", env, err)
	}
	spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/etc/passwd"}}
	if _, _, err = initEnv(spec, 3); err == nil || !strings.Contains(err.Error(), "not a namespace file") {
		t.Fatalf("a path that is no namespace: %v", err)
	}
}

// TestStatus: stopped once the init is gone, created while the fifo is
// there, else running.
func TestStatus(t *testing.T) {
	rt := &Runtime{Root: t.TempDir()}
	_, start, err := nsexec.ProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r := &Record{ID: "s1", Pid: os.Getpid(), Start: start}
	if err := os.MkdirAll(filepath.Join(rt.Root, "s1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(rt.fifo("s1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := rt.Status(r); got != StatusCreated {
		t.Errorf("with the fifo: %s", got)
	}
	os.Remove(rt.fifo("s1"))
	if got := rt.Status(r); got != StatusRunning {
		t.Errorf("without the fifo: %s", got)
	}
	r.Start++ // another process with the same pid
	if got := rt.State(r); got.Status != StatusStopped || got.Pid != 0 {
		t.Errorf("a reused pid: %+v", got)
	}
}

// TestCgroupPlan: where a container's cgroup goes, and when it may do
// without one.
func TestCgroupPlan(t *testing.T) {
	defer func(r string) { CgroupRoot = r }(CgroupRoot)
	limit := int64(1 << 20)
	limited := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}}}
	plain := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/a/b"}}

	CgroupRoot = t.TempDir() // not a cgroup v2 hierarchy
	if _, err := cgroupPlan(plain, "c", false); !errors.Is(err, errNoCgroup) {
		t.Errorf("no limits, no cgroup2: %v, want errNoCgroup", err)
	}
	if _, err := cgroupPlan(limited, "c", false); err == nil || !strings.Contains(err.Error(), "memory") || errors.Is(err, errNoCgroup) {
		t.Errorf("limits, no cgroup2: %v, want an error naming memory", err)
	}

	var st unix.Statfs_t
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			CgroupRoot = p
			break
		}
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("no cgroup v2 hierarchy on this host")
	}
	// --systemd-cgroup: a scope, named by the path in systemd's form.
	sdSpec := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "machine.slice:libpod:c", Resources: limited.Linux.Resources}}
	if p, err := cgroupPlan(sdSpec, "c", true); err != nil || p.scope == nil || *p.scope != (systemdScope{"machine.slice", "libpod-c.scope"}) || p.dir != "" {
		t.Errorf("--systemd-cgroup: %+v, %v", p, err)
	}
	if _, err := cgroupPlan(plain, "c", true); err == nil || !strings.Contains(err.Error(), "slice:prefix:name") {
		t.Errorf("a cgroupfs path with --systemd-cgroup: %v, want the expected form named", err)
	}
	if p, err := cgroupPlan(plain, "c", false); err != nil || p.dir != CgroupRoot+"/a/b" {
		t.Errorf("absolute path: %+v, %v", p, err)
	}
	own, err := ownCgroup()
	if err != nil {
		t.Fatal(err)
	}
	rel := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "x/../y"}}
	if p, err := cgroupPlan(rel, "c", false); err != nil || p.dir != filepath.Join(CgroupRoot, own, "y") {
		t.Errorf("relative path: %+v, %v; want under %s", p, err, own)
	}
	up := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/../../etc"}}
	if p, err := cgroupPlan(up, "c", false); err != nil || p.dir != CgroupRoot+"/etc" {
		t.Errorf("a path climbing out: %+v, %v; want it kept inside the hierarchy", p, err)
	}
}

// TestSeccompCache: the compiled programs are cached in the runtime root,
// under a name no container id can have (so `list` passes it by), only
// where no one else may write: a root others may write gets no cache, and
// each filter is compiled again. A profile compiled once is read back.
func TestSeccompCache(t *testing.T) {
	if CheckID(seccompCacheDir) == nil {
		t.Fatalf("%q is a valid container id", seccompCacheDir)
	}
	compiles := 0
	was := seccompCompiler
	t.Cleanup(func() { seccompCompiler = was })
	seccompCompiler = func() (*compiler, error) {
		return &compiler{id: "test", compile: func(s *specs.LinuxSeccomp) (*progcache.Compiled, error) {
			compiles++
			return &progcache.Compiled{Filter: security.SeccompFilter{Program: []byte("12345678")}}, nil
		}}, nil
	}
	rt := &Runtime{Root: filepath.Join(t.TempDir(), "root")}
	dir, ok := rt.seccompCache()
	if !ok || dir != filepath.Join(rt.Root, seccompCacheDir) {
		t.Fatalf("a new root: cache %q, %v", dir, ok)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the cache directory: %v, %v; want mode 0700", fi, err)
	}
	if recs, err := rt.List(); err != nil || len(recs) != 0 {
		t.Fatalf("List with only the cache in the root: %v, %v", recs, err)
	}
	spec := &specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}}}
	first, err := rt.compileSeccomp(spec)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("after one compile the cache holds %v, want one program", ents)
	}
	again, err := rt.compileSeccomp(spec)
	if err != nil || string(again.Program) != string(first.Program) || compiles != 1 {
		t.Fatalf("from the cache: %v, %v, %d compiles", again, err, compiles)
	}
	for _, mode := range []os.FileMode{0o777, 0o720} {
		if err := os.Chmod(rt.Root, mode); err != nil {
			t.Fatal(err)
		}
		if _, ok := rt.seccompCache(); ok {
			t.Errorf("a root of mode %v: cache used", mode)
		}
	}
	if err := os.Chmod(rt.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, ok := rt.seccompCache(); ok {
		t.Error("a cache directory others may write: used")
	}
	if f, err := rt.compileSeccomp(spec); err != nil || string(f.Program) != string(first.Program) || compiles != 2 {
		t.Errorf("compiled without the cache: %v, %v, %d compiles", f, err, compiles)
	}
}

// TestSeccompCompilerMissing: without myctr-seccomp, a profile is an
// error that names it and says how to install it.
func TestSeccompCompilerMissing(t *testing.T) {
	if nsexec.Companion("myctr-seccomp") != "" {
		t.Skip("myctr-seccomp is beside the test binary")
	}
	rt := &Runtime{Root: t.TempDir()}
	_, err := rt.compileSeccomp(&specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}}})
	var he *HintError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "myctr-seccomp") || !strings.Contains(he.Hint(), "make install") {
		t.Fatalf("got %v, want the missing compiler named, with a hint", err)
	}
}
