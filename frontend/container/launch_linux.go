package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/protocol"
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
}

// running is a container's init, started by this process.
type running struct {
	id    string
	net   *network.Handle // nil without a rootless network
	proc  *os.Process
	mu    sync.Mutex // guards pidfd against a signal racing wait's close
	pidfd int
	pty   *os.File
	log   *logWriter
	pumps sync.WaitGroup
	// timeout is --timeout: the container is killed when it runs longer.
	timeout time.Duration

	// A bridged container: the helper's attachment, the connection that
	// made it (open until the launch ends), warnings for the user (its DNS)
	// and where warnings at its end go (nil: nowhere).
	bridge   *network.Bridge
	helper   *helperclient.Client
	warnings []string
	warn     io.Writer
	released bool // the helper released it at the container's end

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

// launch starts the container's init, writes its id maps, sends it its
// configuration and returns once the container's process has been executed
// (or failed to be). The namespaces are made by the C constructor of the
// child (nsenter.c); the sequence is documented there and in
// docs/ARCHITECTURE.md.
func (s *Store) launch(c *Container, m *userns.Mapping, a *Attach) (*running, error) {
	spec, err := c.Spec()
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	if err := s.prepareVolumes(c, spec); err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	filter, err := s.seccompFilter(spec)
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	if filter != nil {
		// The init gets the program, not the rules.
		l := *spec.Linux
		l.Seccomp = nil
		spec.Linux = &l
	}
	rules, llWarning, err := landlockRules(spec)
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	if err := prepareRunDir(c, spec); err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	// --network container:NAME: NAME's namespaces, through a pidfd of its
	// init, and its /etc/hosts and /etc/resolv.conf (as Podman, which binds
	// the same files); the hostname stays the container's own (its own
	// UTS namespace).
	joinFD, netDep, err := s.netContainerPidfd(c)
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	var joinFile *os.File
	if joinFD >= 0 {
		joinFile = os.NewFile(uintptr(joinFD), "pidfd")
		defer joinFile.Close()
		if err := shareEtcFiles(c, netDep); err != nil {
			return nil, &StartError{err, nsexec.ExitSetup}
		}
	}
	applyActivation(spec, a.Activation)
	notify, err := startNotifyProxy(c, spec)
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	started := false
	defer func() {
		if !started {
			notify.Close()
		}
	}()
	lw, err := openLogOf(c)
	if err != nil {
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	parent, child, err := nsexec.NewPair()
	if err != nil {
		lw.Close()
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	defer parent.Close()
	r := &running{id: c.ID, log: lw, pidfd: -1, warn: a.Stderr, notify: notify, timeout: time.Duration(c.HostConfig.Timeout) * time.Second}
	netns := "0"
	if c.HostConfig.NetworkMode != "host" {
		netns = "1"
	}
	if joinFile != nil {
		netns = "0" // joined, not made
	}
	// Why this is safe: the init is a process of the container's PID
	// namespace until it executes the container's process, and that
	// process may run /proc/self/exe again (as a script's interpreter):
	// both are a sealed copy of our binary, never a file on disk a
	// container could write (nsexec/sealed_linux.go).
	stage, err := nsexec.StageBinary()
	if err != nil {
		lw.Close()
		return nil, &StartError{err, nsexec.ExitSetup}
	}
	defer stage.Close()
	cmd := exec.Command(nsexec.ExecPath(stage))
	cmd.Args = []string{"myctr-init"}
	// The init runs one locked thread of work and allocates little: one P
	// and no collector spare it the runtime's start-up threads. The
	// container's process gets the spec's environment, not this one.
	// The sockets of socket activation are the init's 3, 4, ... as they
	// are ours; the sync socket comes after them.
	cmd.Env = []string{nsexec.EnvStage + "=" + nsexec.StageInit, nsexec.EnvVersion + "=" + nsexec.Version,
		nsexec.EnvSyncFD + "=" + strconv.Itoa(3+a.Activation.N),
		nsexec.EnvInitNetNS + "=" + netns, "GOMAXPROCS=1", "GOGC=off"}
	cmd.ExtraFiles = append(a.Activation.files(), child)
	if joinFile != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, joinFile)
		cmd.Env = append(cmd.Env, nsexec.EnvInitJoinFD+"="+strconv.Itoa(3+len(cmd.ExtraFiles)-1))
	}
	// Its own session, away from the terminal of `myctr run`; with a pty the
	// init makes a session of its own again.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var outR, errR, outW, errW, inR *os.File
	if !spec.Process.Terminal {
		// Why this is safe: not the caller's stdin itself, which may be
		// the user's terminal, but a pipe we relay (relay_linux.go).
		if a.Stdin != nil {
			if inR, err = relayStdin(a.Stdin); err != nil {
				lw.Close()
				return nil, &StartError{err, nsexec.ExitSetup}
			}
			cmd.Stdin = inR
		}
		if outR, outW, err = os.Pipe(); err == nil {
			errR, errW, err = os.Pipe()
		}
		if err != nil {
			if inR != nil {
				inR.Close()
			}
			lw.Close()
			return nil, &StartError{fmt.Errorf("pipe: %w", err), nsexec.ExitSetup}
		}
		cmd.Stdout, cmd.Stderr = outW, errW
	}
	err = cmd.Start()
	child.Close()
	stage.Close() // the init has its own reference now (its executable)
	if inR != nil {
		inR.Close()
	}
	if outW != nil {
		outW.Close()
		errW.Close()
	}
	if err != nil {
		lw.Close()
		return nil, &StartError{fmt.Errorf("start container init: %w", err), nsexec.ExitSetup}
	}
	reaped := false
	fail := func(err error, code int) (*running, error) {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if r.proc != nil {
			r.proc.Kill()
			r.proc.Wait()
		}
		r.oom.Stop()
		cgroup.RemoveSplit(r.cg)
		if r.net != nil {
			r.net.Stop()
		}
		if r.bridge != nil {
			// Best effort: the helper also reaps a dead namespace's network.
			_ = network.ReleaseBridge(context.Background(), r.helper, c.ID)
		}
		if r.helper != nil {
			r.helper.Close()
		}
		if outR != nil {
			outR.Close()
			errR.Close()
		}
		lw.Close()
		return nil, &StartError{err, code}
	}
	// The init's side of the sync protocol: its pid, then (once we sent
	// its configuration) a pty master or nothing, then the end of the
	// stream, its process executed; or an error at any point.
	for want := []nsexec.Kind{nsexec.MsgPid}; ; {
		msg, fds, err := parent.Expect(want...)
		var stepErr *nsexec.StepError
		switch {
		case errors.As(err, &stepErr):
			return fail(stepErr, stepErr.Exit)
		case errors.Is(err, nsexec.ErrEnded) && r.proc == nil:
			return fail(errors.New("container init exited during set-up"), nsexec.ExitSetup)
		case err != nil:
			return fail(err, nsexec.ExitSetup)
		}
		if msg.Type == nsexec.MsgEnd {
			break // the container's process was executed
		}
		switch msg.Type {
		case nsexec.MsgPid:
			// The init is our child (CLONE_PARENT), so its pid cannot be
			// reused before we wait for it.
			proc, err := os.FindProcess(msg.Pid)
			if err != nil {
				return fail(fmt.Errorf("find init %d: %w", msg.Pid, err), nsexec.ExitSetup)
			}
			r.proc = proc
			cmd.Wait()
			reaped = true
			if r.pidfd, err = unix.PidfdOpen(msg.Pid, 0); err != nil {
				return fail(fmt.Errorf("pidfd_open: %w", err), nsexec.ExitSetup)
			}
			// The container's own maps (--userns), from its spec; a
			// joined user namespace has its maps already.
			if joinFile == nil {
				if err := m.WithMaps(spec.Linux.UIDMappings, spec.Linux.GIDMappings).Apply(msg.Pid); err != nil {
					return fail(fmt.Errorf("set up the user namespace: %w", err), nsexec.ExitSetup)
				}
			}
			// Before anything runs in the container.
			if r.cg, err = s.joinCgroup(c, spec, msg.Pid, r.pidfd); err != nil {
				return fail(err, nsexec.ExitSetup)
			}
			if r.cg != nil {
				r.oom = cgroup.WatchOOM(r.cg.Dir())
			}
			cfg := &nsexec.InitConfig{Spec: spec, Winsize: a.Winsize, ListenFDs: a.Activation.N, Seccomp: filter, Landlock: rules, Overlay: nsexec.Overlay{
				Lower: c.Lower, Upper: c.File("upper"), Work: c.File("work"), RunDir: c.rundir}}
			// The network is up before the container's process starts.
			if nc, ok := c.networkConfig(); ok {
				if r.net, err = network.Start(nc, msg.Pid, c.rundir); err != nil {
					return fail(err, nsexec.ExitSetup)
				}
			} else if c.HostConfig.NetworkMode == network.ModeBridge {
				if err := r.attachBridge(c, spec, msg.Pid); err != nil {
					return fail(err, nsexec.ExitSetup)
				}
				cfg.Network = r.bridge.InterfaceConfig()
			}
			if err := parent.Send(&nsexec.Message{Type: nsexec.MsgConfig, Init: cfg}); err != nil {
				return fail(fmt.Errorf("send configuration to init: %w", err), nsexec.ExitSetup)
			}
			want = []nsexec.Kind{nsexec.MsgPty, nsexec.MsgEnd}
		case nsexec.MsgPty:
			r.pty = os.NewFile(uintptr(fds[0]), "pty-master")
			want = []nsexec.Kind{nsexec.MsgEnd}
		}
	}
	if llWarning != "" {
		r.warnings = append(r.warnings, llWarning)
	}
	if r.helper != nil {
		r.helper.Close() // and with it the polkit agent, if one was started
		r.helper = nil
	}
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
	if r.pty != nil {
		r.pumps.Add(1)
		go func() { defer r.pumps.Done(); lw.pump("stdout", r.pty, teeOut) }()
	} else {
		r.pumps.Add(2)
		go func() { defer r.pumps.Done(); lw.pump("stdout", outR, teeOut); outR.Close() }()
		go func() { defer r.pumps.Done(); lw.pump("stderr", errR, teeErr); errR.Close() }()
	}
	started = true
	return r, nil
}

// attachBridge connects the init's network namespace to the helper's
// bridge and publishes the container's ports, then writes /etc/hosts and
// /etc/resolv.conf with the address it got.
func (r *running) attachBridge(c *Container, spec *specs.Spec, pid int) error {
	var err error
	if r.helper, err = helperclient.Connect(helperclient.Options{Interactive: true}); err != nil {
		return err
	}
	if r.bridge, err = network.AttachBridge(context.Background(), r.helper, c.ID, pid, c.HostConfig.PortBindings); err != nil {
		return err
	}
	r.warnings, err = writeEtcFiles(c, spec, r.bridge)
	return err
}

// releaseBridge asks the helper to release a bridged container's network
// once its init is gone, and reports whether it did. It does not ask for a
// password (the helper reaps the network of a dead namespace by itself,
// and a person may have left long ago): a refusal by polkit is expected
// then and said nowhere, and `rm` tries again; any other failure is a
// warning.
func (r *running) releaseBridge(id string) bool {
	h, err := helperclient.Connect(helperclient.Options{})
	if err == nil {
		err = network.ReleaseBridge(context.Background(), h, id)
		h.Close()
	}
	if err != nil && r.warn != nil && !errors.Is(err, protocol.ErrNotAuthorized) {
		fmt.Fprintf(r.warn, "Warning: %v\n", err)
	}
	return err == nil
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
	code := 125
	if st, err := r.proc.Wait(); err == nil {
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
	if r.net != nil {
		r.net.Stop()
	}
	if r.bridge != nil {
		r.released = r.releaseBridge(r.id)
	}
	r.mu.Lock()
	unix.Close(r.pidfd)
	r.pidfd = -1
	r.mu.Unlock()
	r.log.Close()
	r.notify.Close()
	r.oomKilled = r.oom.Stop()
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
	pid := r.proc.Pid
	start, err := procStart(pid)
	if err != nil {
		return fmt.Errorf("read start time of init %d: %w", pid, err)
	}
	mstart, _ := procStart(os.Getpid())
	return s.Update(c, func(c *Container) {
		c.State = State{Status: StatusRunning, Pid: pid, PidStart: start, MonitorPid: os.Getpid(),
			MonitorStart: mstart, StartedAt: time.Now().UTC()}
		if r.net != nil {
			c.State.NetworkPid = r.net.Pid()
			c.State.PortForwarderPid = r.net.ForwarderPid()
			c.State.Ports = r.net.Ports()
		}
		c.State.Cgroup = r.cg
		if b := r.bridge; b != nil {
			c.State.Ports = b.Ports
			c.State.Bridge = &BridgeState{Bridge: b.Bridge, Address: b.Address.String(), Gateway: b.Gateway.String(), MTU: b.MTU}
		}
	})
}

// forgetBridge drops a bridged container's network from its record once
// the helper released it at the container's end.
func (s *Store) forgetBridge(c *Container, r *running) {
	if r.bridge != nil && r.released {
		_ = s.Update(c, func(c *Container) { c.State.Bridge = nil })
	}
}

func (s *Store) markExited(c *Container, code int, errMsg string) error {
	return s.Update(c, func(c *Container) {
		if c.State.Status == StatusExited {
			return // recorded already (stop guesses only for a vanished monitor)
		}
		c.State.Status = StatusExited
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
