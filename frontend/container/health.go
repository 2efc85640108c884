package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// HealthConfig is a container's healthcheck, as Docker's and Podman's
// Config.Healthcheck: Test is ["CMD", arg...] (the command itself),
// ["CMD-SHELL", script] (run by /bin/sh -c) or ["NONE"] (no check).
// Durations are nanoseconds in JSON, as the Docker API has them.
type HealthConfig struct {
	Test        []string      `json:",omitempty"`
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// The defaults of run's --health-* flags, as Podman's and Docker's.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
)

// The health statuses, as Docker and Podman name them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// The --health-on-failure actions, as Podman's.
const (
	HealthActionNone    = "none"
	HealthActionKill    = "kill"
	HealthActionRestart = "restart"
	HealthActionStop    = "stop"
)

// healthLogKeep is how many results a container keeps (Docker: 5).
const healthLogKeep = 5

// healthOutputMax bounds a result's output kept (Docker: 4096 bytes).
const healthOutputMax = 4096

// HealthState is a running container's health, as Docker's State.Health.
type HealthState struct {
	Status        string
	FailingStreak int
	Log           []HealthResult `json:",omitempty"`
}

// HealthResult is one run of the check.
type HealthResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// ErrInvalidHealth is a bad --health-* flag or API Healthcheck.
var ErrInvalidHealth = errors.New("invalid healthcheck")

// healthError is an ErrInvalidHealth whose message stands alone.
type healthError struct{ msg string }

func (e *healthError) Error() string { return e.msg }
func (e *healthError) Unwrap() error { return ErrInvalidHealth }

// ErrNoHealthcheck is `healthcheck run` of a container that has none.
var ErrNoHealthcheck = errors.New("no healthcheck")

// ParseHealthCmd reads --health-cmd as Podman does: "none" disables the
// image's check, a JSON array is the Test itself (["CMD", ...],
// ["CMD-SHELL", ...] or a plain command line, which is taken as CMD), and
// anything else is a shell script (CMD-SHELL).
func ParseHealthCmd(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: --health-cmd is empty", ErrInvalidHealth)
	case strings.EqualFold(s, "none"):
		return []string{"NONE"}, nil
	case strings.HasPrefix(s, "["):
		var args []string
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			return nil, fmt.Errorf("%w: --health-cmd %s: not a JSON array of strings: %v", ErrInvalidHealth, s, err)
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("%w: --health-cmd %s is empty", ErrInvalidHealth, s)
		}
		switch args[0] {
		case "CMD", "CMD-SHELL", "NONE":
			return checkTest(args)
		}
		return checkTest(append([]string{"CMD"}, args...))
	}
	return []string{"CMD-SHELL", s}, nil
}

// checkTest checks the form of a Test (from --health-cmd or the API).
func checkTest(t []string) ([]string, error) {
	if len(t) == 0 {
		return nil, nil
	}
	switch t[0] {
	case "NONE":
		return t, nil
	case "CMD":
		if len(t) < 2 || t[1] == "" {
			return nil, fmt.Errorf("%w: CMD with no command", ErrInvalidHealth)
		}
	case "CMD-SHELL":
		if len(t) != 2 || strings.TrimSpace(t[1]) == "" {
			return nil, fmt.Errorf("%w: CMD-SHELL takes one script", ErrInvalidHealth)
		}
	default:
		return nil, fmt.Errorf("%w: a test starts with CMD, CMD-SHELL or NONE, not %q", ErrInvalidHealth, t[0])
	}
	return t, nil
}

// CheckHealthConfig checks a healthcheck and the --health-on-failure
// action that goes with it, and fills in the defaults: what create
// records. A nil or NONE check takes no action.
func CheckHealthConfig(h *HealthConfig, onFailure string) (*HealthConfig, string, error) {
	switch onFailure {
	case "", HealthActionNone:
		onFailure = HealthActionNone
	case HealthActionKill, HealthActionRestart, HealthActionStop:
	default:
		return nil, "", fmt.Errorf("%w: --health-on-failure %q: use none, kill, restart or stop", ErrInvalidHealth, onFailure)
	}
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		if onFailure != HealthActionNone {
			// Podman's words, alone: its tests match the whole line.
			return nil, "", &healthError{fmt.Sprintf("cannot set on-failure action to %s without a health check", onFailure)}
		}
		return nil, onFailure, nil
	}
	t, err := checkTest(h.Test)
	if err != nil {
		return nil, "", err
	}
	out := *h
	out.Test = t
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"interval", &out.Interval, DefaultHealthInterval}, {"timeout", &out.Timeout, DefaultHealthTimeout}, {"start-period", &out.StartPeriod, 0}} {
		switch {
		case *d.v == -1 && d.name == "interval":
			// --health-interval disable: healthcheck run alone runs it.
		case *d.v < 0:
			return nil, "", fmt.Errorf("%w: --health-%s %v is negative", ErrInvalidHealth, d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		case *d.v < time.Second && d.name != "start-period":
			return nil, "", fmt.Errorf("%w: --health-%s %v: at least 1s", ErrInvalidHealth, d.name, *d.v)
		}
	}
	switch {
	case out.Retries < 0:
		return nil, "", fmt.Errorf("%w: --health-retries %d is negative", ErrInvalidHealth, out.Retries)
	case out.Retries == 0:
		out.Retries = DefaultHealthRetries
	}
	return &out, onFailure, nil
}

// MergeHealth is the check a container gets: the one given, its zero
// fields (Test included) the image's, as Docker merges a container's
// config with its image's. nil when neither has one. A check given
// without a Test where the image has none is an error: its flags would
// have nothing to time.
func MergeHealth(given, image *HealthConfig) (*HealthConfig, error) {
	if given == nil {
		return image, nil
	}
	out := *given
	if image != nil {
		if len(out.Test) == 0 {
			out.Test = image.Test
		}
		for _, f := range []struct{ v, from *time.Duration }{
			{&out.Interval, &image.Interval}, {&out.Timeout, &image.Timeout}, {&out.StartPeriod, &image.StartPeriod}} {
			if *f.v == 0 {
				*f.v = *f.from
			}
		}
		if out.Retries == 0 {
			out.Retries = image.Retries
		}
	}
	if len(out.Test) == 0 {
		return nil, fmt.Errorf("%w: --health-interval, --health-retries, --health-start-period and --health-timeout need --health-cmd (the image has no HEALTHCHECK)", ErrInvalidHealth)
	}
	return &out, nil
}

// ParseHealthInterval reads --health-interval: a duration, or "disable"
// (no periodic check: only `healthcheck run`), which is recorded as a
// negative interval.
func ParseHealthInterval(s string) (time.Duration, error) {
	if s == "disable" {
		return -1, nil
	}
	return parseHealthDuration("interval", s)
}

// parseHealthDuration reads a --health-* duration.
func parseHealthDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: --health-%s %q: %v", ErrInvalidHealth, name, s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: --health-%s %q must be positive", ErrInvalidHealth, name, s)
	}
	return d, nil
}

// ParseHealthDuration reads --health-timeout or --health-start-period.
func ParseHealthDuration(name, s string) (time.Duration, error) {
	if name == "start-period" {
		if s == "0" {
			return 0, nil
		}
		if d, err := time.ParseDuration(s); err == nil && d == 0 {
			return 0, nil
		}
	}
	return parseHealthDuration(name, s)
}

// Periodic says whether the check runs on its own, every Interval.
func (h *HealthConfig) Periodic() bool { return h != nil && h.Interval > 0 }

// healthArgs is the process a check runs.
func (h *HealthConfig) healthArgs() []string {
	if h.Test[0] == "CMD-SHELL" {
		return []string{"/bin/sh", "-c", h.Test[1]}
	}
	return h.Test[1:]
}

// record adds the result r of a run that started at startedAt (the
// container's start) to st, as Docker counts: a success makes the
// container healthy and ends the streak of failures; a failure within
// the start period counts for nothing; after it, Retries failures in a
// row make the container unhealthy. It reports whether this result made
// the container unhealthy (it was not before).
func (st *HealthState) record(h *HealthConfig, startedAt time.Time, r HealthResult) bool {
	st.Log = append(st.Log, r)
	if len(st.Log) > healthLogKeep {
		st.Log = st.Log[len(st.Log)-healthLogKeep:]
	}
	if st.Status == "" {
		st.Status = HealthStarting
	}
	if r.ExitCode == 0 {
		st.Status, st.FailingStreak = HealthHealthy, 0
		return false
	}
	if st.Status == HealthStarting && h.StartPeriod > 0 && r.Start.Sub(startedAt) < h.StartPeriod {
		return false
	}
	st.FailingStreak++
	if st.FailingStreak >= h.Retries && st.Status != HealthUnhealthy {
		st.Status = HealthUnhealthy
		return true
	}
	return false
}

// HealthStatus is what ps shows after "Up ...": "(healthy)" and so on,
// or "" for a container with no check or not running.
func (c *Container) HealthStatus() string {
	if c.Healthcheck == nil || c.State.Health == nil || !c.Running() {
		return ""
	}
	return c.State.Health.Status
}
