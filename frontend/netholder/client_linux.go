package netholder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/protocol/flock"
)

// The holder's files, in its directory (RUNROOT/netholder).
const (
	controlSocket = "control.sock"
	lockFile      = "lock"
	logFile       = "holder.log"
)

// Env names the holder stage's settings.
const (
	envDir    = "_MYCTR_HOLDER_DIR"
	envUplink = "_MYCTR_HOLDER_UPLINK"
)

// ErrHolder is a failure to start or reach the holder.
var ErrHolder = errors.New("rootless network holder")

// replyTimeout bounds one request: an attach makes a veth and a bridge.
const replyTimeout = 30 * time.Second

// Holder is the frontend's handle on the running holder, held from
// before a container's init starts until its attach is done: the shared
// lock it holds keeps the holder from leaving in between.
type Holder struct {
	dir   string
	lock  *flock.File
	pid   int
	pidfd *os.File
}

// Open returns the user's holder under runRoot, starting it (and its way
// out) when none runs. m is the user's full mapping, which the holder's
// user namespace gets.
func Open(runRoot string, m *userns.Mapping) (*Holder, error) {
	dir := filepath.Join(runRoot, "netholder")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHolder, err)
	}
	l, err := flock.Acquire(filepath.Join(dir, lockFile), 0o600, flock.Shared)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHolder, err)
	}
	h := &Holder{dir: dir, lock: l}
	if h.pid, err = h.ping(); err != nil {
		// None runs (or a dead one left its socket): start one, alone.
		if err = l.Lock(flock.Exclusive); err == nil {
			if h.pid, err = h.ping(); err != nil {
				h.pid, err = h.start(m)
			}
		}
		if err == nil {
			err = l.Lock(flock.Shared)
		}
		if err != nil {
			l.Close()
			return nil, err
		}
	}
	fd, err := unix.PidfdOpen(h.pid, 0)
	if err == nil {
		h.pidfd = os.NewFile(uintptr(fd), "holder-pidfd")
		// The pidfd names the holder only if the holder still answers:
		// a pid read before it may have been recycled.
		if _, err = h.ping(); err != nil {
			h.pidfd.Close()
		}
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: %v", ErrHolder, err)
	}
	return h, nil
}

// Find returns the user's holder under runRoot when one runs, else nil:
// for a request that has nothing to do without one (a detach).
func Find(runRoot string) (*Holder, error) {
	dir := filepath.Join(runRoot, "netholder")
	l, err := flock.Acquire(filepath.Join(dir, lockFile), 0o600, flock.Shared)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHolder, err)
	}
	h := &Holder{dir: dir, lock: l}
	if h.pid, err = h.ping(); err != nil {
		l.Close()
		return nil, nil
	}
	return h, nil
}

// Pid is the holder's pid: /proc/PID/ns/user is the user namespace a
// container on a named network joins, through Pidfd.
func (h *Holder) Pid() int { return h.pid }

// Pidfd is a pidfd of the holder, for the init to join its user
// namespace through.
func (h *Holder) Pidfd() *os.File { return h.pidfd }

// Close lets the holder go (it may leave once idle).
func (h *Holder) Close() {
	if h.pidfd != nil {
		h.pidfd.Close()
	}
	h.lock.Close()
}

// Attach puts the container's init (initPidfd: a pidfd of it, in the
// holder's user namespace; starting, or running already for network
// connect) onto network n as names, at ip or any free address, as the
// interface iface ("eth0") in its network namespace, which the holder
// configures.
func (h *Holder) Attach(n Network, containerID string, names []string, ip, iface string, initPidfd int) (*Reply, error) {
	req := Request{Op: OpAttach, Network: n, ContainerID: containerID, Names: names, IP: ip, Interface: iface}
	return h.call(&req, initPidfd)
}

// Detach takes a running container off network (network disconnect): its
// interface there goes, and its names. A container not on it is no error.
func (h *Holder) Detach(network, containerID string) error {
	_, err := h.call(&Request{Op: OpDetach, Network: Network{Name: network}, ContainerID: containerID}, -1)
	return err
}

// Rename gives a running container on network the names names (its new
// name, then its aliases) in the network's DNS. A container not on it is
// no error.
func (h *Holder) Rename(network, containerID string, names []string) error {
	_, err := h.call(&Request{Op: OpRename, Network: Network{Name: network}, ContainerID: containerID, Names: names}, -1)
	return err
}

func (h *Holder) ping() (int, error) {
	r, err := h.call(&Request{Op: OpPing}, -1)
	if err != nil {
		return 0, err
	}
	return r.Pid, nil
}

// call sends one request (with fd, unless it is -1) and reads the reply.
func (h *Holder) call(req *Request, fd int) (*Reply, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(h.dir, controlSocket), Net: "unix"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(replyTimeout))
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if _, _, err := c.WriteMsgUnix(b, oob, nil); err != nil {
		return nil, err
	}
	if err := c.CloseWrite(); err != nil {
		return nil, err
	}
	b, err = io.ReadAll(io.LimitReader(c, maxMessage))
	if err != nil {
		return nil, err
	}
	var r Reply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: a bad reply (%d bytes): %v", ErrHolder, len(b), err)
	}
	if r.Error != "" {
		if kind := errorKinds[r.Kind]; kind != nil {
			// The holder's text starts with the kind's own words, or
			// holds them: say them once.
			if rest, ok := strings.CutPrefix(r.Error, kind.Error()); ok {
				return nil, fmt.Errorf("%w%s", kind, rest)
			}
			return nil, fmt.Errorf("%w: %s", kind, r.Error)
		}
		return nil, fmt.Errorf("%w: %s", ErrHolder, r.Error)
	}
	return &r, nil
}

// maxMessage bounds a request or a reply.
const maxMessage = 64 << 10

// start starts the holder and its way out, and returns its pid once it
// answers. The caller holds the lock exclusively.
func (h *Holder) start(m *userns.Mapping) (int, error) {
	mode, err := network.DefaultMode()
	if err != nil {
		return 0, err
	}
	os.Remove(filepath.Join(h.dir, controlSocket)) // a dead holder's
	log, err := os.OpenFile(filepath.Join(h.dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrHolder, err)
	}
	defer log.Close()
	mapped, sync, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer sync.Close()
	ready, readyW, err := os.Pipe()
	if err != nil {
		mapped.Close()
		return 0, err
	}
	defer ready.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args[0] = "myctr-network-holder"
	cmd.Env = append(os.Environ(), nsexec.EnvStage+"="+nsexec.StageNetHolder, envDir+"="+h.dir, envUplink+"="+uplinkName(mode))
	cmd.ExtraFiles = []*os.File{mapped, readyW} // 3, 4
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET}
	err = cmd.Start()
	mapped.Close()
	readyW.Close()
	if err != nil {
		return 0, fmt.Errorf("%w: start: %v", ErrHolder, err)
	}
	pid := cmd.Process.Pid
	fail := func(err error) (int, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, err
	}
	if err := m.Apply(pid); err != nil {
		return fail(fmt.Errorf("%w: set up its user namespace: %v", ErrHolder, err))
	}
	if _, err := sync.Write([]byte{1}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrHolder, err))
	}
	msg, _ := io.ReadAll(io.LimitReader(ready, 4096))
	if string(msg) != "ok" {
		if len(msg) == 0 {
			msg = []byte("it exited (see " + filepath.Join(h.dir, logFile) + ")")
		}
		return fail(fmt.Errorf("%w: %s", ErrHolder, msg))
	}
	// The way out: pasta or slirp4netns for the holder's namespace, as
	// for a container's; its watcher ends it with the holder.
	if _, err := network.Start(network.Config{Mode: mode}, pid, h.dir); err != nil {
		return fail(err)
	}
	// The holder is not ours to wait for: it outlives this command.
	cmd.Process.Release()
	return pid, nil
}

// uplinkName is the interface the tool of mode makes in the holder's
// namespace.
func uplinkName(mode string) string {
	if mode == network.ModePasta {
		return "eth0"
	}
	return "tap0"
}
