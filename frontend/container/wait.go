package container

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// WaitConditions are what `wait --condition` waits for; any one of them
// ends the wait.
type WaitConditions struct {
	// Exit: the container's run has ended (Podman's exited and stopped,
	// the default); the wait returns its exit code.
	Exit bool
	// States: the container is in one of these (StatusCreated,
	// StatusRunning); the wait returns -1, as Podman's.
	States []string
	// Health: the running container's healthcheck has found it so
	// (HealthHealthy, HealthUnhealthy); the wait returns -1.
	Health []string
}

// ErrNeverState is a wait --condition for a state myctr never puts a
// container in: the wait could never end.
var ErrNeverState = errors.New("myctr never puts a container in this state")

// ParseWaitConditions reads --condition's values, Podman's state names.
// None means exited.
func ParseWaitConditions(names []string) (WaitConditions, error) {
	var w WaitConditions
	if len(names) == 0 {
		w.Exit = true
		return w, nil
	}
	var never []string
	for _, n := range names {
		switch n {
		case "exited", "stopped":
			w.Exit = true
		case "configured", "created":
			w.States = append(w.States, StatusCreated)
		case "running":
			w.States = append(w.States, StatusRunning)
		case "paused":
			w.States = append(w.States, StatusPaused)
		case HealthHealthy, HealthUnhealthy:
			w.Health = append(w.Health, n)
		case "removing", "unknown":
			// Podman's, and none of myctr's.
			never = append(never, n)
		default:
			return w, fmt.Errorf("unknown container state: %s: %w", n, ErrInvalidCondition)
		}
	}
	if !w.Exit && len(w.States) == 0 && len(w.Health) == 0 {
		return w, fmt.Errorf("--condition=%s: %w, so the wait would never end", never[0], ErrNeverState)
	}
	return w, nil
}

// WaitFor blocks until the container meets one of w, reading its state
// every interval (0: 50 ms). For an exit it returns the exit code, for a
// state -1.
func (s *Store) WaitFor(c *Container, w WaitConditions, interval time.Duration) (int, error) {
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	for {
		cur, err := s.load(c.ID)
		if err != nil {
			return -1, err
		}
		cur.Refresh()
		if len(w.Health) > 0 && cur.Healthcheck == nil && !w.Exit && len(w.States) == 0 {
			return -1, fmt.Errorf("%w: %s has none, so it is never healthy or unhealthy", ErrNoHealthcheck, cur.Name)
		}
		state := cur.State.Status
		if cur.Paused() {
			state = StatusPaused // a paused container is not "running" here
		}
		if slices.Contains(w.States, state) {
			return -1, nil
		}
		if len(w.Health) > 0 && slices.Contains(w.Health, cur.HealthStatus()) {
			return -1, nil
		}
		if w.Exit && cur.State.Status != StatusRunning {
			return cur.State.ExitCode, nil
		}
		time.Sleep(interval)
	}
}
