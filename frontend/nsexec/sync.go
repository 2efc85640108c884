// Package nsexec is the re-executed child side of myctr: the container's
// init (which builds the rootfs inside fresh namespaces and execs the
// container's process), the exec stage (which runs inside namespaces joined
// by the C constructor in nsenter.c), and the small internal commands that
// must run inside the user's user namespace.
//
// The parent and the child talk over a SOCK_SEQPACKET socketpair, one JSON
// message per packet; file descriptors ride along as SCM_RIGHTS. The child
// marks its end close-on-exec, so end-of-file after the last message means
// the container's process was executed.
package nsexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/landlock"
	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/security"
)

// Environment variables that select a stage of this binary; only myctr sets them.
const (
	EnvStage  = "_MYCTR_STAGE"
	EnvSyncFD = "_MYCTR_SYNC_FD"
	EnvJoinFD = "_MYCTR_JOIN_PIDFD"
	EnvJoinNS = "_MYCTR_JOIN_NS"
	// EnvJoinCaps "net_admin": once joined, keep only CAP_NET_ADMIN (and
	// set no_new_privs, not dumpable). For the port forwarder.
	EnvJoinCaps = "_MYCTR_JOIN_CAPS"
	// EnvJoinWait "1": once joined, and before forking into the PID
	// namespace, wait for a MsgJoined packet on the sync socket: the
	// parent moves the stage into the container's cgroup meanwhile, so
	// that everything it starts is in it (and under its limits).
	EnvJoinWait = "_MYCTR_JOIN_WAIT"
	// EnvInitNetNS is "1" when the init stage makes a network namespace.
	EnvInitNetNS = "_MYCTR_INIT_NETNS"
	// EnvInitJoinFD is the descriptor of a pidfd whose user and network
	// namespaces the init stage joins instead of making its own
	// (--network container:NAME); the constructor closes it.
	EnvInitJoinFD = "_MYCTR_INIT_JOIN_FD"
	// EnvMain names the main myctr binary to a stage that may need it.
	EnvMain = "_MYCTR_MAIN"
	// EnvVersion carries Version from the frontend to the stage binary.
	EnvVersion = "_MYCTR_SYNC_VERSION"
)

// Version names this sync protocol; myctr and a myctr-init from another
// build must not talk to each other. 2: InitConfig.Network. 3: the
// network-forward stage (frontend/portfwd) in myctr-init. 4:
// InitConfig.ListenFDs. 5: InitConfig.Seccomp and ExecConfig.Seccomp. 6:
// InitConfig.Landlock and ExecConfig.Landlock.
const Version = "6"

// Binary is the program that runs the stages inside a container's
// namespaces: myctr-init beside the running executable (or in
// ../libexec/myctr), which links only those stages and so starts faster;
// else this executable itself, which runs them too.
var Binary = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return "/proc/self/exe"
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{filepath.Join(dir, "myctr-init"), filepath.Join(dir, "..", "libexec", "myctr", "myctr-init")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return "/proc/self/exe"
})

// CheckVersion ends a stage started by a frontend of another build.
func CheckVersion() {
	if v := os.Getenv(EnvVersion); v != Version {
		os.Stderr.WriteString("Error: myctr-init speaks sync protocol " + Version + ", myctr " + v + "\nHint: install myctr and myctr-init from the same build (make install)\n")
		os.Exit(ExitSetup)
	}
	os.Unsetenv(EnvVersion)
}

// Message types.
const (
	MsgUnshared = "unshared" // child → parent: write the id maps of my pid
	MsgMapped   = "mapped"   // parent → child: the id maps are written
	MsgPid      = "pid"      // child → parent: the container init's host pid
	MsgConfig   = "config"   // parent → child: InitConfig or ExecConfig
	MsgPty      = "pty"      // child → parent: the pty master rides along
	MsgError    = "error"    // child → parent: the step that failed
	MsgReady    = "ready"    // child → parent (userns stage): work done
	MsgJoined   = "joined"   // parent → exec stage: it is in the container's cgroup
)

// Overlay is the container's root filesystem, mounted by the init inside
// its own mount namespace so that no mount is ever visible on the host.
type Overlay struct {
	Lower  []string // base layer last, as overlayfs wants
	Upper  string
	Work   string
	RunDir string // where the short links to the layers are made
}

// AnnotationWorkdirGiven, in a container's spec, holds its id when its
// working directory came from run --workdir: the init then refuses a
// directory that is not there instead of making it (as Podman).
const AnnotationWorkdirGiven = "io.myctr.workdir-given"

// InitConfig is everything the container's init needs.
type InitConfig struct {
	Spec    *specs.Spec
	Overlay Overlay
	Winsize *unix.Winsize `json:",omitempty"`
	// Network is the interface a bridged network's helper moved into the
	// container's network namespace, for the init to configure before
	// anything else runs there; nil for every other mode.
	Network *netif.Config `json:",omitempty"`
	// ListenFDs is the number of sockets systemd passed for socket
	// activation, the init's descriptors 3 to 3+ListenFDs-1, which the
	// container's process keeps (with LISTEN_PID its own).
	ListenFDs int `json:",omitempty"`
	// Seccomp is the container's compiled filter (nil: unconfined); the
	// spec's own linux.seccomp is not sent.
	Seccomp *security.SeccompFilter `json:",omitempty"`
	// Landlock is the container's ruleset (--security-opt landlock=),
	// nil for none.
	Landlock *landlock.Ruleset `json:",omitempty"`
}

// ExecConfig is what the exec stage runs inside a running container.
type ExecConfig struct {
	Process  *specs.Process
	Winsize  *unix.Winsize           `json:",omitempty"`
	Seccomp  *security.SeccompFilter `json:",omitempty"` // the container's filter
	Landlock *landlock.Ruleset       `json:",omitempty"` // the container's ruleset
}

// Message is one packet on the sync socket.
type Message struct {
	Type  string
	Init  *InitConfig `json:",omitempty"`
	Exec  *ExecConfig `json:",omitempty"`
	Error *StepError  `json:",omitempty"`
	Pid   int         `json:",omitempty"`
}

// StepError is a failure of the child, named by its step, carrying the
// exit code myctr should report (125 setup, 126 not executable, 127 not found).
type StepError struct {
	Step  string
	Errno int
	Msg   string
	Exit  int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s: %s", e.Step, e.Msg)
}

// Unwrap lets errors.Is match the errno.
func (e *StepError) Unwrap() error {
	if e.Errno != 0 {
		return syscall.Errno(e.Errno)
	}
	return nil
}

// Conn is one end of the sync socket.
type Conn struct{ f *os.File }

// NewPair makes the socketpair: the parent keeps the first, the child
// inherits the second.
func NewPair() (parent *Conn, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return &Conn{os.NewFile(uintptr(fds[0]), "sync-parent")}, os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// FromFD wraps an inherited socket.
func FromFD(fd int) *Conn { return &Conn{os.NewFile(uintptr(fd), "sync")} }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// Send writes one message, with fds attached.
func (c *Conn) Send(m *Message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(int(c.f.Fd()), b, oob, nil, 0)
}

// Recv reads one message; io.EOF-like end is reported as (nil, nil, nil).
func (c *Conn) Recv() (*Message, []int, error) {
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(c.f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read sync socket: %w", err)
		}
		if n == 0 && oobn == 0 {
			return nil, nil, nil
		}
		var fds []int
		if oobn > 0 {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil {
				for _, cm := range msgs {
					if rights, err := unix.ParseUnixRights(&cm); err == nil {
						fds = append(fds, rights...)
					}
				}
			}
		}
		var m Message
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			return nil, fds, fmt.Errorf("decode sync message: %w", err)
		}
		return &m, fds, nil
	}
}

// Fail reports err to the parent as a StepError and exits.
func (c *Conn) Fail(step string, err error, exit int) {
	se := &StepError{Step: step, Msg: err.Error(), Exit: exit}
	var errno syscall.Errno
	if asErrno(err, &errno) {
		se.Errno = int(errno)
	}
	_ = c.Send(&Message{Type: MsgError, Error: se})
	os.Exit(exit)
}

func asErrno(err error, target *syscall.Errno) bool { return errors.As(err, target) }
