package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SourceSplit is --cgroups=split: the container's cgroup is made below
// the cgroup myctr runs in, which must be delegated to the user (a
// systemd service or scope with Delegate=yes), as Podman does.
const SourceSplit = "split"

// SupervisorLeaf is where --cgroups=split moves myctr itself, so that the
// cgroup it was started in can hold the containers' cgroups (cgroup v2
// allows processes only in leaves once controllers are on).
const SupervisorLeaf = "supervisor"

// CheckSplit says whether --cgroups=split can work here: cgroup v2, the
// caller's cgroup writable by the caller (delegated), with every
// controller the limits need.
func CheckSplit(d *Detection, r *Resources) error {
	if d.Layout != Unified {
		return &UnavailableError{Flag: "cgroups", Value: "split", Controller: "",
			Reason: fmt.Sprintf("it needs cgroup v2 alone, and this host's cgroups are %s", d.Layout),
			Hint:   "use --cgroups=enabled or --cgroups=disabled"}
	}
	dir := filepath.Join(MountPoint, d.Own)
	for _, f := range []string{"cgroup.procs", "cgroup.subtree_control"} {
		if err := unix.Access(filepath.Join(dir, f), unix.W_OK); err != nil {
			return &UnavailableError{Flag: "cgroups", Value: "split",
				Reason: fmt.Sprintf("it makes the container's cgroup below this process's cgroup %s, which is not delegated to you (%s: %v)", d.Own, f, err),
				Hint:   "run myctr in a unit with Delegate=yes (systemd-run --user -p Delegate=yes ..., or a service's Delegate=yes), or use --cgroups=enabled"}
		}
	}
	have := readControllers(filepath.Join(dir, "cgroup.controllers"))
	for _, fv := range r.Set {
		if c := controllerOf(fv.Flag); !strings.Contains(" "+strings.Join(have, " ")+" ", " "+c+" ") {
			return &UnavailableError{Flag: fv.Flag, Value: fv.Value, Controller: c,
				Reason: fmt.Sprintf("it needs the %s controller, and this process's cgroup %s does not have it (it has: %s)", c, d.Own, orNone(have)),
				Hint:   "delegate it to the unit myctr runs in (Delegate=cpu cpuset io memory pids), or run without the flag"}
		}
	}
	return nil
}

// ownCgroup is this process's cgroup v2 path.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return filepath.Clean(p), nil
		}
	}
	return "", errors.New("no cgroup v2 line in /proc/self/cgroup")
}

// StartSplit makes the container's cgroup myctr-ID below this process's
// cgroup: this process moves into its supervisor leaf (once), the init
// into the new cgroup, the parent's controllers are enabled for its
// children, and Setup does the rest. Another process left in the parent
// makes that impossible: the error says so.
func StartSplit(id string, init int, need []string, r *specs.LinuxResources) (*Placement, error) {
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	parent := own
	if filepath.Base(own) == SupervisorLeaf {
		parent = filepath.Dir(own) // a second container from the same myctr
	}
	pdir := filepath.Join(MountPoint, parent)
	rel := filepath.Join(parent, "myctr-"+id)
	dir := filepath.Join(MountPoint, rel)
	for _, d := range []string{filepath.Join(pdir, SupervisorLeaf), dir} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("make cgroup %s: %w", d, err)
		}
	}
	p := &Placement{Manager: SourceSplit, Path: filepath.Join(rel, ContainerLeaf)}
	if err := WriteFile(dir, "cgroup.procs", strconv.Itoa(init)); err != nil {
		return p, fmt.Errorf("move the container's init into %s: %w", dir, err)
	}
	if own != filepath.Join(parent, SupervisorLeaf) {
		if err := WriteFile(filepath.Join(pdir, SupervisorLeaf), "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
			return p, fmt.Errorf("move myctr into %s/%s: %w", pdir, SupervisorLeaf, err)
		}
	}
	if have := readControllers(filepath.Join(pdir, "cgroup.controllers")); len(have) > 0 {
		if err := WriteFile(pdir, "cgroup.subtree_control", "+"+strings.Join(have, " +")); err != nil {
			if errors.Is(err, unix.EBUSY) {
				err = fmt.Errorf("%w: %s still holds other processes than myctr (cgroup v2 allows processes only in leaves)", err, pdir)
			}
			return p, fmt.Errorf("enable the controllers of %s: %w", pdir, err)
		}
	}
	return p, Setup(dir, init, need, r)
}

// RemoveSplit removes a --cgroups=split container's cgroup once its
// processes are gone (its leaf, then itself); nothing else removes it.
func RemoveSplit(p *Placement) error {
	if p == nil || p.Manager != SourceSplit {
		return nil
	}
	leaf := p.Dir()
	for _, d := range []string{leaf, filepath.Dir(leaf)} {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove cgroup %s: %w", d, err)
		}
	}
	return nil
}

// JoinSupervisor moves this process into the supervisor leaf of its
// cgroup, before it starts a process (the monitor of run -d) that makes a
// --cgroups=split container's cgroup beside it: cgroup v2 lets a cgroup
// enable controllers for its children only once no process is left in it.
func JoinSupervisor() error {
	own, err := ownCgroup()
	if err != nil || filepath.Base(own) == SupervisorLeaf {
		return err
	}
	leaf := filepath.Join(MountPoint, own, SupervisorLeaf)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make cgroup %s: %w", leaf, err)
	}
	if err := WriteFile(leaf, "cgroup.procs", strconv.Itoa(os.Getpid())); err != nil {
		return fmt.Errorf("move myctr into %s: %w", leaf, err)
	}
	return nil
}

// UnitDelegated reports whether the cgroup own, which a unit of a user's
// manager (below user@UID.service) runs in, was delegated by its unit
// (Delegate=yes): systemd marks such a cgroup with the user.delegate
// extended attribute (v253 on), else its manager says. Every cgroup below a
// user's manager is the user's to write, so only that tells whether the
// unit gave its subtree away.
func UnitDelegated(own string) bool {
	dir := filepath.Join(MountPoint, own)
	if filepath.Base(own) == SupervisorLeaf {
		dir = filepath.Dir(dir)
	}
	buf := make([]byte, 8)
	for _, attr := range []string{"user.delegate", "trusted.delegate"} {
		if n, err := unix.Getxattr(dir, attr, buf); err == nil && string(buf[:n]) == "1" {
			return true
		}
	}
	unit := filepath.Base(dir)
	if !strings.HasSuffix(unit, ".service") {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok, err := UserUnitDelegates(ctx, os.Getenv("XDG_RUNTIME_DIR"), unit)
	return err == nil && ok
}
