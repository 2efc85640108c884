package ociruntime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/rootfs"
	"github.com/myctr/myctr/frontend/seccomp/progcache"
	"github.com/myctr/myctr/frontend/security"
	"github.com/myctr/myctr/frontend/userns"
)

// CreateOptions are `create`'s flags.
type CreateOptions struct {
	Bundle        string
	PidFile       string
	ConsoleSocket string
	PreserveFDs   int
	// SystemdCgroup: cgroupsPath is in systemd's form (slice:prefix:name).
	SystemdCgroup bool
	// Stdio of the container's process without a terminal; nil is the
	// runtime's own.
	Stdin, Stdout, Stderr *os.File
	// Spec and BundleDir are the bundle as LoadBundle returned it, for a
	// caller that read it already (run); nil to have Create read Bundle.
	Spec      *specs.Spec
	BundleDir string
	// Run is `run`: the container's process is started at once, with
	// no exec fifo and no `start`; Create returns once it is executed,
	// and Started runs the poststart hooks.
	Run bool
}

// LoadBundle reads and checks a bundle's config.json; the root path comes
// back absolute.
func LoadBundle(bundle string) (*specs.Spec, string, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return nil, "", fmt.Errorf("read the bundle's config.json: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, "", fmt.Errorf("parse %s: %w", filepath.Join(abs, "config.json"), err)
	}
	if err := checkSpec(&spec); err != nil {
		return nil, "", err
	}
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(abs, spec.Root.Path)
	}
	if fi, err := os.Stat(spec.Root.Path); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("root.path %s is not a directory", spec.Root.Path)
	}
	addDefaultDevices(spec.Linux)
	return &spec, abs, nil
}

// defaultDevices are the devices every container has, whatever its spec
// lists (the runtime specification's "Default Devices"); /dev/ptmx is the
// init's link to pts/ptmx.
var defaultDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// addDefaultDevices appends the default devices the spec does not list.
// Every device is the host's node, bound in: rootless, no other kind can
// be made.
func addDefaultDevices(l *specs.Linux) {
	for _, p := range defaultDevices {
		if !slices.ContainsFunc(l.Devices, func(d specs.LinuxDevice) bool { return filepath.Clean(d.Path) == p }) {
			l.Devices = append(l.Devices, specs.LinuxDevice{Path: p, Type: "c"})
		}
	}
}

// checkSpec refuses, by name, what the runtime does not do, and a spec
// missing what it must have.
func checkSpec(spec *specs.Spec) error {
	if !strings.HasPrefix(spec.Version, "1.") {
		return fmt.Errorf("ociVersion %q: myctr-runtime runs version 1 specifications", spec.Version)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("the spec has no root.path")
	}
	if spec.Process == nil {
		return errors.New("the spec has no process")
	}
	if len(spec.Process.Args) == 0 {
		return errors.New("process.args is empty")
	}
	if spec.Process.Cwd == "" || !filepath.IsAbs(spec.Process.Cwd) {
		return fmt.Errorf("process.cwd %q is not an absolute path", spec.Process.Cwd)
	}
	if spec.Linux == nil {
		return errors.New("the spec has no linux section: myctr-runtime runs Linux containers")
	}
	if err := nsexec.CheckRlimits(spec.Process.Rlimits); err != nil {
		return err
	}
	if c := spec.Process.Capabilities; c != nil {
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			for _, name := range set {
				if _, ok := security.CapValue(name); !ok {
					return fmt.Errorf("process.capabilities: unknown capability %q", name)
				}
			}
		}
	}
	if _, err := rootfs.RootPropagation(spec); err != nil {
		return err
	}
	if spec.Process.ApparmorProfile != "" {
		return fmt.Errorf("process.apparmorProfile %q: AppArmor is not supported", spec.Process.ApparmorProfile)
	}
	if spec.Process.SelinuxLabel != "" || spec.Linux.MountLabel != "" {
		return errors.New("process.selinuxLabel and linux.mountLabel: SELinux is not supported")
	}
	if spec.Linux.IntelRdt != nil {
		return errors.New("linux.intelRdt is not supported")
	}
	if spec.Linux.Personality != nil {
		return errors.New("linux.personality is not supported")
	}
	if s := spec.Linux.Seccomp; s != nil && (s.ListenerPath != "" || s.ListenerMetadata != "") {
		return errors.New("linux.seccomp.listenerPath: seccomp user notification is not supported")
	}
	if err := checkResources(spec.Linux.Resources); err != nil {
		return err
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		if _, ok := nsexec.NamespaceName(ns.Type); !ok {
			return fmt.Errorf("namespace type %q is not supported", ns.Type)
		}
		if seen[ns.Type] {
			return fmt.Errorf("namespace type %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" && ns.Type == specs.MountNamespace {
			return errors.New("joining a mount namespace (linux.namespaces path) is not supported: a container has its own")
		}
		if ns.Path != "" && ns.Type == specs.CgroupNamespace {
			return errors.New("joining a cgroup namespace (linux.namespaces path) is not supported")
		}
	}
	if !seen[specs.MountNamespace] {
		return errors.New("the spec has no mount namespace: myctr-runtime runs a container only in its own")
	}
	if (len(spec.Linux.UIDMappings) > 0 || len(spec.Linux.GIDMappings) > 0) && !newUserNS(spec) {
		return errors.New("linux.uidMappings and gidMappings need a new user namespace (one without a path)")
	}
	return nil
}

// checkResources refuses what no cgroup of myctr-runtime's applies:
// hugetlb, rdma, network classes, raw unified files, and the memory and
// CPU settings that cgroup v2 has no file for. What limits nothing
// passes: device rules (a container gets only the device nodes its spec
// lists, and, rootless, could make no others), the default CPU weight
// (shares 1024, which containerd's specs carry), and unlimited values.
func checkResources(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	pos := func(v *int64) bool { return v != nil && *v > 0 }
	var set []string
	if m := r.Memory; m != nil && (pos(m.Kernel) || pos(m.KernelTCP) || m.Swappiness != nil || (m.DisableOOMKiller != nil && *m.DisableOOMKiller)) {
		set = append(set, "memory (kernel, kernelTCP, swappiness, disableOOMKiller)")
	}
	if c := r.CPU; c != nil && (pos(c.RealtimeRuntime) || (c.RealtimePeriod != nil && *c.RealtimePeriod > 0) ||
		(c.Idle != nil && *c.Idle != 0) || (c.Burst != nil && *c.Burst > 0)) {
		set = append(set, "cpu (realtime, idle, burst)")
	}
	if b := r.BlockIO; b != nil && b.LeafWeight != nil {
		set = append(set, "blockIO (leafWeight)")
	}
	if len(r.HugepageLimits) > 0 {
		set = append(set, "hugepageLimits")
	}
	if r.Network != nil && (r.Network.ClassID != nil || len(r.Network.Priorities) > 0) {
		set = append(set, "network")
	}
	if len(r.Rdma) > 0 {
		set = append(set, "rdma")
	}
	if len(r.Unified) > 0 {
		set = append(set, "unified")
	}
	if len(set) > 0 {
		return fmt.Errorf("linux.resources %s: myctr-runtime does not apply these; remove them from the spec", strings.Join(set, ", "))
	}
	return nil
}

// limits names the controllers whose limits r sets (memory, cpu,
// cpuset, pids, io), which need the container's own cgroup; none for
// what limits nothing.
func limits(r *specs.LinuxResources) []string {
	if r == nil {
		return nil
	}
	pos := func(v *int64) bool { return v != nil && *v > 0 }
	var set []string
	if m := r.Memory; m != nil && (pos(m.Limit) || pos(m.Reservation) || pos(m.Swap)) {
		set = append(set, "memory")
	}
	if c := r.CPU; c != nil && ((c.Shares != nil && *c.Shares != 0 && *c.Shares != 1024) || pos(c.Quota)) {
		set = append(set, "cpu")
	}
	if c := r.CPU; c != nil && (c.Cpus != "" || c.Mems != "") {
		set = append(set, "cpuset")
	}
	if r.Pids != nil && pos(r.Pids.Limit) {
		set = append(set, "pids")
	}
	if b := r.BlockIO; b != nil && (b.Weight != nil || len(b.WeightDevice) > 0 ||
		len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
		len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0) {
		set = append(set, "io")
	}
	return set
}

// addUserNS gives a spec without a user namespace, run by a user other
// than root, one of its own, as crun does: the user's id as root, and
// its subordinate range (when it has one) from 1, the mapping myctr gives
// its containers. A spec written for root then runs rootless as it would
// as root, within what the namespace's root may do.
func addUserNS(spec *specs.Spec) error {
	if os.Geteuid() == 0 || nsexec.HasNamespace(spec, specs.UserNamespace) {
		return nil
	}
	m, err := userns.Current()
	if err != nil {
		return err
	}
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	spec.Linux.UIDMappings, spec.Linux.GIDMappings = m.UIDMappings(), m.GIDMappings()
	return nil
}

func newUserNS(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// initEnv is the init stage's namespace environment for the spec, and
// the descriptors of the namespaces it joins (to pass, then close).
func initEnv(spec *specs.Spec, firstFD int) (env []string, files []*os.File, err error) {
	var unshare, join []string
	user := "host"
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	add := func(name, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open the %s namespace %s: %w", name, path, err)
		}
		var st unix.Statfs_t
		if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || (st.Type != unix.NSFS_MAGIC && st.Type != unix.PROC_SUPER_MAGIC) {
			f.Close()
			return fmt.Errorf("the %s namespace's path %s is not a namespace file", name, path)
		}
		join = append(join, name+"="+strconv.Itoa(firstFD+len(files)))
		files = append(files, f)
		return nil
	}
	// The user namespace first: the others belong to it.
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != specs.UserNamespace {
			continue
		}
		user = ""
		if ns.Path != "" {
			if err := add("user", ns.Path); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, ns := range spec.Linux.Namespaces {
		name, _ := nsexec.NamespaceName(ns.Type) // checkSpec knew them all
		switch {
		case ns.Type == specs.UserNamespace || ns.Type == specs.CgroupNamespace:
			// The cgroup namespace is made by the Go init.
		case ns.Path != "":
			if err := add(name, ns.Path); err != nil {
				return nil, nil, err
			}
		default:
			unshare = append(unshare, name)
		}
	}
	if user == "host" && os.Geteuid() != 0 {
		return nil, nil, errors.New("the spec has no user namespace, which only root may run")
	}
	env = []string{nsexec.EnvInitNS + "=" + strings.Join(unshare, ",")}
	if len(join) > 0 {
		env = append(env, nsexec.EnvInitNSFDs+"="+strings.Join(join, ","))
	}
	if user != "" {
		env = append(env, nsexec.EnvInitUser+"="+user)
	} else if len(join) == 0 {
		// Joins nothing, makes its user namespace: the constructor
		// needs one of the two variables to take the runtime's path.
		env = append(env, nsexec.EnvInitNSFDs+"=")
	}
	return env, files, nil
}

// Create creates the container id from a bundle: its namespaces, root
// filesystem and process set up, the process not yet executed (the init
// waits on the exec fifo for `start`). The init is the caller's child
// until the caller exits, then its subreaper's. It returns the
// container's record as it saved it.
func (rt *Runtime) Create(id string, o CreateOptions) (_ *Record, err error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if o.PreserveFDs < 0 || o.PreserveFDs > maxPreserveFDs {
		return nil, fmt.Errorf("--preserve-fds %d: from 0 to %d", o.PreserveFDs, maxPreserveFDs)
	}
	spec, bundle := o.Spec, o.BundleDir
	if spec == nil {
		if spec, bundle, err = LoadBundle(o.Bundle); err != nil {
			return nil, err
		}
	}
	return rt.create(id, o, spec, bundle)
}

// create is Create once the bundle is read. Its record is a local, not a
// result: the cleanup deferred below needs it after a failed return.
func (rt *Runtime) create(id string, o CreateOptions, spec *specs.Spec, bundle string) (_ *Record, err error) {
	if err := addUserNS(spec); err != nil {
		return nil, err
	}
	filter, err := rt.compileSeccomp(spec)
	if err != nil {
		return nil, err
	}
	plan, err := cgroupPlan(spec, id, o.SystemdCgroup)
	if err != nil && !errors.Is(err, errNoCgroup) {
		return nil, err
	}
	if err := os.MkdirAll(rt.Root, 0o700); err != nil {
		return nil, fmt.Errorf("create the runtime root %s: %w", rt.Root, err)
	}
	dir := rt.dir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id exists: %s", id)
		}
		return nil, fmt.Errorf("create the container's state directory: %w", err)
	}
	var initPid int
	rec := &Record{ID: id, Bundle: bundle, Created: time.Now().UTC(), Annotations: spec.Annotations,
		Spec: spec, OwnPidNS: ownNS(spec, specs.PIDNamespace)}
	defer func() {
		if err != nil {
			if initPid > 0 {
				// Our child until we exit, so its pid is not reused:
				// killed with the rest of the container, or alone
				// where its start time was not read yet.
				rt.killAll(rec)
				unix.Kill(initPid, unix.SIGKILL)
			}
			if stopped, _ := stopScope(rec); stopped || rec.Unit == "" {
				removeCgroup(rec.Cgroup)
			}
			os.RemoveAll(dir)
		}
	}()
	// Written by the container's process, which may be any user of the
	// container: others may write, nobody but us may read. `run` has
	// none: nothing waits between create and start.
	var fifo *os.File
	if !o.Run {
		if err := unix.Mkfifo(rt.fifo(id), 0o622); err != nil {
			return nil, fmt.Errorf("make the exec fifo: %w", err)
		}
		if err := os.Chmod(rt.fifo(id), 0o622); err != nil {
			return nil, err
		}
		if fifo, err = os.OpenFile(rt.fifo(id), unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("open the exec fifo: %w", err)
		}
		defer fifo.Close()
	}

	if u, err := userns.LookupUser(strconv.Itoa(os.Getuid())); err == nil {
		rec.Owner = u.Username
	}
	// The maps: written by the init's constructor with newuidmap and
	// newgidmap where they are needed (mapEnv), else by us (mapping).
	var mapping *userns.Mapping
	var mapEnv []string
	if newUserNS(spec) {
		m, err := userns.Current()
		if err != nil {
			return nil, err
		}
		mapping = m.WithMaps(spec.Linux.UIDMappings, spec.Linux.GIDMappings)
		uid, gid, err := mapping.Mappers()
		if err != nil {
			return nil, fmt.Errorf("set up the user namespace: %w", err)
		}
		if mapEnv = nsexec.MapperEnv(uid, gid); mapEnv != nil {
			mapping = nil
		}
	}
	stage, err := nsexec.StageBinary()
	if err != nil {
		return nil, err
	}
	defer stage.Close()
	parent, child, err := nsexec.NewPair()
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	var extra []*os.File
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	extra = append(extra, child)
	syncFD, fifoFD := 3+o.PreserveFDs, 0
	if fifo != nil {
		extra = append(extra, fifo)
		fifoFD = 4 + o.PreserveFDs
	}
	nsEnv, nsFiles, err := initEnv(spec, 3+len(extra))
	if err != nil {
		child.Close()
		return nil, err
	}
	extra = append(extra, nsFiles...)
	env := append([]string{nsexec.EnvStage + "=" + nsexec.StageInit, nsexec.EnvVersion + "=" + nsexec.Version,
		nsexec.EnvSyncFD + "=" + strconv.Itoa(syncFD), "GOMAXPROCS=1", "GOGC=off", nsexec.EnvNoMemProfile}, nsEnv...)
	env = append(env, mapEnv...)
	var stdio []*os.File // nil: /dev/null
	if !spec.Process.Terminal {
		stdio = []*os.File{or(o.Stdin, os.Stdin), or(o.Stdout, os.Stdout), or(o.Stderr, os.Stderr)}
	} else if o.ConsoleSocket == "" {
		child.Close()
		return nil, errors.New("process.terminal is set: --console-socket must name the socket that gets the terminal")
	}
	first, err := startStage(nsexec.ExecPath(stage), stdio, extra, env, spec.Process.Terminal)
	child.Close()
	for _, f := range nsFiles {
		f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("start the container's init: %w", err)
	}
	msg, _, err := parent.Expect(nsexec.MsgPid)
	waitPid(first) // the stage's first process, gone once it sent the pid
	if me, ok := nsexec.MapperError(err); ok {
		return nil, fmt.Errorf("set up the user namespace: %w", me)
	}
	if err != nil {
		return nil, fmt.Errorf("container init: %w", err)
	}
	initPid, rec.Pid = msg.Pid, msg.Pid
	// Maps we write ourselves first: they run while the configuration
	// is sent and the record written.
	var mapped chan error
	if mapping != nil {
		mapped = make(chan error, 1)
		go func() { mapped <- mapping.Apply(initPid) }()
	}
	// The init decodes the configuration (a few milliseconds for a cold
	// process) while the maps, the record and the cgroup are made, and
	// does nothing until it is told to proceed. The init gets the
	// program, not the rules.
	initSpec, linux := *spec, *spec.Linux
	linux.Seccomp, initSpec.Linux = nil, &linux
	cfg := &nsexec.InitConfig{Spec: &initSpec, Bundle: true, StartFifo: fifoFD, Seccomp: filter, ListenFDs: o.PreserveFDs}
	if h := spec.Hooks; h != nil && (len(h.CreateContainer) > 0 || len(h.StartContainer) > 0) {
		cfg.State = &specs.State{Version: specs.Version, ID: id, Pid: initPid, Bundle: bundle, Annotations: spec.Annotations}
	}
	if err := parent.Send(&nsexec.Message{Type: nsexec.MsgConfig, Init: cfg}); err != nil {
		return nil, fmt.Errorf("send configuration to init: %w", err)
	}
	err = rt.recordInit(rec)
	if mapped != nil {
		if merr := <-mapped; merr != nil && err == nil {
			err = fmt.Errorf("set up the user namespace: %w", merr)
		}
	}
	if err != nil {
		return nil, err
	}
	// Before the init runs anything of the container's: everything it
	// starts is in the cgroup, under its limits.
	switch {
	case plan == nil:
	case plan.scope != nil:
		if err := startScope(rec, plan, initPid, spec.Linux.Resources); err != nil {
			return nil, err
		}
		if err := rt.save(rec); err != nil {
			return nil, err
		}
	default:
		switch err := joinCgroup(plan.dir, initPid, spec.Linux.Resources); {
		case errors.Is(err, errNoCgroup):
		case err != nil:
			return nil, err
		default:
			rec.Cgroup = plan.dir
			if err := rt.save(rec); err != nil {
				return nil, err
			}
		}
	}
	if h := spec.Hooks; h != nil {
		st := &specs.State{Version: specs.Version, ID: id, Status: StatusCreating, Pid: initPid, Bundle: bundle, Annotations: spec.Annotations}
		//nolint:staticcheck // prestart is deprecated, and still called, as runc does
		for _, hooks := range [][]specs.Hook{h.Prestart, h.CreateRuntime} {
			if err := nsexec.RunHooks(hooks, st); err != nil {
				return nil, err
			}
		}
	}
	if err := parent.Send(&nsexec.Message{Type: nsexec.MsgProceed}); err != nil {
		return nil, fmt.Errorf("tell the init to proceed: %w", err)
	}
	// Created: the init waits on the fifo. Run: the end of the stream,
	// the container's process executed.
	done := nsexec.MsgCreated
	if o.Run {
		done = nsexec.MsgEnd
	}
	for {
		msg, fds, err := parent.Expect(nsexec.MsgPty, done)
		if err != nil {
			return nil, fmt.Errorf("container init: %w", err)
		}
		if msg.Type == done {
			break
		}
		err = sendConsole(o.ConsoleSocket, fds[0])
		unix.Close(fds[0])
		if err != nil {
			return nil, err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, initPid); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// recordInit reads the init's start time and writes the record at once:
// if `create` is killed from then on, the init (which waits to proceed,
// or on the fifo) is found and killed by `delete --force`. Before that,
// the init ends by itself: its sync socket closes with us.
func (rt *Runtime) recordInit(rec *Record) error {
	var err error
	if _, rec.Start, err = nsexec.ProcStat(rec.Pid); err != nil {
		return fmt.Errorf("read start time of init %d: %w", rec.Pid, err)
	}
	return rt.save(rec)
}

// startStage starts the init stage from path (argv[0] myctr-init) with
// stdio (nil: /dev/null for all three) as 0-2 and extra from 3 on, and
// returns its pid, ours to wait for. Through syscall.ForkExec rather than
// os/exec: os.StartProcess first checks, once per process, that pidfds
// work, with a child of its own that it starts and reaps, about 0.3 ms
// before the init's fork; this process never needs a pidfd of the stage.
func startStage(path string, stdio, extra []*os.File, env []string, setsid bool) (int, error) {
	if stdio == nil {
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		defer null.Close()
		stdio = []*os.File{null, null, null}
	}
	var fds []uintptr
	for _, f := range append(stdio, extra...) {
		fds = append(fds, f.Fd())
	}
	pid, err := syscall.ForkExec(path, []string{"myctr-init"}, &syscall.ProcAttr{Env: env, Files: fds, Sys: &syscall.SysProcAttr{Setsid: setsid}})
	// The descriptors are ours until the child has them.
	runtime.KeepAlive(stdio)
	runtime.KeepAlive(extra)
	return pid, err
}

// waitPid reaps our child pid.
func waitPid(pid int) {
	for {
		if _, err := unix.Wait4(pid, nil, 0, nil); !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// maxPreserveFDs bounds --preserve-fds: the stage's own descriptors
// follow the preserved ones, all below the one its binary is executed
// from (nsexec.StageBinary).
const maxPreserveFDs = 32

// compileSeccomp compiles the spec's seccomp profile; nil for none. The
// program comes from the cache in the runtime root (seccompCache) when a
// container with the same profile was started since the last boot:
// libseccomp takes about 50 ms for Podman's default profile, which every
// Podman container and every exec in it has; the cache's lookup, a
// quarter of a millisecond. Else myctr-seccomp compiles it: this program
// links no libseccomp, so that none of its commands pays for cgo's and
// the C library's start-up (about half a millisecond each).
func (rt *Runtime) compileSeccomp(spec *specs.Spec) (*security.SeccompFilter, error) {
	if spec.Linux.Seccomp == nil {
		return nil, nil
	}
	var prog *progcache.Compiled
	compiler, err := seccompCompiler()
	if err == nil {
		if dir, ok := rt.seccompCache(); ok {
			prog, err = progcache.Program(dir, compiler.id, spec.Linux.Seccomp, compiler.compile)
		} else {
			prog, err = compiler.compile(spec.Linux.Seccomp)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	return &prog.Filter, nil
}

// A seccomp compiler: id names it for the cache, compile runs it.
type compiler struct {
	id      string
	compile func(*specs.LinuxSeccomp) (*progcache.Compiled, error)
}

// seccompCompiler is myctr-seccomp (progcache.External), found beside
// this program or in ../libexec/myctr; the tests of this package put
// another in its place.
var seccompCompiler = func() (*compiler, error) {
	path := nsexec.Companion("myctr-seccomp")
	if path == "" {
		return nil, &HintError{errors.New("compiling a seccomp profile needs myctr-seccomp, which is not installed beside myctr-runtime or in ../libexec/myctr"),
			"install myctr-runtime with make install, which puts myctr-seccomp beside it"}
	}
	ext, err := progcache.NewExternal(path)
	if err != nil {
		return nil, err
	}
	return &compiler{id: ext.ID, compile: ext.Compile}, nil
}

// seccompCacheDir is the cache's directory in the runtime root: a name no
// container id can have ('@' is not among their characters), so `list`
// passes it by and no container's directory can be it.
const seccompCacheDir = "seccomp@cache"

// seccompCache is the directory of compiled seccomp programs (see
// progcache.Program: named by a digest of the profile, the compiler and
// the kernel's release), made if missing; false when this user is
// not the only one who may write the runtime root and it, or it cannot
// be made: a program read from there is loaded as a container's filter.
// (The root's records are trusted as much: `delete` runs the poststop
// hooks state.json names.)
func (rt *Runtime) seccompCache() (string, bool) {
	dir := filepath.Join(rt.Root, seccompCacheDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false
	}
	for _, d := range []string{rt.Root, dir} {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
			return "", false
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			return "", false
		}
	}
	return dir, true
}

func or(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func ownNS(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

// writePidFile writes the pid as runc does: the number alone, no newline,
// replaced atomically (a caller may be polling for it).
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write the pid file: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write the pid file: %w", err)
	}
	return nil
}

// sendConsole sends the terminal's master to the console socket, as runc
// does: one message, the descriptor attached, its name as the payload.
func sendConsole(path string, master int) error {
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(conn)
	if err := unix.Connect(conn, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("connect to the console socket %s: %w", path, err)
	}
	if err := unix.Sendmsg(conn, []byte("/dev/ptmx"), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("send the terminal to the console socket: %w", err)
	}
	return nil
}
