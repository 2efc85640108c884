package container

import (
	"errors"
	"fmt"

	"github.com/myctr/myctr/frontend/cgroup"
)

// Paused reports whether the container runs frozen (pause): its init is
// alive, its status "running", and its cgroup frozen until unpause. Every
// reader of Running still sees it running, as its processes are: stop,
// kill and rm -f act on it, wait keeps waiting, the monitor keeps
// watching.
func (c *Container) Paused() bool {
	return c.State.Paused && c.State.Status == StatusRunning
}

// PauseState is refusal of pause or unpause for the container's state,
// in Podman's words; it is ErrStateImproper.
type PauseState struct {
	msg string
}

func (e *PauseState) Error() string        { return e.msg + ": " + ErrStateImproper.Error() }
func (e *PauseState) Is(target error) bool { return target == ErrStateImproper }

// Pause freezes every process of a running container through its own
// cgroup (cgroup v2's freezer) and records it paused. A container
// without a cgroup of its own cannot be paused: nothing else freezes all
// of its processes at once.
func (s *Store) Pause(c *Container) error {
	return s.setPaused(c, true)
}

// Unpause thaws a paused container.
func (s *Store) Unpause(c *Container) error {
	return s.setPaused(c, false)
}

func (s *Store) setPaused(c *Container, on bool) error {
	// Under the launch lock no init is being started or restarted.
	unlock, err := c.lockLaunch()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := s.load(c.ID)
	if err != nil {
		return err
	}
	*c = *cur
	c.Refresh()
	switch {
	case on && c.Paused():
		return &PauseState{fmt.Sprintf("%q is already paused", c.ID)}
	case on && !c.Running():
		return &PauseState{fmt.Sprintf("%q is not running, can't pause", c.StatusWord())}
	case !on && !c.Paused():
		return &PauseState{fmt.Sprintf("%q is not paused, can't unpause", c.ID)}
	}
	if c.State.Cgroup == nil {
		return noFreezer(c)
	}
	if err := cgroup.Freeze(c.State.Cgroup.Dir(), on); err != nil {
		if on {
			// Half frozen is no state to leave it in.
			_ = cgroup.Freeze(c.State.Cgroup.Dir(), false)
		}
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	if err := s.Update(c, func(c *Container) { c.State.Paused = on }); err != nil {
		return err
	}
	if on {
		s.event(c, "pause", nil)
	} else {
		s.event(c, "unpause", nil)
	}
	return nil
}

// noFreezer is the refusal to pause a container without a cgroup of its
// own, with the fix.
func noFreezer(c *Container) error {
	why := "it was created where no systemd user manager could make one"
	if c.HostConfig.Cgroups == "disabled" {
		why = "it was created with --cgroups=disabled"
	}
	return &hintError{fmt.Errorf("%s: cannot pause: %w: %s", c.Name, ErrNoCgroup, why),
		"pause freezes the container's own cgroup: create the container where it gets one (cgroup v2 with a systemd user manager that delegates to you, as a login session or loginctl enable-linger gives, or myctr-helper installed to make it), and not with --cgroups=disabled"}
}

// thaw lets a paused container's processes run again, so that they take
// a signal other than SIGKILL (stop): the record says so at once.
func (s *Store) thaw(c *Container) {
	if !c.Paused() || c.State.Cgroup == nil {
		return
	}
	if err := cgroup.Freeze(c.State.Cgroup.Dir(), false); err != nil && !errors.Is(err, cgroup.ErrNoFreezer) {
		return
	}
	_ = s.Update(c, func(c *Container) { c.State.Paused = false })
}

// RefusePaused refuses start and exec of a paused container (nil for one
// that is not paused): start would do nothing, and an exec'd process
// would join the frozen cgroup and hang there.
func RefusePaused(c *Container, verb string) error {
	if !c.Paused() {
		return nil
	}
	if verb == "start" {
		return &PauseState{fmt.Sprintf("cannot start paused container %s", c.ID)}
	}
	return &PauseState{fmt.Sprintf("container %s is paused: unpause it before %s", c.Name, verb)}
}
