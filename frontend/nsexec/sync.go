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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// EnvNoMemProfile turns off the Go runtime's allocation sampling in a
	// stage that myctr starts (init, exec): its first sample allocates the
	// profiler's 1.4 MB bucket table, about 190 page faults of a
	// container's start, for a profile nobody reads.
	EnvNoMemProfile = "GODEBUG=memprofilerate=0"
	// EnvInitNS lists (comma-separated, the names of EnvJoinNS) the
	// namespaces the init stage makes besides the user namespace: mnt and
	// pid always, then those of ipc, uts and net the spec has (see
	// InitNamespaces). The cgroup namespace is made later, in Go.
	EnvInitNS = "_MYCTR_INIT_NS"
	// EnvInitJoinFD is the descriptor of a pidfd whose namespaces listed
	// in EnvInitJoinNS (user among them) the init stage joins instead of
	// making its own (--network container:NAME); the constructor closes it.
	EnvInitJoinFD = "_MYCTR_INIT_JOIN_FD"
	EnvInitJoinNS = "_MYCTR_INIT_JOIN_NS"
	// EnvInitNSFDs lists "TYPE=FD,..." (user first): namespaces the init
	// stage joins from descriptors of their files, the spec's namespaces
	// with a path (myctr-runtime); the constructor closes them.
	EnvInitNSFDs = "_MYCTR_INIT_NSFDS"
	// EnvInitUser "host": the init stage makes no user namespace (a spec
	// without one, run by root or inside the caller's own namespace).
	EnvInitUser = "_MYCTR_INIT_USER"
	// EnvInitUIDMap and EnvInitGIDMap: the init stage's constructor runs
	// newuidmap and newgidmap itself on the user namespace it makes, each
	// from a child forked before it (see MapperEnv); the pid it sends is
	// then that of a process whose maps are written.
	EnvInitUIDMap = "_MYCTR_INIT_UIDMAP"
	EnvInitGIDMap = "_MYCTR_INIT_GIDMAP"
	// EnvMain names the main myctr binary to a stage that may need it.
	EnvMain = "_MYCTR_MAIN"
	// EnvVersion carries Version from the frontend to the stage binary.
	EnvVersion = "_MYCTR_SYNC_VERSION"
)

// Version names this sync protocol; myctr and a myctr-init from another
// build must not talk to each other. 2: InitConfig.Network. 3: the
// network-forward stage (frontend/portfwd) in myctr-init. 4:
// InitConfig.ListenFDs. 5: InitConfig.Seccomp and ExecConfig.Seccomp. 6:
// InitConfig.Landlock and ExecConfig.Landlock. 7: strict kinds (Expect),
// no unshared, mapped or ready; the exec stage's C constructor accepts
// only a "joined" packet. 8: the init's namespaces come from the spec
// (EnvInitNS, EnvInitJoinNS), no _MYCTR_INIT_NETNS. 9: the OCI runtime's
// InitConfig.Bundle and StartFifo, MsgCreated, EnvInitNSFDs, EnvInitUser.
// 10: InitConfig.State (createContainer and startContainer hooks); the
// init's configuration before its maps, then MsgProceed (with Network,
// which InitConfig no longer has); ExecConfig.PreserveFDs. 11:
// ExecConfig.KeepGroups. 12: EnvInitUIDMap and EnvInitGIDMap, and the
// error of a failed newuidmap or newgidmap from the constructor. 13: the
// stages' configurations in the compact form of wire.go.
// TestWireFormat fails when the messages' JSON changes and this does not.
const Version = "13"

// Binary is the program that runs the stages inside a container's
// namespaces: myctr-init beside the running executable (or in
// ../libexec/myctr), which links only those stages and so starts faster;
// else this executable itself, which runs them too.
var Binary = sync.OnceValue(func() string {
	if p := Companion("myctr-init"); p != "" {
		return p
	}
	return "/proc/self/exe"
})

// Companion is the installed program name that goes with the running
// executable: beside it (a build's bin/) or in ../libexec/myctr (make
// install); "" when there is none.
func Companion(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, "..", "libexec", "myctr", name)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// CheckVersion ends a stage started by a frontend of another build.
func CheckVersion() {
	if v := os.Getenv(EnvVersion); v != Version {
		os.Stderr.WriteString("Error: myctr-init speaks sync protocol " + Version + ", myctr " + v + "\nHint: install myctr and myctr-init from the same build (make install)\n")
		os.Exit(ExitSetup)
	}
	os.Unsetenv(EnvVersion)
}

// Kind is the type of a message on the sync socket. The protocol is a
// fixed sequence per stage (docs/ARCHITECTURE.md, "Sync protocol"); each
// side says which kinds it may get next (Conn.Expect), and anything else
// is an error.
type Kind string

// Message kinds.
const (
	MsgPid    Kind = "pid"    // init stage (C) → parent: the container init's host pid
	MsgConfig Kind = "config" // parent → init or exec stage: InitConfig or ExecConfig
	MsgPty    Kind = "pty"    // init or exec stage → parent: the pty master rides along
	MsgError  Kind = "error"  // any stage → parent: the step that failed
	MsgJoined Kind = "joined" // parent → exec stage (C): it is in the container's cgroup
	// MsgProceed: parent → init stage, after its configuration: the id
	// maps are written, the init is in the container's cgroup, the
	// network is attached (a bridged one's interface rides along as
	// Network) and the runtime's hooks have run. The configuration comes
	// first, as soon as the init's pid is known, so that the init decodes
	// it while the parent does that work.
	MsgProceed Kind = "proceed"
	// MsgCreated: init stage → parent (myctr-runtime create), set up and
	// waiting on its exec fifo for `start`.
	MsgCreated Kind = "created"
	// MsgEnd is no packet but the end of the stream: the child's end of
	// the socket is close-on-exec, so its end means the container's
	// process was executed (or the child died). Expect returns it as a
	// message of this kind when it is wanted.
	MsgEnd Kind = "(end)"
)

// Protocol errors, for errors.Is.
var (
	// ErrUnexpected: a message of a kind the receiver does not expect
	// now, of no known kind, or whose payload does not fit its kind.
	ErrUnexpected = errors.New("unexpected sync message")
	// ErrEnded: the other side closed the socket (or died) while a
	// message was still due.
	ErrEnded = errors.New("the sync socket closed")
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

// AnnotationKeepGroups set to "1" in a spec leaves the container's process
// the supplementary groups of whoever started it (no setgroups): --group-add
// keep-groups. The name is crun's, which Podman sets for it, so a bundle
// made for crun means the same to myctr-runtime.
const AnnotationKeepGroups = "run.oci.keep_original_groups"

// InitConfig is everything the container's init needs.
type InitConfig struct {
	Spec    *specs.Spec
	Overlay Overlay
	Winsize *unix.Winsize `json:",omitempty"`
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
	// Bundle: Spec.Root.Path is an OCI bundle's root directory
	// (myctr-runtime), bound on itself; Overlay is unused.
	Bundle bool `json:",omitempty"`
	// StartFifo, when not 0, is the init's descriptor (O_PATH) of the
	// container's exec fifo (myctr-runtime create): once everything is
	// set up, the init sends MsgCreated and opens the fifo for writing,
	// which blocks until `start` opens it for reading; only then does it
	// execute the container's process.
	StartFifo int `json:",omitempty"`
	// State, with Bundle, is the container's state that the init gives
	// the spec's createContainer hooks (status "creating") and
	// startContainer hooks ("created") on their stdin; nil when the spec
	// has neither.
	State *specs.State `json:",omitempty"`
}

// ExecConfig is what the exec stage runs inside a running container.
type ExecConfig struct {
	Process  *specs.Process
	Winsize  *unix.Winsize           `json:",omitempty"`
	Seccomp  *security.SeccompFilter `json:",omitempty"` // the container's filter
	Landlock *landlock.Ruleset       `json:",omitempty"` // the container's ruleset
	// PreserveFDs is the number of descriptors from 3 on that the
	// process keeps (myctr-runtime exec --preserve-fds).
	PreserveFDs int `json:",omitempty"`
	// KeepGroups leaves the process the supplementary groups it started
	// with (the container's --group-add keep-groups).
	KeepGroups bool `json:",omitempty"`
}

// Message is one packet on the sync socket.
type Message struct {
	Type  Kind
	Init  *InitConfig `json:",omitempty"`
	Exec  *ExecConfig `json:",omitempty"`
	Error *StepError  `json:",omitempty"`
	Pid   int         `json:",omitempty"`
	// Network, with MsgProceed, is the interface a bridged network's
	// helper moved into the container's network namespace, for the init
	// to configure before anything else runs there; nil for every other
	// mode.
	Network *netif.Config `json:",omitempty"`
}

// shortMessage is a Message with none of the configurations, encoded as
// Message encodes it (the same fields, in the same order). encoding/json
// builds the encoders of a type and of every type its fields can hold
// on its first encode: for Message, the whole runtime spec, about 0.6 ms
// of a stage that only says `created`, `pty` or `error`.
type shortMessage struct {
	Type  Kind
	Error *StepError `json:",omitempty"`
	Pid   int        `json:",omitempty"`
}

// encodeMessage is m's packet, a short one through shortMessage.
func encodeMessage(m *Message) ([]byte, error) {
	if b := encodeConfig(m); b != nil {
		return b, nil
	}
	if m.Init == nil && m.Exec == nil && m.Network == nil {
		return json.Marshal(shortMessage{Type: m.Type, Error: m.Error, Pid: m.Pid})
	}
	return json.Marshal(m)
}

// decodeMessage decodes a packet: a stage's configuration in the compact
// form (wire.go), a message of a kind alone or a pid (decodeShort), else
// JSON.
func decodeMessage(b []byte) (*Message, error) {
	if len(b) > 0 && (b[0] == wireInit || b[0] == wireExec) {
		return decodeConfig(b)
	}
	if m := decodeShort(b); m != nil {
		return m, nil
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeShort reads, without encoding/json, the packets that most
// messages are: {"Type":"KIND"} (proceed, created, pty, joined) and
// {"Type":"pid","Pid":N}, exactly as Send writes them (and nsenter.c the
// pid), KIND in lower-case letters and N decimal; nil for anything else,
// which goes to encoding/json. A stage or a runtime command is a fresh
// process, where encoding/json's first decode of Message costs about a
// millisecond (its cache of the type's fields), on the path of every
// container start.
func decodeShort(b []byte) *Message {
	const pre, pid = `{"Type":"`, `","Pid":`
	if !bytes.HasPrefix(b, []byte(pre)) || len(b) < len(pre)+3 || b[len(b)-1] != '}' {
		return nil
	}
	rest := b[len(pre) : len(b)-1]
	n := 0
	for n < len(rest) && rest[n] >= 'a' && rest[n] <= 'z' {
		n++
	}
	if n == 0 {
		return nil
	}
	m := &Message{Type: Kind(rest[:n])}
	switch tail := rest[n:]; {
	case len(tail) == 1 && tail[0] == '"':
		return m
	case m.Type == MsgPid && bytes.HasPrefix(tail, []byte(pid)):
		digits := tail[len(pid):]
		if len(digits) == 0 || len(digits) > 9 || (digits[0] == '0' && len(digits) > 1) {
			return nil
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return nil
			}
			m.Pid = m.Pid*10 + int(c-'0')
		}
		return m
	}
	return nil
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
	return &Conn{f: os.NewFile(uintptr(fds[0]), "sync-parent")}, os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// FromFD wraps an inherited socket.
func FromFD(fd int) *Conn { return &Conn{f: os.NewFile(uintptr(fd), "sync")} }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// Await waits until a message or the end of the stream is there to
// read, or ms milliseconds have passed, without reading it.
func (c *Conn) Await(ms int) {
	fds := []unix.PollFd{{Fd: int32(c.f.Fd()), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, ms); err != unix.EINTR {
			return
		}
	}
}

// Send writes one message, with fds attached.
func (c *Conn) Send(m *Message, fds ...int) error {
	b, err := encodeMessage(m)
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
		n, oobn, flags, _, err := unix.Recvmsg(int(c.f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read sync socket: %w", err)
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			closeFDs(rightsOf(oob[:oobn]))
			return nil, nil, fmt.Errorf("%w: a message larger than %d bytes or with more than 4 descriptors", ErrUnexpected, len(buf))
		}
		if n == 0 && oobn == 0 {
			return nil, nil, nil
		}
		fds := rightsOf(oob[:oobn])
		m, err := decodeMessage(buf[:n])
		if err != nil {
			return nil, fds, fmt.Errorf("decode sync message: %w", err)
		}
		return m, fds, nil
	}
}

// rightsOf returns the descriptors of SCM_RIGHTS messages in oob.
func rightsOf(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, cm := range msgs {
		if rights, err := unix.ParseUnixRights(&cm); err == nil {
			fds = append(fds, rights...)
		}
	}
	return fds
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Expect reads the next message and returns it when its kind is one of
// want, with the descriptors that rode along; MsgEnd in want accepts the
// end of the stream, returned as a message of that kind. A MsgError from
// the child is returned as its *StepError (checked first: never nil, its
// exit code one myctr reports). Anything else is an error wrapping
// ErrUnexpected or ErrEnded, and the descriptors of a refused message are
// closed: a confused or hostile peer cannot make us act out of order.
func (c *Conn) Expect(want ...Kind) (*Message, []int, error) {
	m, fds, err := c.Recv()
	if err != nil {
		closeFDs(fds)
		return nil, nil, err
	}
	if m == nil {
		if slices.Contains(want, MsgEnd) {
			return &Message{Type: MsgEnd}, nil, nil
		}
		return nil, nil, fmt.Errorf("%w before %s", ErrEnded, kindList(want))
	}
	if err := m.check(len(fds)); err != nil {
		closeFDs(fds)
		return nil, nil, err
	}
	if m.Type == MsgError {
		closeFDs(fds)
		return nil, nil, m.Error
	}
	if !slices.Contains(want, m.Type) {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("%w %q, want %s", ErrUnexpected, m.Type, kindList(want))
	}
	return m, fds, nil
}

// check tells whether a message carries what its kind needs and nothing
// else, with nfds descriptors attached.
func (m *Message) check(nfds int) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrUnexpected, m.Type, why) }
	wantFDs := 0
	if m.Type == MsgPty {
		wantFDs = 1
	}
	if nfds != wantFDs {
		return bad(fmt.Sprintf("%d descriptors attached, want %d", nfds, wantFDs))
	}
	payload := 0
	for _, set := range []bool{m.Init != nil, m.Exec != nil, m.Error != nil, m.Pid != 0, m.Network != nil} {
		if set {
			payload++
		}
	}
	switch m.Type {
	case MsgPid:
		if m.Pid <= 0 || payload != 1 {
			return bad("a positive pid and nothing else")
		}
	case MsgConfig:
		if payload != 1 || (m.Init == nil && m.Exec == nil) {
			return bad("one InitConfig or ExecConfig and nothing else")
		}
		if m.Init != nil && (m.Init.Spec == nil || m.Init.Spec.Process == nil || m.Init.Spec.Root == nil || m.Init.Spec.Linux == nil) {
			return bad("an InitConfig without a spec, its process, root or linux section")
		}
		if m.Exec != nil && m.Exec.Process == nil {
			return bad("an ExecConfig without a process")
		}
	case MsgError:
		if m.Error == nil || payload != 1 {
			return bad("no StepError")
		}
		// The exit code is the child's word; only the three codes a
		// failed start has are passed on.
		if m.Error.Exit != ExitNotExecutable && m.Error.Exit != ExitNotFound {
			m.Error.Exit = ExitSetup
		}
	case MsgProceed:
		if payload > 1 || (payload == 1 && m.Network == nil) {
			return bad("a network's interface or nothing")
		}
	case MsgPty, MsgJoined, MsgCreated:
		if payload != 0 {
			return bad("carries a payload")
		}
	default:
		return bad("no such kind")
	}
	return nil
}

// kindList names the kinds of want for an error message.
func kindList(want []Kind) string {
	names := make([]string, len(want))
	for i, k := range want {
		names[i] = string(k)
	}
	return strings.Join(names, " or ")
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
