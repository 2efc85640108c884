package network

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/myctr/myctr/frontend/netif"
	"github.com/myctr/myctr/protocol"
)

// ModeBridge is the bridged network that myctr-helper makes: the container
// gets one end of a veth pair on a host bridge (protocol.DefaultBridge),
// an address of the bridge's network and a default route through the
// bridge, and host ports are forwarded by the helper's NAT rules.
const ModeBridge = "bridge"

// ContainerInterface is the name of the container's interface on a
// bridged network.
const ContainerInterface = "eth0"

// Bridge is a container attached to a bridge by the helper.
type Bridge struct {
	Bridge    string        // the bridge's name
	Interface string        // the veth end as the helper named it
	Address   netip.Prefix  // the container's address: 10.88.0.2/16
	Gateway   netip.Addr    // the bridge's address
	MTU       uint32        // of the container's interface
	Ports     []PortMapping // published, with the host ports chosen for HostPort 0
}

// InterfaceConfig is what the container's init makes of the interface:
// renamed to eth0, with the MTU, the address and a default route.
func (b *Bridge) InterfaceConfig() *netif.Config {
	return &netif.Config{Interface: b.Interface, Name: ContainerInterface, Address: b.Address.Addr().AsSlice(),
		PrefixLen: b.Address.Bits(), Gateway: b.Gateway.AsSlice(), MTU: b.MTU}
}

// PortError is a port the helper would not publish.
type PortError struct {
	Port PortMapping
	Err  error
}

func (e *PortError) Error() string { return fmt.Sprintf("publish %s: %v", e.Port, e.Err) }
func (e *PortError) Unwrap() error { return e.Err }

// ValidateBridge checks what --network bridge is asked for before anything
// starts: the helper takes no options from the command line, and publishes
// on IPv4 host addresses only.
func ValidateBridge(options []string, ports []PortMapping) error {
	if len(options) > 0 {
		return &Error{Err: ErrInvalidOption, Msg: fmt.Sprintf("--network bridge:%s", strings.Join(options, ",")),
			Hint: "--network bridge takes no options"}
	}
	for _, p := range ports {
		if p.ContainerPort == 0 || (p.Protocol != "tcp" && p.Protocol != "udp") {
			return &Error{Err: ErrInvalidPublish, Msg: "port " + p.String()}
		}
		if _, err := protocol.ParseHostIP(p.HostIP); err != nil {
			return &Error{Err: ErrUnsupported, Msg: "publish " + p.String() + " with --network bridge",
				Hint: "the bridged network publishes on IPv4 host addresses only: use an IPv4 address, or none for all"}
		}
	}
	return nil
}

// BridgeResolvConf is the container's /etc/resolv.conf on a bridged
// network, made from the host's (as Podman does): every line stays but the
// nameservers the container cannot reach through the bridge, the host's
// loopback resolvers (127.0.0.53 of systemd-resolved, a local dnsmasq) and,
// for a container with an IPv4 address only, IPv6 ones. ok is false when no
// nameserver is left: the container then has no DNS.
func BridgeResolvConf(host string, addr netip.Prefix) (resolv string, ok bool) {
	var b strings.Builder
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			a, err := netip.ParseAddr(f[1])
			if err != nil || a.IsLoopback() || (a.Is6() && !a.Is4In6() && addr.Addr().Is4()) {
				continue
			}
			ok = true
		}
		if line != "" || b.Len() > 0 {
			b.WriteString(line + "\n")
		}
	}
	resolv = strings.TrimRight(b.String(), "\n")
	if resolv != "" {
		resolv += "\n"
	}
	return resolv, ok
}
