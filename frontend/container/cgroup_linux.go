package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/protocol"
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
// cgroup with the container's limits; nil without a cgroup manager.
func (s *Store) joinCgroup(c *Container, spec *specs.Spec, pid, pidfd int) (*cgroup.Placement, error) {
	if c.HostConfig.CgroupManager == "" {
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
	switch c.HostConfig.CgroupManager {
	case cgroup.SourceHelper:
		return helperCgroup(ctx, c.ID, pid, pidfd, need, res)
	case cgroup.SourceSplit:
		p, err := cgroup.StartSplit(c.ID, pid, need, res)
		if err != nil {
			cgroup.RemoveSplit(p)
			return nil, cgroupError(err)
		}
		return p, nil
	}
	p, err := cgroup.StartUserScope(ctx, cgroup.ScopeRequest{ID: c.ID, Slice: c.HostConfig.CgroupParent,
		Init: pid, Need: need, Resources: res, RuntimeDir: os.Getenv("XDG_RUNTIME_DIR")})
	if err != nil {
		return nil, cgroupError(err)
	}
	return p, nil
}

// cgroupError adds the fix to a failure to make or fill a cgroup.
func cgroupError(err error) error {
	var me *cgroup.MissingError
	var se *cgroup.ManagerError
	var pe *protocol.Error
	switch {
	case errors.Is(err, protocol.ErrNotAuthorized):
		return &CgroupError{err, "an administrator can allow the action " + protocol.ActionCgroup + " with a polkit rule in /etc/polkit-1/rules.d/, or give your systemd user manager the controllers (" + cgroup.DelegateHint + "); or run without resource flags"}
	case errors.Is(err, helperclient.ErrNoBus), errors.Is(err, helperclient.ErrNotInstalled), errors.Is(err, helperclient.ErrNotStarted):
		return &CgroupError{err, "myctr-helper makes containers' cgroups where your user manager cannot: it needs the system bus and `make install`; or run without resource flags (--cgroups=disabled)"}
	case errors.As(err, &pe):
		return &CgroupError{err, "see the system log (journalctl -u myctr-helper); or run without resource flags (--cgroups=disabled)"}
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
func joinCgroupOf(id string, p *cgroup.Placement, pid int) error {
	if err := cgroup.WriteFile(p.Dir(), "cgroup.procs", strconv.Itoa(pid)); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	switch p.Manager {
	case cgroup.SourceUser:
		return cgroup.AttachToScope(ctx, os.Getenv("XDG_RUNTIME_DIR"), p, pid)
	case cgroup.SourceHelper:
		// The helper moves it into the container's cgroup (its scope is
		// found by our uid and the container's id): into the leaf
		// itself (the system manager does it), or into a leaf of its
		// own beside it (cgroupfs), from where we move it on.
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return fmt.Errorf("pidfd of %d: %w", pid, err)
		}
		defer unix.Close(fd)
		h, err := helperclient.Connect(helperclient.Options{Interactive: true})
		if err != nil {
			return err
		}
		defer h.Close()
		if _, _, err = h.DelegateCgroup(ctx, fd, id, nil); err != nil {
			return err
		}
		return cgroup.WriteFile(p.Dir(), "cgroup.procs", strconv.Itoa(pid))
	}
	return fmt.Errorf("move process %d into %s: no way to do it", pid, p.Dir())
}

// ErrNoCgroup is a container without a cgroup of its own.
var ErrNoCgroup = errors.New("the container has no cgroup of its own")

// UpdateResources changes c's limits to the flags given (merged with
// those in force, see cgroup.Resources.Merged): in its cgroup when it
// runs, and in its record and spec for its next start.
func (s *Store) UpdateResources(c *Container, given []cgroup.FlagValue) error {
	merged, err := c.HostConfig.Resources.Merged(given)
	if err != nil {
		return err
	}
	if c.HostConfig.CgroupManager == "" {
		why := "it was created where no systemd user manager could make one"
		if c.HostConfig.Cgroups == "disabled" {
			why = "it was created with --cgroups=disabled"
		}
		return &hintError{fmt.Errorf("%s: %w: %s", c.Name, ErrNoCgroup, why),
			"limits need a container made with cgroups: cgroup v2 and a systemd user manager (see myctr run --help)"}
	}
	res, err := merged.OCI(cgroup.BlockDevice)
	if err != nil {
		return err
	}
	if _, err := cgroup.V2Files(res); err != nil {
		return err
	}
	unlock, err := c.lockLaunch()
	if err != nil {
		return err
	}
	defer unlock()
	c.Refresh()
	if p := c.State.Cgroup; p != nil && c.Running() {
		if err := cgroup.CheckControllers(p.Dir(), merged.Controllers()); err != nil {
			return cgroupError(err)
		}
		if err := cgroup.Apply(p.Dir(), res); err != nil {
			return cgroupError(err)
		}
	}
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	spec.Linux.Resources = res
	if err := writeSpec(c, spec); err != nil {
		return err
	}
	return s.Update(c, func(c *Container) { c.HostConfig.Resources = merged })
}

// helperCgroup asks myctr-helper for the container's scope (the system
// manager's) holding the init, which it hands to us, then moves the init
// into the scope's container leaf and writes the limits there.
func helperCgroup(ctx context.Context, id string, pid, pidfd int, need []string, res *specs.LinuxResources) (*cgroup.Placement, error) {
	h, err := helperclient.Connect(helperclient.Options{Interactive: true})
	if err != nil {
		return nil, cgroupError(err)
	}
	defer h.Close()
	path, unit, err := h.DelegateCgroup(ctx, pidfd, id, need)
	if err != nil {
		return nil, cgroupError(err)
	}
	if err := cgroup.Setup(filepath.Join(cgroup.MountPoint, path), pid, need, res); err != nil {
		// The launch fails: the cgroup goes now, with the init.
		_ = h.ReleaseCgroup(ctx, id)
		return nil, cgroupError(err)
	}
	return &cgroup.Placement{Manager: cgroup.SourceHelper, Unit: unit, Path: path + "/" + cgroup.ContainerLeaf}, nil
}

// releaseCgroup asks myctr-helper to release the cgroup it made for the
// container, once the container has ended, without a prompt (a person may
// have left long ago: a refusal is said nowhere, and the helper's reaper
// removes the cgroup anyway); another failure is a warning on warn.
func releaseCgroup(id string, warn io.Writer) {
	h, err := helperclient.Connect(helperclient.Options{})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
		err = h.ReleaseCgroup(ctx, id)
		cancel()
		h.Close()
	}
	if err != nil && warn != nil && !errors.Is(err, protocol.ErrNotAuthorized) {
		fmt.Fprintf(warn, "Warning: release the container's cgroup: %v\n", err)
	}
}

// ReleaseCgroup asks myctr-helper to release what it may still hold for
// a removed container whose cgroup it made (the container's end could
// not: polkit refused without a prompt, or its monitor was killed). It is
// for `rm`; as a command of the user's, it may ask for a password.
func (s *Store) ReleaseCgroup(c *Container) error {
	if c.HostConfig.CgroupManager != cgroup.SourceHelper {
		return nil
	}
	h, err := helperclient.Connect(helperclient.Options{Interactive: true})
	if err != nil {
		return err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cgroup.ScopeTimeout)
	defer cancel()
	return h.ReleaseCgroup(ctx, c.ID)
}
