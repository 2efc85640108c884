package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netwatch"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

// Files in stateDir.
const (
	LogFile      = "network.log" // the watcher's and the tool's output
	pastaPidFile = "pasta.pid"
)

// Handle is a running network: the watcher and its tool.
type Handle struct {
	watcher *exec.Cmd
	done    chan struct{} // closed when the watcher is reaped
	pid     int
	fwdPid  int
	ports   []PortMapping
	logPath string
	once    sync.Once
	err     error
}

// Pid returns the pid of the pasta or slirp4netns process.
func (h *Handle) Pid() int { return h.pid }

// ForwarderPid returns the pid of myctr's port forwarder, or 0 when the
// network has none.
func (h *Handle) ForwarderPid() int { return h.fwdPid }

// WatcherPid returns the pid of the watcher that owns the tool.
func (h *Handle) WatcherPid() int { return h.watcher.Process.Pid }

// Ports returns the published ports, with the host ports actually chosen
// for HostPort 0.
func (h *Handle) Ports() []PortMapping { return append([]PortMapping(nil), h.ports...) }

// Stop ends the tool and its watcher and waits for them. It is idempotent,
// and returns nil when the network had already ended with the container.
func (h *Handle) Stop() error {
	h.once.Do(func() {
		select {
		case <-h.done:
			return
		default:
		}
		// Again every 200 ms: a SIGTERM that comes while the watcher
		// hands over to myctr-monitor (netwatch) may find neither
		// program's handler; a later one finds one or the other, or the
		// default action, which ends the watcher and its children too.
		_ = h.watcher.Process.Signal(syscall.SIGTERM)
		again := time.NewTicker(200 * time.Millisecond)
		defer again.Stop()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case <-h.done:
				return
			case <-again.C:
				_ = h.watcher.Process.Signal(syscall.SIGTERM)
				continue
			case <-deadline:
				// The tool dies with the watcher (PR_SET_PDEATHSIG).
				_ = h.watcher.Process.Kill()
				<-h.done
				h.err = &Error{Err: ErrStart, Msg: "network watcher did not stop within 10s; killed it" + logTail(h.logPath)}
			}
			return
		}
	})
	return h.err
}

// tunDevice is the tap device both tools need; a variable for tests.
var tunDevice = "/dev/net/tun"

// Start attaches the network to the net namespace of pid (through
// /proc/PID/ns/net and /proc/PID/ns/user) and returns when the namespace
// has a configured interface (address, default route, MTU) and the host
// ports are published. stateDir is a private directory for the tool's
// socket, pid file and log.
//
// Preconditions: pid is the container's init, not yet running the
// container's process, and a child of the caller (so that it cannot be
// recycled under us); myctr-init (or the running binary) dispatches
// netwatch.Stage to netwatch.Main.
func Start(cfg Config, pid int, stateDir string) (*Handle, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	tool, err := exec.LookPath(s.mode)
	if err != nil {
		pkg := "passt"
		if s.mode == ModeSlirp4netns {
			pkg = "slirp4netns"
		}
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrNoNetworkTool, err), Msg: "--network " + s.mode,
			Hint: fmt.Sprintf("install the %s package (apt-get install %s), or choose another --network", pkg, pkg)}
	}
	// Both tools open /dev/net/tun as the user: without udev (containers,
	// minimal systems) it is often 0600, and the tool's own message would
	// come from deep in its log.
	if err := unix.Access(tunDevice, unix.R_OK|unix.W_OK); err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: %s: %v", ErrStart, tunDevice, err), Msg: "--network " + s.mode + " needs " + tunDevice,
			Hint: "as root: chmod 0666 " + tunDevice + " (what a distribution's udev rule does), or run with --network none"}
	}
	all, listeners, err := reservePorts(s.ports, s.forwarded)
	if err != nil {
		return nil, err
	}
	s.ports = all
	defer func() {
		for _, f := range listeners {
			f.Close() // the watcher has its copies
		}
	}()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: pidfd_open %d: %v", ErrNoProcess, pid, err), Msg: "attach network"}
	}
	pidFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidFile.Close()

	spec := netwatch.Spec{Mode: s.mode, Tool: tool, GuestAddr: s.addr(100), Gateway: s.addr(2)}
	for _, p := range s.ports {
		if s.forwarded(p) {
			spec.Forward = append(spec.Forward, portfwd.Port{Fd: 5 + len(spec.Forward), ContainerPort: p.ContainerPort, Protocol: p.Protocol})
		} else {
			spec.Hostfwds = append(spec.Hostfwds, netwatch.Hostfwd{HostIP: p.HostIP, HostPort: p.HostPort, GuestPort: p.ContainerPort, Protocol: p.Protocol})
		}
	}
	switch s.mode {
	case ModePasta:
		spec.PidFile = filepath.Join(stateDir, pastaPidFile)
		spec.Args = s.pastaArgs(pid, spec.PidFile)
		if err := os.Remove(spec.PidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove %s: %w", spec.PidFile, err)
		}
	case ModeSlirp4netns:
		spec.APISocket = filepath.Join(stateDir, netwatch.APISocketFile)
		// A socket's path must fit in 108 bytes; stateDir may not. The tool
		// and the watcher run in stateDir and name the socket relatively.
		spec.Dir = stateDir
		spec.Args = s.slirpArgs(pid, netwatch.APISocketFile)
		if err := os.Remove(spec.APISocket); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove %s: %w", spec.APISocket, err)
		}
	}
	return startWatcher(spec, pidFile, listeners, s.ports, stateDir)
}

// StartForward publishes ports of a container whose network namespace
// another process connects (a named network's holder): a watcher with no
// tool, and myctr's port forwarder in the namespaces of the init (pid, as
// for Start), sending to guest, the container's address; gateway is the
// source it shows for clients with no IPv4 address. Every port goes
// through the forwarder, which keeps the client's address.
func StartForward(ports []PortMapping, pid int, guest, gateway netip.Addr, stateDir string) (*Handle, error) {
	if err := ValidateForward(ports); err != nil {
		return nil, err
	}
	all, listeners, err := reservePorts(ports, func(PortMapping) bool { return true })
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range listeners {
			f.Close() // the watcher has its copies
		}
	}()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: pidfd_open %d: %v", ErrNoProcess, pid, err), Msg: "publish ports"}
	}
	pidFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidFile.Close()
	spec := netwatch.Spec{Mode: netwatch.ModeForward, GuestAddr: guest.String(), Gateway: gateway.String()}
	for _, p := range all {
		spec.Forward = append(spec.Forward, portfwd.Port{Fd: 5 + len(spec.Forward), ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	return startWatcher(spec, pidFile, listeners, all, stateDir)
}

// startWatcher starts the watcher of spec (pidFile: a pidfd of the
// container's init; listeners: the host sockets of spec.Forward, in its
// order) and waits for its report.
func startWatcher(spec netwatch.Spec, pidFile *os.File, listeners []*os.File, ports []PortMapping, stateDir string) (*Handle, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}

	logPath := filepath.Join(stateDir, LogFile)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open network log: %w", err)
	}
	defer logf.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()

	cmd := exec.Command(nsexec.Binary())
	cmd.Args = []string{"myctr-network-watch", spec.Mode}
	cmd.Env = append(netwatch.CleanEnv(), nsexec.EnvStage+"="+netwatch.Stage, netwatch.EnvSpec+"="+string(specJSON),
		nsexec.EnvVersion+"="+nsexec.Version)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = append([]*os.File{pidFile, statusW}, listeners...) // fds 3, 4, then 5...
	// Its own session: no controlling terminal, no signal from the
	// terminal or the caller's process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrStart, err), Msg: "start the network watcher"}
	}
	statusW.Close()
	h := &Handle{watcher: cmd, done: make(chan struct{}), ports: ports, logPath: logPath}
	go func() { _ = cmd.Wait(); close(h.done) }()

	st, err := readStatus(statusR, netwatch.ReadyTimeout)
	if err == nil && st.Error != "" {
		err = errors.New(st.Error)
	}
	if err == nil && st.Pid <= 0 {
		err = errors.New("no pid reported")
	}
	if err != nil {
		_ = h.Stop()
		hint := "see " + logPath
		if spec.Mode == ModeSlirp4netns && strings.Contains(err.Error(), netwatch.ForwarderFailed) {
			hint += "; --network slirp4netns:port_handler=slirp4netns publishes TCP ports through slirp4netns instead"
		}
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrStart, err), Msg: "start " + spec.Mode + logTail(logPath),
			Hint: hint}
	}
	h.pid, h.fwdPid = st.Pid, st.ForwarderPid
	return h, nil
}

func readStatus(r *os.File, timeout time.Duration) (netwatch.Status, error) {
	var st netwatch.Status
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return st, fmt.Errorf("not ready after %v", timeout)
		}
		return st, err
	}
	if len(b) == 0 {
		return st, errors.New("the watcher exited without a report")
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("bad report %q: %v", b, err)
	}
	return st, nil
}

// logTail returns ": " and the last lines of the log, or "".
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return ": " + strings.Join(lines, "; ")
}
