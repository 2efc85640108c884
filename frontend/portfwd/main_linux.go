// Package portfwd is the port forwarder of rootless networks (slirp4netns
// mode): a process in the container's user and network namespaces that
// relays each published host socket to sockets it makes in the container's
// namespace from the client's own address. The network watcher (package
// network) starts it; its design is described in package network's
// documentation, "The port forwarder". The watcher runs the same relay in
// C (myctr-monitor forward, whose command line RelayArgs makes) where that
// is installed; this Go stage, linked into myctr-init, stands in for it
// elsewhere.
package portfwd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/nsexec"
)

const (
	// Stage is the forwarder's value of _MYCTR_STAGE: myctr-init and
	// myctr must call Main for it.
	Stage = nsexec.StageNetForward
	// EnvSpec carries the Spec, as JSON.
	EnvSpec = "_MYCTR_FORWARD_SPEC"

	// Mark marks the forwarder's sockets in the container's network
	// namespace, and numbers the routing table that makes the server's
	// replies to them local ("my").
	Mark = 0x6d79
	// rulePrio is the priority of the forwarder's rules: before the main
	// table (32766).
	rulePrio = 100
)

// connectTimeout bounds a connection to the container's server.
const connectTimeout = 30 * time.Second

// maxDialing bounds the connections being set up at once, each of which
// holds a thread in connect(2): past it, a new client is closed at once
// (a server whose backlog is full would otherwise pile them up).
const maxDialing = 256

// Spec is what the network watcher tells the forwarder (in EnvSpec).
type Spec struct {
	Guest   string // the container's address, where connections go
	Gateway string // the source shown for clients with no IPv4 address
	Ports   []Port
}

// Port is one published port: the listening (TCP) or bound (UDP)
// socket on the host, an inherited fd, and the container's port.
type Port struct {
	Fd            int
	ContainerPort uint16
	Protocol      string // "tcp" or "udp"
}

// Main is the forwarder stage. The binary's constructor (frontend/nsexec)
// has joined
// the user and network namespaces of the container's init and kept only
// CAP_NET_ADMIN; fd 4 is the pipe for the one report to the watcher ("ok"
// or an error), and the host's listening sockets are the fds in the spec.
// It returns the exit code (it normally runs until killed).
func Main() int {
	nsexec.CheckVersion()
	ready := os.NewFile(4, "ready")
	unix.CloseOnExec(4)
	fail := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		logf("%s", msg)
		if ready != nil {
			_, _ = ready.WriteString(msg)
			ready.Close()
		}
		return 1
	}
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv(EnvSpec)), &spec); err != nil {
		return fail("bad spec: %v", err)
	}
	guest, err := netip.ParseAddr(spec.Guest)
	if err != nil || !guest.Is4() {
		return fail("bad guest address %q", spec.Guest)
	}
	gateway, err := netip.ParseAddr(spec.Gateway)
	if err != nil || !gateway.Is4() {
		return fail("bad gateway address %q", spec.Gateway)
	}
	if err := checkPorts(spec.Ports); err != nil {
		return fail("%v", err)
	}
	if err := prepareNamespace(); err != nil {
		return fail("%v", err)
	}
	serves := make([]func() error, 0, len(spec.Ports))
	for _, p := range spec.Ports {
		f := os.NewFile(uintptr(p.Fd), "listener")
		unix.CloseOnExec(p.Fd)
		target := netip.AddrPortFrom(guest, p.ContainerPort)
		if p.Protocol == "udp" {
			c, err := net.FilePacketConn(f)
			f.Close()
			uc, ok := c.(*net.UDPConn)
			if err != nil || !ok {
				return fail("fd %d is not a UDP socket: %v", p.Fd, err)
			}
			serves = append(serves, func() error { return forwardUDP(uc, target, gateway) })
			continue
		}
		l, err := net.FileListener(f)
		f.Close()
		tl, ok := l.(*net.TCPListener)
		if err != nil || !ok {
			return fail("fd %d is not a TCP listener: %v", p.Fd, err)
		}
		serves = append(serves, func() error { return forward(tl, target, gateway) })
	}
	_, _ = ready.WriteString("ok")
	ready.Close()
	ready = nil

	errs := make(chan error, len(serves))
	for _, serve := range serves {
		go func() { errs <- serve() }()
	}
	err = <-errs
	return fail("%v", err)
}

// checkPorts refuses a spec whose ports the relay could not take: a
// descriptor below 5 (0 to 2, the init's pidfd, the report's pipe) or
// given twice, a protocol other than tcp and udp, container port 0.
func checkPorts(ports []Port) error {
	if len(ports) == 0 {
		return errors.New("no port to forward")
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p.Fd < 5 || seen[p.Fd] || (p.Protocol != "tcp" && p.Protocol != "udp") || p.ContainerPort == 0 {
			return fmt.Errorf("bad port in spec: %+v", p)
		}
		seen[p.Fd] = true
	}
	return nil
}

// RelayArgs is the command line of myctr-monitor's forward
// (cmd/myctr-monitor/forward.c says what each argument is), the C relay
// that the network watcher executes in place of this stage where it is
// installed: it joins the namespaces of the init whose pidfd is fd 3 and
// sets them up itself, reports on fd 4, and takes the ports at the fds
// spec names; parent is the watcher's pid.
func RelayArgs(spec Spec, parent int) []string {
	args := []string{"myctr-port-forward", "forward", "init=3", "ready=4", "guest=" + spec.Guest, "gateway=" + spec.Gateway,
		"mark=" + strconv.Itoa(Mark), "prio=" + strconv.Itoa(rulePrio), "parent=" + strconv.Itoa(parent)}
	for _, p := range spec.Ports {
		args = append(args, fmt.Sprintf("port=%d:%s:%d", p.Fd, p.Protocol, p.ContainerPort))
	}
	return args
}

// logf writes one line to the forwarder's log (the watcher's network.log).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s network-forward[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
}

// connLog logs failed connections, at most one line per second: a client
// that polls a server not listening yet would otherwise fill network.log
// for as long as the container runs. The lines left out are counted in the
// next one.
var connLog = &rateLog{every: time.Second}

type rateLog struct {
	mu      sync.Mutex
	every   time.Duration
	last    time.Time
	dropped int
	printf  func(format string, args ...any) // logf; a variable for tests
	now     func() time.Time                 // time.Now; a variable for tests
}

func (r *rateLog) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.printf
	if out == nil {
		out = logf
	}
	clock := r.now
	if clock == nil {
		clock = time.Now
	}
	if now := clock(); now.Sub(r.last) >= r.every {
		msg := fmt.Sprintf(format, args...)
		if r.dropped > 0 {
			msg += fmt.Sprintf(" (and %d more since the last line)", r.dropped)
		}
		out("%s", msg)
		r.last, r.dropped = now, 0
		return
	}
	r.dropped++
}

// prepareNamespace sets up the container's network namespace for
// transparent connections: the routing of marked packets (netif.MarkedLocal)
// and net.ipv4.tcp_fwmark_accept, so that the server's accepted socket
// takes the mark of the forwarder's SYN and its replies follow the rule.
func prepareNamespace() error {
	if err := netif.MarkedLocal(Mark, rulePrio); err != nil {
		return err
	}
	// /proc/sys/net is the namespace of the process that opens it: ours.
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_fwmark_accept", []byte("1"), 0); err != nil {
		return fmt.Errorf("set net.ipv4.tcp_fwmark_accept: %w", err)
	}
	return nil
}
