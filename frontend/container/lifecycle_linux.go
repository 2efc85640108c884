package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
)

// RunAttached starts c in the foreground and returns the container's exit
// code when it ends. Its monitor is myctr-monitor where it can be
// (attach_linux.go), else this process. Signals are forwarded; with a
// terminal, the user's terminal is put in raw mode and proxied. Through
// myctr-monitor, a stdout that broke (DirectOutput.Broken says so) ends
// this call at once with 0, the container left to run to its end.
func (s *Store) RunAttached(c *Container, m *userns.Mapping, a *Attach) (int, error) {
	if err := s.startNetContainer(c); err != nil {
		return -1, err
	}
	// The user's terminal: stdin's (-i), which is put in raw mode, else
	// stdout's, whose size alone the container's pty follows (as
	// Podman's and Docker's -t without -i).
	var tty, sized *os.File
	if c.HostConfig.Tty {
		tty = userTerminal(a.Stdin)
		sized = tty
		if out, ok := directFile(a.Stdout, true); ok && sized == nil {
			sized = userTerminal(out)
		}
	}
	ws, restore, raw := rawTerminal(tty)
	defer restore()
	if ws == nil && sized != nil {
		ws = terminalSize(sized)
	}
	a.Winsize = ws
	nl := "\n"
	if raw {
		nl = "\r\n"
	}
	relay := &signalRelay{sigs: make(chan os.Signal, 1)}
	if !a.NoSignals {
		relay = catchSignals(sized)
	}
	defer relay.stop()
	unlock, err := c.lockLaunch()
	if err != nil {
		return nsexec.ExitSetup, err
	}
	if c.HostConfig.CgroupManager == cgroup.SourceSplit {
		// The container's cgroup is made beside ours, and myctr-monitor
		// starts in ours: neither of us may stay in the parent.
		if err := cgroup.JoinSupervisor(); err != nil {
			unlock()
			return nsexec.ExitSetup, &StartError{err, nsexec.ExitSetup}
		}
	}
	a.foreground = true
	r, err := s.launch(c, m, a)
	if err != nil {
		unlock()
		s.finish(c, exitOf(err), err.Error(), true, os.Getpid())
		return exitOf(err), err
	}
	if r.fg != nil {
		// Before the record, so that a CLI killed from here on leaves
		// the end (and the record) to the monitor.
		err = r.fg.running(r)
	}
	if err == nil {
		err = s.markRunning(c, r)
	}
	unlock()
	if err != nil {
		if r.fg != nil {
			// The init is killed here; the monitor, told by the end
			// of its socket, exits (or records what it can).
			r.fg.leave()
			r.kill()
			r.end(nsexec.ExitSetup)
		} else {
			r.proc.Kill()
			r.wait()
		}
		return nsexec.ExitSetup, err
	}
	for _, w := range r.warnings {
		fmt.Fprintf(a.Stderr, "Warning: %s%s", w, nl)
	}
	notifyStarted(c, os.Getpid())
	if r.pty != nil && a.Terminal != nil {
		// Before Started: a caller that resizes once started finds it.
		a.Terminal(r.pty)
	}
	if a.Started != nil {
		a.Started()
	}
	if r.pty != nil {
		var in io.Reader
		if a.Stdin != nil {
			in = a.Stdin
		}
		relay.setPty(r.pty, in)
	}
	relay.forward(func(sig syscall.Signal) { r.signal(proxied(c, sig)) })
	code, o, err := r.waitAttached()
	// The relay stays until we return: a SIGTERM now (a unit's stop, as
	// the container ended) must not cut the end's record and --rm short.
	restore()
	d, direct := a.Stdout.(DirectOutput)
	if direct && o.stdoutBroken {
		d.Broken(unix.EPIPE)
	}
	if o.left {
		r.fg.leave()
		return 0, nil
	}
	s.forgetBridge(c, r)
	s.noteOOM(c, r)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	var left string
	if r.fg != nil {
		// myctr-monitor deletes a small --rm tree once told "done": the
		// unlinks (about 0.7 ms on ext4) after this command has ended.
		s.finishHandOff(c, code, msg, r.monitorPid(), &left)
		r.fg.done(left)
	} else {
		s.finish(c, code, msg, true, r.monitorPid())
	}
	return code, nil
}

// waitAttached waits for the end of r, a foreground run, here or through
// its monitor, and says how it ended (the monitor says more: whether the
// user's stdout broke); the error is a monitor that died first.
func (r *running) waitAttached() (int, fgOutcome, error) {
	if r.fg == nil {
		code := r.wait()
		return code, fgOutcome{code: code}, nil
	}
	o, err := r.waitFg()
	return o.code, o, err
}

// proxied is the signal the container gets for one its monitor got:
// SIGTERM, which is how systemd and others ask a process to end, becomes
// the container's stop signal (its image's STOPSIGNAL, or --stop-signal),
// as `myctr stop` sends it; every other signal is passed on as it is.
func proxied(c *Container, sig syscall.Signal) syscall.Signal {
	if sig == unix.SIGTERM {
		return StopSignalOf(c)
	}
	return sig
}

func exitOf(err error) int {
	var se *StartError
	if errors.As(err, &se) && se.Exit != 0 {
		return se.Exit
	}
	return nsexec.ExitSetup
}

// finish records the exit and removes an --rm container.
// With background, the deletion of an --rm container's directory goes on in
// a detached process: `run --rm` returns as soon as the container is gone
// from every listing. self is the pid of the monitor that the caller is or
// stands for (a foreground run's CLI for its myctr-monitor, which waits
// for it).
func (s *Store) finish(c *Container, code int, msg string, background bool, self int) {
	s.finishRemoving(c, code, msg, background, self, nil)
}

// finishHandOff is finish in the background, for a foreground run's CLI
// whose myctr-monitor deletes the directory: where remove leaves that to
// the caller (handOff), *left is the directory, else "".
func (s *Store) finishHandOff(c *Container, code int, msg string, self int, left *string) {
	s.finishRemoving(c, code, msg, true, self, left)
}

func (s *Store) finishRemoving(c *Container, code int, msg string, background bool, self int, handOff *string) {
	if msg == "" {
		s.event(c, "died", &code)
	}
	defer s.stopPodAfter(c)
	if c.HostConfig.AutoRemove && msg == "" {
		if err := s.removeHandOff(c, false, background, self, handOff); err == nil {
			s.RemoveAnonymousVolumes(c)
			return
		}
	}
	s.markExited(c, code, msg)
	if c.HostConfig.AutoRemove {
		if s.removeHandOff(c, false, background, self, handOff) == nil {
			s.RemoveAnonymousVolumes(c)
		}
	}
}

// monitorReport is what the monitor tells the CLI that started it.
type monitorReport struct {
	Error    string   `json:",omitempty"`
	Exit     int      `json:",omitempty"`
	Warnings []string `json:",omitempty"`
	// What the CLI needs to say the fix of a bridged network's failure:
	// the sentinel the error wrapped (helperclient.Kind), the polkit
	// action refused, and the port that was not published.
	Kind   string               `json:",omitempty"`
	Action string               `json:",omitempty"`
	Port   *network.PortMapping `json:",omitempty"`
	// Hint is the fix of an error that has one (a Hinter).
	Hint string `json:",omitempty"`
	// Pid is the monitor's, when it is not the CLI's child (envDetach).
	Pid int `json:",omitempty"`
	// PortInUse: a host port to publish was taken (network.ErrPortInUse),
	// which `run` answers as Podman does (exit 126, the container kept).
	PortInUse bool `json:",omitempty"`
}

// envDetach asks the monitor stage to start the real monitor as its own
// child and exit: the monitor is then the child of the nearest subreaper
// (the service manager, in a unit) when the CLI names it MAINPID=. systemd
// treats a main process that is not its child as foreign: on stop it
// signals it but does not wait for it, and goes straight to SIGKILL of
// the whole unit.
const envDetach = "MYCTR_MONITOR_DETACH"

// Hinter is an error that knows its fix.
type Hinter interface {
	error
	Hint() string
}

// hintError is an error with its Hint (one a monitor reported, say).
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// failureReport is the report of a monitor whose container failed to start.
func failureReport(err error) monitorReport {
	rep := monitorReport{Error: err.Error(), Exit: exitOf(err)}
	rep.Kind, rep.Action = helperclient.Kind(err)
	rep.PortInUse = errors.Is(err, network.ErrPortInUse)
	var pe *network.PortError
	if errors.As(err, &pe) {
		rep.Port = &pe.Port
	}
	var h Hinter
	if errors.As(err, &h) {
		rep.Hint = h.Hint()
	} else {
		// The network's errors (a host port in use) are known by their
		// sentinels, which do not survive the report's text.
		rep.Hint = network.Hint(err)
	}
	return rep
}

// err rebuilds the error a monitor reported.
func (rep monitorReport) err() error {
	err := helperclient.Rebuild(rep.Error, rep.Kind, rep.Action)
	if rep.Port != nil {
		err = &reportedPortError{msg: rep.Error, err: &network.PortError{Port: *rep.Port, Err: errors.Unwrap(err)}}
	}
	if rep.PortInUse && !errors.Is(err, network.ErrPortInUse) {
		err = &portInUseError{err}
	}
	if rep.Hint != "" {
		err = &hintError{err, rep.Hint}
	}
	return &StartError{err, rep.Exit}
}

// portInUseError is a reported error that was network.ErrPortInUse.
type portInUseError struct{ err error }

func (e *portInUseError) Error() string        { return e.err.Error() }
func (e *portInUseError) Unwrap() error        { return e.err }
func (e *portInUseError) Is(target error) bool { return target == network.ErrPortInUse }

// reportedPortError is a network.PortError received as text.
type reportedPortError struct {
	msg string
	err error
}

func (e *reportedPortError) Error() string { return e.msg }
func (e *reportedPortError) Unwrap() error { return e.err }

// StartDetached starts c under its own monitor process and returns once the
// container's process runs (or failed to start). Warnings go to stderr.
//
// The monitor has no terminal: for a bridged container, a polkit text agent
// runs meanwhile on ours (when stdin is one), so that a password the
// helper's authorization needs can be asked here.
func (s *Store) StartDetached(c *Container, act Activation) error {
	if err := s.startNetContainer(c); err != nil {
		return err
	}
	if c.OnHelperBridge() {
		if agent, err := helperclient.StartAgent(os.Stdin); err == nil {
			defer agent.Stop()
		}
	}
	if c.HostConfig.CgroupManager == cgroup.SourceSplit {
		// The monitor makes the container's cgroup beside its own: none
		// of us may stay in the parent.
		if err := cgroup.JoinSupervisor(); err != nil {
			return &StartError{err, nsexec.ExitSetup}
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command("/proc/self/exe", s.Dirs.Root, s.Dirs.RunRoot, c.ID)
	cmd.Args[0] = "myctr-monitor"
	// The sockets of socket activation stay 3, 4, ... in the monitor; the
	// report pipe comes after them.
	cmd.Env = append(append(os.Environ(), act.env()...), nsexec.EnvStage+"="+nsexec.StageMonitor,
		nsexec.EnvSyncFD+"="+strconv.Itoa(3+act.N))
	cmd.ExtraFiles = append(act.files(), w)
	detach := namesMainPID(c)
	if detach {
		cmd.Env = append(cmd.Env, envDetach+"=1")
	}
	// Its own session: the monitor outlives the CLI and any terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start monitor: %w", err)
	}
	w.Close()
	b, _ := io.ReadAll(r)
	monitorPid := cmd.Process.Pid
	if detach {
		// The intermediate exits at once; reaped, the monitor is the
		// subreaper's child.
		_ = cmd.Wait()
	} else {
		cmd.Process.Release()
	}
	var rep monitorReport
	if len(b) == 0 {
		return &StartError{errors.New("the container's monitor exited without a report"), nsexec.ExitSetup}
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return &StartError{fmt.Errorf("monitor report: %w", err), nsexec.ExitSetup}
	}
	if rep.Error != "" {
		return rep.err()
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(os.Stderr, "Warning: %s\n", w)
	}
	if rep.Pid > 0 {
		monitorPid = rep.Pid
	}
	// The unit's main process becomes the monitor, which outlives us and
	// exits with the container's exit code.
	notifyStarted(c, monitorPid)
	return nil
}

// detachMonitor is the intermediate of envDetach: it starts the monitor
// with the same arguments and descriptors (3 to the report's, reportFD)
// and exits without waiting for it.
func detachMonitor(args []string, reportFD int) int {
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args[0] = "myctr-monitor"
	cmd.Env = withoutEnv(os.Environ(), envDetach)
	for fd := 3; fd <= reportFD; fd++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(fd), "fd"))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		rep := monitorReport{Error: fmt.Sprintf("start monitor: %v", err), Exit: nsexec.ExitSetup}
		_ = json.NewEncoder(os.NewFile(uintptr(reportFD), "report")).Encode(rep)
		return nsexec.ExitSetup
	}
	return 0
}

// MonitorMain is the monitor of a detached container: it starts the
// container, reports to the CLI on fd 3, keeps the container's output in
// its log, and records its exit.
func MonitorMain(args []string) int {
	fd, _ := strconv.Atoi(os.Getenv(nsexec.EnvSyncFD))
	if os.Getenv(envDetach) != "" && fd >= 3 {
		return detachMonitor(args, fd)
	}
	report := os.NewFile(uintptr(fd), "report")
	if fd < 3 {
		report = nil
	}
	os.Unsetenv(nsexec.EnvStage)
	os.Unsetenv(nsexec.EnvSyncFD)
	send := func(rep monitorReport) {
		if report != nil {
			json.NewEncoder(report).Encode(rep)
			report.Close()
			report = nil
		}
	}
	if len(args) != 3 || report == nil {
		send(monitorReport{Error: "monitor: bad arguments", Exit: nsexec.ExitSetup})
		return nsexec.ExitSetup
	}
	terms := monitorSignals()
	act, err := TakeActivation()
	var s *Store
	var c *Container
	var m *userns.Mapping
	if err == nil {
		s, c, m, err = openMonitored(args)
	}
	var unlock func()
	if err == nil {
		unlock, err = c.lockLaunch()
	}
	if err == nil {
		// rm may have run while we waited for the lock.
		c, err = s.load(args[2])
		if err != nil {
			unlock()
		}
	}
	if err == nil {
		// A start by a user: the restart policy applies afresh.
		err = s.Update(c, func(c *Container) { c.StoppedByUser, c.RestartCount = false, 0 })
		if err != nil {
			unlock()
		}
	}
	if err != nil {
		send(monitorReport{Error: err.Error(), Exit: nsexec.ExitSetup})
		return nsexec.ExitSetup
	}
	r, err := s.launch(c, m, &Attach{Activation: act, Handoff: true})
	if err != nil {
		unlock()
		s.finish(c, exitOf(err), err.Error(), false, os.Getpid())
		send(failureReport(err))
		return exitOf(err)
	}
	var cur atomic.Pointer[running]
	var terminated atomic.Bool
	cur.Store(r)
	go func() {
		for range terms {
			terminated.Store(true)
			cur.Load().signal(StopSignalOf(c))
		}
	}()
	err = s.markRunning(c, r)
	unlock()
	if err != nil {
		r.proc.Kill()
		r.wait()
		send(monitorReport{Error: err.Error(), Exit: nsexec.ExitSetup})
		return nsexec.ExitSetup
	}
	send(monitorReport{Warnings: r.warnings, Pid: os.Getpid()})
	return s.afterExit(c, m, r, s.await(c, r, &terminated), &cur, &terminated)
}

// openMonitored opens the store and reads the record of a monitor's
// arguments (ROOT RUNROOT ID ...), and the user's mapping.
func openMonitored(args []string) (*Store, *Container, *userns.Mapping, error) {
	s, err := OpenStore(Dirs{Root: args[0], RunRoot: args[1]})
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.load(args[2])
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := userns.Current()
	return s, c, m, err
}

// monitorSignals sets up a monitor's signals and returns its SIGTERMs.
// SIGHUP, SIGINT and SIGPIPE are caught, not ignored: an ignored signal
// stays ignored across exec, and a shell that starts ignoring one cannot
// trap it (the container's process must be able to handle them); a
// caught one is back to its default in the container. SIGTERM
// (systemctl stop, a unit's end) stops the container: it gets its stop
// signal, and the exit is recorded as ever.
func monitorSignals() <-chan os.Signal {
	quiet := make(chan os.Signal, 8)
	signal.Notify(quiet, unix.SIGHUP, unix.SIGINT, unix.SIGPIPE)
	go func() {
		for range quiet {
		}
	}()
	terms := make(chan os.Signal, 4)
	signal.Notify(terms, unix.SIGTERM)
	return terms
}

// afterExit is a monitor's work once c's run r ended with code: it
// records what the run left, restarts c as its policy says (unless a
// SIGTERM came: terminated) and records its end. The container's exit
// code is the monitor's: a unit whose main process the monitor is fails
// when the container does (Restart=).
func (s *Store) afterExit(c *Container, m *userns.Mapping, r *running, code int, cur *atomic.Pointer[running], terminated *atomic.Bool) int {
	s.forgetBridge(c, r)
	s.noteOOM(c, r)
	for !terminated.Load() {
		next, err := s.restart(c, m, code)
		if next == nil {
			if err != nil {
				s.finish(c, exitOf(err), err.Error(), false, os.Getpid())
				return exitOf(err)
			}
			break
		}
		cur.Store(next)
		code = s.await(c, next, terminated)
		s.forgetBridge(c, next)
		s.noteOOM(c, next)
	}
	s.finish(c, code, "", false, os.Getpid())
	return code
}

// restart starts c again after it exited with code, when its restart
// policy says so and no user stopped or removed it meanwhile, and returns
// it running (nil when it is not to be restarted, or failed to start:
// then with the error). Podman restarts at once; a container that keeps
// failing is started again after a delay that doubles up to 5 s, as a
// guard against a tight loop.
func (s *Store) restart(c *Container, m *userns.Mapping, code int) (*running, error) {
	cur, err := s.load(c.ID)
	if err != nil || !wantsRestart(cur, code) {
		return nil, nil
	}
	*c = *cur
	if err := s.markExited(c, code, ""); err != nil {
		return nil, err
	}
	if n := c.RestartCount; n > 0 {
		time.Sleep(min(100*time.Millisecond<<min(n, 6), 5*time.Second))
	}
	unlock, err := c.lockLaunch()
	if err != nil {
		return nil, nil // removed
	}
	defer unlock()
	// Stopped or removed while it was down.
	if cur, err = s.load(c.ID); err != nil || !wantsRestart(cur, code) {
		return nil, nil
	}
	*c = *cur
	r, err := s.launch(c, m, &Attach{Handoff: true})
	if err != nil {
		return nil, err
	}
	if err := s.markRunning(c, r); err != nil {
		r.proc.Kill()
		r.wait()
		return nil, err
	}
	if err := s.Update(c, func(c *Container) { c.RestartCount++ }); err != nil {
		return nil, err
	}
	return r, nil
}

// Refresh corrects a record whose processes died without telling: a
// running container whose init and monitor are both gone has exited, with
// an exit code nobody could collect.
func (c *Container) Refresh() {
	if c.State.Status != StatusRunning {
		return
	}
	if alive(c.State.Pid, c.State.PidStart) {
		return
	}
	if alive(c.State.MonitorPid, c.State.MonitorStart) {
		return // about to record the exit
	}
	c.State.Status = StatusExited
	c.State.ExitCode = -1
	c.State.Error = "the container's monitor is gone; its exit code is unknown"
	c.State.Pid = 0
}

// StatusWord is the container's status as inspect and ps name it:
// Status, "paused" while pause holds it frozen, or "stopping" while a
// `myctr stop` waits for it to exit.
func (c *Container) StatusWord() string {
	if c.State.Status == StatusRunning && c.State.StopperPid > 0 && alive(c.State.StopperPid, c.State.StopperStart) {
		return "stopping"
	}
	if c.Paused() {
		return StatusPaused
	}
	return c.State.Status
}

// signalName is Podman's name of a signal: SIGTERM, SIGRTMIN+3.
func signalName(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// Running reports whether the container's init is alive.
func (c *Container) Running() bool {
	return c.State.Status == StatusRunning && alive(c.State.Pid, c.State.PidStart)
}

// Signal sends sig to the container's init.
func (s *Store) Signal(c *Container, sig unix.Signal) error {
	if !c.Running() {
		return fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	fd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	defer unix.Close(fd)
	if err := signalPidfd(fd, sig); err != nil {
		return err
	}
	s.event(c, "kill", nil)
	return nil
}

// StopSignalOf is the image's STOPSIGNAL or SIGTERM.
func StopSignalOf(c *Container) unix.Signal {
	if c.StopSignal != "" {
		if sig, err := ParseSignal(c.StopSignal); err == nil {
			return sig
		}
	}
	return unix.SIGTERM
}

// StopTimeoutOf is how long stop waits after the stop signal: the
// container's --stop-timeout, else 10 seconds.
func StopTimeoutOf(c *Container) time.Duration {
	if t := c.HostConfig.StopTimeout; t != nil {
		return time.Duration(*t) * time.Second
	}
	return 10 * time.Second
}

// Stop sends the stop signal, then SIGKILL after timeout, and waits until
// the exit is recorded.
func (s *Store) Stop(c *Container, timeout time.Duration) error {
	// Whatever runs now or is about to be restarted: its restart policy
	// no longer applies.
	if err := s.Update(c, func(c *Container) { c.StoppedByUser = true }); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	fd, ok := runningPidfd(c)
	if !ok {
		return nil
	}
	defer unix.Close(fd)
	sig := StopSignalOf(c)
	if timeout > 0 {
		// "stopping" while we wait, as Podman: other commands see it
		// (the record is not held locked meanwhile).
		if start, err := procStart(os.Getpid()); err == nil {
			_ = s.Update(c, func(c *Container) { c.State.StopperPid, c.State.StopperStart = os.Getpid(), start })
		}
	}
	if err := signalPidfd(fd, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	// A paused container's processes take the stop signal once thawed
	// (SIGKILL alone reaches a frozen process).
	s.thaw(c)
	if !waitGone(fd, timeout) {
		if timeout > 0 {
			// Podman's words, which scripts match.
			fmt.Fprintf(os.Stderr, "Warning: StopSignal %s failed to stop container %s in %d seconds, resorting to SIGKILL\n",
				signalName(sig), c.Name, int(timeout/time.Second))
		}
		sig = unix.SIGKILL
		if err := signalPidfd(fd, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		if !waitGone(fd, 10*time.Second) {
			return fmt.Errorf("container %s did not exit after SIGKILL", c.Name)
		}
	}
	if err := s.awaitRecorded(c, 128+int(sig)); err != nil {
		return err
	}
	s.event(c, "stop", nil)
	return nil
}

// runningPidfd is a pidfd of c's init while it runs; false when it does
// not, or exited meanwhile.
func runningPidfd(c *Container) (int, bool) {
	if !c.Running() {
		return -1, false
	}
	fd, err := openPidfd(c.State.Pid, c.State.PidStart)
	return fd, err == nil
}

// awaitRecorded waits for the monitor to record the exit; if the monitor is
// gone, it records one itself.
func (s *Store) awaitRecorded(c *Container, guess int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		cur, err := s.load(c.ID)
		if err != nil {
			*c = Container{ID: c.ID, Name: c.Name, dir: c.dir, State: State{Status: StatusExited}}
			return nil // removed (--rm)
		}
		*c = *cur
		if c.State.Status != StatusRunning {
			return nil
		}
		if !alive(c.State.MonitorPid, c.State.MonitorStart) || time.Now().After(deadline) {
			// The monitor of an --rm container removes the record
			// and exits between our read and this look: removed
			// is exited.
			if err := s.markExited(c, guess, ""); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			s.event(c, "died", &guess)
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wait blocks until the container has exited and returns its exit code.
func (s *Store) Wait(c *Container) (int, error) {
	return s.WaitFor(c, WaitConditions{Exit: true}, 0)
}

// Remove deletes a container. A running one is refused unless force, which
// kills it first.
func (s *Store) Remove(c *Container, force bool) error {
	if err := s.refuseInfra(c); err != nil {
		return err
	}
	return s.remove(c, force, false, os.Getpid())
}

// ReleaseNetwork asks the helper to release what it may still hold for a
// removed bridged container: the record says so when the container's
// monitor could not release it at the end (polkit refused without a
// prompt, the monitor was killed). It is for `rm`, so that the helper keeps
// nothing of a container that is gone even before its own reaping runs.
// As a command of the user's, it may ask for a password on the terminal.
func (s *Store) ReleaseNetwork(c *Container) error {
	if !c.OnHelperBridge() || c.State.Bridge == nil {
		return nil
	}
	h, err := helperclient.Connect(helperclient.Options{Interactive: true})
	if err != nil {
		return err
	}
	defer h.Close()
	return network.ReleaseBridge(context.Background(), h, c.ID)
}

// remove deletes c, killing it first with force. It waits for c's monitor
// to record the exit and let go, unless that monitor is self.
func (s *Store) remove(c *Container, force, background bool, self int) error {
	return s.removeHandOff(c, force, background, self, nil)
}

// removeHandOff is remove; with background and handOff, a small tree
// that this user may delete without the user namespace (ownTree) is left
// renamed away for the caller's monitor to delete, and *handOff says
// where.
func (s *Store) removeHandOff(c *Container, force, background bool, self int, handOff *string) error {
	// Under the launch lock, no init is being started: kill what runs.
	unlockLaunch, err := c.lockLaunch()
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cur, err := s.load(c.ID)
	if err != nil {
		unlockLaunch()
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	*c = *cur
	c.Refresh()
	// As Podman, even with force: the dependents go first (rm --depend).
	deps, err := s.Dependents(c)
	if err != nil {
		unlockLaunch()
		return err
	}
	if len(deps) > 0 {
		unlockLaunch()
		e := &DependentsError{ID: c.ID}
		for _, d := range deps {
			e.Deps = append(e.Deps, d.ID)
		}
		return e
	}
	if c.Running() {
		if !force {
			unlockLaunch()
			return &RunningError{ID: c.ID}
		}
		if err := s.Update(c, func(c *Container) { c.StoppedByUser = true }); err != nil {
			unlockLaunch()
			return err
		}
		if fd, err := openPidfd(c.State.Pid, c.State.PidStart); err == nil {
			if err := signalPidfd(fd, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				unix.Close(fd)
				unlockLaunch()
				return err
			}
			waitGone(fd, 10*time.Second)
			unix.Close(fd)
		}
	}
	unlockLaunch()
	// Let the monitor record the exit and let go of the directory (it may
	// be removing an --rm container itself, which needs the launch lock).
	if c.State.MonitorPid != self {
		if fd, err := openPidfd(c.State.MonitorPid, c.State.MonitorStart); err == nil {
			waitGone(fd, 5*time.Second)
			unix.Close(fd)
		}
	}
	unlockLaunch, err = c.lockLaunch()
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlockLaunch()
	if cur, err := s.load(c.ID); err == nil {
		cur.Refresh()
		if cur.Running() {
			return fmt.Errorf("%w: %s was started again meanwhile", ErrRunning, c.Name)
		}
		// A --cgroups=split container whose monitor was killed leaves its
		// (empty) cgroup: nobody else removes it.
		if err := cgroup.RemoveSplit(cur.State.Cgroup); err != nil {
			fmt.Fprintf(os.Stderr, "Warning: %v\n", err)
		}
		// As the monitor left it: whether a bridged network is still held.
		c.State.Bridge = cur.State.Bridge
	}
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	// Renaming first takes the container out of every listing at once; a
	// crash while deleting leaves only a .rm- directory the next rm sweeps.
	gone := filepath.Join(s.dir, ".rm-"+c.ID)
	err = os.Rename(c.dir, gone)
	if err == nil {
		s.unindex(c.ID, c.Name)
	}
	unlock()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove container %s: %w", c.Name, err)
	}
	s.event(c, "remove", nil)
	if sharesShm(c) {
		// A pod's /dev/shm may hold what the containers' own ids made.
		_ = nsexec.RemoveTree(c.rundir)
	}
	os.RemoveAll(c.rundir)
	if background {
		// A container that wrote little (the common --rm) is gone in a
		// few unlinks, cheaper than starting a process to do them.
		small, own := smallTree(gone, smallTreeEntries)
		if abs, err := filepath.Abs(gone); err == nil && small && own && handOff != nil {
			*handOff = abs // (--root may be relative; the monitor wants a path of its own)
			return nil
		}
		if small && os.RemoveAll(gone) == nil {
			return nil
		}
		if spawnReaper(gone) == nil {
			return nil
		}
	}
	return nsexec.RemoveTree(gone)
}

// smallTreeEntries is the most entries a removal does in the foreground
// when asked for a background one.
const smallTreeEntries = 64

// smallTree reports whether dir holds at most max entries, stopping as
// soon as it sees more, and whether every directory in it belongs to this
// user (so that it may delete their entries without the user namespace).
// A directory it may not list (overlayfs leaves work/work mode 000) counts
// as one entry: if it is not empty, the removal fails and the caller falls
// back to the reaper.
func smallTree(dir string, max int) (small, own bool) {
	n := 0
	own = true
	euid := uint32(os.Geteuid())
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && errors.Is(err, fs.ErrPermission) {
				return nil // counted already, when it was entered
			}
			return err
		}
		if n++; n > max {
			return fs.SkipAll
		}
		if d.IsDir() && own {
			fi, err := d.Info()
			if st, ok := fi.Sys().(*syscall.Stat_t); err != nil || !ok || st.Uid != euid {
				own = false
			}
		}
		return nil
	})
	return err == nil && n <= max, own
}

// spawnReaper starts a detached process that deletes dir (a .rm- directory,
// already out of every listing). If it is killed, SweepRemoved finishes.
func spawnReaper(dir string) error {
	cmd := exec.Command(nsexec.Binary(), dir)
	cmd.Args[0] = "myctr-reap"
	main, err := os.Executable()
	if err != nil {
		main = "/proc/self/exe"
	}
	cmd.Env = append(os.Environ(), nsexec.EnvStage+"="+nsexec.StageReap, nsexec.EnvMain+"="+main)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

func (s *Store) removeDir(c *Container) {
	_ = nsexec.RemoveTree(c.dir)
	if unlock, err := s.Lock(); err == nil {
		s.unindex(c.ID, c.Name)
		unlock()
	}
}

// SweepAbandonedSteps removes the RUN steps' containers of builds that
// are gone: a build killed before its step ran leaves one that no
// monitor removes.
func (s *Store) SweepAbandonedSteps() {
	all, err := s.List()
	if err != nil {
		return
	}
	for _, c := range all {
		if c.BuildStep && abandoned(c) != "" {
			_ = s.remove(c, true, false, os.Getpid())
		}
	}
}

// SweepRemoved finishes removals that a crash interrupted.
func (s *Store) SweepRemoved() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".rm-") {
			_ = nsexec.RemoveTree(filepath.Join(s.dir, e.Name()))
		}
	}
}

// ParseSignal is nsexec.ParseSignal: Podman's spellings and words.
var ParseSignal = nsexec.ParseSignal

// startNetContainer starts, as Podman does, the container whose network
// namespace (or user namespace: JoinsUserOf) c joins when it is not running (its StartDetached starts the
// one that it joins, and so on: a dependency is always older than its
// dependent, so the chain ends).
func (s *Store) startNetContainer(c *Container) error {
	id := c.JoinsUserOf()
	if id == "" {
		return nil
	}
	dep, err := s.load(id)
	if err != nil {
		return nil // said by the start itself (netContainerPidfd)
	}
	dep.Refresh()
	if dep.Running() {
		return nil
	}
	if err := s.StartDetached(dep, Activation{}); err != nil {
		return fmt.Errorf("start %s, whose network namespace %s joins: %w", dep.Name, c.Name, err)
	}
	return nil
}

// netContainerPidfd is, for a container that joins another's network
// namespace (--network container:ID), a pidfd of that container's init,
// opened and then checked against its recorded start time (so that it
// cannot name a recycled pid); -1 for any other container. The other
// container must be running: its namespaces live as long as its init.
func (s *Store) netContainerPidfd(c *Container) (int, *Container, error) {
	return s.joinPidfd(c, c.NetContainer(), "--network container:")
}

// joinPidfd is netContainerPidfd for the container id whose namespaces c
// joins (what names it in errors), -1 for id "".
func (s *Store) joinPidfd(c *Container, id, what string) (int, *Container, error) {
	if id == "" {
		return -1, nil, nil
	}
	dep, err := s.load(id)
	if err != nil {
		return -1, nil, &hintError{fmt.Errorf("%s%s: %w", what, id, err),
			"the container whose namespaces this one joins is gone: remove this one (myctr rm)"}
	}
	dep.Refresh()
	if !dep.Running() {
		return -1, nil, &hintError{fmt.Errorf("%s: %s%s: %w", c.Name, what, dep.Name, ErrNotRunning),
			"start " + dep.Name + " first (myctr start " + dep.Name + "): this container joins its namespaces"}
	}
	fd, err := openPidfd(dep.State.Pid, dep.State.PidStart)
	if err != nil {
		return -1, nil, fmt.Errorf("%s: %s%s: %w", c.Name, what, dep.Name, err)
	}
	return fd, dep, nil
}
