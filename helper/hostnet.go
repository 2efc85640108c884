package helper

import (
	"net"
	"net/netip"

	"github.com/myctr/myctr/helper/hostnet"
)

// HostNet is the host side of the network, as package hostnet does it
// (*hostnet.Host); unit tests give a fake. Every call acts in the one
// network namespace the helper was configured with.
type HostNet interface {
	Close() error
	EnsureBridge(c hostnet.BridgeConfig) error
	AddVeth(bridge, hostIf, peerIf string, mtu int, netnsFD int, peerMAC net.HardwareAddr) error
	GuardPort(hostIf string, group uint32, addr netip.Addr) error
	DeleteLink(name string) error
	LinkExists(name string) (bool, error)
	Links(prefix string) ([]string, error)
	SetPorts(owner string, ports []hostnet.Port) error
	PortOwners() ([]string, error)
	UnprivilegedPortStart() (int, error)
	SubscribeLinkDeletions(done <-chan struct{}) (<-chan string, error)
}

var _ HostNet = (*hostnet.Host)(nil)
