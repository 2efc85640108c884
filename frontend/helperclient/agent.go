package helperclient

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/term"
)

// Agent is a running polkit text agent (pkttyagent): while it runs, polkit
// asks the person at the terminal for the password an authorization needs,
// when no graphical agent of the session does.
type Agent struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// agentReadyTimeout bounds the wait for the agent's registration.
var agentReadyTimeout = 10 * time.Second

// StartAgent starts pkttyagent the way systemctl does
// (`pkttyagent --notify-fd N --fallback`) when stdin is a terminal and
// pkttyagent is in PATH, and returns once the agent has registered with
// polkit (it then closes the notify fd) or has given up. It returns nil,
// and no error, when there is no terminal or no pkttyagent: polkit then
// decides without asking anyone. --fallback leaves the prompt to the
// session's own agent where there is one.
func StartAgent(stdin *os.File) (*Agent, error) {
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		return nil, nil
	}
	path, err := exec.LookPath("pkttyagent")
	if err != nil {
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, "--notify-fd", "3", "--fallback")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3
	// The agent must not outlive us: it would hold the terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close()
	a := &Agent{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	// End of file on the pipe: the agent closed the notify fd once
	// registered, or exited.
	_ = r.SetReadDeadline(time.Now().Add(agentReadyTimeout))
	_, _ = io.Copy(io.Discard, r)
	return a, nil
}

// Stop ends the agent (SIGTERM, then SIGKILL after 5s) and waits for it.
func (a *Agent) Stop() {
	if a == nil {
		return
	}
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}
