package main

import (
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// console is `run`'s own console socket, for a spec with a terminal and
// no --console-socket (runc's foreground run): the runtime takes the
// pty's master itself and relays it to its own stdin and stdout, the
// caller's terminal raw meanwhile and its size passed on.
type console struct {
	dir    string
	ln     *net.UnixListener
	master chan *os.File
	out    chan struct{} // closed when the output has been copied
}

// newConsole listens on a socket in a directory of its own.
func newConsole() (*console, error) {
	dir, err := os.MkdirTemp("", "myctr-runtime-console-")
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "console.sock"), Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &console{dir: dir, ln: ln, master: make(chan *os.File, 1), out: make(chan struct{})}
	go c.accept()
	return c, nil
}

func (c *console) path() string { return filepath.Join(c.dir, "console.sock") }

// accept takes the one connection create makes and the descriptor on it.
func (c *console) accept() {
	defer close(c.master)
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return
	}
	defer conn.Close()
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	c.master <- os.NewFile(uintptr(fds[0]), "pty-master")
}

// relay copies between the master and this process's stdin and stdout
// until the container's side closes; it returns a function that restores
// the caller's terminal.
func (c *console) relay() (restore func(), err error) {
	c.ln.Close()
	os.RemoveAll(c.dir)
	master, ok := <-c.master
	if !ok {
		return func() {}, errors.New("the container's terminal did not arrive on the console socket")
	}
	restore = func() {}
	in := int(os.Stdin.Fd())
	if term.IsTerminal(in) {
		resize := func() {
			if ws, err := unix.IoctlGetWinsize(in, unix.TIOCGWINSZ); err == nil {
				unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		go func() {
			for range winch {
				resize()
			}
		}()
		if st, err := term.MakeRaw(in); err == nil {
			restore = func() { signal.Stop(winch); term.Restore(in, st) }
		}
	}
	go io.Copy(master, os.Stdin)
	go func() { io.Copy(os.Stdout, master); close(c.out) }()
	return restore, nil
}

// waitOutput waits for the rest of the container's output: the master
// reads its end once every holder of the terminal has closed it, or,
// where a process left behind still holds it, a second after the
// container's process ended.
func (c *console) waitOutput() {
	select {
	case <-c.out:
	case <-time.After(time.Second):
	}
}
