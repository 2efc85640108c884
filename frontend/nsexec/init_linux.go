package nsexec

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/rootfs"
)

// envMapped marks the second run of a stage that waited for its id maps.
const envMapped = "_MYCTR_MAPPED"

// reexecMapped runs this binary again, now that the parent has written the
// id maps. A process that entered a user namespace through clone(2) and
// then execve(2) before its maps existed ran as the overflow uid at exec
// time and so holds no capabilities there; executing again as the mapped
// uid 0 gives it the full set.
func reexecMapped() {
	os.Setenv(envMapped, "1")
	err := unix.Exec("/proc/self/exe", os.Args, os.Environ())
	os.Stderr.WriteString("Error: re-execute in the user namespace: " + err.Error() + "\n")
	os.Exit(ExitSetup)
}

func syncConn() *Conn {
	fd, err := strconv.Atoi(os.Getenv(EnvSyncFD))
	if err != nil {
		os.Stderr.WriteString("Error: myctr internal stage started without its sync socket\n")
		os.Exit(ExitSetup)
	}
	os.Unsetenv(EnvInitNS)
	os.Unsetenv(EnvInitJoinFD)
	os.Unsetenv(EnvInitJoinNS)
	os.Unsetenv(EnvInitNSFDs)
	os.Unsetenv(EnvInitUser)
	os.Unsetenv(EnvInitUIDMap)
	os.Unsetenv(EnvInitGIDMap)
	unix.CloseOnExec(fd)
	os.Unsetenv(EnvSyncFD)
	os.Unsetenv(EnvStage)
	return FromFD(fd)
}

// Init is the container's init: PID 1 of the new PID namespace, root of the
// new user namespace once the parent has written its maps. It builds the
// root filesystem and becomes the container's process. It never returns.
func Init() {
	runtime.LockOSThread()
	CheckVersion()
	conn := syncConn()
	// The C constructor (nsenter.c) has made the namespaces: we are PID 1
	// of the new PID namespace, with every capability in our user
	// namespace, whose maps the parent writes meanwhile. The
	// configuration comes first (in the compact form of wire.go, unless
	// it has fields that form does not hold); it is decoded while the
	// parent works.
	msg, _, err := conn.Expect(MsgConfig)
	if err == nil && msg.Init == nil {
		err = fmt.Errorf("%w: an exec stage's configuration", ErrUnexpected)
	}
	if err != nil {
		conn.Fail("read configuration", err, ExitSetup)
	}
	cfg := msg.Init
	spec := cfg.Spec
	// Nothing is done before the parent says so: the maps are written,
	// we are in the container's cgroup, the network is attached.
	msg, _, err = conn.Expect(MsgProceed)
	if err != nil {
		conn.Fail("wait for the id maps, cgroup and network", err, ExitSetup)
	}
	// An OCI runtime's init: root on the host making (or joining) a user
	// namespace whose maps leave the host's root out runs there as the
	// overflow id, which can create no file; it becomes the namespace's
	// root, as every capability there allows it to, as runc's does.
	// (Rootless, the user's own id is root there already. myctr's own
	// containers keep the id they have: --userns=keep-id maps the user
	// to itself, and what the init makes belongs to it.)
	if cfg.Bundle && (os.Getuid() != 0 || os.Getgid() != 0) {
		if err := unix.Setresgid(0, 0, 0); err != nil {
			conn.Fail("become root of the user namespace (setgid 0)", err, ExitSetup)
		}
		if err := unix.Setresuid(0, 0, 0); err != nil {
			conn.Fail("become root of the user namespace (setuid 0)", err, ExitSetup)
		}
	}
	// Containers created before myctr-init ran from a sealed copy bound
	// the file on disk at InitPath: that file must not be in reach of the
	// container (see startProcess).
	spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m specs.Mount) bool {
		return m.Destination == InitPath && isInitCommand(spec.Process.Args)
	})
	// The parent has put us in the container's own cgroup (when it has
	// one) before sending the configuration: the namespace made now has
	// that cgroup as its root. This thread is the one that mounts and
	// executes the container's process.
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.CgroupNamespace {
			if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
				conn.Fail("unshare cgroup namespace", err, ExitSetup)
			}
		}
	}
	if adj := spec.Process.OOMScoreAdj; adj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0); err != nil {
			conn.Fail(fmt.Sprintf("set oom_score_adj to %d (lowering it needs CAP_SYS_RESOURCE on the host)", *adj), err, ExitSetup)
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			conn.Fail("sethostname", err, ExitSetup)
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			conn.Fail("setdomainname", err, ExitSetup)
		}
	}
	if err := setRlimits(spec.Process.Rlimits); err != nil {
		conn.Fail("set rlimits", err, ExitSetup)
	}
	for _, ns := range spec.Linux.Namespaces {
		// A joined network namespace is another container's, up already.
		if ns.Type == specs.NetworkNamespace && ns.Path == "" {
			if err := loopbackUp(); err != nil {
				conn.Fail("bring up lo", err, ExitSetup)
			}
		}
	}
	// The host's /proc is still mounted here: /proc/sys/net shows this
	// network namespace, /proc/sys/kernel and fs/mqueue this IPC
	// namespace, and nothing of the container's is mounted yet.
	if err := writeSysctls(spec.Linux.Sysctl); err != nil {
		conn.Fail("set sysctl", err, ExitSetup)
	}
	if msg.Network != nil {
		if err := netif.Configure(*msg.Network); err != nil {
			conn.Fail("configure the bridged network's interface", err, ExitSetup)
		}
	}
	ov := rootfs.Overlay{Lower: cfg.Overlay.Lower, Upper: cfg.Overlay.Upper, Work: cfg.Overlay.Work, RunDir: cfg.Overlay.RunDir, Bundle: cfg.Bundle,
		Volatile: spec.Annotations[rootfs.AnnotationVolatile] == "1"}
	if a, ok := spec.Annotations[rootfs.AnnotationKeepID]; ok {
		k, err := rootfs.ParseKeepUser(a)
		if err != nil {
			conn.Fail("read --userns=keep-id", err, ExitSetup)
		}
		ov.KeepID = &k
		// In the container's directory, beside its upper directory.
		ov.ShiftMarker = filepath.Join(filepath.Dir(cfg.Overlay.Upper), "keep-id-shifted")
	}
	if a := spec.Annotations[rootfs.AnnotationHostUsers]; a != "" {
		ov.HostUsers = strings.Split(a, "\n")
	}
	if err := rootfs.Prepare(spec, ov); err != nil {
		conn.Fail("prepare rootfs", err, ExitSetup)
	}
	// createContainer hooks: in the container's namespaces, its mounts
	// made, before pivot_root, so that their paths resolve on the host.
	if cfg.State != nil && spec.Hooks != nil && len(spec.Hooks.CreateContainer) > 0 {
		st := *cfg.State
		st.Status = specs.StateCreating
		if err := RunHooks(spec.Hooks.CreateContainer, &st); err != nil {
			conn.Fail("createContainer hook", err, ExitSetup)
		}
	}
	if err := rootfs.PivotRoot(spec.Root.Path); err != nil {
		conn.Fail("pivot_root", err, ExitSetup)
	}
	if err := rootfs.Finish(spec); err != nil {
		conn.Fail("finish rootfs", err, ExitSetup)
	}
	ps := procSetup{ws: cfg.Winsize, listenFDs: cfg.ListenFDs, filter: cfg.Seccomp, rules: cfg.Landlock, givenWorkdir: spec.Annotations[AnnotationWorkdirGiven],
		keepGroups: spec.Annotations[AnnotationKeepGroups] == "1"}
	if cfg.Bundle {
		ps.wait = func() {
			// myctr-runtime `run` sends no fifo: nothing waits
			// between create and start.
			if cfg.StartFifo != 0 {
				waitStart(conn, cfg.StartFifo)
			}
			// startContainer hooks: once `start` is called, in the
			// container (paths resolve in its root), as the process's
			// user, as runc runs them. After `create`, the runtime is
			// gone: a failure is reported on the container's stderr,
			// and it stops.
			if cfg.State != nil && spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0 {
				st := *cfg.State
				st.Status = specs.StateCreated
				if err := RunHooks(spec.Hooks.StartContainer, &st); err != nil {
					conn.Fail("startContainer hook", err, ExitSetup)
				}
			}
		}
	}
	startProcess(conn, spec.Process, ps)
}

// waitStart tells the parent (myctr-runtime create) that the container is
// created, then blocks opening the exec fifo for writing until `start`
// opens it for reading, and writes it one byte. The descriptor is O_PATH:
// reopened through /proc/self/fd, the container's own procfs by now. Once
// it returns, nothing is left to report to: the parent is gone.
func waitStart(conn *Conn, fifo int) {
	if err := conn.Send(&Message{Type: MsgCreated}); err != nil {
		conn.Fail("tell the runtime the container is created", err, ExitSetup)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fifo), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Exit(ExitSetup)
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	unix.Close(fifo)
	if err != nil {
		os.Exit(ExitSetup)
	}
}

// rlimitTypes are the spec's process.rlimits names.
var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// RlimitResource is the resource number of an rlimit type the spec
// names ("RLIMIT_NOFILE"), if it is one.
func RlimitResource(t string) (int, bool) {
	r, ok := rlimitTypes[t]
	return r, ok
}

// CheckRlimits refuses an rlimit of an unknown type, one listed twice, or
// one whose soft limit exceeds its hard limit.
func CheckRlimits(rl []specs.POSIXRlimit) error {
	seen := map[string]bool{}
	for _, r := range rl {
		if _, ok := rlimitTypes[r.Type]; !ok {
			return fmt.Errorf("process.rlimits: unknown type %q", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("process.rlimits: %s is listed twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fmt.Errorf("process.rlimits: %s: soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	return nil
}

// setRlimits sets the spec's rlimits on the init, which the container's
// process inherits through execve.
func setRlimits(rl []specs.POSIXRlimit) error {
	if err := CheckRlimits(rl); err != nil {
		return err
	}
	for _, r := range rl {
		if err := unix.Setrlimit(rlimitTypes[r.Type], &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("%s: %w", r.Type, err)
		}
	}
	return nil
}

// Exec runs inside a running container's namespaces, joined by the C
// constructor before the Go runtime started, and becomes the exec'd process.
func Exec() {
	runtime.LockOSThread()
	CheckVersion()
	if fd, err := strconv.Atoi(os.Getenv(EnvJoinFD)); err == nil {
		unix.Close(fd)
	}
	os.Unsetenv(EnvJoinFD)
	os.Unsetenv(EnvJoinNS)
	conn := syncConn()
	msg, _, err := conn.Expect(MsgConfig)
	if err == nil && msg.Exec == nil {
		err = fmt.Errorf("%w: the init's configuration", ErrUnexpected)
	}
	if err != nil {
		conn.Fail("read exec configuration", err, ExitSetup)
	}
	// The container's --ulimit limits, as its main process has them.
	if err := setRlimits(msg.Exec.Process.Rlimits); err != nil {
		conn.Fail("set rlimits", err, ExitSetup)
	}
	startProcess(conn, msg.Exec.Process, procSetup{ws: msg.Exec.Winsize, listenFDs: msg.Exec.PreserveFDs, filter: msg.Exec.Seccomp, rules: msg.Exec.Landlock, keepGroups: msg.Exec.KeepGroups})
}

// Signal runs in the container's user namespace, joined by the C
// constructor, where it holds CAP_KILL over the container's processes even
// when they run as a subordinate uid, and sends os.Args[1] (a signal
// number) through the inherited pidfd, which cannot be reused by another
// process.
func Signal() int {
	CheckVersion()
	fd, err1 := strconv.Atoi(os.Getenv(EnvJoinFD))
	sig, err2 := strconv.Atoi(os.Args[len(os.Args)-1])
	if err1 != nil || err2 != nil {
		os.Stderr.WriteString("Error: myctr signal stage: bad arguments\n")
		return ExitSetup
	}
	if err := unix.PidfdSendSignal(fd, unix.Signal(sig), nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return 3
		}
		os.Stderr.WriteString("Error: send signal: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// Reap returns the reap stage of both binaries: it deletes os.Args[1],
// the .rm- directory of a removed container, in a detached process.
// Files that belong to subordinate ids need the user namespace:
// inUserNS deletes them from there (RemoveTree, in myctr). myctr-init,
// which has no user-namespace stage, passes nil and hands over to the
// main binary (EnvMain) then, keeping the stage in the environment; not
// linking RemoveTree also keeps it small.
func Reap(inUserNS func(dir string) error) func() int {
	return func() int {
		main := os.Getenv(EnvMain)
		if len(os.Args) != 2 || !strings.HasPrefix(filepath.Base(os.Args[1]), ".rm-") {
			return ExitSetup
		}
		dir := os.Args[1]
		if err := os.RemoveAll(dir); err == nil {
			return 0
		}
		if inUserNS == nil {
			if main != "" {
				err := unix.Exec(main, os.Args, os.Environ())
				fmt.Fprintf(os.Stderr, "Error: hand the removal of %s to %s: %v\n", dir, main, err)
			}
			return 1
		}
		os.Unsetenv(EnvMain)
		os.Unsetenv(EnvStage)
		if err := inUserNS(dir); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		return 0
	}
}

// loopbackUp sets lo up in the container's own network namespace, as
// every runtime does, so that 127.0.0.1 works even with --network none.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// writeSysctls writes the container's sysctls (their names were checked
// when the container was created: dotted parts of [A-Za-z0-9_-], in the
// container's own namespaces), in a fixed order.
func writeSysctls(sys map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(sys)) {
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		f, err := os.OpenFile(p, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			_, err = f.WriteString(sys[k])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("%s=%q: %w", k, sys[k], err)
		}
	}
	return nil
}
