package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/protocol"
)

// pickTries is how often a host port picked for HostPort 0 is picked again
// when the helper finds it published already.
const pickTries = 3

// AttachBridge connects the container whose init is pid to the helper's
// bridge and publishes its ports: it checks that the helper serves bridges
// (and publishing, if there are ports), passes the init's user and network
// namespaces to AttachNetwork, and calls PublishPort for each port,
// picking a free host port for HostPort 0. On any failure it releases what
// it attached: the helper keeps nothing of the container.
//
// Preconditions: pid is the container's init, a child of the caller that
// has not yet run the container's process; its id maps are written.
func AttachBridge(ctx context.Context, h *helperclient.Client, container string, pid int, ports []PortMapping, opts protocol.AttachOptions) (b *Bridge, err error) {
	features := []string{protocol.FeatureBridge}
	if len(ports) > 0 {
		features = append(features, protocol.FeaturePublish)
	}
	if opts.Network != "" {
		features = append(features, protocol.FeatureNetworkGroups)
	}
	if err := h.Require(ctx, features...); err != nil {
		return nil, &Error{Err: err, Msg: "--network bridge"}
	}
	userns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrNoProcess, err), Msg: "open the container's user namespace"}
	}
	defer userns.Close()
	netns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrNoProcess, err), Msg: "open the container's network namespace"}
	}
	defer netns.Close()

	reply, err := h.AttachNetwork(ctx, userns, netns, container, opts)
	if errors.Is(err, protocol.ErrConflict) {
		// Attached with other namespaces: an earlier run of this
		// container whose network the helper has not reaped yet. This
		// run's launch lock says that run is over.
		if err = h.ReleaseNetwork(ctx, container); err == nil {
			reply, err = h.AttachNetwork(ctx, userns, netns, container, opts)
		}
	}
	release := func() {
		// A fresh context: ctx may be what ended.
		rctx, cancel := context.WithTimeout(context.Background(), helperclient.CallTimeout)
		defer cancel()
		_ = h.ReleaseNetwork(rctx, container)
	}
	if err != nil {
		if errors.Is(err, helperclient.ErrNoReply) {
			release() // the helper may have attached it all the same
		}
		return nil, &Error{Err: err, Msg: "attach the container to bridge " + protocol.DefaultBridge}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	b, err = bridgeFromReply(reply)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("%w: %v", ErrStart, err), Msg: "myctr-helper's answer to AttachNetwork"}
	}
	for _, p := range ports {
		if p, err = publish(ctx, h, container, p); err != nil {
			return nil, err
		}
		b.Ports = append(b.Ports, p)
	}
	return b, nil
}

func bridgeFromReply(r protocol.AttachNetworkReply) (*Bridge, error) {
	b := &Bridge{Bridge: protocol.DefaultBridge, Interface: r.Interface, MTU: r.MTU}
	var err error
	if b.Address, err = netip.ParsePrefix(r.Address); err != nil {
		return nil, fmt.Errorf("address %q: %v", r.Address, err)
	}
	if b.Gateway, err = netip.ParseAddr(r.Gateway); err != nil {
		return nil, fmt.Errorf("gateway %q: %v", r.Gateway, err)
	}
	if !b.Address.Contains(b.Gateway) {
		return nil, fmt.Errorf("gateway %s is outside the container's network %s", b.Gateway, b.Address.Masked())
	}
	if err := b.InterfaceConfig().Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// publish publishes one port; HostPort 0 gets a port that is free on the
// host now, picked again if the helper has it published already.
func publish(ctx context.Context, h *helperclient.Client, container string, p PortMapping) (PortMapping, error) {
	pick := p.HostPort == 0
	for try := 1; ; try++ {
		if pick {
			port, err := freePort(p.Protocol)
			if err != nil {
				return p, &PortError{Port: p, Err: err}
			}
			p.HostPort = port
		}
		err := h.PublishPort(ctx, protocol.PortRequest{Container: container, Protocol: p.Protocol, HostIP: p.HostIP,
			HostPort: p.HostPort, ContainerPort: p.ContainerPort})
		if err == nil {
			return p, nil
		}
		if !pick || !errors.Is(err, protocol.ErrConflict) || try == pickTries {
			return p, &PortError{Port: p, Err: err}
		}
	}
}

// freePort asks the kernel for a free port of the protocol on every IPv4
// address, as the rootless modes do for HostPort 0 (on every address rather
// than on the host address asked for: the helper's NAT may serve addresses
// of another namespace than this one).
func freePort(proto string) (uint16, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			return 0, fmt.Errorf("pick a free host port: %w", err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free host port: %w", err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// ReleaseBridge asks the helper to remove the container's interface,
// address and published ports. It is idempotent; the helper also releases
// by itself a container whose network namespace is gone.
func ReleaseBridge(ctx context.Context, h *helperclient.Client, container string) error {
	if err := h.ReleaseNetwork(ctx, container); err != nil {
		return &Error{Err: err, Msg: "release the bridged network of container " + shortID(container)}
	}
	return nil
}

// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start: the
// helper asks polkit for protocol.ActionPublishLowPort below it.
func UnprivilegedPortStart() int { return unprivilegedPortStart() }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
