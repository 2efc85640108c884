package container

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ErrInvalidAddHost is an --add-host value that is not HOST:IP.
var ErrInvalidAddHost = errors.New("invalid --add-host")

// HostGateway is the --add-host address that stands for the host, as
// host.containers.internal names it (Docker's spelling).
const HostGateway = "host-gateway"

// hostInternal is the name by which a container reaches its host.
const hostInternal = "host.containers.internal"

// ParseAddHost checks an --add-host value: NAME:IP, IP being IPv4, IPv6
// (after the first colon: "db:fd00::5") or host-gateway.
func ParseAddHost(v string) (name, ip string, err error) {
	name, ip, ok := strings.Cut(v, ":")
	if !ok || name == "" || strings.ContainsAny(name, " \t\n#") {
		return "", "", fmt.Errorf("%w %q: want HOST:IP", ErrInvalidAddHost, v)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip == HostGateway {
		return name, ip, nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", "", fmt.Errorf("%w %q: %q is not an IP address (nor host-gateway)", ErrInvalidAddHost, v, ip)
	}
	return name, a.String(), nil
}

// hostsInput is what the container's /etc/hosts is made of.
type hostsInput struct {
	extra   []string // --add-host NAME:IP, checked
	base    string   // the host's /etc/hosts
	hostIP  string   // the host's address as the container reaches it; "" none
	ownIP   string   // the container's own address
	names   []string // its host name and container name
	hostNet bool     // --network host: the base is the whole file
}

// hostsFile writes /etc/hosts as Podman does: the --add-host entries
// first (so they win a lookup), then the host's /etc/hosts (localhost
// entries of our own where it has none), host.containers.internal, and
// the container's own names.
func hostsFile(in hostsInput) string {
	var b strings.Builder
	for _, e := range in.extra {
		name, ip, err := ParseAddHost(e)
		if err != nil {
			continue // checked at create
		}
		if ip == HostGateway {
			if ip = in.hostIP; ip == "" {
				continue
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	base := in.base
	if base != "" && !strings.HasSuffix(base, "\n") {
		base += "\n"
	}
	if !in.hostNet && !hostsHas(base, "localhost") {
		b.WriteString("127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n")
		b.WriteString("::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n")
	}
	b.WriteString(base)
	if in.hostIP != "" && !hostsHas(base, hostInternal) {
		fmt.Fprintf(&b, "%s\t%s\n", in.hostIP, hostInternal)
	}
	b.WriteString(hostsEntry(b.String(), in.ownIP, in.names))
	return b.String()
}

// hostsEntry is the line "IP\tNAME..." to add to hosts, with those of
// names that hosts does not name yet (an --add-host or the base file
// keeps its own), as Podman adds a container's names: a repeated name
// stays (a host name that is the container's name shows twice); "" when
// every name is taken.
func hostsEntry(hosts, ip string, names []string) string {
	var free []string
	for _, n := range names {
		if n != "" && !hostsHas(hosts, n) {
			free = append(free, n)
		}
	}
	if len(free) == 0 {
		return ""
	}
	return ip + "\t" + strings.Join(free, " ") + "\n"
}

// hostsHas reports whether a hosts file names name.
func hostsHas(hosts, name string) bool {
	for _, line := range strings.Split(hosts, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			if f[i] == name {
				return true
			}
		}
	}
	return false
}

// hostAddress is the host's first non-loopback IPv4 address, which a
// container with a rootless network (slirp4netns, pasta) reaches the host
// at, as Podman picks it for host.containers.internal; "" when the host
// has none.
func hostAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip := n.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.String()
			}
		}
	}
	return ""
}
