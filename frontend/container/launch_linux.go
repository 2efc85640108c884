package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/security"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/systemd"
)

// Attach says where a container's stdio goes. A detached container has
// none: its output goes only to the log.
type Attach struct {
	Stdin   *os.File // nil: /dev/null
	Stdout  io.Writer
	Stderr  io.Writer
	Winsize *unix.Winsize
	// Activation is the sockets systemd passed for the container's
	// process (socket activation).
	Activation Activation
	// LogOnly: the output goes to the log alone, not to Stdout and
	// Stderr (which still get myctr's own warnings).
	LogOnly bool
	// NoStdout and NoStderr: that stream goes to the log alone (run
	// --attach naming only the others).
	NoStdout, NoStderr bool
	// Handoff: the output is left unread when myctr-monitor can take
	// the container over (handoff_linux.go); the monitor's starts.
	Handoff bool
	// Started, when set, is called once the container's process runs
	// and is recorded as running (RunAttached).
	Started func()
	// EndWithCaller: the container ends with the caller (a build's RUN
	// step): killed, and its record removed, should the caller die.
	EndWithCaller bool
	// NoSignals leaves this process's signals alone: a service's signals
	// are its own, not the container's (the API service's runs).
	NoSignals bool
	// Terminal, when set, is called with the container's pty once it
	// runs (a TTY container's); the pty is closed as RunAttached
	// returns: a caller that keeps it keeps a duplicate.
	Terminal func(pty *os.File)
	// Early is the run's init stage, started before its container
	// existed (StartEarly), for launch to take over or abandon.
	Early *EarlyInit
	// foreground: the init is to be started by myctr-monitor, when it
	// can take the run (attach_linux.go).
	foreground bool
}

// running is a container's init, started by this process.
type running struct {
	id    string
	net   netDriver
	proc  *os.Process
	start uint64     // the init's start time, read while it waits for its configuration
	mu    sync.Mutex // guards pidfd against a signal racing wait's close
	pidfd int
	pty   *os.File
	log   *logWriter
	pumps sync.WaitGroup
	// health starts the container's periodic healthcheck while this
	// process holds the run (nil: none, or myctr-monitor runs it).
	health func() (stop func())
	// out and err are the output pipes left unread for myctr-monitor
	// (Attach.Handoff), nil once pumped; handoff says it was so.
	out, err *os.File
	handoff  bool
	// fg is the monitor of a foreground run, nil when this process is
	// the init's parent (attach_linux.go).
	fg *fgMonitor
	// timeout is --timeout: the container is killed when it runs longer.
	timeout time.Duration

	// warnings for the user (its DNS, what Landlock does not enforce),
	// and where warnings at its end go (nil: nowhere).
	warnings []string
	warn     io.Writer

	// cg is the container's own cgroup, nil without one; oom watches its
	// memory.events, and oomKilled says whether the OOM killer killed one
	// of its processes.
	cg        *cgroup.Placement
	oom       *cgroup.OOMWatch
	oomKilled bool

	// notify forwards what a container with --sdnotify=container says to
	// the unit's manager.
	notify *systemd.NotifyProxy
}

// StartError is a failure to start the container's process, with the exit
// code myctr reports for it (125, 126 or 127).
type StartError struct {
	Err  error
	Exit int
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// cleanups is the undo stack of a start that may fail half-way: each step
// that acquires something pushes its release, and a failure runs them
// newest first. A start that succeeds drops them.
type cleanups []func()

func (u *cleanups) push(f func()) { *u = append(*u, f) }

func (u *cleanups) run() {
	for i := len(*u) - 1; i >= 0; i-- {
		(*u)[i]()
	}
	*u = nil
}

// launchPlan is what a start settles before its init exists.
type launchPlan struct {
	spec     *specs.Spec // as the init gets it
	filter   *security.SeccompFilter
	rules    *landlock.Ruleset
	warnings []string  // for the user once the container runs
	net      netDriver // the network mode's
	join     *os.File  // a pidfd whose namespaces the init joins, or nil
}

// launch starts the container's init, writes its id maps, sends it its
// configuration and returns once the container's process has been executed
// (or failed to be). The namespaces are made by the C constructor of the
// child (nsenter.c); the sequence is documented there and in
// docs/ARCHITECTURE.md.
//
// Preconditions: the caller holds c's launch lock (and not the store's
// lock, which markRunning takes; the order is always launch lock, then
// store lock).
func (s *Store) launch(c *Container, m *userns.Mapping, a *Attach) (_ *running, err error) {
	var undo cleanups
	defer func() {
		if err != nil {
			undo.run()
			if se := (*StartError)(nil); !errors.As(err, &se) {
				err = &StartError{err, nsexec.ExitSetup}
			}
		}
	}()
	p, err := s.planLaunch(c, m, a)
	if err != nil {
		return nil, err
	}
	// Whatever the driver holds from prepare on, a failed start ends.
	undo.push(func() { p.net.stop(true, nil) })
	if p.join != nil {
		defer p.join.Close() // the init has its own copy
	}
	r := &running{id: c.ID, net: p.net, pidfd: -1, warn: a.Stderr, timeout: time.Duration(c.HostConfig.Timeout) * time.Second,
		health: s.healthRunner(c)}
	if r.notify, err = startNotifyProxy(c, p.spec); err != nil {
		return nil, err
	}
	undo.push(func() { r.notify.Close() })
	if r.log, err = openLogOf(c); err != nil {
		return nil, err
	}
	undo.push(func() { r.log.Close() })
	e, parent, err := s.takeEarly(c, m, p, r, a)
	if err != nil {
		return nil, err
	}
	var ip *initProc
	if e != nil {
		// Started early (early_linux.go), by what would start now.
		ip = e.ip
		undo.push(func() { ip.stop(r.fg) })
	} else {
		if a.foreground && r.canHandOff(c) {
			if r.fg, err = newFgMonitor(a); err != nil {
				return nil, err
			}
			if r.fg != nil {
				undo.push(func() { r.fg.ctl.Close(); r.fg.peer.Close() })
			}
		}
		var child *os.File
		if parent, child, err = nsexec.NewPair(); err != nil {
			return nil, err
		}
		if ip, err = s.startInit(c, m, p, r, a, child, &undo); err != nil {
			parent.Close()
			return nil, err
		}
	}
	defer parent.Close()
	if err := s.syncInit(c, m, p, r, ip, parent, a, &undo); err != nil {
		return nil, err
	}
	r.warnings = append(r.net.started(), p.warnings...)
	if a.Handoff && r.canHandOff(c) {
		r.handoff, r.out, r.err = true, ip.outR, ip.errR
		return r, nil
	}
	if r.fg != nil {
		return r, nil // the monitor has the output
	}
	r.startPumps(a, ip.outR, ip.errR)
	return r, nil
}

// planLaunch reads c's spec and settles, before anything is started, what
// its start needs: its volumes, its seccomp filter and Landlock rules, its
// run directory, socket activation and its network mode's driver.
func (s *Store) planLaunch(c *Container, m *userns.Mapping, a *Attach) (*launchPlan, error) {
	if err := checkLower(c); err != nil {
		return nil, err
	}
	spec, err := c.takeSpec()
	if err != nil {
		return nil, err
	}
	if err := s.prepareVolumes(c, spec); err != nil {
		return nil, err
	}
	p := &launchPlan{spec: spec, net: s.newNetDriver(c, m)}
	if p.filter, err = s.seccompFilter(spec); err != nil {
		return nil, err
	}
	if p.filter != nil {
		// The init gets the program, not the rules.
		l := *spec.Linux
		l.Seccomp = nil
		spec.Linux = &l
	}
	var llWarning string
	if p.rules, llWarning, err = landlockRules(spec); err != nil {
		return nil, err
	}
	if llWarning != "" {
		p.warnings = append(p.warnings, llWarning)
	}
	if err := prepareRunDir(c, spec); err != nil {
		return nil, err
	}
	// A copy of the namespaces: the driver may complete them.
	spec.Linux.Namespaces = slices.Clone(spec.Linux.Namespaces)
	if p.join, err = p.net.prepare(spec); err != nil {
		return nil, err
	}
	if p.join == nil {
		if p.join, err = s.userJoin(c, spec); err != nil {
			return nil, err
		}
	}
	applyActivation(spec, a.Activation)
	return p, nil
}

// initProc is the init stage as started: its first process (which exits
// once it has sent the init's pid) and, without a terminal, our ends of
// the output pipes.
type initProc struct {
	cmd        *exec.Cmd
	reaped     bool
	outR, errR *os.File
	// mapped: the stage's constructor writes the id maps (newuidmap and
	// newgidmap), before it sends the pid.
	mapped bool
}

// startInit starts the init stage with child, the stage's end of the sync
// socket (closed here); in a foreground run with a monitor (r.fg), the
// monitor, which starts the stage.
func (s *Store) startInit(c *Container, m *userns.Mapping, p *launchPlan, r *running, a *Attach, child *os.File, undo *cleanups) (*initProc, error) {
	defer child.Close()
	env, err := stageEnv(p, m)
	if err != nil {
		return nil, err
	}
	stage, err := nsexec.StageBinary()
	if err != nil {
		return nil, err
	}
	defer stage.Close() // the init has its own reference (its executable)
	cmd, ip := stageCommand(stage, a.Activation, env, child, p.join)
	var theirs []*os.File // the init's ends, ours to close once it has them
	defer func() {
		for _, f := range theirs {
			f.Close()
		}
	}()
	if !p.spec.Process.Terminal {
		// Why this is safe: not the caller's stdin itself, which may be
		// the user's terminal, but a pipe we relay (relay_linux.go).
		if a.Stdin != nil {
			in, err := relayStdin(a.Stdin)
			if err != nil {
				return nil, err
			}
			cmd.Stdin = in
			theirs = append(theirs, in)
		}
		w, err := ip.outputPipes(cmd)
		theirs = append(theirs, w...)
		undo.push(ip.closeOutput)
		if err != nil {
			return nil, err
		}
	}
	if f := r.fg; f != nil {
		// The output pipes are the monitor's to read.
		if err := f.wrap(cmd, s, c, r, stage, ip.outR, ip.errR); err != nil {
			return nil, err
		}
		theirs = append(theirs, f.peer)
		if ip.outR != nil {
			theirs = append(theirs, ip.outR, ip.errR)
			ip.outR, ip.errR = nil, nil
		}
		f.cmd = cmd
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start container init: %w", err)
	}
	undo.push(func() { ip.stop(r.fg) })
	return ip, nil
}

// stageEnv is the environment of p's init stage that says what its C
// constructor makes: the namespaces (made, or joined through p.join) and,
// where the stage writes them, the container's id maps (--userns, from
// its spec; a joined user namespace has its maps).
func stageEnv(p *launchPlan, m *userns.Mapping) ([]string, error) {
	env, err := initNamespaces(p.spec, p.join)
	if err != nil {
		return nil, err
	}
	if p.join == nil {
		uid, gid, err := m.WithMaps(p.spec.Linux.UIDMappings, p.spec.Linux.GIDMappings).Mappers()
		if err != nil {
			return nil, fmt.Errorf("set up the user namespace: %w", err)
		}
		env = append(env, nsexec.MapperEnv(uid, gid)...)
	}
	return env, nil
}

// stageCommand is the init stage's command: stage's executable, env (its
// namespaces and maps), child its sync socket after the sockets of
// socket activation, and join (or nil) the pidfd whose namespaces it
// joins. It runs in a session of its own, away from the terminal of
// `myctr run` (with a pty the init makes a session of its own again).
func stageCommand(stage *os.File, act Activation, env []string, child, join *os.File) (*exec.Cmd, *initProc) {
	// Why this is safe: the init is a process of the container's PID
	// namespace until it executes the container's process, and that
	// process may run /proc/self/exe again (as a script's interpreter):
	// both are a sealed copy of our binary, never a file on disk a
	// container could write (nsexec/sealed_linux.go).
	cmd := exec.Command(nsexec.ExecPath(stage))
	cmd.Args = []string{"myctr-init"}
	// The init runs one locked thread of work and allocates little: one P
	// and no collector spare it the runtime's start-up threads. The
	// container's process gets the spec's environment, not this one.
	// The sockets of socket activation are the init's 3, 4, ... as they
	// are ours; the sync socket comes after them.
	cmd.Env = append([]string{nsexec.EnvStage + "=" + nsexec.StageInit, nsexec.EnvVersion + "=" + nsexec.Version,
		nsexec.EnvSyncFD + "=" + strconv.Itoa(3+act.N), "GOMAXPROCS=1", "GOGC=off", nsexec.EnvNoMemProfile}, env...)
	cmd.ExtraFiles = append(act.files(), child)
	if join != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, join)
		cmd.Env = append(cmd.Env, nsexec.EnvInitJoinFD+"="+strconv.Itoa(3+len(cmd.ExtraFiles)-1))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd, &initProc{cmd: cmd, mapped: slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, nsexec.EnvInitUIDMap+"=") })}
}

// outputPipes gives cmd a pipe for its stdout and one for its stderr,
// whose read ends become ip's; the write ends, returned, are the
// caller's to close once cmd has started.
func (ip *initProc) outputPipes(cmd *exec.Cmd) (theirs []*os.File, err error) {
	for _, dst := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			return theirs, fmt.Errorf("pipe: %w", err)
		}
		theirs = append(theirs, w)
		*dst = w
		if ip.outR == nil {
			ip.outR = r
		} else {
			ip.errR = r
		}
	}
	return theirs, nil
}

// closeOutput closes ip's ends of the output pipes that are still ours.
func (ip *initProc) closeOutput() {
	for _, f := range []*os.File{ip.outR, ip.errR} {
		if f != nil {
			f.Close()
		}
	}
}

// stop ends a start that failed: the init is killed, through fg (its
// monitor, told by the end of its socket) when there is one.
func (ip *initProc) stop(fg *fgMonitor) {
	if fg != nil {
		fg.ctl.Close()
	}
	if !ip.reaped {
		ip.cmd.Process.Kill()
		ip.cmd.Wait()
	}
}

// syncInit plays the parent's side of the init's sync protocol (see
// docs/ARCHITECTURE.md): the init's pid, on which the container's id maps,
// cgroup and network are set up and its configuration sent; then a pty
// master or nothing; then the end of the stream, its process executed.
func (s *Store) syncInit(c *Container, m *userns.Mapping, p *launchPlan, r *running, ip *initProc, conn *nsexec.Conn, a *Attach, undo *cleanups) error {
	pty, err := awaitExec(conn, func(msg *nsexec.Message) error {
		return s.initStarted(c, m, p, r, ip, conn, a, msg.Pid, undo)
	}, nsexec.MsgPid)
	if errors.Is(err, nsexec.ErrEnded) && r.proc == nil {
		return errors.New("container init exited during set-up")
	}
	if me, ok := nsexec.MapperError(err); ok {
		return fmt.Errorf("set up the user namespace: %w", me)
	}
	r.pty = pty
	return err
}

// initStarted sends the init its configuration as soon as it exists (pid),
// for it to decode meanwhile, then sets up what must be ready before
// anything runs in the container: the id maps, the cgroup, the network;
// then tells the init to proceed.
func (s *Store) initStarted(c *Container, m *userns.Mapping, p *launchPlan, r *running, ip *initProc, conn *nsexec.Conn, a *Attach, pid int, undo *cleanups) error {
	// The init is our child (CLONE_PARENT), or our monitor's, so its pid
	// cannot be reused before we, or the monitor, wait for it.
	proc, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("find init %d: %w", pid, err)
	}
	r.proc = proc
	if r.start, err = procStart(pid); err != nil {
		return fmt.Errorf("read start time of init %d: %w", pid, err)
	}
	undo.push(r.kill)
	cfg := &nsexec.InitConfig{Spec: p.spec, Winsize: a.Winsize, ListenFDs: a.Activation.N, Seccomp: p.filter, Landlock: p.rules, Overlay: nsexec.Overlay{
		Lower: c.Lower, Upper: c.File("upper"), Work: c.File("work"), RunDir: c.rundir}}
	if err := conn.Send(&nsexec.Message{Type: nsexec.MsgConfig, Init: cfg}); err != nil {
		return fmt.Errorf("send configuration to init: %w", err)
	}
	if r.fg == nil {
		// The stage's first process, gone once it sent the pid (the
		// monitor reaps its own).
		ip.cmd.Wait()
		ip.reaped = true
	}
	if r.pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	undo.push(func() { unix.Close(r.pidfd); r.pidfd = -1 })
	if r.fg != nil {
		if err := r.fg.initPid(pid, r.pidfd); err != nil {
			return err
		}
	}
	// The container's own maps (--userns), from its spec, where the
	// stage did not write them; a joined user namespace has its maps.
	if p.join == nil && !ip.mapped {
		if err := m.WithMaps(p.spec.Linux.UIDMappings, p.spec.Linux.GIDMappings).Apply(pid); err != nil {
			return fmt.Errorf("set up the user namespace: %w", err)
		}
	}
	// Before anything runs in the container. Its cgroup goes once the
	// init is dead (a cgroup with a process in it cannot be removed).
	undo.push(func() { r.kill(); r.oom.Stop(false); cgroup.RemoveSplit(r.cg) })
	if r.cg, err = s.joinCgroup(c, p.spec, pid, r.pidfd); err != nil {
		return err
	}
	if r.cg != nil {
		r.oom = cgroup.WatchOOM(r.cg.Dir())
	}
	// The network is up before the container's process starts.
	network, err := r.net.attach(p.spec, pid)
	if err != nil {
		return err
	}
	if err := conn.Send(&nsexec.Message{Type: nsexec.MsgProceed, Network: network}); err != nil {
		return fmt.Errorf("tell the init to proceed: %w", err)
	}
	return nil
}

// awaitExec reads a stage's side of the sync protocol until its process is
// executed (the end of the stream). With handle, a message of a kind of
// first comes before all else, and goes to handle; then a pty master, returned,
// or nothing; then the end. A failed step comes back as a *StartError with
// the step's exit code.
func awaitExec(conn *nsexec.Conn, handle func(*nsexec.Message) error, first ...nsexec.Kind) (pty *os.File, err error) {
	defer func() {
		if err != nil && pty != nil {
			pty.Close()
			pty = nil
		}
	}()
	want := []nsexec.Kind{nsexec.MsgPty, nsexec.MsgEnd}
	if handle != nil {
		want = first
	}
	for {
		msg, fds, err := conn.Expect(want...)
		if stepErr := (*nsexec.StepError)(nil); errors.As(err, &stepErr) {
			return pty, &StartError{stepErr, stepErr.Exit}
		}
		if err != nil {
			return pty, err
		}
		switch msg.Type {
		case nsexec.MsgEnd:
			return pty, nil
		case nsexec.MsgPty:
			pty = os.NewFile(uintptr(fds[0]), "pty-master")
			want = []nsexec.Kind{nsexec.MsgEnd}
		default:
			if err := handle(msg); err != nil {
				return pty, err
			}
			want = []nsexec.Kind{nsexec.MsgPty, nsexec.MsgEnd}
		}
	}
}

// startPumps copies the container's output (the pty, or the pipes outR
// and errR) to its log and, unless the output is the log's alone, to the
// caller's stdout and stderr.
func (r *running) startPumps(a *Attach, outR, errR *os.File) {
	teeOut, teeErr := a.Stdout, a.Stderr
	if a.LogOnly {
		teeOut, teeErr = nil, nil
	}
	if a.NoStdout {
		teeOut = nil
	}
	if a.NoStderr {
		teeErr = nil
	}
	lw := r.log
	if r.pty != nil {
		r.pumps.Add(1)
		go func() { defer r.pumps.Done(); lw.pump("stdout", r.pty, teeOut) }()
		return
	}
	r.pumps.Add(2)
	go func() { defer r.pumps.Done(); lw.pump("stdout", outR, teeOut); outR.Close() }()
	go func() { defer r.pumps.Done(); lw.pump("stderr", errR, teeErr); errR.Close() }()
}

// kill kills the container's init and waits for it: a start that failed
// after the init existed. The monitor of a foreground run reaps its own
// child: here it is only waited to be gone.
func (r *running) kill() {
	if r.proc == nil {
		return
	}
	r.proc.Kill()
	if r.fg == nil {
		r.proc.Wait()
	} else if r.pidfd >= 0 {
		waitGone(r.pidfd, 10*time.Second)
	}
}

// signal forwards sig to the container's init while it is ours to wait for.
func (r *running) signal(sig unix.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pidfd >= 0 {
		signalPidfd(r.pidfd, sig)
	}
}

// wait waits for the container's process and the end of its output, and
// returns its exit code (128+signal when killed, as shells report it).
func (r *running) wait() int {
	var timedOut atomic.Bool
	stop := func() bool { return false }
	if r.timeout > 0 {
		t := time.AfterFunc(r.timeout, func() {
			timedOut.Store(true)
			r.signal(unix.SIGKILL)
		})
		stop = t.Stop
	}
	if r.health != nil {
		defer r.health()()
	}
	code := 125
	st, err := r.proc.Wait()
	r.oom.Look()
	if err == nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = st.ExitCode()
		}
	}
	stop()
	if timedOut.Load() {
		// As Podman: a container killed at its --timeout exits -1.
		code = -1
	}
	// With the init gone the kernel kills the rest of the PID namespace,
	// which closes the last writers of the output; do not hang on a
	// writer that escaped it.
	done := make(chan struct{})
	go func() { r.pumps.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if r.pty != nil {
		r.pty.Close()
	}
	return r.end(code)
}

// end releases what the container's run held once its init is gone and
// its output drained: its network, pidfd, log, cgroup. It returns code.
// The monitor-exit stage calls it on a running rebuilt from the record.
func (r *running) end(code int) int {
	r.net.stop(false, r.warn)
	r.mu.Lock()
	unix.Close(r.pidfd)
	r.pidfd = -1
	r.mu.Unlock()
	r.log.Close()
	r.notify.Close()
	r.oomKilled = r.oom.Stop(code == 128+int(unix.SIGKILL)) || r.oomKilled
	if err := cgroup.RemoveSplit(r.cg); err != nil && r.warn != nil {
		fmt.Fprintf(r.warn, "Warning: %v\n", err)
	}
	if r.cg != nil && r.cg.Manager == cgroup.SourceHelper {
		// Gone with its processes under systemd, but not yet forgotten;
		// on cgroupfs, not gone at all.
		releaseCgroup(r.id, r.warn)
	}
	return code
}

func (s *Store) markRunning(c *Container, r *running) error {
	pid, start := r.proc.Pid, r.start
	monitor := r.monitorPid()
	mstart, _ := procStart(monitor)
	err := s.Update(c, func(c *Container) {
		c.State = State{Status: StatusRunning, Pid: pid, PidStart: start, MonitorPid: monitor,
			MonitorStart: mstart, StartedAt: time.Now().UTC()}
		if c.Healthcheck != nil {
			c.State.Health = &HealthState{Status: HealthStarting}
		}
		r.net.record(&c.State)
		c.State.Cgroup = r.cg
	})
	if err == nil {
		s.event(c, "start", nil)
		writePidfile(c, pid, r.warn)
	}
	return err
}

// writePidfile writes the container's pid to its --pidfile at each
// start, as Podman's conmon does; a failure is a warning, the container
// runs already.
func writePidfile(c *Container, pid int, warn io.Writer) {
	if c.HostConfig.PidFile == "" {
		return
	}
	if err := os.WriteFile(c.HostConfig.PidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil && warn != nil {
		fmt.Fprintf(warn, "Warning: write --pidfile: %v\n", err)
	}
}

// monitorPid is the pid of r's monitor: this process, or the
// myctr-monitor of a foreground run.
func (r *running) monitorPid() int {
	if r.fg != nil {
		return r.fg.cmd.Process.Pid
	}
	return os.Getpid()
}

// forgetBridge drops a bridged container's network from its record once
// the helper released it at the container's end.
func (s *Store) forgetBridge(c *Container, r *running) {
	if c.State.Bridge != nil && r.net.released() {
		_ = s.Update(c, func(c *Container) { c.State.Bridge = nil })
	}
}

func (s *Store) markExited(c *Container, code int, errMsg string) error {
	return s.Update(c, func(c *Container) {
		if c.State.Status == StatusExited {
			return // recorded already (stop guesses only for a vanished monitor)
		}
		c.State.Status = StatusExited
		c.State.Paused = false // the frozen cgroup is gone with it
		c.State.ExitCode = code
		c.State.Pid, c.State.PidStart = 0, 0
		c.State.MonitorPid, c.State.MonitorStart = 0, 0
		c.State.StopperPid, c.State.StopperStart = 0, 0
		c.State.NetworkPid, c.State.PortForwarderPid, c.State.Ports = 0, 0, nil
		c.State.Cgroup = nil // systemd removes it with the scope
		// State.Bridge stays until the helper has released the network
		// (forgetBridge): `rm` releases what is left.
		c.State.FinishedAt = time.Now().UTC()
		c.State.Error = errMsg
	})
}
