package netwatch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// A tool is one rootless network mode's program as the watcher runs it:
// the watcher starts it, waits until it is ready, has it publish its
// ports, and supervises it. The tools differ only in how they learn
// what they inherit, how they say they are ready and how ports are
// published through them; rootlesskit's network drivers split the same
// way.
type tool interface {
	// prepare adds what the tool inherits to cmd (slirp4netns: its exit
	// and ready pipes). The watcher closes cmd.ExtraFiles once the tool
	// has started.
	prepare(cmd *exec.Cmd) error
	// ready blocks until the namespace is configured (and the tool's own
	// ports are bound). It may return early, with an error, once done is
	// closed: the watcher no longer waits.
	ready(done <-chan struct{}) error
	// publish publishes the ports the tool itself forwards (slirp4netns:
	// add_hostfwd), after ready.
	publish() error
	// close releases what prepare made. The tool's end of a pipe closed
	// here may be what ends the tool (slirp4netns: --exit-fd).
	close()
	// held is what the watcher must hold for as long as the tool is to
	// run (slirp4netns: its exit pipe's write end), nil for nothing.
	held() []*os.File
}

// errNotWaiting is what ready returns once the watcher stops waiting.
var errNotWaiting = errors.New("no longer waiting")

// newTool returns the tool for spec.Mode.
func newTool(spec Spec) (tool, error) {
	switch spec.Mode {
	case ModePasta:
		return &pasta{pidFile: spec.PidFile}, nil
	case ModeSlirp4netns:
		return &slirp4netns{socket: APISocketFile, guest: spec.GuestAddr, hostfwds: spec.Hostfwds}, nil
	}
	return nil, fmt.Errorf("unknown network mode %q", spec.Mode)
}

// proc is a started child of the watcher: the tool or the forwarder.
type proc struct {
	cmd    *exec.Cmd
	exited chan error // cmd.Wait's result, once
}

func startProc(cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to exit, kills it after 2 s, and waits for it.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// startTool starts spec.Tool, prepared by tl, and waits until it is ready
// and has published its ports. It gives up after ReadyTimeout or on a
// signal from sigs, and then stops the tool. The error is the watcher's
// report.
//
// Preconditions: the calling goroutine's thread is locked and lives as
// long as the tool may (PR_SET_PDEATHSIG is tied to the forking thread).
func startTool(spec Spec, tl tool, sigs <-chan os.Signal) (*proc, error) {
	cmd := exec.Command(spec.Tool, spec.Args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := tl.prepare(cmd); err != nil {
		return nil, err
	}
	logf("starting %s %s", spec.Tool, strings.Join(spec.Args, " "))
	p, err := startProc(cmd)
	for _, f := range cmd.ExtraFiles {
		f.Close() // the tool's copies
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Tool, err)
	}
	if err := waitReady(spec.Mode, p, tl, sigs); err != nil {
		return nil, err
	}
	if err := tl.publish(); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitReady waits until the tool p is ready, it exits, a signal comes
// or ReadyTimeout passes; unless it exited, it is stopped on an error.
func waitReady(mode string, p *proc, tl tool, sigs <-chan os.Signal) error {
	done := make(chan struct{})
	defer close(done)
	ready := make(chan error, 1)
	go func() { ready <- tl.ready(done) }()
	timeout := time.NewTimer(ReadyTimeout)
	defer timeout.Stop()
	select {
	case err := <-p.exited:
		// err is nil when the tool exited with 0: %v, not %w.
		return fmt.Errorf("%s exited before the network was ready: %v", mode, err)
	case err := <-ready:
		if err != nil {
			p.stop()
			return fmt.Errorf("%s: waiting for ready: %w", mode, err)
		}
		return nil
	case s := <-sigs:
		p.stop()
		return fmt.Errorf("stopped by %v before the network was ready", s)
	case <-timeout.C:
		p.stop()
		return fmt.Errorf("%s not ready after %v", mode, ReadyTimeout)
	}
}
