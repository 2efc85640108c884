package netholder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netdns"
	"github.com/myctr/myctr/frontend/netplumb"
	"github.com/myctr/myctr/protocol/flock"
)

// envMapped marks the holder's second start, once its maps are written.
const envMapped = "_MYCTR_HOLDER_MAPPED"

// idleExit is how long the holder stays with no container attached.
const idleExit = 5 * time.Second

// upstreamDNS is the DNS forwarder of the holder's way out (package
// network: 10.0.2.3 for both tools), where names that are not the
// containers' go.
var upstreamDNS = netip.MustParseAddrPort("10.0.2.3:53")

// Main is the holder stage: started by Open in a new user and network
// namespace, with fd 3 the pipe on which the frontend says the maps are
// written and fd 4 the pipe for its one report ("ok" or an error). It
// returns the exit code.
func Main() int {
	if os.Getenv(envMapped) == "" {
		// Unmapped, this process has no capabilities that survive an
		// exec; mapped, the exec makes it root of its namespace.
		f := os.NewFile(3, "mapped")
		var b [1]byte
		if n, _ := f.Read(b[:]); n != 1 {
			logf("the frontend did not write the maps")
			return 1
		}
		f.Close()
		os.Setenv(envMapped, "1")
		err := unix.Exec("/proc/self/exe", os.Args, os.Environ())
		logf("re-execute in the user namespace: %v", err)
		return 1
	}
	ready := os.NewFile(4, "ready")
	unix.CloseOnExec(4)
	h, l, err := setUp(os.Getenv(envDir), os.Getenv(envUplink))
	if err != nil {
		logf("%v", err)
		ready.WriteString(err.Error())
		ready.Close()
		return 1
	}
	ready.WriteString("ok")
	ready.Close()
	logf("ready: uplink %s", h.uplink)
	return h.serve(l)
}

// holder is the holder's state: every attachment, by network.
type holder struct {
	dir, uplink string
	lock        *flock.File // taken exclusively to leave
	dns         *netdns.Server
	userNS      uint64 // the inode of our user namespace

	mu        sync.Mutex
	nets      map[string]*netState
	idleSince time.Time
}

type netState struct {
	n       Network
	members map[string]*member // by container id
	udp     net.PacketConn
	tcp     net.Listener
}

type member struct {
	id    string
	names []string
	addr  netip.Addr
	addr6 netip.Addr // on a dual-stack network; else zero
	veth  string
	pidfd int
}

func setUp(dir, uplink string) (*holder, *net.UnixListener, error) {
	if dir == "" || uplink == "" {
		return nil, nil, errors.New("started without its directory or uplink")
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("set lo up: %w", err)
	}
	if err := netplumb.EnableForwarding(); err != nil {
		return nil, nil, err
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &st); err != nil {
		return nil, nil, err
	}
	lock, err := flock.Open(filepath.Join(dir, lockFile), 0o600)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, controlSocket)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false) // a leaving holder removes it under the lock
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, nil, err
	}
	h := &holder{dir: dir, uplink: uplink, lock: lock, userNS: st.Ino, nets: map[string]*netState{}, idleSince: time.Now(),
		dns: netdns.New([]netip.AddrPort{upstreamDNS}, os.Stderr)}
	return h, l, nil
}

// serve answers requests until the holder has been idle for idleExit (or
// is told to end), then leaves.
func (h *holder) serve(l *net.UnixListener) int {
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			go h.handle(c)
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case s := <-sigs:
			logf("%v: leaving", s)
			os.Remove(filepath.Join(h.dir, controlSocket))
			return 0
		case <-tick.C:
			if h.leave() {
				logf("idle: leaving")
				return 0
			}
		}
	}
}

// leave reports whether the holder may go, and if so removes its socket:
// idle long enough, and no frontend between a container's start and its
// attach (each holds the lock shared until then).
func (h *holder) leave() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.nets) > 0 || time.Since(h.idleSince) < idleExit {
		return false
	}
	ok, err := h.lock.TryLock(flock.Exclusive)
	if err != nil || !ok {
		return false
	}
	// Held until the process ends, so that no frontend finds the socket
	// and a leaving holder behind it.
	os.Remove(filepath.Join(h.dir, controlSocket))
	return true
}

// handle reads one request, with the fd an attach carries, and answers.
func (h *holder) handle(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(replyTimeout))
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	fd := -1
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil {
			for i, f := range fds {
				if i == 0 {
					fd = f
					unix.CloseOnExec(f)
				} else {
					unix.Close(f)
				}
			}
		}
	}
	rest, _ := io.ReadAll(io.LimitReader(c, int64(maxMessage-n)))
	var req Request
	reply := &Reply{}
	if err := json.Unmarshal(append(buf[:n], rest...), &req); err != nil {
		reply.Error = "bad request: " + err.Error()
	} else if err := req.validate(); err != nil {
		reply.Error = err.Error()
	} else if req.Op == OpPing {
		reply.Pid = os.Getpid()
	} else if req.Op == OpDetach {
		reply = h.detach(&req)
	} else if req.Op == OpRename {
		reply = h.rename(&req)
	} else if fd < 0 {
		reply.Error = "an attach without the init's pidfd"
	} else {
		reply, fd = h.attach(&req, fd)
	}
	if fd >= 0 {
		unix.Close(fd)
	}
	if reply.Error != "" {
		for k, e := range errorKinds {
			if bytes.Contains([]byte(reply.Error), []byte(e.Error())) {
				reply.Kind = k
			}
		}
	}
	b, _ := json.Marshal(reply)
	c.Write(b)
}

// attach puts the process of pidfd onto the request's network. It returns
// the reply and the fd left for the caller to close (-1: kept, to watch).
func (h *holder) attach(req *Request, pidfd int) (*Reply, int) {
	fail := func(format string, args ...any) (*Reply, int) {
		msg := fmt.Sprintf(format, args...)
		logf("attach %s to %s: %s", req.ContainerID[:12], req.Network.Name, msg)
		return &Reply{Error: msg}, pidfd
	}
	netns, err := h.openNetNS(pidfd)
	if err != nil {
		return fail("%v", err)
	}
	defer unix.Close(netns)

	h.mu.Lock()
	defer h.mu.Unlock()
	n := req.Network
	ns, err := h.network(n)
	if err != nil {
		return fail("%v", err)
	}
	if old := ns.members[req.ContainerID]; old != nil {
		h.dropMember(ns, old) // its earlier run's, not yet seen to end
	}
	addr, err := allocate(n, req.IP, func(a netip.Addr) bool {
		for _, m := range ns.members {
			if m.addr == a {
				return true
			}
		}
		return false
	})
	if err != nil {
		h.dropIfEmpty(ns)
		return fail("%v", err)
	}
	m := &member{id: req.ContainerID, names: req.Names, addr: addr, veth: netplumb.VethName(req.ContainerID, n.Name), pidfd: pidfd}
	if n.Subnet6.IsValid() {
		if m.addr6, err = allocate6(n, func(a netip.Addr) bool {
			for _, o := range ns.members {
				if o.addr6 == a {
					return true
				}
			}
			return false
		}); err != nil {
			h.dropIfEmpty(ns)
			return fail("%v", err)
		}
	}
	if err := netplumb.AttachVeth(n.Bridge, m.veth, netns, req.Interface, mtu(n)); err != nil {
		h.dropIfEmpty(ns)
		return fail("%v", err)
	}
	// The holder configures the container's end itself: it may, as root
	// of the user namespace that owns the container's network namespace,
	// and so a running container (network connect) is served as a
	// starting one is.
	peer := netplumb.Peer{Name: req.Interface, Address: netip.PrefixFrom(addr, n.Subnet.Bits()), Metric: routeMetric + InterfaceIndex(req.Interface)}
	if m.addr6.IsValid() {
		peer.Address6 = netip.PrefixFrom(m.addr6, n.Subnet6.Bits())
	}
	if !n.Internal {
		peer.Gateway, peer.Gateway6 = n.Gateway, n.Gateway6
	}
	if err := netplumb.ConfigurePeer(netns, peer); err != nil {
		if derr := netplumb.DetachVeth(m.veth); derr != nil {
			logf("%v", derr)
		}
		h.dropIfEmpty(ns)
		return fail("%v", err)
	}
	ns.members[m.id] = m
	h.setRecords()
	go h.watch(ns, m)
	logf("attached %s to %s as %s (%s)", m.id[:12], n.Name, addr, m.veth)
	r := &Reply{Address: netip.PrefixFrom(addr, n.Subnet.Bits()).String(), Gateway: n.Gateway.String(), MTU: mtu(n)}
	if m.addr6.IsValid() {
		r.Address6, r.Gateway6 = peer.Address6.String(), n.Gateway6.String()
	}
	if n.DNS {
		r.Nameserver = n.Gateway.String()
	}
	return r, -1
}

// routeMetric is the metric of eth0's default route; ethN's is
// routeMetric+N, so that the first network's way out is preferred and
// each network's route can be there at once (netavark's scheme).
const routeMetric = 100

// detach takes a container off a network (network disconnect): its veth
// (and with it the container's end) and its names go.
func (h *holder) detach(req *Request) *Reply {
	h.mu.Lock()
	defer h.mu.Unlock()
	ns := h.nets[req.Network.Name]
	if ns == nil || ns.members[req.ContainerID] == nil {
		return &Reply{} // not attached (any more): nothing to do
	}
	h.dropMember(ns, ns.members[req.ContainerID])
	h.dropIfEmpty(ns)
	logf("detached %s from %s on request", req.ContainerID[:12], req.Network.Name)
	return &Reply{}
}

// rename gives a member of a network the request's names (its new name
// and its aliases): the DNS server answers them from then on, and the
// old name no more. A container not on the network is no error: its next
// start attaches it under its new name.
func (h *holder) rename(req *Request) *Reply {
	h.mu.Lock()
	defer h.mu.Unlock()
	ns := h.nets[req.Network.Name]
	if ns == nil || ns.members[req.ContainerID] == nil {
		return &Reply{}
	}
	ns.members[req.ContainerID].names = req.Names
	h.setRecords()
	logf("renamed %s on %s to %s", req.ContainerID[:12], req.Network.Name, req.Names[0])
	return &Reply{}
}

func mtu(n Network) int {
	if n.MTU == 0 {
		return DefaultMTU
	}
	return n.MTU
}

// openNetNS returns the network namespace of the process of pidfd, after
// checking that it is in our user namespace (so that we may move a veth
// into it) and not our own network namespace.
func (h *holder) openNetNS(pidfd int) (int, error) {
	pid, err := pidOf(pidfd)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/user", pid), &st); errors.Is(err, unix.EACCES) {
		// Not ours to look into: a process outside our namespace.
		return -1, ErrForeign
	} else if err != nil {
		return -1, fmt.Errorf("the container's init: %w", err)
	}
	if st.Ino != h.userNS {
		return -1, ErrForeign
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("the container's network namespace: %w", err)
	}
	var own, its unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &own); err == nil {
		if err = unix.Fstat(fd, &its); err == nil && own.Ino == its.Ino {
			unix.Close(fd)
			return -1, errors.New("the container's init is in the holder's own network namespace")
		}
	}
	// Still the process the pidfd names: the paths above were not a
	// recycled pid's.
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("the container's init ended: %w", err)
	}
	return fd, nil
}

// pidOf reads the pid a pidfd names from its fdinfo.
func pidOf(pidfd int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", pidfd))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Pid:")); ok {
			pid, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || pid <= 0 {
				return 0, errors.New("the container's init has ended")
			}
			return pid, nil
		}
	}
	return 0, errors.New("the fd sent is not a pidfd")
}

// network returns the state of network n, making its bridge, firewall
// and DNS server when it has no member yet. Called with h.mu held.
func (h *holder) network(n Network) (*netState, error) {
	if ns := h.nets[n.Name]; ns != nil {
		if ns.n == n {
			return ns, nil
		}
		if len(ns.members) > 0 {
			return nil, fmt.Errorf("network %s was made again with other settings while containers of its earlier settings run", n.Name)
		}
		h.dropNetwork(ns)
	}
	for _, o := range h.nets {
		if o.n.Bridge == n.Bridge || o.n.Subnet.Overlaps(n.Subnet) || (n.Subnet6.IsValid() && o.n.Subnet6.Overlaps(n.Subnet6)) {
			return nil, fmt.Errorf("network %s overlaps network %s, which containers still use", n.Name, o.n.Name)
		}
	}
	ns := &netState{n: n, members: map[string]*member{}}
	if err := netplumb.EnsureBridge(n.Bridge, netip.PrefixFrom(n.Gateway, n.Subnet.Bits()), mtu(n)); err != nil {
		return nil, err
	}
	var gw6 netip.Prefix
	if n.Subnet6.IsValid() {
		gw6 = netip.PrefixFrom(n.Gateway6, n.Subnet6.Bits())
	}
	if err := netplumb.EnsureBridge6(n.Bridge, gw6); err != nil {
		if rerr := netplumb.RemoveBridge(n.Bridge); rerr != nil {
			logf("%v", rerr)
		}
		return nil, err
	}
	h.nets[n.Name] = ns
	if err := h.firewall(); err != nil {
		h.dropNetwork(ns)
		return nil, err
	}
	if n.DNS {
		if err := h.serveDNS(ns); err != nil {
			h.dropNetwork(ns)
			return nil, err
		}
	}
	return ns, nil
}

func (h *holder) firewall() error {
	var fw []netplumb.FirewallNet
	for _, ns := range h.nets {
		fw = append(fw, netplumb.FirewallNet{Bridge: ns.n.Bridge, Subnet: ns.n.Subnet, Internal: ns.n.Internal})
	}
	return netplumb.Firewall(h.uplink, fw)
}

// serveDNS starts the network's DNS server on its gateway's port 53.
func (h *holder) serveDNS(ns *netState) error {
	addr := netip.AddrPortFrom(ns.n.Gateway, 53).String()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return fmt.Errorf("DNS server of network %s: %w", ns.n.Name, err)
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("DNS server of network %s: %w", ns.n.Name, err)
	}
	ns.udp, ns.tcp = pc, l
	h.dns.SetNetwork(ns.n.Name, nil, ns.n.Internal)
	go h.dns.ServeUDP(ns.n.Name, pc)
	go h.dns.ServeTCP(ns.n.Name, l)
	return nil
}

// setRecords gives the DNS server every network's names, and the views
// of the containers on more than one network: each of those is answered,
// on any of its networks, from the records of all of them. Called with
// h.mu held, after any change of membership.
func (h *holder) setRecords() {
	on := map[string][]*netState{} // container id: its DNS networks
	recs := map[*netState][]netdns.Record{}
	for _, ns := range h.nets {
		if !ns.n.DNS {
			continue
		}
		for _, m := range ns.members {
			on[m.id] = append(on[m.id], ns)
			addrs := []netip.Addr{m.addr}
			if m.addr6.IsValid() {
				addrs = append(addrs, m.addr6)
			}
			recs[ns] = append(recs[ns], netdns.Record{Names: m.names, Addrs: addrs})
		}
		if recs[ns] == nil {
			recs[ns] = []netdns.Record{}
		}
	}
	for ns, own := range recs {
		var views []netdns.View
		for _, m := range ns.members {
			if len(on[m.id]) < 2 {
				continue
			}
			all := append([]netdns.Record(nil), own...)
			for _, other := range on[m.id] {
				if other != ns {
					all = append(all, recs[other]...)
				}
			}
			views = append(views, netdns.View{Client: m.addr, Records: all})
		}
		h.dns.SetNetwork(ns.n.Name, own, ns.n.Internal, views...)
	}
}

// watch waits for the member's init to end, then takes it off (unless a
// later run of the container took its place). The pidfd is its to close.
func (h *holder) watch(ns *netState, m *member) {
	defer unix.Close(m.pidfd)
	fds := []unix.PollFd{{Fd: int32(m.pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
			break
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ns.members[m.id] == m {
		h.dropMember(ns, m)
		h.dropIfEmpty(ns)
		logf("detached %s from %s", m.id[:12], ns.n.Name)
	}
}

// dropMember takes m off its network. Called with h.mu held.
func (h *holder) dropMember(ns *netState, m *member) {
	delete(ns.members, m.id)
	if err := netplumb.DetachVeth(m.veth); err != nil {
		logf("%v", err)
	}
	h.setRecords()
}

// dropIfEmpty removes a network no container is on. Called with h.mu
// held.
func (h *holder) dropIfEmpty(ns *netState) {
	if len(ns.members) == 0 {
		h.dropNetwork(ns)
	}
}

func (h *holder) dropNetwork(ns *netState) {
	if ns.udp != nil {
		ns.udp.Close()
		ns.tcp.Close()
	}
	h.dns.RemoveNetwork(ns.n.Name)
	if err := netplumb.RemoveBridge(ns.n.Bridge); err != nil {
		logf("%v", err)
	}
	delete(h.nets, ns.n.Name)
	if err := h.firewall(); err != nil {
		logf("%v", err)
	}
	if len(h.nets) == 0 {
		h.idleSince = time.Now()
	}
}

// logf writes one line to the holder's log.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s network-holder[%d]: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), fmt.Sprintf(format, args...))
}
