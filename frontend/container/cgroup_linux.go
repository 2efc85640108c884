package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/cgroup"
)

// CgroupError is a container's cgroup that could not be made, with the
// fix.
type CgroupError struct {
	Err  error
	hint string
}

func (e *CgroupError) Error() string { return "the container's cgroup: " + e.Err.Error() }
func (e *CgroupError) Unwrap() error { return e.Err }

// Hint is what the user can do about it.
func (e *CgroupError) Hint() string { return e.hint }

// joinCgroup gives the container's init, which runs nothing yet, its own
// cgroup with the container's limits, and moves this process (the
// monitor) beside it; nil without a cgroup manager.
func (s *Store) joinCgroup(c *Container, spec *specs.Spec, pid int) (*cgroup.Placement, error) {
	if c.HostConfig.CgroupManager != "systemd" {
		return nil, nil
	}
	var res *specs.LinuxResources
	if spec.Linux != nil {
		res = spec.Linux.Resources
	}
	var need []string
	if c.HostConfig.Resources != nil {
		need = c.HostConfig.Resources.Controllers()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	p, err := cgroup.StartUserScope(ctx, cgroup.ScopeRequest{ID: c.ID, Slice: c.HostConfig.CgroupParent,
		Monitor: os.Getpid(), Init: pid, Need: need, Resources: res, RuntimeDir: os.Getenv("XDG_RUNTIME_DIR")})
	if err != nil {
		return nil, cgroupError(err)
	}
	return p, nil
}

// cgroupError adds the fix to a failure to make or fill a cgroup.
func cgroupError(err error) error {
	var me *cgroup.MissingError
	var se *cgroup.ManagerError
	switch {
	case errors.As(err, &me):
		return &CgroupError{err, cgroup.DelegateHint + "; or run without the limits that need " + fmt.Sprint(me.Missing)}
	case errors.As(err, &se):
		return &CgroupError{err, "check that your systemd user manager runs (systemctl --user status) and that its bus is at $XDG_RUNTIME_DIR/bus; or run with --cgroups=disabled and no resource flags"}
	}
	return &CgroupError{err, "the kernel refused a limit: check the value against what the host has (nproc, /sys/fs/cgroup/cpuset.cpus.effective, lsblk for device numbers)"}
}

// noteOOM records whether the OOM killer struck in the container's last
// run.
func (s *Store) noteOOM(c *Container, r *running) {
	if r.oomKilled && !c.HostConfig.AutoRemove {
		_ = s.Update(c, func(c *Container) { c.State.OOMKilled = true })
	}
}

// joinCgroupOf moves pid, a process of ours, into the container's cgroup:
// itself when this process may (it runs under the user's manager), else
// through the manager.
func joinCgroupOf(p *cgroup.Placement, pid int) error {
	if err := cgroup.WriteFile(p.Dir(), "cgroup.procs", strconv.Itoa(pid)); err == nil {
		return nil
	}
	if p.Manager != "systemd" {
		return fmt.Errorf("move process %d into %s: no way to do it", pid, p.Dir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	return cgroup.AttachToScope(ctx, os.Getenv("XDG_RUNTIME_DIR"), p, pid)
}
