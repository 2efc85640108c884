package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

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
}

// Exec runs a process inside the running container c and returns its
// exit code. The C constructor (nsenter.c) of a child of ours joins the
// container's namespaces through a pidfd of its init; the Go stage there
// sets the process up as the init did.
func (s *Store) Exec(c *Container, o *ExecOptions) (int, error) {
	if !c.Running() {
		return nsexec.ExitSetup, fmt.Errorf("%w: %s (start it first)", ErrNotRunning, c.Name)
	}
	spec, err := c.Spec()
	if err != nil {
		return nsexec.ExitSetup, err
	}
	// The container's own filter, as Docker's exec applies it.
	filter, err := s.seccompFilter(spec)
	if err != nil {
		return nsexec.ExitSetup, err
	}
	// And its Landlock ruleset (the start has warned of what the kernel
	// does not enforce).
	rules, _, err := landlockRules(spec)
	if err != nil {
		return nsexec.ExitSetup, err
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
		u, _, err := resolveUser(o.User, append([]string{c.File("upper")}, c.Lower...))
		if err != nil {
			return nsexec.ExitSetup, err
		}
		p.User = u
		if u.UID != 0 {
			p.Capabilities = &specs.LinuxCapabilities{Bounding: spec.Process.Capabilities.Bounding}
		}
	}
	// Why this is safe: the stage runs in the container's PID namespace
	// from a sealed copy of our binary, never a file on disk a container
	// could write (nsexec/sealed_linux.go), and the C constructor makes it
	// non-dumpable as soon as it has joined.
	stage, err := nsexec.StageBinary()
	if err != nil {
		return nsexec.ExitSetup, err
	}
	defer stage.Close()
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
	ns := []string{"user", "mnt", "pid", "ipc", "uts", "cgroup"}
	if c.HostConfig.NetworkMode != "host" {
		ns = append(ns, "net")
	}
	cmd := exec.Command(nsexec.ExecPath(stage))
	cmd.Args = []string{"myctr-exec"}
	cmd.Env = []string{nsexec.EnvStage + "=" + nsexec.StageExec, nsexec.EnvVersion + "=" + nsexec.Version, nsexec.EnvJoinFD + "=3",
		nsexec.EnvJoinNS + "=" + strings.Join(ns, ","), nsexec.EnvSyncFD + "=4"}
	cg := c.State.Cgroup
	if cg != nil {
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
	var ws *unix.Winsize
	var relay *outputRelay
	var pipeEnds []*os.File // ours to close once the stage has them
	if !o.Tty {
		if o.Interactive && o.Stdin != nil {
			in, err := relayStdin(o.Stdin)
			if err != nil {
				child.Close()
				return nsexec.ExitSetup, err
			}
			cmd.Stdin = in
			pipeEnds = append(pipeEnds, in)
		}
		var outW, errW *os.File
		if relay, outW, errW, err = relayOutput(o.Stdout, o.Stderr); err != nil {
			child.Close()
			return nsexec.ExitSetup, err
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		pipeEnds = append(pipeEnds, outW, errW)
	} else if o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if w, h, err := term.GetSize(int(o.Stdin.Fd())); err == nil {
			ws = &unix.Winsize{Col: uint16(w), Row: uint16(h)}
		}
	}
	err = cmd.Start()
	child.Close()
	stage.Close() // the stage has its own reference now (its executable)
	for _, f := range pipeEnds {
		f.Close()
	}
	if err != nil {
		if relay != nil {
			relay.wait()
		}
		return nsexec.ExitSetup, fmt.Errorf("start exec stage: %w", err)
	}
	if cg != nil {
		// The exec'd process runs in the container's cgroup, under its
		// limits, as Podman's does.
		if err := joinCgroupOf(c.ID, cg, cmd.Process.Pid); err == nil {
			err = parent.Send(&nsexec.Message{Type: nsexec.MsgJoined})
		} else {
			cmd.Process.Kill()
			cmd.Wait()
			if relay != nil {
				relay.wait()
			}
			return nsexec.ExitSetup, cgroupError(err)
		}
	}
	// The output ends with the process, or shortly after it when a
	// background child in the container keeps the pipes open.
	if relay != nil {
		defer relay.wait()
	}
	var master *os.File
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	if o.Tty && o.Stdin != nil {
		signal.Notify(sigs, unix.SIGWINCH)
	}
	defer signal.Stop(sigs)
	masterc := make(chan *os.File, 1)
	go func() {
		var pty *os.File
		for sig := range sigs {
			if sig != unix.SIGWINCH {
				cmd.Process.Signal(sig)
				continue
			}
			select {
			case pty = <-masterc:
			default:
			}
			if pty == nil {
				continue
			}
			if ws, err := unix.IoctlGetWinsize(int(o.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
				unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
	}()
	if o.Tty && o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		// Raw before the process can write or the user type (RunAttached).
		fd := int(o.Stdin.Fd())
		if st, err := term.MakeRaw(fd); err == nil {
			defer term.Restore(fd, st)
		}
	}
	if err := parent.Send(&nsexec.Message{Type: nsexec.MsgConfig, Exec: &nsexec.ExecConfig{Process: &p, Winsize: ws, Seccomp: filter, Landlock: rules}}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nsexec.ExitSetup, fmt.Errorf("send exec configuration: %w", err)
	}
	// The exec stage's side of the sync protocol: a pty master or
	// nothing, then the end of the stream, its process executed; or an
	// error.
	for want := []nsexec.Kind{nsexec.MsgPty, nsexec.MsgEnd}; ; {
		msg, fds, err := parent.Expect(want...)
		var stepErr *nsexec.StepError
		if errors.As(err, &stepErr) {
			cmd.Wait()
			return stepErr.Exit, &StartError{stepErr, stepErr.Exit}
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nsexec.ExitSetup, err
		}
		if msg.Type == nsexec.MsgEnd {
			break
		}
		master = os.NewFile(uintptr(fds[0]), "pty-master")
		want = []nsexec.Kind{nsexec.MsgEnd}
	}
	done := make(chan struct{})
	if master != nil {
		masterc <- master
		defer master.Close()
		if o.Stdin != nil {
			go io.Copy(master, o.Stdin)
		}
		go func() { io.Copy(o.Stdout, master); close(done) }()
	} else {
		close(done)
	}
	err = cmd.Wait()
	<-done
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				return 128 + int(st.Signal()), nil
			}
			return ee.ExitCode(), nil
		}
		return nsexec.ExitSetup, err
	}
	return 0, nil
}
