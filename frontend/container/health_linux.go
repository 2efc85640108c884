package container

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// RunHealthcheck runs c's check once inside it (as exec runs a process),
// records the result in c's State.Health and, when that result made c
// unhealthy, takes its --health-on-failure action. It returns the
// result: failed is the check's own failure (a non-zero exit or its
// timeout), err what kept it from running.
func (s *Store) RunHealthcheck(c *Container) (failed bool, err error) {
	h := c.Healthcheck
	if h == nil {
		return false, fmt.Errorf("%w: %s has none (run --health-cmd sets one)", ErrNoHealthcheck, c.Name)
	}
	if !c.Running() {
		return false, fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	if err := RefusePaused(c, "healthcheck run"); err != nil {
		return false, err
	}
	res, err := s.runCheck(c, h)
	if err != nil {
		return false, err
	}
	var unhealthy bool
	var action string
	if err := s.Update(c, func(cur *Container) {
		if cur.State.Health == nil {
			cur.State.Health = &HealthState{Status: HealthStarting}
		}
		unhealthy = cur.State.Health.record(h, cur.State.StartedAt, res)
		action = cur.HealthOnFailure
		*c = *cur
	}); err != nil {
		return false, err
	}
	status := HealthHealthy
	if res.ExitCode != 0 {
		status = HealthUnhealthy
	}
	s.event(c, "health_status", nil, "health_status", status)
	if unhealthy {
		if err := s.healthAction(c, action); err != nil {
			return true, fmt.Errorf("%s is unhealthy; --health-on-failure %s: %w", c.Name, action, err)
		}
	}
	return res.ExitCode != 0, nil
}

// runCheck runs the check's process with its output in a pipe, which
// keeps the first healthOutputMax bytes; past Timeout the process is
// killed and the run failed.
func (s *Store) runCheck(c *Container, h *HealthConfig) (HealthResult, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return HealthResult{}, err
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, io.LimitReader(r, healthOutputMax))
		io.Copy(io.Discard, r)
		r.Close()
		close(copied)
	}()
	res := HealthResult{Start: time.Now()}
	type outcome struct {
		code int
		err  error
	}
	done := make(chan outcome, 1)
	pid := make(chan int, 1)
	go func() {
		code, err := s.Exec(c, &ExecOptions{Args: h.healthArgs(), Stdout: w, Stderr: w, NoSignals: true,
			Started: func(p int, _ *os.File) { pid <- p }})
		done <- outcome{code, err}
	}()
	timer := time.NewTimer(h.Timeout)
	defer timer.Stop()
	var o outcome
	select {
	case o = <-done:
	case <-timer.C:
		// The stage forwards SIGTERM to the process; SIGKILL ends the
		// stage, and the process with the container's PID namespace
		// only, so both, a moment apart.
		select {
		case p := <-pid:
			unix.Kill(p, unix.SIGTERM)
			select {
			case o = <-done:
			case <-time.After(time.Second):
				unix.Kill(p, unix.SIGKILL)
				o = <-done
			}
		default:
			o = <-done
		}
		o.code, o.err = 1, nil
		res.Output = fmt.Sprintf("healthcheck command exceeded timeout of %v", h.Timeout)
	}
	w.Close()
	<-copied
	res.End = time.Now()
	if o.err != nil && o.code == nsexec.ExitSetup {
		return res, o.err
	}
	res.ExitCode = o.code
	if res.Output == "" {
		res.Output = strings.TrimRight(out.String(), "\n")
	}
	if res.Output == "" && o.err != nil {
		res.Output = o.err.Error() // the command could not be run (126, 127)
	}
	return res, nil
}

// healthAction is --health-on-failure's action on a container that just
// became unhealthy.
func (s *Store) healthAction(c *Container, action string) error {
	switch action {
	case HealthActionKill:
		// As Podman: once the check that made it unhealthy returns,
		// the container is no longer running, so wait for the exit to
		// be recorded.
		fd, ok := runningPidfd(c)
		if !ok {
			return nil
		}
		defer unix.Close(fd)
		if err := signalPidfd(fd, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		s.event(c, "kill", nil)
		if !waitGone(fd, 10*time.Second) {
			return fmt.Errorf("container %s did not exit after SIGKILL", c.Name)
		}
		return s.awaitRecorded(c, 128+int(unix.SIGKILL))
	case HealthActionStop:
		return s.Stop(c, StopTimeoutOf(c))
	case HealthActionRestart:
		if err := s.Stop(c, StopTimeoutOf(c)); err != nil {
			return err
		}
		cur, err := s.Lookup(c.ID)
		if err != nil {
			return err
		}
		return s.StartDetached(cur, Activation{})
	}
	return nil
}

// healthEvery is how often c's monitor runs its check: 0 for never.
func healthEvery(c *Container) time.Duration {
	if !c.Healthcheck.Periodic() {
		return 0
	}
	return c.Healthcheck.Interval
}

// healthRunner runs c's check every interval while this process holds its
// run (where myctr-monitor does not: the journald log driver, a notify
// socket, no myctr-monitor installed): the health stage, as the monitor
// starts it, one run at a time.
func (s *Store) healthRunner(c *Container) func() func() {
	every := healthEvery(c)
	exe, err := os.Executable()
	if every == 0 || err != nil {
		return nil
	}
	return func() func() {
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(every):
				}
				cmd := exec.Command(exe, s.Dirs.Root, s.Dirs.RunRoot, c.ID)
				cmd.Args[0] = "myctr-health"
				cmd.Env = append(withoutEnv(os.Environ(), nsexec.EnvStage), nsexec.EnvStage+"="+nsexec.StageHealth)
				_ = cmd.Run()
			}
		}()
		return func() { close(done) }
	}
}

// HealthMain is the health stage: the container's monitor starts it every
// --health-interval with the monitor's arguments (ROOT RUNROOT ID), and
// it runs the check once, as `myctr healthcheck run` does.
func HealthMain(args []string) int {
	os.Unsetenv(nsexec.EnvStage)
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "myctr health: bad arguments")
		return nsexec.ExitSetup
	}
	s, c, _, err := openMonitored(args)
	if err != nil {
		return nsexec.ExitSetup // removed meanwhile
	}
	failed, err := s.RunHealthcheck(c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "myctr health %.12s: %v\n", c.ID, err)
		return nsexec.ExitSetup
	}
	if failed {
		return 1
	}
	return 0
}
