package pod

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
)

// Containers are the pod's containers, infra first, then the members
// oldest first; their state is refreshed.
func Containers(cs *container.Store, p *Pod) ([]*container.Container, error) {
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	var infra, members []*container.Container
	for _, c := range all {
		if c.Pod != p.ID {
			continue
		}
		c.Refresh()
		if c.PodInfra {
			infra = append(infra, c)
		} else {
			members = append(members, c)
		}
	}
	return append(infra, members...), nil
}

// StatusOf is the pod's status from its containers' (Status).
func StatusOf(ctrs []*container.Container) string {
	var st []string
	for _, c := range ctrs {
		switch {
		case c.Running() && c.Paused():
			st = append(st, container.StatusPaused)
		case c.Running():
			st = append(st, container.StatusRunning)
		default:
			st = append(st, c.State.Status)
		}
	}
	return Status(st)
}

// Start starts the pod's containers that are not running: the infra first
// (the members join its namespaces). It returns the first failure after
// trying them all, as Podman does.
func Start(cs *container.Store, p *Pod) error {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return err
	}
	var failed []error
	for _, c := range ctrs {
		if c.Running() {
			continue
		}
		if err := cs.StartDetached(c, container.Activation{}); err != nil {
			failed = append(failed, fmt.Errorf("start %s: %w", c.Name, err))
			if c.PodInfra {
				break // nothing can join it
			}
		}
	}
	return errors.Join(failed...)
}

// Stop stops the pod's running containers, members first and the infra
// last; timeout < 0 is each container's own stop timeout.
func Stop(cs *container.Store, p *Pod, timeout time.Duration) error {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return err
	}
	var failed []error
	for i := len(ctrs) - 1; i >= 0; i-- {
		c := ctrs[i]
		t := timeout
		if t < 0 {
			t = container.StopTimeoutOf(c)
		}
		if err := cs.Stop(c, t); err != nil {
			failed = append(failed, fmt.Errorf("stop %s: %w", c.Name, err))
		}
	}
	return errors.Join(failed...)
}

// Kill sends sig to every running container of the pod; a pod with none
// running is an error (Podman's).
func Kill(cs *container.Store, p *Pod, sig unix.Signal) error {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return err
	}
	n := 0
	var failed []error
	for _, c := range ctrs {
		if !c.Running() {
			continue
		}
		n++
		if err := cs.Signal(c, sig); err != nil && !errors.Is(err, container.ErrNotRunning) {
			failed = append(failed, fmt.Errorf("kill %s: %w", c.Name, err))
		}
	}
	if n == 0 && len(failed) == 0 {
		return fmt.Errorf("%w: no running containers in pod %s", container.ErrNotRunning, p.Name)
	}
	return errors.Join(failed...)
}

// Top is the processes of the pod's running containers, the infra first,
// in one table: the header of container.Top, then each container's rows.
// A pod with none running is an error, as Podman's.
func Top(cs *container.Store, p *Pod, desc []string) ([][]string, error) {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, c := range ctrs {
		if !c.Running() {
			continue
		}
		r, err := container.Top(c, desc)
		if errors.Is(err, container.ErrNotRunning) {
			continue // it ended meanwhile
		}
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			rows = r
		} else if len(r) > 0 {
			rows = append(rows, r[1:]...)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no running containers in pod %s", container.ErrNotRunning, p.Name)
	}
	return rows, nil
}

// Pause freezes every running container of the pod (container.Store's
// Pause), Unpause thaws every paused one. As Podman's: a container in any
// other state is left as it is, so a pod with nothing to act on is no
// error, and one container's failure does not stop the others'.
func Pause(cs *container.Store, p *Pod) error { return freeze(cs, p, true) }

// Unpause thaws the pod's paused containers (Pause).
func Unpause(cs *container.Store, p *Pod) error { return freeze(cs, p, false) }

func freeze(cs *container.Store, p *Pod, on bool) error {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return err
	}
	act := cs.Pause
	if !on {
		act = cs.Unpause
	}
	var failed []error
	for _, c := range ctrs {
		if on && (!c.Running() || c.Paused()) || !on && !c.Paused() {
			continue
		}
		// A container that changed state since the list was read is
		// left as it is too. The errors name their container.
		if err := act(c); err != nil && !errors.Is(err, container.ErrStateImproper) {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// Remove removes the pod: its members (running ones only with force), its
// infra container (running or not: it runs for the members, as Podman's
// does), then its record. Each removed container is passed to
// removed (for what the caller releases after a container: its network,
// its cgroup). Without force a running container stops it all, before
// anything is removed.
func Remove(s *Store, cs *container.Store, p *Pod, force bool, removed func(*container.Container)) error {
	ctrs, err := Containers(cs, p)
	if err != nil {
		return err
	}
	// The infra is stopped whether or not force is given, as Podman's:
	// it runs for the members alone, so only a running member stops it.
	if !force {
		var running []string
		for _, c := range ctrs {
			if c.Running() && !c.PodInfra {
				running = append(running, c.ID)
			}
		}
		if len(running) > 0 {
			return &RunningError{ID: p.ID, Ctrs: running}
		}
	}
	// Members first, newest first (one may join another's network), the
	// infra last: they depend on it.
	for i := len(ctrs) - 1; i >= 0; i-- {
		c := ctrs[i]
		if c.PodInfra {
			err = cs.RemoveInfra(c, true)
		} else {
			err = cs.Remove(c, force)
		}
		if err != nil {
			return fmt.Errorf("remove container %s of pod %s: %w", c.Name, p.Name, err)
		}
		if removed != nil {
			removed(c)
		}
	}
	return s.Delete(p.ID)
}

// RunningError is pod rm's refusal of a pod with running containers, in
// Podman's words.
type RunningError struct {
	ID   string
	Ctrs []string
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("pod %s has containers that are not ready to be removed: cannot remove container %s as it is running - running or paused containers cannot be removed without force: container state improper", e.ID, e.Ctrs[0])
}

// Is makes a RunningError ErrHasMembers.
func (e *RunningError) Is(target error) bool { return target == ErrHasMembers }
