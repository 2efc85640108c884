package protocol

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/godbus/dbus/v5"
)

// Each method's arguments and reply. On the bus the fields travel in the
// order they are declared here, followed by the method's options (a{sv}).

// VersionReply is GetVersion's reply: (u version, as features).
type VersionReply struct {
	Version  uint32
	Features []string
}

// AttachNetworkRequest is AttachNetwork's arguments:
// (h userns, h netns, s container, a{sv} options). UserNS and NetNS are the
// caller's container's namespaces, open; the helper checks that NetNS
// belongs to UserNS and that UserNS is owned by the caller.
type AttachNetworkRequest struct {
	UserNS    dbus.UnixFD
	NetNS     dbus.UnixFD
	Container string
	Options   AttachOptions
}

// AttachOptions are AttachNetwork's options.
type AttachOptions struct {
	// Bridge names the bridge ("bridge", s); empty means DefaultBridge.
	// Only bridges the helper's configuration declares are accepted.
	Bridge string
	// Network ("network", s) names one of the caller's networks on the
	// bridge: the containers the caller attaches with the same name
	// exchange frames with each other and with no other container, the
	// caller's included. Empty: the caller's group of plain bridged
	// containers. Validated as a container name.
	Network string
}

// AttachNetworkReply is AttachNetwork's reply:
// (s interface, s address, s gateway, u mtu). Interface is the name of the
// veth end now inside the container's network namespace (the caller
// renames it, adds Address, brings it up and routes through Gateway);
// Address is CIDR ("10.88.0.2/16").
type AttachNetworkReply struct {
	Interface string
	Address   string
	Gateway   string
	MTU       uint32
}

// ReleaseNetworkRequest is ReleaseNetwork's arguments: (s container, a{sv}).
// It removes the container's veth, address and port rules; releasing what
// does not exist succeeds.
type ReleaseNetworkRequest struct {
	Container string
}

// PortRequest is PublishPort's arguments
// (s container, s protocol, s host_ip, q host_port, q container_port, a{sv})
// and, without ContainerPort, UnpublishPort's
// (s container, s protocol, s host_ip, q host_port, a{sv}).
// HostIP "" means every address of the host.
type PortRequest struct {
	Container     string
	Protocol      string
	HostIP        string
	HostPort      uint16
	ContainerPort uint16
}

// ReleaseAllOptions are ReleaseAll's options; its reply is (u released),
// the number of containers released.
type ReleaseAllOptions struct {
	// UID ("uid", u) releases another user's objects; only root may name a
	// uid other than its own. Nil means the caller's.
	UID *uint32
}

// Validate checks an AttachNetworkRequest's strings (not its descriptors,
// which only the helper can check).
func (r AttachNetworkRequest) Validate() error {
	if err := ValidateContainer(r.Container); err != nil {
		return err
	}
	if r.Options.Bridge != "" {
		if err := ValidateInterfaceName(r.Options.Bridge); err != nil {
			return err
		}
	}
	if r.Options.Network != "" && !ValidName(r.Options.Network, 64) {
		return Errorf(ErrInvalidArgs, "network name %q: want 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit", r.Options.Network)
	}
	return nil
}

// Validate checks every field of a PublishPort request.
func (r PortRequest) Validate() error {
	if err := r.ValidateUnpublish(); err != nil {
		return err
	}
	if r.ContainerPort == 0 {
		return Errorf(ErrInvalidArgs, "container port 0")
	}
	return nil
}

// ValidateUnpublish checks the fields UnpublishPort uses (all but
// ContainerPort).
func (r PortRequest) ValidateUnpublish() error {
	if err := ValidateContainer(r.Container); err != nil {
		return err
	}
	if r.Protocol != "tcp" && r.Protocol != "udp" {
		return Errorf(ErrInvalidArgs, "protocol %q: want tcp or udp", r.Protocol)
	}
	if r.HostPort == 0 {
		return Errorf(ErrInvalidArgs, "host port 0")
	}
	if _, err := ParseHostIP(r.HostIP); err != nil {
		return err
	}
	return nil
}

// PortDetail is the polkit "port" detail of r: "8080/tcp".
func (r PortRequest) PortDetail() string {
	return strconv.Itoa(int(r.HostPort)) + "/" + r.Protocol
}

// ParseHostIP parses a PortRequest's HostIP: "" (every address, returned
// as the zero Addr) or one IPv4 address. IPv6 is not served by this
// version.
func ParseHostIP(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || a.IsUnspecified() || a.IsMulticast() || a.String() != s {
		return netip.Addr{}, Errorf(ErrInvalidArgs, "host address %q: want a unicast IPv4 address, or empty for all", s)
	}
	return a, nil
}

// ValidateContainer checks a container name: 1 to 64 characters of
// [A-Za-z0-9_.-], starting with a letter or digit. The helper never uses it
// in a file or interface name (those are hashed); the rule keeps logs,
// polkit details and ledger records plain.
func ValidateContainer(s string) error {
	if !ValidName(s, 64) {
		return Errorf(ErrInvalidArgs, "container name %q: want 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit", s)
	}
	return nil
}

// ValidateInterfaceName checks a bridge name: 1 to 15 characters (IFNAMSIZ
// less the NUL) of [A-Za-z0-9_.-], starting with a letter or digit.
func ValidateInterfaceName(s string) error {
	if !ValidName(s, 15) {
		return Errorf(ErrInvalidArgs, "interface name %q: want 1 to 15 of [A-Za-z0-9_.-], starting with a letter or digit", s)
	}
	return nil
}

// ValidName reports whether s is 1 to max bytes of [A-Za-z0-9_.-],
// starting with a letter or digit: the one rule for every name the helper
// takes (container names, interface names, rule tags).
func ValidName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// String is for logs.
func (r PortRequest) String() string {
	host := r.HostIP
	if host == "" {
		host = "*"
	}
	return fmt.Sprintf("%s %s:%d->%d/%s", r.Container, host, r.HostPort, r.ContainerPort, r.Protocol)
}
