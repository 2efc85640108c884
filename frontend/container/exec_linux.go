package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/nsexec"
)

// ExecOptions are `myctr exec` flags.
type ExecOptions struct {
	Args        []string
	Env         []string
	Workdir     string
	User        string
	Tty         bool
	Interactive bool
	Stdin       *os.File
	Stdout      *os.File
	Stderr      *os.File
	// NoSignals leaves this process's signals alone: a service's signals
	// are its own (SIGTERM stops it), not the exec'd process's, which
	// `myctr exec` forwards them to.
	NoSignals bool
	// Started, when set, is called with the host pid of the process
	// once it runs, and with the container's pty (nil without Tty),
	// which stays open until Exec returns: a service resizes it.
	Started func(pid int, pty *os.File)
}

// Exec runs a process inside the running container c and returns its
// exit code. The C constructor (nsenter.c) of a child of ours joins the
// container's namespaces through a pidfd of its init; the Go stage there
// sets the process up as the init did.
func (s *Store) Exec(c *Container, o *ExecOptions) (int, error) {
	if err := RefusePaused(c, "exec"); err != nil {
		return nsexec.ExitSetup, err
	}
	if !c.Running() {
		return nsexec.ExitSetup, fmt.Errorf("%w: %s (start it first)", ErrNotRunning, c.Name)
	}
	spec, err := c.Spec()
	if err != nil {
		return nsexec.ExitSetup, err
	}
	cfg, err := s.execConfig(c, spec, o)
	if err != nil {
		return nsexec.ExitSetup, err
	}
	pidfd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		return nsexec.ExitSetup, fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	pidf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidf.Close()
	parent, child, err := nsexec.NewPair()
	if err != nil {
		return nsexec.ExitSetup, err
	}
	defer parent.Close()
	var tty *os.File
	if o.Tty {
		tty = userTerminal(o.Stdin)
	}
	// Raw before the process can write or the user type (as RunAttached).
	ws, restore, _ := rawTerminal(tty)
	defer restore()
	cfg.Winsize = ws
	relay := &signalRelay{sigs: make(chan os.Signal, 1)}
	if !o.NoSignals {
		relay = catchSignals(tty)
	}
	defer relay.stop()
	cmd, out, err := startExecStage(c, spec, o, pidf, child)
	if err != nil {
		return nsexec.ExitSetup, err
	}
	// The output ends with the process, or shortly after it when a
	// background child in the container keeps the pipes open.
	if out != nil {
		defer out.wait()
	}
	relay.forward(func(sig syscall.Signal) { cmd.Process.Signal(sig) })
	kill := func() { cmd.Process.Kill(); cmd.Wait() }
	if cg := c.State.Cgroup; cg != nil {
		// The exec'd process runs in the container's cgroup, under its
		// limits, as Podman's does.
		if err := joinCgroupOf(c.ID, cg, cmd.Process.Pid); err != nil {
			kill()
			return nsexec.ExitSetup, cgroupError(err)
		}
		if err := parent.Send(&nsexec.Message{Type: nsexec.MsgJoined}); err != nil {
			kill()
			return nsexec.ExitSetup, fmt.Errorf("send to the exec stage: %w", err)
		}
	}
	if err := parent.Send(&nsexec.Message{Type: nsexec.MsgConfig, Exec: cfg}); err != nil {
		kill()
		return nsexec.ExitSetup, fmt.Errorf("send exec configuration: %w", err)
	}
	master, err := awaitExec(parent, nil)
	if se := (*StartError)(nil); errors.As(err, &se) {
		cmd.Wait() // the stage exits with its failed step
		return se.Exit, err
	}
	if err != nil {
		kill()
		return nsexec.ExitSetup, err
	}
	if o.Started != nil {
		o.Started(cmd.Process.Pid, master)
	}
	done := make(chan struct{})
	if master != nil {
		defer master.Close()
		var in io.Reader
		if o.Stdin != nil {
			in = o.Stdin
		}
		relay.setPty(master, in)
		go func() { io.Copy(o.Stdout, master); close(done) }()
	} else {
		close(done)
	}
	err = cmd.Wait()
	<-done
	return execExit(err)
}

// execConfig is what the exec stage sets up: the container's process as
// its spec has it, with the exec's arguments, environment, directory and
// user, and the container's own seccomp filter (as Docker's exec applies
// it) and Landlock ruleset (the start has warned of what the kernel does
// not enforce).
func (s *Store) execConfig(c *Container, spec *specs.Spec, o *ExecOptions) (*nsexec.ExecConfig, error) {
	filter, err := s.seccompFilter(spec)
	if err != nil {
		return nil, err
	}
	rules, _, err := landlockRules(spec)
	if err != nil {
		return nil, err
	}
	p := *spec.Process
	p.Args = o.Args
	p.Terminal = o.Tty
	p.Env = append([]string{}, spec.Process.Env...)
	if o.Tty {
		p.Env = SetEnv(p.Env, "TERM=xterm")
	}
	for _, e := range o.Env {
		p.Env = SetEnv(p.Env, e)
	}
	if o.Workdir != "" {
		p.Cwd = o.Workdir
	}
	if o.User != "" {
		layers := append([]string{c.File("upper")}, c.Lower...)
		u, _, err := resolveUser(o.User, layers)
		if err != nil {
			return nil, err
		}
		// The container's --group-add groups too, as Podman's exec -u.
		if _, _, err := addGroups(&u, c.HostConfig.GroupAdd, layers); err != nil {
			return nil, err
		}
		p.User = u
		if u.UID != 0 {
			p.Capabilities = &specs.LinuxCapabilities{Bounding: spec.Process.Capabilities.Bounding}
		}
	}
	return &nsexec.ExecConfig{Process: &p, Seccomp: filter, Landlock: rules, KeepGroups: spec.Annotations[nsexec.AnnotationKeepGroups] == "1"}, nil
}

// startExecStage starts the exec stage, which joins the namespaces the
// spec gives the container through pidf, a pidfd of its init; child is the
// stage's end of the sync socket (closed here). Without -t, the stage's
// output goes through the returned relay.
func startExecStage(c *Container, spec *specs.Spec, o *ExecOptions, pidf, child *os.File) (*exec.Cmd, *outputRelay, error) {
	defer child.Close()
	// Why this is safe: the stage runs in the container's PID namespace
	// from a sealed copy of our binary, never a file on disk a container
	// could write (nsexec/sealed_linux.go), and the C constructor makes it
	// non-dumpable as soon as it has joined.
	stage, err := nsexec.StageBinary()
	if err != nil {
		return nil, nil, err
	}
	defer stage.Close() // the stage has its own reference (its executable)
	cmd := exec.Command(nsexec.ExecPath(stage))
	cmd.Args = []string{"myctr-exec"}
	cmd.Env = []string{nsexec.EnvStage + "=" + nsexec.StageExec, nsexec.EnvVersion + "=" + nsexec.Version, nsexec.EnvJoinFD + "=3",
		nsexec.EnvJoinNS + "=" + strings.Join(nsexec.JoinNames(spec), ","), nsexec.EnvSyncFD + "=4", nsexec.EnvNoMemProfile}
	if c.State.Cgroup != nil {
		cmd.Env = append(cmd.Env, nsexec.EnvJoinWait+"=1")
	}
	cmd.ExtraFiles = []*os.File{pidf, child}
	// Why this is safe: the stage and the process it becomes get none of
	// our descriptors but the sync socket and the pidfd (closed before the
	// process runs): pipes that we relay without -t (see relay_linux.go),
	// /dev/null and the container's own pty with it; and a session of
	// their own, so the caller's terminal is never their controlling
	// terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out *outputRelay
	var theirs []*os.File // ours to close once the stage has them
	defer func() {
		for _, f := range theirs {
			f.Close()
		}
	}()
	if !o.Tty {
		if o.Interactive && o.Stdin != nil {
			in, err := relayStdin(o.Stdin)
			if err != nil {
				return nil, nil, err
			}
			cmd.Stdin = in
			theirs = append(theirs, in)
		}
		var outW, errW *os.File
		if out, outW, errW, err = relayOutput(o.Stdout, o.Stderr); err != nil {
			return nil, nil, err
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		theirs = append(theirs, outW, errW)
	}
	if err := cmd.Start(); err != nil {
		if out != nil {
			for _, f := range theirs {
				f.Close()
			}
			theirs = nil
			out.wait()
		}
		return nil, nil, fmt.Errorf("start exec stage: %w", err)
	}
	return cmd, out, nil
}

// execExit is the exit code of an exec'd process from its stage's wait:
// 128+signal when a signal killed it, as shells report it.
func execExit(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return nsexec.ExitSetup, err
}
