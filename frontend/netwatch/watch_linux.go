// Package netwatch is the network watcher: the process that owns a
// rootless container's pasta or slirp4netns (and myctr's port forwarder)
// and ends them with the container. Package network starts it and
// describes it ("Lifetime"); it links little, so that myctr-init runs it.
//
// Main is the sequence: read the spec and the inherited fds, start the
// tool and wait until it is ready (startTool), start the forwarder
// (startForwarding), report, then hand the supervision over to
// myctr-monitor's watch (a small static program, where it is installed)
// or supervise here. What differs between pasta and
// slirp4netns (what the tool inherits, how it says it is ready, how
// ports are published through it) is behind the tool interface
// (tool_linux.go), one implementation per mode, as rootlesskit's
// network drivers are.
package netwatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

// Stage is the watcher's value of _MYCTR_STAGE: myctr-init and myctr
// must call Main for it.
const Stage = nsexec.StageNetWatch

// EnvSpec carries the Spec, as JSON.
const EnvSpec = "_MYCTR_NETWORK_SPEC"

// The tools.
const (
	ModePasta       = "pasta"
	ModeSlirp4netns = "slirp4netns"
	// ModeForward runs no tool, only the port forwarder: a container on a
	// named network has its way out through the network holder, and its
	// published ports alone are the watcher's.
	ModeForward = "forward"
)

// APISocketFile is slirp4netns's API socket, in Spec.Dir.
const APISocketFile = "slirp4netns.sock"

// ReadyTimeout bounds the wait for the tool (and for the watcher's report).
const ReadyTimeout = 30 * time.Second

// Spec is what package network tells the watcher.
type Spec struct {
	Mode      string
	Tool      string    // absolute path of pasta or slirp4netns
	Args      []string  // its arguments
	PidFile   string    // pasta: written once the namespace is configured
	APISocket string    // slirp4netns: where to send add_hostfwd
	Dir       string    // the watcher's and the tool's working directory (stateDir)
	GuestAddr string    // the container's address, where the forwarder sends
	Gateway   string    // the gateway's address, the forwarder's source for IPv6 clients
	Hostfwds  []Hostfwd // published by slirp4netns
	// Forward: the ports myctr's forwarder publishes, with the fd of each
	// host socket in the watcher (5 and up).
	Forward []portfwd.Port
}

// Hostfwd is one port slirp4netns publishes (add_hostfwd).
type Hostfwd struct {
	HostIP    string // "" = 0.0.0.0
	HostPort  uint16
	GuestPort uint16
	Protocol  string
}

func (h Hostfwd) String() string {
	return fmt.Sprintf("%s:%d->%d/%s", h.HostIP, h.HostPort, h.GuestPort, h.Protocol)
}

// Status is the watcher's one report to package network.
type Status struct {
	Pid          int    `json:"pid,omitempty"`
	ForwarderPid int    `json:"forwarder_pid,omitempty"`
	Error        string `json:"error,omitempty"`
}

// CleanEnv is this process's environment without myctr's internal
// variables.
func CleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "_MYCTR_") {
			env = append(env, e)
		}
	}
	return env
}

// Main is the watcher stage (see package network's documentation,
// "Lifetime"). fd 3 is a pidfd of the container's init, fd 4 the pipe for
// the one report to package network. It returns the exit code.
func Main() int {
	nsexec.CheckVersion()
	// PR_SET_PDEATHSIG fires when the thread that forked the tool exits:
	// fork from a thread that lives as long as the process.
	runtime.LockOSThread()
	w := inherit()
	if err := w.readSpec(); err != nil {
		return w.fail(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if w.spec.Mode == ModeForward {
		return w.forwardOnly(sigs)
	}
	tl, err := newTool(w.spec)
	if err != nil {
		return w.fail(err)
	}
	defer tl.close()
	toolp, err := startTool(w.spec, tl, sigs)
	if err != nil {
		return w.fail(err)
	}
	fwd, err := w.startForwarding()
	if err != nil {
		toolp.stop()
		return w.fail(err)
	}
	st := Status{Pid: toolp.pid()}
	if fwd != nil {
		st.ForwarderPid = fwd.pid()
	}
	logf("%s ready, pid %d", w.spec.Mode, toolp.pid())
	w.report(st)
	if err := w.handOffProc(toolp, fwd, w.spec.Mode, tl.held(), sigs); err != nil {
		logf("supervising here: %v", err)
	}
	return w.supervise(toolp, fwd, sigs)
}

// handOffProc executes myctr-monitor's watch (cmd/myctr-monitor) in this
// process's place: the supervision of toolp (named name in the log) and
// fwd (nil: none), for the container's life, as a small static program
// instead of this Go binary, the same process (their parent, on this
// very thread, which forked them: their PR_SET_PDEATHSIG is tied to it).
// The pidfd of the init and what the tool needs held go with it. It
// returns only when that fails; without myctr-monitor installed it does
// nothing.
//
// A signal that came before is left in sigs for the supervision here;
// from then on until myctr-monitor catches them, SIGTERM, SIGINT and
// SIGHUP have their default action, which ends this process and with it
// the tool and the forwarder, as the signal asks.
//
// Preconditions: called on the locked thread that started the processes.
func (w *watcher) handOffProc(toolp, fwd *proc, name string, held []*os.File, sigs chan os.Signal) error {
	bin := nsexec.Companion("myctr-monitor")
	if bin == "" {
		return nil
	}
	caught := []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP}
	signal.Reset(caught...)
	defer signal.Notify(sigs, caught...) // when not handed over
	select {
	case sig := <-sigs:
		sigs <- sig
		return fmt.Errorf("%v came first", sig)
	default:
	}
	fwdPid := 0
	if fwd != nil {
		fwdPid = fwd.pid()
	}
	keep := []int{w.initFd}
	for _, f := range held {
		keep = append(keep, int(f.Fd()))
	}
	for _, fd := range keep {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return err
		}
	}
	argv := []string{"myctr-network-watch", "watch", "init=" + strconv.Itoa(w.initFd),
		"tool=" + strconv.Itoa(toolp.pid()), "fwd=" + strconv.Itoa(fwdPid), "name=" + name}
	err := syscall.Exec(bin, argv, CleanEnv())
	for _, fd := range keep {
		syscall.CloseOnExec(fd)
	}
	return fmt.Errorf("execute %s: %w", bin, err)
}

// forwardOnly is Main for ModeForward: the forwarder is the network's one
// process (its pid is reported as both), and the watcher ends it with
// the container.
func (w *watcher) forwardOnly(sigs chan os.Signal) int {
	if len(w.spec.Forward) == 0 {
		return w.fail(errors.New("mode forward with no port to forward"))
	}
	fwd, err := w.startForwarding()
	if err != nil {
		return w.fail(err)
	}
	w.report(Status{Pid: fwd.pid(), ForwarderPid: fwd.pid()})
	// The forwarder is the one process to supervise: myctr-monitor's
	// watch treats it as the tool.
	if err := w.handOffProc(fwd, nil, "the port forwarder", nil, sigs); err != nil {
		logf("supervising here: %v", err)
	}
	select {
	case <-waitReadable(w.initFd):
		logf("container exited: stopping the port forwarder")
	case s := <-sigs:
		logf("%v: stopping the port forwarder", s)
	case err := <-fwd.exited:
		logf("port forwarder exited while the container runs: %v", err)
		return 1
	}
	_ = fwd.cmd.Process.Kill()
	<-fwd.exited
	return 0
}

// logf writes one line of the watcher's log (its stderr, the network
// log).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s network-watch[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
}

// watcher is what Main inherited: the spec, the fds and the report.
type watcher struct {
	spec      Spec
	initFd    int      // a pidfd of the container's init
	status    *os.File // for the one report; nil once sent
	listeners []*os.File
}

// inherit takes fds 3 and 4 from package network.
func inherit() *watcher {
	w := &watcher{initFd: 3}
	// Inherited without close-on-exec: keep them from the tool.
	syscall.CloseOnExec(w.initFd)
	syscall.CloseOnExec(4)
	w.status = os.NewFile(4, "status")
	return w
}

// readSpec reads the Spec and takes the listening sockets it names.
func (w *watcher) readSpec() error {
	if err := json.Unmarshal([]byte(os.Getenv(EnvSpec)), &w.spec); err != nil {
		return fmt.Errorf("bad spec: %w", err)
	}
	os.Unsetenv(EnvSpec)
	os.Unsetenv(nsexec.EnvStage)
	for _, p := range w.spec.Forward {
		syscall.CloseOnExec(p.Fd)
		w.listeners = append(w.listeners, os.NewFile(uintptr(p.Fd), "listener"))
	}
	if w.spec.Dir != "" {
		if err := os.Chdir(w.spec.Dir); err != nil {
			return err // "chdir DIR: ..." already
		}
	}
	return nil
}

// report sends st to package network, once.
func (w *watcher) report(st Status) {
	if w.status == nil {
		return
	}
	b, _ := json.Marshal(st)
	_, _ = w.status.Write(b)
	w.status.Close()
	w.status = nil
}

// fail logs and reports err, and returns Main's exit code.
func (w *watcher) fail(err error) int {
	msg := err.Error()
	logf("%s", msg)
	w.report(Status{Error: msg})
	return 1
}

// startForwarding starts myctr's port forwarder when the spec has ports
// for it (nil otherwise), and closes the watcher's listening sockets.
func (w *watcher) startForwarding() (*proc, error) {
	defer func() {
		for _, f := range w.listeners {
			f.Close() // the forwarder has its copies
		}
	}()
	if len(w.spec.Forward) == 0 {
		return nil, nil
	}
	cmd, err := startForwarder(w.spec, w.initFd, w.listeners)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ForwarderFailed, err)
	}
	fwd := &proc{cmd: cmd, exited: make(chan error, 1)}
	go func() { fwd.exited <- cmd.Wait() }()
	logf("port forwarder ready, pid %d", fwd.pid())
	return fwd, nil
}

// supervise waits until the container's init exits or a signal comes,
// then stops the tool and the forwarder (fwd may be nil) and returns 0.
// When the tool exits first it returns 1; when the forwarder does, the
// rest of the network stays up.
func (w *watcher) supervise(toolp, fwd *proc, sigs <-chan os.Signal) int {
	initGone := waitReadable(w.initFd)
	var fwdExited <-chan error
	if fwd != nil {
		fwdExited = fwd.exited
	}
	stopAll := func() {
		if fwd != nil {
			_ = fwd.cmd.Process.Kill()
		}
		toolp.stop()
	}
	for {
		select {
		case <-initGone:
			logf("container exited: stopping %s", w.spec.Mode)
			stopAll()
			return 0
		case s := <-sigs:
			logf("%v: stopping %s", s, w.spec.Mode)
			stopAll()
			return 0
		case err := <-toolp.exited:
			logf("%s exited while the container runs: %v", w.spec.Mode, err)
			if fwd != nil {
				_ = fwd.cmd.Process.Kill()
			}
			return 1
		case err := <-fwdExited:
			// The published ports are gone; the rest of the network
			// stays up for the container.
			logf("port forwarder exited while the container runs: %v", err)
			fwd, fwdExited = nil, nil
		}
	}
}

// waitReadable returns a channel that receives when fd polls readable
// (a pidfd: the process exited) or the poll fails.
func waitReadable(fd int) <-chan error {
	gone := make(chan error, 1)
	go func() {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			gone <- err
			return
		}
	}()
	return gone
}

// ForwarderFailed begins the watcher's report when the forwarder did not
// start; package network's hint then names the other port handler.
const ForwarderFailed = "start the port forwarder"

// startForwarder starts the port forwarder (package portfwd, in
// myctr-init, else in this binary) in the user and
// network namespaces of the container's init (initFd, a pidfd), with the
// host's listening sockets, and waits for its report. Like the tool, it
// dies with the watcher. It is myctr-monitor's forward (C) where that is
// installed, else the network-forward stage.
func startForwarder(spec Spec, initFd int, listeners []*os.File) (*exec.Cmd, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	fs := portfwd.Spec{Guest: spec.GuestAddr, Gateway: spec.Gateway}
	files := []*os.File{os.NewFile(uintptr(initFd), "init"), readyW}
	for i, p := range spec.Forward {
		fs.Ports = append(fs.Ports, portfwd.Port{Fd: 3 + len(files), ContainerPort: p.ContainerPort, Protocol: p.Protocol})
		files = append(files, listeners[i])
	}
	var cmd *exec.Cmd
	if relay := nsexec.Companion("myctr-monitor"); relay != "" {
		// The C relay, executed here on the host and joining the
		// init's namespaces itself: its memory stays the host's.
		cmd = exec.Command(relay)
		cmd.Args = portfwd.RelayArgs(fs, os.Getpid())
		cmd.Env = CleanEnv()
	} else {
		b, err := json.Marshal(fs)
		if err != nil {
			readyW.Close()
			return nil, err
		}
		cmd = exec.Command(nsexec.Binary())
		cmd.Args = []string{"myctr-port-forward"}
		cmd.Env = append(CleanEnv(), nsexec.EnvStage+"="+portfwd.Stage, portfwd.EnvSpec+"="+string(b),
			nsexec.EnvVersion+"="+nsexec.Version,
			nsexec.EnvJoinFD+"=3", nsexec.EnvJoinNS+"=user,net", nsexec.EnvJoinCaps+"=net_admin")
	}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, err
	}
	_ = readyR.SetReadDeadline(time.Now().Add(ReadyTimeout))
	msg, err := io.ReadAll(io.LimitReader(readyR, 4096))
	if err == nil && string(msg) != "ok" {
		err = errors.New(strings.TrimSpace(string(msg)))
		if len(msg) == 0 {
			err = errors.New("exited without a report (see above)")
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return cmd, nil
}
