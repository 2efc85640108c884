package container

import (
	"fmt"
	"strconv"
	"strings"
)

// Restart policies, as Podman names them (--restart). A container's
// monitor starts it again when it exits, as the policy says, unless a
// user stopped it (stop, rm -f, or the monitor's own SIGTERM).
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy is --restart: Name is "" (none given), or one of the
// Restart* names; MaximumRetryCount bounds on-failure's restarts (0: no
// bound).
type RestartPolicy struct {
	Name              string
	MaximumRetryCount uint
}

// ParseRestartPolicy parses --restart: no, on-failure[:N], always or
// unless-stopped.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", RestartNo, RestartAlways, RestartUnlessStopped:
		if hasCount {
			return p, fmt.Errorf("%w: restart policy %q: only on-failure takes a retry count", ErrInvalidRestart, s)
		}
	case RestartOnFailure:
		if hasCount {
			n, err := strconv.ParseUint(count, 10, 32)
			if err != nil {
				return p, fmt.Errorf("%w: restart policy %q: the retry count must be a number >= 0", ErrInvalidRestart, s)
			}
			p.MaximumRetryCount = uint(n)
		}
	default:
		return p, fmt.Errorf("%w: %q: want no, on-failure[:N], always or unless-stopped", ErrInvalidRestart, s)
	}
	return p, nil
}

// RestartPolicyNames are the names `--filter restart-policy=` takes, as
// Podman's: "none" is a container given no policy, "no" one given
// --restart=no.
var RestartPolicyNames = map[string]string{
	"none": "", RestartNo: RestartNo, RestartOnFailure: RestartOnFailure,
	RestartAlways: RestartAlways, RestartUnlessStopped: RestartUnlessStopped,
}

// wantsRestart says whether a container that exited with code, as its
// record now reads, is to be started again.
func wantsRestart(c *Container, code int) bool {
	if c.StoppedByUser || c.HostConfig.AutoRemove {
		return false
	}
	p := c.HostConfig.RestartPolicy
	switch p.Name {
	case RestartAlways, RestartUnlessStopped:
		return true
	case RestartOnFailure:
		return code != 0 && (p.MaximumRetryCount == 0 || c.RestartCount < p.MaximumRetryCount)
	}
	return false
}
