package ociruntime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
)

// CgroupRoot is where the unified cgroup hierarchy is mounted; a variable
// for tests.
var CgroupRoot = "/sys/fs/cgroup"

// errNoCgroup: the container gets no cgroup of its own, and needs none.
var errNoCgroup = errors.New("no cgroup")

// cgPlan is the container's cgroup as planned before anything is made:
// a directory to make (cgroupfs), or a scope to ask systemd for.
type cgPlan struct {
	dir   string
	scope *systemdScope
	// user: the scope is the user's manager's (a user, or root of a user
	// namespace), not the system manager's.
	user bool
	// props are the scope's properties the spec's annotations set
	// (cgroup.PropertyAnnotation).
	props []sd.Property
}

// cgroupPlan decides the container's cgroup before anything is made, or
// returns errNoCgroup where the container may do without one.
//
// With --systemd-cgroup, linux.cgroupsPath names a scope in systemd's
// form (parseSystemdPath), of the system manager for root, of the user's
// manager for a user or root of a user namespace (as runc chooses).
// Otherwise it names the directory to create (cgroupfs form: absolute
// under the hierarchy's root, relative under this process's own cgroup;
// empty: /myctr-runtime/ID, or relative myctr-runtime-ID for a user).
//
// Without limits the container may do without a cgroup on a host whose
// /sys/fs/cgroup is not cgroup v2, and, later, where the directory
// cannot be created (a user without delegation), as crun does; asked
// for through systemd, a scope that cannot be made is an error.
func cgroupPlan(spec *specs.Spec, id string, systemd bool) (*cgPlan, error) {
	var st unix.Statfs_t
	if unix.Statfs(CgroupRoot, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		if need := limits(spec.Linux.Resources); len(need) > 0 {
			return nil, fmt.Errorf("linux.resources sets %s limits, which need a cgroup: %s is not a cgroup v2 hierarchy (myctr-runtime does not use cgroup v1)",
				strings.Join(need, ", "), CgroupRoot)
		}
		return nil, errNoCgroup
	}
	user := os.Geteuid() != 0 || inUserNS()
	if systemd {
		sc, err := parseSystemdPath(spec.Linux.CgroupsPath, id, user)
		if err != nil {
			return nil, err
		}
		props, err := cgroup.AnnotationProperties(spec.Annotations)
		if err != nil {
			return nil, err
		}
		return &cgPlan{scope: &sc, user: user, props: props}, nil
	}
	p := spec.Linux.CgroupsPath
	if p == "" {
		if !user {
			p = "/myctr-runtime/" + id
		} else {
			p = "myctr-runtime-" + id
		}
	}
	if !filepath.IsAbs(p) {
		own, err := ownCgroup()
		if err != nil {
			return nil, err
		}
		p = filepath.Join(own, p)
	}
	dir := filepath.Join(CgroupRoot, filepath.Clean("/"+p))
	if dir == CgroupRoot {
		return nil, fmt.Errorf("linux.cgroupsPath %q names the hierarchy's root", spec.Linux.CgroupsPath)
	}
	return &cgPlan{dir: dir}, nil
}

// ownCgroup is this process's cgroup in the unified hierarchy.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("this process has no cgroup v2 path in /proc/self/cgroup")
}

// joinCgroup makes dir (and its missing parents), enables in each parent
// the controllers the limits need, moves pid into it and writes the
// limits. Without limits, a directory that cannot be made is errNoCgroup.
func joinCgroup(dir string, pid int, r *specs.LinuxResources) error {
	need := limits(r)
	var made []string
	err := func() error {
		rel, _ := filepath.Rel(CgroupRoot, dir)
		cur := CgroupRoot
		for _, part := range strings.Split(rel, "/") {
			if len(need) > 0 {
				if err := cgroup.CheckControllers(cur, need); err != nil {
					return err
				}
				if err := cgroup.WriteFile(cur, "cgroup.subtree_control", "+"+strings.Join(need, " +")); err != nil {
					return fmt.Errorf("enable the %s controllers of %s: %w", strings.Join(need, ", "), cur, err)
				}
			}
			cur = filepath.Join(cur, part)
			if err := os.Mkdir(cur, 0o755); err == nil {
				made = append(made, cur)
			} else if !errors.Is(err, os.ErrExist) {
				if len(need) == 0 && (errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS)) {
					return errNoCgroup
				}
				return fmt.Errorf("make cgroup %s: %w", cur, err)
			}
		}
		if err := cgroup.WriteFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			if len(need) == 0 && errors.Is(err, os.ErrPermission) {
				return errNoCgroup
			}
			return fmt.Errorf("move the container's init into %s: %w", dir, err)
		}
		return cgroup.Apply(dir, r)
	}()
	if err != nil {
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	}
	return err
}

// startScope asks systemd for the container's scope (Delegate=yes, with
// memory, CPU, IO and tasks accounting, the limits as its settings, so
// that systemd keeps them when it reloads) holding its init, which runs
// nothing of the container's yet, checks that the scope has the
// controllers the limits need and writes them with the files the
// cgroupfs form writes. The init is in the scope itself, as runc puts
// it. rec gets the unit as soon as systemd may have made it, for
// Create's cleanup, and the cgroup once it is known.
func startScope(rec *Record, p *cgPlan, pid int, r *specs.LinuxResources) error {
	bus := cgroup.Bus{System: !p.user}
	if p.user {
		if bus.RuntimeDir = os.Getenv("XDG_RUNTIME_DIR"); bus.RuntimeDir == "" {
			return &HintError{errors.New("--systemd-cgroup: XDG_RUNTIME_DIR is not set, so the bus of your systemd user manager cannot be found"),
				"run in a login session of systemd-logind (or set XDG_RUNTIME_DIR=/run/user/$(id -u)); or run without --systemd-cgroup"}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	sc, err := cgroup.StartScope(ctx, cgroup.TransientScope{Bus: bus, Unit: p.scope.Unit, Slice: p.scope.Slice,
		Description: "myctr-runtime container " + rec.ID, Init: pid, Accounting: true, Limits: r, Invocation: true,
		Properties: p.props})
	if err != nil {
		if !cgroup.UnitExists(err) {
			rec.Unit, rec.UnitRuntimeDir = p.scope.Unit, bus.RuntimeDir // systemd may have made it
		}
		return scopeError(err, bus, p.scope.Unit)
	}
	rec.Unit, rec.UnitInvocation, rec.UnitRuntimeDir = p.scope.Unit, sc.Invocation, bus.RuntimeDir
	dir := filepath.Join(CgroupRoot, sc.Cgroup)
	if err := cgroup.CheckControllers(dir, limits(r)); err != nil {
		return scopeError(err, bus, p.scope.Unit)
	}
	if err := cgroup.Apply(dir, r); err != nil {
		return err
	}
	rec.Cgroup = dir
	return nil
}

// stopScope stops the container's scope, if it has one and that scope
// is still its own (see Record.UnitInvocation); false when it was gone
// or is another's.
func stopScope(rec *Record) (bool, error) {
	if rec.Unit == "" {
		return false, nil
	}
	bus := rec.unitBus()
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	stopped, err := cgroup.StopScope(ctx, bus, rec.Unit, rec.UnitInvocation)
	if err != nil {
		if _, serr := os.Stat(rec.Cgroup); rec.Cgroup != "" && errors.Is(serr, os.ErrNotExist) {
			// The scope ended with its processes: systemd removes
			// an empty scope's cgroup, and collects the unit.
			return false, nil
		}
		return stopped, scopeError(err, bus, rec.Unit)
	}
	return stopped, nil
}

// unitBus is the manager of the container's scope.
func (r *Record) unitBus() cgroup.Bus {
	return cgroup.Bus{System: r.UnitRuntimeDir == "", RuntimeDir: r.UnitRuntimeDir}
}

// scopeError adds the fix to a failure to make, fill or stop a scope.
func scopeError(err error, bus cgroup.Bus, unit string) error {
	var me *cgroup.MissingError
	var se *cgroup.ManagerError
	journal := "journalctl -b -u " + unit
	if !bus.System {
		journal = "journalctl --user -b -u " + unit
	}
	switch {
	case errors.As(err, &me) && bus.System:
		return &HintError{err, "the system manager gives its scopes the controllers of /sys/fs/cgroup/cgroup.controllers: one that is not there is not in this kernel or not mounted for cgroup v2; or remove the limits that need " + strings.Join(me.Missing, ", ")}
	case errors.As(err, &me):
		return &HintError{err, cgroup.DelegateHint + "; or remove the limits that need " + strings.Join(me.Missing, ", ")}
	case cgroup.UnitExists(err):
		return &HintError{fmt.Errorf("--systemd-cgroup: %w", err), "another container (or unit) has that name: give this one another linux.cgroupsPath (slice:prefix:name), or delete the other"}
	case errors.As(err, &se) && se.NoManager() && bus.System:
		return &HintError{fmt.Errorf("--systemd-cgroup: %w", err), "--systemd-cgroup asks systemd (PID 1) for the container's scope over D-Bus: run where systemd runs, its bus at /run/dbus/system_bus_socket (or, for root, /run/systemd/private); or run without --systemd-cgroup"}
	case errors.As(err, &se) && se.NoManager():
		return &HintError{fmt.Errorf("--systemd-cgroup: %w", err), "a user's container gets its scope from the user's systemd manager: check that it runs (systemctl --user status) and listens on $XDG_RUNTIME_DIR/bus (a systemd-logind session, or loginctl enable-linger); or run without --systemd-cgroup"}
	case errors.As(err, &se):
		return &HintError{fmt.Errorf("--systemd-cgroup: %w", err), "see systemd's log (" + journal + "); or run without --systemd-cgroup"}
	}
	return err
}

// removeCgroup removes the container's cgroup once its processes have
// left it (they leave as they exit, reaped or not).
func removeCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cgroupPids lists the processes of the container's cgroup.
func cgroupPids(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Pause freezes a running container; Resume thaws a paused one.
func (rt *Runtime) Pause(id string) error  { return rt.setFrozen(id, true) }
func (rt *Runtime) Resume(id string) error { return rt.setFrozen(id, false) }

func (rt *Runtime) setFrozen(id string, on bool) error {
	r, err := rt.Load(id)
	if err != nil {
		return err
	}
	want := StatusRunning
	if !on {
		want = StatusPaused
	}
	if st := rt.Status(r); st != want {
		return fmt.Errorf("container %s is %s, not %s", id, st, want)
	}
	if r.Cgroup == "" {
		return errors.New("the container has no cgroup of its own (none could be made where it was created)")
	}
	return cgroup.Freeze(r.Cgroup, on)
}

// Update writes new limits into the running container's cgroup (and,
// for a scope of systemd's, into its unit's settings).
func (rt *Runtime) Update(id string, res *specs.LinuxResources) error {
	r, err := rt.Load(id)
	if err != nil {
		return err
	}
	if st := rt.Status(r); st == StatusStopped {
		return fmt.Errorf("container %s is stopped", id)
	}
	if err := checkResources(res); err != nil {
		return err
	}
	if r.Cgroup == "" {
		return errors.New("the container has no cgroup of its own (none could be made where it was created)")
	}
	if need := limits(res); len(need) > 0 {
		if err := cgroup.CheckControllers(r.Cgroup, need); err != nil {
			return err
		}
	}
	if r.Unit != "" {
		// systemd's settings first: it writes the files itself, and
		// again whenever it reloads.
		bus := r.unitBus()
		ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
		defer cancel()
		if err := cgroup.SetScopeLimits(ctx, bus, r.Unit, res); err != nil {
			return scopeError(err, bus, r.Unit)
		}
	}
	return cgroup.Apply(r.Cgroup, res)
}
