package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/protocol"
)

// A netDriver is one --network mode as a container's start sees it
// (rootlesskit's parent network drivers are the model). Whether the
// container has a network namespace of its own is the spec's to say
// (nsexec.InitNamespaces); the driver completes it, connects it once the
// init exists, records what it started and ends it with the container.
// newNetDriver is the one place that tells the modes apart.
type netDriver interface {
	// prepare runs before the init starts. It completes the spec's
	// namespaces (a joined one gets its path) and returns the pidfd
	// through which the init joins them, or nil.
	prepare(spec *specs.Spec) (join *os.File, err error)
	// attach connects the network namespace of the init (pid: our child,
	// not yet running the container's process) and returns the interface
	// the init configures itself, nil when it has none to configure.
	attach(spec *specs.Spec, pid int) (*netif.Config, error)
	// started lets go of what only the start needed, once the
	// container's process runs, and returns warnings for the user.
	started() []string
	// record writes what runs into the container's state.
	record(st *State)
	// stop ends the network: at the container's end, or with failed at a
	// start that failed. Warnings go to warn (nil: nowhere).
	stop(failed bool, warn io.Writer)
	// released says whether the container's end left nothing for `rm` to
	// release.
	released() bool
}

// newNetDriver returns the driver of c's network mode; m is the user's
// mapping.
func (s *Store) newNetDriver(c *Container, m *userns.Mapping) netDriver {
	if c.NetContainer() != "" {
		return &joinedNet{s: s, c: c}
	}
	if c.OnHelperBridge() {
		return &bridgeNet{s: s, c: c, network: c.HelperNetwork()}
	}
	if len(c.Networks) > 0 {
		return &namedNet{s: s, c: c, m: m}
	}
	if nc, ok := c.networkConfig(); ok {
		return &toolNet{c: c, cfg: nc}
	}
	return plainNet{} // none, host: nothing to attach
}

// plainNet is --network none (an isolated namespace with only lo) and
// --network host (the host's namespace): nothing runs for them.
type plainNet struct{}

func (plainNet) prepare(*specs.Spec) (*os.File, error)          { return nil, nil }
func (plainNet) attach(*specs.Spec, int) (*netif.Config, error) { return nil, nil }
func (plainNet) started() []string                              { return nil }
func (plainNet) record(*State)                                  {}
func (plainNet) stop(bool, io.Writer)                           {}
func (plainNet) released() bool                                 { return true }

// toolNet is --network pasta and slirp4netns: the tool, its watcher and
// myctr's port forwarder (package network).
type toolNet struct {
	c   *Container
	cfg network.Config
	h   *network.Handle
}

func (n *toolNet) prepare(*specs.Spec) (*os.File, error) { return nil, nil }

func (n *toolNet) attach(_ *specs.Spec, pid int) (*netif.Config, error) {
	var err error
	n.h, err = network.Start(n.cfg, pid, n.c.rundir)
	return nil, err // the tool configures the interface
}

func (n *toolNet) started() []string { return nil }

func (n *toolNet) record(st *State) {
	st.NetworkPid = n.h.Pid()
	st.PortForwarderPid = n.h.ForwarderPid()
	st.Ports = n.h.Ports()
}

func (n *toolNet) stop(bool, io.Writer) {
	if n.h != nil {
		n.h.Stop()
	}
}

func (n *toolNet) released() bool { return true }

// bridgeNet is --network bridge, or a bridge-helper network: the helper's
// bridge, attached by myctr-helper, which also publishes the ports. On a
// network, the container's port is in the network's group and the
// members' names are in each other's /etc/hosts.
type bridgeNet struct {
	s        *Store
	c        *Container
	network  string // the bridge-helper network; "" for --network bridge
	member   bool   // in the network's members
	bridge   *network.Bridge
	helper   *helperclient.Client // open until the start ends
	warnings []string             // its DNS
	done     bool                 // the helper released it at the container's end
}

func (n *bridgeNet) prepare(*specs.Spec) (*os.File, error) { return nil, nil }

// attach connects the init's network namespace to the helper's bridge and
// publishes the container's ports, then writes /etc/hosts and
// /etc/resolv.conf with the address it got.
func (n *bridgeNet) attach(spec *specs.Spec, pid int) (*netif.Config, error) {
	var err error
	if n.helper, err = helperclient.Connect(helperclient.Options{Interactive: true}); err != nil {
		return nil, err
	}
	opts := protocol.AttachOptions{Network: n.network}
	if n.bridge, err = network.AttachBridge(context.Background(), n.helper, n.c.ID, pid, n.c.HostConfig.PortBindings, opts); err != nil {
		return nil, err
	}
	if n.warnings, err = writeEtcFiles(n.c, spec, n.bridge); err != nil {
		return nil, err
	}
	if n.network != "" {
		if err := n.join(pid); err != nil {
			return nil, err
		}
	}
	return n.bridge.InterfaceConfig(), nil
}

// join makes the container a member of its network, when the network
// has DNS: its names go into the others' /etc/hosts, theirs into its.
func (n *bridgeNet) join(pid int) error {
	rec, err := n.s.networkRecord(n.network)
	if err != nil || !rec.DNSEnabled {
		return err
	}
	start, err := procStart(pid)
	if err != nil {
		return err
	}
	m := &helperMember{ID: n.c.ID, Pid: pid, PidStart: start, Address: n.bridge.Address.Addr().String(),
		Names: append([]string{n.c.Name, n.c.ID[:12]}, n.c.Networks[n.network].Aliases...)}
	if !n.c.HostConfig.NoHosts {
		m.Userdata = filepath.Join(n.c.runrel, "userdata")
	}
	n.member = true
	if err := n.s.joinHelperNet(n.network, m); err != nil {
		return fmt.Errorf("network %s: names: %w", n.network, err)
	}
	return nil
}

// leave takes the container out of its network's members.
func (n *bridgeNet) leave(warn io.Writer) {
	if !n.member {
		return
	}
	n.member = false
	if err := n.s.leaveHelperNet(n.network, n.c.ID); err != nil && warn != nil {
		fmt.Fprintf(warn, "Warning: network %s: names: %v\n", n.network, err)
	}
}

func (n *bridgeNet) started() []string {
	n.closeHelper() // and with it the polkit agent, if one was started
	return n.warnings
}

func (n *bridgeNet) closeHelper() {
	if n.helper != nil {
		n.helper.Close()
		n.helper = nil
	}
}

func (n *bridgeNet) record(st *State) {
	b := n.bridge
	st.Ports = b.Ports
	st.Bridge = &BridgeState{Bridge: b.Bridge, Address: b.Address.String(), Gateway: b.Gateway.String(), MTU: b.MTU}
	if n.network != "" {
		st.Networks = map[string]*BridgeState{n.network: st.Bridge}
	}
}

// stop asks the helper to release the network. At a failed start the
// connection that attached it is still open: best effort (the helper also
// reaps a dead namespace's network). At the container's end it does not
// ask for a password (a person may have left long ago): a refusal by
// polkit is expected then and said nowhere, and `rm` tries again; any
// other failure is a warning.
func (n *bridgeNet) stop(failed bool, warn io.Writer) {
	n.leave(warn)
	if n.bridge == nil {
		n.closeHelper()
		return
	}
	if failed {
		if n.helper != nil {
			_ = network.ReleaseBridge(context.Background(), n.helper, n.c.ID)
		}
		n.closeHelper()
		return
	}
	h, err := helperclient.Connect(helperclient.Options{})
	if err == nil {
		err = network.ReleaseBridge(context.Background(), h, n.c.ID)
		h.Close()
	}
	if err != nil && warn != nil && !errors.Is(err, protocol.ErrNotAuthorized) {
		fmt.Fprintf(warn, "Warning: %v\n", err)
	}
	n.done = err == nil
}

func (n *bridgeNet) released() bool { return n.bridge == nil || n.done }

// joinedNet is --network container:NAME: NAME's user and network
// namespaces, through a pidfd of its init, and its /etc/hosts and
// /etc/resolv.conf (as Podman, which binds the same files); the hostname
// stays the container's own (its own UTS namespace). NAME's network is
// NAME's to end.
type joinedNet struct {
	s *Store
	c *Container
}

func (n *joinedNet) prepare(spec *specs.Spec) (*os.File, error) {
	fd, dep, err := n.s.netContainerPidfd(n.c)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	if err := shareEtcFiles(n.c, dep, spec.Hostname); err != nil {
		f.Close()
		return nil, err
	}
	// The paths say which process's namespaces these are; the init joins
	// them through the pidfd, which cannot name a recycled pid. The
	// network namespace of a container on the host's network (a pod's
	// infra with --network host) is ours: no rootless user namespace may
	// join it, and the init needs not, as it is in it already; then the
	// spec has none, and none of its settings (net.* sysctls).
	host := sameNetns(dep.State.Pid)
	ok := false
	for i, ns := range spec.Linux.Namespaces {
		switch ns.Type {
		case specs.UserNamespace:
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", dep.State.Pid)
		case specs.NetworkNamespace:
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", dep.State.Pid)
			ok = true
		}
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%w: %s: --network container:%s, but its spec has no network namespace", ErrInvalidNetwork, n.c.Name, dep.Name)
	}
	if host {
		spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.NetworkNamespace })
		maps.DeleteFunc(spec.Linux.Sysctl, func(k, _ string) bool { return strings.HasPrefix(k, "net.") })
	}
	joinIPCAndUTS(n.c, spec, dep) // a pod's member: its IPC and UTS too
	return f, nil
}

func (n *joinedNet) attach(*specs.Spec, int) (*netif.Config, error) { return nil, nil }
func (n *joinedNet) started() []string                              { return nil }
func (n *joinedNet) record(*State)                                  {}
func (n *joinedNet) stop(bool, io.Writer)                           {}
func (n *joinedNet) released() bool                                 { return true }

// initNamespaces is the environment that tells the init's C constructor
// (nsenter.c) which namespaces to make and to join, from the spec.
func initNamespaces(spec *specs.Spec, join *os.File) ([]string, error) {
	unshare, joined, err := nsexec.InitNamespaces(spec)
	if err != nil {
		return nil, err
	}
	env := []string{nsexec.EnvInitNS + "=" + strings.Join(unshare, ",")}
	switch {
	case len(joined) > 0 && join == nil:
		return nil, errors.New("the spec joins namespaces of another process, but no pidfd names it")
	case len(joined) == 0 && join != nil:
		return nil, errors.New("a pidfd to join, but the spec joins no namespace")
	case len(joined) > 0:
		env = append(env, nsexec.EnvInitJoinNS+"="+strings.Join(joined, ","))
	}
	return env, nil
}

// sameNetns reports whether process pid is in this process's network
// namespace (the host's, for a --network host container).
func sameNetns(pid int) bool {
	var a, b unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &a) != nil || unix.Stat("/proc/self/ns/net", &b) != nil {
		return false
	}
	return a.Ino == b.Ino && a.Dev == b.Dev
}

// userJoin is how a container that does not join another's network joins
// another's user namespace: a member of a pod that does not share the
// network joins the infra's, with the IPC and UTS namespaces the pod
// shares; --ipc container:ID joins ID's, with its IPC namespace. Both go
// through a pidfd of that container's init. The container's network
// namespace is its own, made in that user namespace, and its network
// mode's as any container's. Nil for a container that joins none.
func (s *Store) userJoin(c *Container, spec *specs.Spec) (*os.File, error) {
	id, what := c.PodJoin, "the pod's infra container "
	if id == "" {
		id, what = c.IPCContainer(), "--ipc container:"
	}
	fd, dep, err := s.joinPidfd(c, id, what)
	if err != nil || fd < 0 {
		return nil, err
	}
	for i, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/user", dep.State.Pid)
		}
	}
	joinIPCAndUTS(c, spec, dep)
	return os.NewFile(uintptr(fd), "pidfd"), nil
}
