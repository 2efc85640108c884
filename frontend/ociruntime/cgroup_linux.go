package ociruntime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
)

// CgroupRoot is where the unified cgroup hierarchy is mounted; a variable
// for tests.
var CgroupRoot = "/sys/fs/cgroup"

// errNoCgroup: the container gets no cgroup of its own, and needs none.
var errNoCgroup = errors.New("no cgroup")

// cgroupPlan decides the container's cgroup before anything is made: the
// directory to create from linux.cgroupsPath (cgroupfs form: absolute
// under the hierarchy's root, relative under this process's own cgroup;
// empty: /myctr-runtime/ID, or relative myctr-runtime-ID for a user), or
// errNoCgroup where the container may do without one. Without limits it
// may do without one wherever one cannot be made: on a host whose
// /sys/fs/cgroup is not cgroup v2, with --systemd-cgroup (which would
// need systemd to make the unit), and, later, where the directory cannot
// be created (a user without delegation), as crun does.
func cgroupPlan(spec *specs.Spec, id string, systemd bool) (string, error) {
	need := limits(spec.Linux.Resources)
	why := ""
	var st unix.Statfs_t
	switch {
	case unix.Statfs(CgroupRoot, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC:
		why = CgroupRoot + " is not a cgroup v2 hierarchy (myctr-runtime does not use cgroup v1)"
	case systemd:
		why = "--systemd-cgroup: myctr-runtime does not make systemd units yet"
	}
	if why != "" {
		if len(need) > 0 {
			return "", fmt.Errorf("linux.resources sets %s limits, which need a cgroup: %s", strings.Join(need, ", "), why)
		}
		return "", errNoCgroup
	}
	p := spec.Linux.CgroupsPath
	if p == "" {
		if os.Geteuid() == 0 && !inUserNS() {
			p = "/myctr-runtime/" + id
		} else {
			p = "myctr-runtime-" + id
		}
	}
	if !filepath.IsAbs(p) {
		own, err := ownCgroup()
		if err != nil {
			return "", err
		}
		p = filepath.Join(own, p)
	}
	dir := filepath.Join(CgroupRoot, filepath.Clean("/"+p))
	if dir == CgroupRoot {
		return "", fmt.Errorf("linux.cgroupsPath %q names the hierarchy's root", spec.Linux.CgroupsPath)
	}
	return dir, nil
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

// frozen reports whether the container's cgroup is frozen (paused).
func frozen(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// freeze writes cgroup.freeze and waits, up to 5 seconds, until
// cgroup.events says every process is (or is no longer) frozen.
func freeze(dir string, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	if err := cgroup.WriteFile(dir, "cgroup.freeze", v); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev, err := cgroup.ReadKeyed(filepath.Join(dir, "cgroup.events"))
		if err != nil {
			return err
		}
		if (ev["frozen"] == 1) == on {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: not %s after 5 s", dir, map[bool]string{true: "frozen", false: "thawed"}[on])
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	return freeze(r.Cgroup, on)
}

// Update writes new limits into the running container's cgroup, and keeps
// them in its record.
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
	return cgroup.Apply(r.Cgroup, res)
}
