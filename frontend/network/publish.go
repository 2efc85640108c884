package network

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping publishes one container port on the host.
type PortMapping struct {
	HostIP        string // "" = all addresses
	HostPort      uint16 // 0 = pick a free port (for -P)
	ContainerPort uint16
	Protocol      string // "tcp" or "udp"
}

// HostAddr is the published host address and port, as ps and port show
// it: "0.0.0.0:8080" for all addresses, "[::1]:8080".
func (m PortMapping) HostAddr() string {
	host := m.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(int(m.HostPort)))
}

func (m PortMapping) String() string {
	host := m.HostIP
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d->%d/%s", host, m.HostPort, m.ContainerPort, m.Protocol)
}

// ParsePublish parses one -p value:
// [hostIP:][hostPort[-hostEnd]:]containerPort[-containerEnd][/tcp|/udp]
// ("8080:80", "127.0.0.1:8080:80/udp", "8000-8001:80-81", "80" = random host
// port, "127.0.0.1::80" = random host port on one address, "[::1]:8080:80").
// A host range must be as long as the container range.
func ParsePublish(s string) ([]PortMapping, error) {
	bad := func(format string, args ...any) error {
		return &Error{Err: ErrInvalidPublish, Msg: fmt.Sprintf("-p %q: ", s) + fmt.Sprintf(format, args...),
			Hint: "use [hostIP:][hostPort[-end]:]containerPort[-end][/tcp|/udp], e.g. 8080:80 or 127.0.0.1:8080:80/udp; write IPv6 addresses in brackets"}
	}
	rest, proto := s, "tcp"
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest, proto = rest[:i], rest[i+1:]
		if proto != "tcp" && proto != "udp" {
			return nil, bad("protocol %q: only tcp and udp", proto)
		}
	}
	var hostIP string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
			return nil, bad("unterminated IPv6 address")
		}
		hostIP, rest = rest[1:end], rest[end+2:]
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return nil, bad("%q is not an IPv6 address", hostIP)
		}
		if strings.Count(rest, ":") != 1 {
			return nil, bad("expected [IP]:hostPort:containerPort")
		}
	}
	parts := strings.Split(rest, ":")
	var hostSpec, ctrSpec string
	switch len(parts) {
	case 1:
		ctrSpec = parts[0]
	case 2:
		hostSpec, ctrSpec = parts[0], parts[1]
	case 3:
		if hostIP != "" {
			return nil, bad("too many fields")
		}
		hostIP, hostSpec, ctrSpec = parts[0], parts[1], parts[2]
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return nil, bad("%q is not an IPv4 address (write IPv6 in brackets)", hostIP)
		}
	default:
		return nil, bad("too many fields (write IPv6 addresses in brackets)")
	}
	if hostIP != "" {
		hostIP = netip.MustParseAddr(hostIP).String()
	}
	ctrLo, ctrHi, err := parseRange(ctrSpec)
	if err != nil {
		return nil, bad("container port: %v", err)
	}
	var hostLo, hostHi uint16
	if hostSpec != "" {
		if hostLo, hostHi, err = parseRange(hostSpec); err != nil {
			return nil, bad("host port: %v", err)
		}
		if hostHi-hostLo != ctrHi-ctrLo {
			return nil, bad("host range %s and container range %s differ in length", hostSpec, ctrSpec)
		}
	}
	var out []PortMapping
	for i := 0; i <= int(ctrHi-ctrLo); i++ {
		m := PortMapping{HostIP: hostIP, ContainerPort: ctrLo + uint16(i), Protocol: proto}
		if hostSpec != "" {
			m.HostPort = hostLo + uint16(i)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseRange parses "N" or "N-M" with 1 <= N <= M <= 65535.
func parseRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %q ends before it starts", s)
		}
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}

// ExposedPorts turns an image's ExposedPorts ("80/tcp", "53/udp", "8080")
// into mappings on free host ports: run -P, and the API's
// PublishAllPorts.
func ExposedPorts(exposed map[string]struct{}) ([]PortMapping, error) {
	var out []PortMapping
	for p := range exposed {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
			return nil, fmt.Errorf("image exposes an invalid port %q", p)
		}
		out = append(out, PortMapping{ContainerPort: uint16(n), Protocol: proto})
	}
	return out, nil
}

// ParseExpose reads an --expose value, PORT[-END][/PROTO] (tcp unless
// udp is given), as the image config's ExposedPorts keys it adds.
func ParseExpose(v string) ([]string, error) {
	ports, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	first, last, isRange := strings.Cut(ports, "-")
	a, err1 := strconv.ParseUint(first, 10, 16)
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.ParseUint(last, 10, 16)
	}
	if err1 != nil || err2 != nil || a == 0 || b < a || (proto != "tcp" && proto != "udp") {
		return nil, &Error{Err: ErrInvalidPublish, Msg: fmt.Sprintf("--expose %q", v), Hint: "use PORT[-END][/tcp|udp], e.g. 8080 or 5353/udp"}
	}
	var out []string
	for p := a; p <= b; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}
