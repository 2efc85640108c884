package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

// A foreground run's monitor. The CLI does not start the init stage
// itself: it executes myctr-monitor in attach mode (cmd/myctr-monitor),
// which starts the stage, so that the init is the monitor's child and
// the CLI's death loses nothing. The monitor keeps the output in the log
// and writes it to the user's stdout and stderr; the CLI keeps what is
// the user's own to do: the sync protocol, stdin, the terminal's size,
// the signals it forwards. When the init has exited and its output is
// drained, the monitor reports the exit on a control socket and the CLI
// ends the run as before (the record, the network, --rm), then says so.
// A CLI that is gone by then (killed, hung up) leaves that to the
// monitor, which executes the monitor-exit stage as a detached
// container's does: the exit code is recorded, and --rm honoured.

// DirectOutput is an Attach writer that the monitor may write itself: the
// file beneath, and what to do when writing it failed (the reader of a
// pipe went away). A foreground run goes through the monitor only when
// its Stdout is one (or nil): the caller must learn of a broken stdout to
// end with the error.
type DirectOutput interface {
	io.Writer
	File() *os.File
	Broken(err error)
}

// directFile is the file beneath w for the monitor to write, nil for
// none; ok says whether w can be written by the monitor at all (plain
// files only when plain says they may: stderr, and the stdout of a run
// that ends with its caller, which has no broken pipe to report).
func directFile(w io.Writer, plain bool) (f *os.File, ok bool) {
	if w == io.Discard {
		return nil, true
	}
	switch w := w.(type) {
	case nil:
		return nil, true
	case *os.File:
		return w, plain
	case DirectOutput:
		return w.File(), true
	}
	return nil, false
}

// fgMonitor is myctr-monitor standing between a foreground run's CLI and
// its init.
type fgMonitor struct {
	bound      bool     // the run ends with the CLI (Attach.EndWithCaller)
	ctl        *os.File // our end of the control socket
	peer       *os.File // the monitor's end, until it has it
	tout, terr *os.File // the user's stdout and stderr, nil for none
	cmd        *exec.Cmd
}

// newFgMonitor prepares the monitor of a's foreground run, or returns nil
// when its output cannot go through one (writers that are no files).
func newFgMonitor(a *Attach) (*fgMonitor, error) {
	tout, ok1 := directFile(a.Stdout, a.EndWithCaller)
	terr, ok2 := directFile(a.Stderr, true)
	if !ok1 || !ok2 {
		return nil, nil
	}
	if a.LogOnly || a.NoStdout {
		tout = nil
	}
	if a.LogOnly || a.NoStderr {
		terr = nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("monitor socket: %w", err)
	}
	return &fgMonitor{bound: a.EndWithCaller, ctl: os.NewFile(uintptr(fds[0]), "monitor"), peer: os.NewFile(uintptr(fds[1]), "monitor"), tout: tout, terr: terr}, nil
}

// wrap turns cmd, the init stage as it would be started from the stage
// executable, into myctr-monitor starting it: the stage's descriptors
// stay where they are, the monitor's own come after them, and the stage's
// environment goes in env= arguments (the monitor's own is that of the
// monitor-exit stage, which it executes should the CLI be gone). Without
// c (an early start), the monitor is started with later=1 and gets c's
// own arguments, in a "ctr" message, from adopt.
func (f *fgMonitor) wrap(cmd *exec.Cmd, s *Store, c *Container, r *running, stage, outR, errR *os.File) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	k := 3 + len(cmd.ExtraFiles)
	fd := func(file *os.File) string {
		if file == nil {
			return "-1"
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, file)
		return strconv.Itoa(3 + len(cmd.ExtraFiles) - 1)
	}
	args := []string{"myctr-monitor", "attach", "init=" + strconv.Itoa(k),
		"exe=" + fd(stage), "ctl=" + fd(f.peer), "out=" + fd(outR), "err=" + fd(errR),
		"tout=" + fd(f.tout), "terr=" + fd(f.terr), "bound=" + boolArg(f.bound)}
	var own []string
	if c == nil {
		args = append(args, "later=1")
	} else {
		var log *os.File
		if log, own, err = f.containerArgs(s, c, r, exe); err != nil {
			return err
		}
		own[0] = "log=" + fd(log)
	}
	for _, e := range cmd.Env {
		args = append(args, "env="+e)
	}
	cmd.Path, cmd.Args = monitorBinary(), append(args, own...)
	cmd.Env = monitorExitEnv()
	return nil
}

// containerArgs are the monitor's arguments that come from c: its log
// (log, the descriptor, whose argument is the first, "log=", for the
// caller to complete), its stop signal, --timeout and healthcheck, then
// "--" and the exit command. The deadline is the monitor's to keep from
// now on.
func (f *fgMonitor) containerArgs(s *Store, c *Container, r *running, exe string) (log *os.File, args []string, err error) {
	path, max := "", int64(0)
	if r.log != nil && r.log.f != nil {
		log, path, max = r.log.f, r.log.path, r.log.maxSize
	}
	args = []string{"log=", "path=" + path,
		"max=" + strconv.FormatInt(max, 10), "stop=" + strconv.Itoa(int(StopSignalOf(c))),
		"timeout=" + strconv.FormatInt(r.timeout.Milliseconds(), 10),
		"hc=" + strconv.FormatInt(healthEvery(c).Milliseconds(), 10),
		"--", exe, s.Dirs.Root, s.Dirs.RunRoot, c.ID}
	r.timeout = 0
	return log, args, nil
}

// adopt gives a monitor started early (wrap without a container) c's
// own arguments, as one "ctr" message: each argument ended by a NUL, the
// log's descriptor with them.
func (f *fgMonitor) adopt(s *Store, c *Container, r *running) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	log, args, err := f.containerArgs(s, c, r, exe)
	if err != nil {
		return err
	}
	args[0] = "log=-1"
	msg := "ctr\x00" + strings.Join(args, "\x00") + "\x00"
	fd := -1
	if log != nil {
		fd = int(log.Fd())
	}
	return f.send(msg, fd)
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// monitorExitEnv is the environment of myctr-monitor, which it passes on
// to the monitor-exit stage.
func monitorExitEnv() []string {
	return append(withoutEnv(os.Environ(), nsexec.EnvStage), nsexec.EnvStage+"="+nsexec.StageMonitorExit)
}

// send sends msg, with the descriptor fd unless it is -1.
func (f *fgMonitor) send(msg string, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	err := unix.Sendmsg(int(f.ctl.Fd()), []byte(msg), oob, nil, 0)
	if err != nil {
		return fmt.Errorf("tell the container's monitor: %w", err)
	}
	return nil
}

// initPid names the init to the monitor, with a pidfd of it: should the
// start fail, or this process die, before running, the monitor kills it.
func (f *fgMonitor) initPid(pid, pidfd int) error {
	return f.send("pid "+strconv.Itoa(pid), pidfd)
}

// running tells the monitor that the container runs (recorded so), and
// gives it the pty master and the cgroup's memory.events, if any.
func (f *fgMonitor) running(r *running) error {
	msg := "run"
	if r.cg != nil {
		msg += " " + r.cg.Dir() + "/memory.events"
	}
	pty := -1
	if r.pty != nil {
		pty = int(r.pty.Fd())
	}
	return f.send(msg, pty)
}

// fgOutcome is the monitor's report of a foreground run's end; or, with
// left, of the user's stdout that broke while it runs (the monitor then
// ends the run, and the CLI with the error).
type fgOutcome struct {
	code                    int
	oom, timedOut           bool
	stdoutBroken, errBroken bool
	left                    bool
}

// errMonitorGone is a foreground run whose monitor died before it
// reported the exit.
var errMonitorGone = errors.New("the container's monitor is gone; its exit code is unknown")

// await waits for the monitor's report, or for the init to end should the
// monitor die first.
func (f *fgMonitor) await(pidfd int) (fgOutcome, error) {
	buf := make([]byte, 128)
	for {
		n, err := f.ctl.Read(buf)
		if err == nil && n == 0 {
			err = io.EOF
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		var o fgOutcome
		var flags [5]int
		if err == nil && string(buf[:n]) == "broken" {
			return fgOutcome{stdoutBroken: true, left: true}, nil
		}
		if err == nil {
			_, err = fmt.Sscanf(string(buf[:n]), "exit %d %d %d %d %d %d", &o.code, &flags[0], &flags[1], &flags[2], &flags[3], &flags[4])
		}
		if err != nil {
			// Nobody reports the init's end now: wait for it here.
			for {
				_, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, -1)
				if err != unix.EINTR {
					break
				}
			}
			return fgOutcome{code: -1}, errMonitorGone
		}
		o.oom, o.timedOut, o.stdoutBroken, o.errBroken = flags[0] == 1, flags[1] == 1, flags[3] == 1, flags[4] == 1
		return o, nil
	}
}

// waitFg waits for the end of r, a foreground run, through its monitor,
// and ends the run here as wait does.
func (r *running) waitFg() (fgOutcome, error) {
	o, err := r.fg.await(r.pidfd)
	if o.left {
		return o, nil
	}
	r.oom.Look()
	if r.pty != nil {
		r.pty.Close()
	}
	r.oomKilled = r.oomKilled || o.oom
	o.code = r.end(o.code)
	return o, err
}

// leave closes our end of the control socket with the run still on: the
// monitor ends it.
func (f *fgMonitor) leave() { f.ctl.Close() }

// done tells the monitor the exit is recorded: it exits without the
// monitor-exit stage.
func (f *fgMonitor) done(dir string) {
	msg := "done"
	if dir != "" {
		// An --rm container's directory, renamed out of every listing:
		// the monitor deletes it as it ends. Should it not (killed, or
		// gone already), the directory is left for SweepRemoved.
		msg += " " + dir
	}
	if f.send(msg, -1) != nil && dir != "" {
		_ = os.RemoveAll(dir)
	}
	f.ctl.Close()
	go f.cmd.Wait()
}
