package container

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The container's processes never get the caller's own descriptors: a
// process that holds the user's terminal can type into the user's shell
// (ioctl TIOCSTI), change its modes or read from it behind myctr's back.
// Without -t they get pipes that myctr relays (stdin only with -i, else
// /dev/null), as conmon does; with -t, a pty of the container's own devpts.
// Every stage is started with setsid too, so that no container process has
// the caller's terminal as its controlling terminal (and /dev/tty, the
// host's node bound into the container as Podman and crun do, opens nothing
// but ENXIO there).

// drainIdle is how long the output of a process that has exited is still
// relayed while it keeps coming: a background child in the container may
// hold the pipe, and must not hold myctr.
const drainIdle = 250 * time.Millisecond

// relayStdin returns the read end of a pipe for the container's process
// and copies src into it; the end of src closes it (the process reads end
// of file). The copy may outlive the process: it ends with this one.
func relayStdin(src io.Reader) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	go func() {
		io.Copy(w, src)
		w.Close()
	}()
	return r, nil
}

// outputRelay copies a process's stdout and stderr pipes to dst each.
type outputRelay struct {
	exited chan struct{}
	files  []*os.File
	wg     sync.WaitGroup
}

// relayOutput makes a pipe for stdout and one for stderr, and returns their
// write ends for the process, which the caller closes once it has started it.
func relayOutput(stdout, stderr io.Writer) (*outputRelay, *os.File, *os.File, error) {
	o := &outputRelay{exited: make(chan struct{})}
	if stdout != nil && stdout == stderr {
		// One destination (a healthcheck's output): one pipe for both,
		// so that the lines stay in the order they were written.
		r, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("output pipe: %w", err)
		}
		o.files = append(o.files, r)
		o.wg.Add(1)
		go o.pump(stdout, r)
		return o, pw, pw, nil
	}
	var w [2]*os.File
	for i, dst := range []io.Writer{stdout, stderr} {
		r, pw, err := os.Pipe()
		if err != nil {
			o.close()
			for _, f := range w[:i] {
				f.Close()
			}
			return nil, nil, nil, fmt.Errorf("output pipe: %w", err)
		}
		w[i] = pw
		o.files = append(o.files, r)
		o.wg.Add(1)
		go o.pump(dst, r)
	}
	return o, w[0], w[1], nil
}

func (o *outputRelay) pump(dst io.Writer, src *os.File) {
	defer o.wg.Done()
	if dst == nil {
		dst = io.Discard
	}
	buf := make([]byte, 32*1024)
	for {
		select {
		case <-o.exited:
			src.SetReadDeadline(time.Now().Add(drainIdle))
		default:
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				dst = io.Discard // keep draining: the writer must not block
			}
		}
		if err != nil {
			return // end of file, or idle after the exit
		}
	}
}

// wait returns once the output has ended: at end of file, or, after the
// process exited, once no more came for drainIdle.
func (o *outputRelay) wait() {
	close(o.exited)
	for _, f := range o.files {
		f.SetReadDeadline(time.Now().Add(drainIdle))
	}
	o.wg.Wait()
	o.close()
}

func (o *outputRelay) close() {
	for _, f := range o.files {
		f.Close()
	}
}

// forwarded are the signals `myctr run` and `myctr exec` pass on.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// signalRelay passes the signals that `myctr run` and `myctr exec` forward
// on to the container's process, and the size of the user's terminal on to
// the container's pty at each SIGWINCH.
type signalRelay struct {
	sigs chan os.Signal
	term *os.File // the user's terminal, nil without one
	pty  atomic.Pointer[os.File]
	once sync.Once
}

// catchSignals catches the signals to forward from now on (and SIGWINCH,
// with a terminal): one that arrives before forward is called waits in the
// relay rather than killing this process and orphaning the container.
func catchSignals(term *os.File) *signalRelay {
	r := &signalRelay{sigs: make(chan os.Signal, 8), term: term}
	signal.Notify(r.sigs, forwarded...)
	if term != nil {
		signal.Notify(r.sigs, unix.SIGWINCH)
	}
	return r
}

// forward passes the caught signals to send until stop.
func (r *signalRelay) forward(send func(syscall.Signal)) {
	go func() {
		for sig := range r.sigs {
			if sig == unix.SIGWINCH {
				r.resize()
				continue
			}
			send(sig.(syscall.Signal))
		}
	}()
}

// setPty names the container's pty, which from now on follows the size
// of the user's terminal, and copies stdin (when not nil) into it.
func (r *signalRelay) setPty(pty *os.File, stdin io.Reader) {
	r.pty.Store(pty)
	if stdin != nil {
		go io.Copy(pty, stdin)
	}
}

func (r *signalRelay) resize() {
	pty := r.pty.Load()
	if pty == nil || r.term == nil {
		return
	}
	if ws, err := unix.IoctlGetWinsize(int(r.term.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// stop ends the relay; signals are no longer caught.
func (r *signalRelay) stop() {
	r.once.Do(func() {
		signal.Stop(r.sigs)
		close(r.sigs) // no more deliveries once Stop returned
	})
}

// userTerminal is f when it is a terminal, else nil.
func userTerminal(f *os.File) *os.File {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// terminalSize is the size of the terminal tty, nil when it cannot be read.
func terminalSize(tty *os.File) *unix.Winsize {
	if w, h, err := term.GetSize(int(tty.Fd())); err == nil {
		return &unix.Winsize{Col: uint16(w), Row: uint16(h)}
	}
	return nil
}

// rawTerminal reads the size of the user's terminal tty (nil: none) and
// puts it in raw mode, before the container can write or the user type:
// the container's own pty turns \n into \r\n and echoes input, and a
// terminal still cooked would do both again. restore undoes it (it may be
// called more than once); raw says whether the terminal is raw now.
func rawTerminal(tty *os.File) (ws *unix.Winsize, restore func(), raw bool) {
	restore = func() {}
	if tty == nil {
		return nil, restore, false
	}
	fd := int(tty.Fd())
	ws = terminalSize(tty)
	st, err := term.MakeRaw(fd)
	if err != nil {
		return ws, restore, false
	}
	var once sync.Once
	return ws, func() { once.Do(func() { term.Restore(fd, st) }) }, true
}
