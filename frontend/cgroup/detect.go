package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Layout is how a host mounts its cgroups.
type Layout int

const (
	// NoCgroups: no cgroup file system is mounted.
	NoCgroups Layout = iota
	// V1: only cgroup v1 hierarchies.
	V1
	// Hybrid: cgroup v1 hierarchies under a tmpfs at /sys/fs/cgroup, and
	// a cgroup v2 tree (usually without controllers) at
	// /sys/fs/cgroup/unified.
	Hybrid
	// Unified: cgroup v2 alone at /sys/fs/cgroup.
	Unified
)

func (l Layout) String() string {
	return [...]string{"no cgroups", "cgroup v1", "hybrid (cgroup v1 and v2)", "cgroup v2"}[l]
}

// Env is what Detect looks at: files under Root (/ on a real host; a
// fake tree in tests), the user and the user's runtime directory.
type Env struct {
	Root       string // "/" for this host
	UID        int
	RuntimeDir string // $XDG_RUNTIME_DIR, where the user bus listens
}

// HostEnv is the Env of the calling process.
func HostEnv() Env {
	return Env{Root: "/", UID: os.Getuid(), RuntimeDir: os.Getenv("XDG_RUNTIME_DIR")}
}

// Detection is where a container's cgroup could come from on a host.
type Detection struct {
	Layout Layout
	// V1Controllers are the controllers on cgroup v1 hierarchies.
	V1Controllers []string
	// UnifiedControllers are the controllers of the cgroup v2 root (of
	// /sys/fs/cgroup/unified on a hybrid host).
	UnifiedControllers []string
	// Own is this process's cgroup v2 path (from /proc/self/cgroup).
	Own string
	// Manager is the user manager's cgroup (…/user@UID.service) that Own
	// lies in, or "" when there is none.
	Manager string
	// Delegated are the controllers the user manager's cgroup has.
	Delegated []string
	// Bus reports whether the user bus socket exists.
	Bus bool
	// UID is the user detected for.
	UID int
	// Helper reports whether myctr-helper is installed for D-Bus
	// activation (its activation file in a system-services directory).
	Helper bool
}

func (e Env) path(p string) string { return filepath.Join(e.Root, p) }

// Detect reads the host's cgroup layout and what the user's systemd
// manager could delegate. It only reads files.
func Detect(e Env) (*Detection, error) {
	d := &Detection{UID: e.UID}
	for _, dir := range []string{"/usr/local/share/dbus-1/system-services", "/usr/share/dbus-1/system-services", "/lib/dbus-1/system-services"} {
		if _, err := os.Stat(e.path(filepath.Join(dir, "org.myctr.Helper1.service"))); err == nil {
			d.Helper = true
		}
	}
	f, err := os.Open(e.path("/proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("cgroup detection: %w", err)
	}
	defer f.Close()
	var rootType string
	unified := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		mnt, fstype := pf[4], qf[0]
		switch {
		case mnt == "/sys/fs/cgroup":
			rootType = fstype
		case fstype == "cgroup2" && strings.HasPrefix(mnt, "/sys/fs/cgroup/"):
			unified = mnt
		}
		if fstype == "cgroup" {
			for _, o := range strings.Split(qf[2], ",") {
				switch o {
				case "cpu", "cpuacct", "cpuset", "memory", "blkio", "pids", "devices", "freezer", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc":
					d.V1Controllers = append(d.V1Controllers, o)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup detection: %w", err)
	}
	switch {
	case rootType == "cgroup2":
		d.Layout = Unified
		unified = "/sys/fs/cgroup"
	case len(d.V1Controllers) > 0 && unified != "":
		d.Layout = Hybrid
	case len(d.V1Controllers) > 0:
		d.Layout = V1
	}
	if unified != "" {
		d.UnifiedControllers = readControllers(e.path(filepath.Join(unified, "cgroup.controllers")))
	}
	if d.Layout != Unified {
		return d, nil
	}
	b, err := os.ReadFile(e.path("/proc/self/cgroup"))
	if err != nil {
		return nil, fmt.Errorf("cgroup detection: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			d.Own = p
		}
	}
	mgr := fmt.Sprintf("user@%d.service", e.UID)
	parts := strings.Split(d.Own, "/")
	if i := slices.Index(parts, mgr); i > 0 {
		d.Manager = strings.Join(parts[:i+1], "/")
	} else if std := fmt.Sprintf("/user.slice/user-%d.slice/%s", e.UID, mgr); isDir(e.path(filepath.Join(MountPoint, std))) {
		// A process outside the manager's tree (a login session's, a
		// service's started as the user): the manager still makes the
		// scope, and asks the system manager to move the processes.
		d.Manager = std
	}
	if d.Manager != "" {
		d.Delegated = readControllers(e.path(filepath.Join(MountPoint, d.Manager, "cgroup.controllers")))
	}
	if e.RuntimeDir != "" {
		if st, err := os.Stat(e.path(filepath.Join(e.RuntimeDir, "bus"))); err == nil && st.Mode()&os.ModeSocket != 0 {
			d.Bus = true
		}
	}
	return d, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// UserScope reports whether the user's systemd manager can make
// containers' cgroups: pure cgroup v2, a manager and its bus.
func (d *Detection) UserScope() bool {
	return d.Layout == Unified && d.Manager != "" && d.Bus
}

func readControllers(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// v1Name is the cgroup v1 name of a v2 controller.
func v1Name(c string) string {
	if c == "io" {
		return "blkio"
	}
	return c
}

// ErrUnavailable is wrapped by *UnavailableError.
var ErrUnavailable = errors.New("resource limits are unavailable")

// UnavailableError is a resource flag this host cannot honour, why, and
// the fix.
type UnavailableError struct {
	Flag, Value, Controller string
	Reason                  string
	Hint                    string
}

func (e *UnavailableError) Error() string {
	if e.Controller == "" {
		return fmt.Sprintf("--%s=%s: %s", e.Flag, e.Value, e.Reason)
	}
	return fmt.Sprintf("--%s %s: cannot set this limit: %s", e.Flag, e.Value, e.Reason)
}

func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// DelegateHint is the fix where systemd runs on pure cgroup v2.
const DelegateHint = "as root, give user managers the controllers: a drop-in /etc/systemd/system/user@.service.d/delegate.conf with \"[Service]\" and \"Delegate=cpu cpuset io memory pids\", then systemctl daemon-reload and log in again"

// helperNote says why the helper, the second source, is no answer here:
// where it is installed and the host has cgroup v2 alone, Choose picks it
// instead of failing.
const helperNote = "; myctr-helper, which could give the container a cgroup, is not installed"

// Sources of a container's cgroup, as Choose returns them.
const (
	SourceUser   = "systemd" // the user's systemd manager
	SourceHelper = "helper"  // myctr-helper: the system manager's scope, or its own cgroup where systemd is not PID 1
)

// Choose picks where a container's cgroup comes from on a host as
// detected: the user's manager when it can give every controller the
// limits need, else the helper where cgroup v2 is alone and the helper
// is installed, else nowhere ("": without limits the container
// runs in the caller's cgroup, with them Check's error).
func Choose(r *Resources, d *Detection) (string, error) {
	if d.UserScope() && len(missing(r, d.Delegated)) == 0 {
		return SourceUser, nil
	}
	if d.Layout == Unified && d.Helper {
		return SourceHelper, nil
	}
	if err := Check(r, d); err != nil {
		return "", err
	}
	return "", nil
}

func missing(r *Resources, have []string) []string {
	var out []string
	for _, c := range r.Controllers() {
		if !slices.Contains(have, c) {
			out = append(out, c)
		}
	}
	return out
}

// Check says whether the limits r asks for can be set on a host as
// detected without the helper, and if not, returns an *UnavailableError
// for the first flag that cannot, naming the controller and why, with a
// Hint. No resource flag: nil.
func Check(r *Resources, d *Detection) error {
	if r.Empty() {
		return nil
	}
	fv := r.Set[0]
	c := controllerOf(fv.Flag)
	e := &UnavailableError{Flag: fv.Flag, Value: fv.Value, Controller: c}
	switch d.Layout {
	case Hybrid, V1, NoCgroups:
		where := "it is on no cgroup hierarchy"
		if slices.Contains(d.V1Controllers, v1Name(c)) {
			where = "it is on a cgroup v1 hierarchy, which myctr does not use"
		}
		switch d.Layout {
		case Hybrid:
			uc := "no controllers"
			if len(d.UnifiedControllers) > 0 {
				uc = "only " + strings.Join(d.UnifiedControllers, " ")
			}
			e.Reason = fmt.Sprintf("it needs the %s controller of cgroup v2, and this host's cgroups are hybrid: %s, and the cgroup v2 tree at /sys/fs/cgroup/unified has %s", c, where, uc)
		case V1:
			e.Reason = fmt.Sprintf("it needs the %s controller of cgroup v2, and this host has cgroup v1 only: %s", c, where)
		default:
			e.Reason = fmt.Sprintf("it needs the %s controller of cgroup v2, and no cgroup file system is mounted at /sys/fs/cgroup", c)
		}
		e.Hint = "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2 alone); then, " + DelegateHint + "; or run without resource flags"
		return e
	}
	// Pure cgroup v2: the user's systemd manager is the one source today.
	switch {
	case d.Manager == "":
		e.Reason = fmt.Sprintf("it needs the %s controller of cgroup v2, delegated by your systemd user manager, and no user manager runs for uid %d (this process's cgroup is %s)%s", c, d.UID, d.Own, helperNote)
		e.Hint = "run myctr in a login session of systemd-logind (or enable lingering: loginctl enable-linger), where user@UID.service runs; or run without resource flags"
		return e
	case !d.Bus:
		e.Reason = fmt.Sprintf("it needs a cgroup from your systemd user manager, and its bus ($XDG_RUNTIME_DIR/bus) is not reachable%s", helperNote)
		e.Hint = "set XDG_RUNTIME_DIR to your runtime directory (/run/user/UID) in a systemd-logind session; or run without resource flags"
		return e
	}
	for _, fv := range r.Set {
		c := controllerOf(fv.Flag)
		if !slices.Contains(d.Delegated, c) {
			e := &UnavailableError{Flag: fv.Flag, Value: fv.Value, Controller: c}
			e.Reason = fmt.Sprintf("it needs the %s controller, and your systemd user manager (%s) is not delegated it (it has: %s)%s", c, d.Manager, orNone(d.Delegated), helperNote)
			e.Hint = DelegateHint + "; or run without resource flags"
			return e
		}
	}
	return nil
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}

// InService reports whether the cgroup own lies in a systemd service (a
// unit's ExecStart=, myctr's own supervisor leaf of one included), other
// than a user's manager: a container started there belongs to that unit,
// and stays in its cgroup.
func InService(own string) bool {
	for p := path.Clean(own); p != "/" && p != "."; p = path.Dir(p) {
		base := path.Base(p)
		switch {
		case strings.HasSuffix(base, ".scope"), strings.HasSuffix(base, ".slice"):
			return false
		case strings.HasSuffix(base, ".service"):
			return !strings.HasPrefix(base, "user@")
		}
	}
	return false
}
