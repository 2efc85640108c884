package ociruntime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/nsexec"
)

// ExecOptions are `exec`'s: the process (from --process, or the
// container's own with the flags' changes), and where its pid and
// terminal go.
type ExecOptions struct {
	Process       *specs.Process
	Detach        bool
	PidFile       string
	ConsoleSocket string
	// PreserveFDs passes this process's descriptors 3 to 3+PreserveFDs-1
	// on to the container's process, at the same numbers.
	PreserveFDs int
}

// ExecProcess is the process `exec ID ARGS...` runs: the container's own
// (user, capabilities, rlimits, no_new_privs) with args, a terminal or
// not, extra environment, a working directory and a user ("UID[:GID]")
// given by the flags.
func (rt *Runtime) ExecProcess(id string, args []string, tty bool, env []string, cwd, user string) (*specs.Process, error) {
	r, err := rt.Load(id)
	if err != nil {
		return nil, err
	}
	if r.Spec == nil || r.Spec.Process == nil {
		return nil, errors.New("the container's record has no process")
	}
	p := *r.Spec.Process
	p.Args, p.Terminal = args, tty
	p.Env = append(append([]string{}, p.Env...), env...)
	if cwd != "" {
		p.Cwd = cwd
	}
	if user != "" {
		u, g, hasGID := strings.Cut(user, ":")
		uid, err := strconv.ParseUint(u, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: a numeric UID[:GID]", user)
		}
		p.User = specs.User{UID: uint32(uid), GID: p.User.GID}
		if hasGID {
			gid, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: a numeric UID[:GID]", user)
			}
			p.User.GID = uint32(gid)
		}
	}
	return &p, nil
}

// Exec runs a process in the running container id: the exec stage joins
// the namespaces of the container's init (through a pidfd) and becomes
// the process, with the container's seccomp filter. Detached, it returns
// at once, with the pid file naming the stage, which exits with the
// process's status (and forwards signals to it); else it waits and
// returns the process's exit code.
func (rt *Runtime) Exec(id string, o ExecOptions) (int, error) {
	r, err := rt.Load(id)
	if err != nil {
		return 1, err
	}
	if st := rt.Status(r); st != StatusRunning {
		return 1, fmt.Errorf("cannot exec in a container that is %s", st)
	}
	p := o.Process
	if p == nil || len(p.Args) == 0 {
		return 1, errors.New("exec: no process arguments")
	}
	if p.Terminal && o.ConsoleSocket == "" {
		return 1, errors.New("a process with a terminal needs --console-socket")
	}
	if o.PreserveFDs < 0 || o.PreserveFDs > maxPreserveFDs {
		return 1, fmt.Errorf("--preserve-fds %d: from 0 to %d", o.PreserveFDs, maxPreserveFDs)
	}
	filter, err := rt.compileSeccomp(r.Spec)
	if err != nil {
		return 1, err
	}
	pidfd, err := r.pidfd()
	if err != nil {
		return 1, errors.New("container not running")
	}
	pidf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidf.Close()
	parent, child, err := nsexec.NewPair()
	if err != nil {
		return 1, err
	}
	defer parent.Close()
	stage, err := nsexec.StageBinary()
	if err != nil {
		child.Close()
		return 1, err
	}
	cmd := exec.Command(nsexec.ExecPath(stage))
	cmd.Args = []string{"myctr-exec"}
	// The preserved descriptors first, at their own numbers; the stage's
	// pidfd and sync socket after them.
	for i := 0; i < o.PreserveFDs; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "preserved"))
	}
	joinFD := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, pidf, child)
	cmd.Env = []string{nsexec.EnvStage + "=" + nsexec.StageExec, nsexec.EnvVersion + "=" + nsexec.Version, nsexec.EnvJoinFD + "=" + strconv.Itoa(joinFD),
		nsexec.EnvJoinNS + "=" + strings.Join(nsexec.JoinNames(r.Spec), ","), nsexec.EnvSyncFD + "=" + strconv.Itoa(joinFD+1), nsexec.EnvNoMemProfile}
	if r.Cgroup != "" {
		// The stage waits, joined, before it forks into the PID
		// namespace, until it is in the container's cgroup.
		cmd.Env = append(cmd.Env, nsexec.EnvJoinWait+"=1")
	}
	if !p.Terminal {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: p.Terminal}
	err = cmd.Start()
	child.Close()
	stage.Close()
	if err != nil {
		return 1, fmt.Errorf("start the exec stage: %w", err)
	}
	fail := func(err error) (int, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return 1, err
	}
	if r.Cgroup != "" {
		// The process runs in the container's cgroup, under its limits
		// (and frozen with it), as runc's exec does.
		if err := cgroup.WriteFile(r.Cgroup, "cgroup.procs", strconv.Itoa(cmd.Process.Pid)); err != nil {
			return fail(fmt.Errorf("move the exec stage into the container's cgroup %s: %w", r.Cgroup, err))
		}
		if err := parent.Send(&nsexec.Message{Type: nsexec.MsgJoined}); err != nil {
			return fail(fmt.Errorf("send to the exec stage: %w", err))
		}
	}
	if err := parent.Send(&nsexec.Message{Type: nsexec.MsgConfig, Exec: &nsexec.ExecConfig{Process: p, Seccomp: filter, PreserveFDs: o.PreserveFDs}}); err != nil {
		return fail(fmt.Errorf("send the exec configuration: %w", err))
	}
	for done := false; !done; {
		msg, fds, err := parent.Expect(nsexec.MsgPty, nsexec.MsgEnd)
		if se := (*nsexec.StepError)(nil); errors.As(err, &se) {
			cmd.Wait()
			return se.Exit, errors.New(se.Msg)
		}
		if err != nil {
			return fail(err)
		}
		switch msg.Type {
		case nsexec.MsgEnd:
			done = true
		case nsexec.MsgPty:
			err := sendConsole(o.ConsoleSocket, fds[0])
			unix.Close(fds[0])
			if err != nil {
				return fail(err)
			}
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, cmd.Process.Pid); err != nil {
			return fail(err)
		}
	}
	if o.Detach {
		return 0, nil
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
