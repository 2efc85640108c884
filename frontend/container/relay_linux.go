package container

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
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
