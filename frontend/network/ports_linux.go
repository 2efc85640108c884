package network

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const unprivSysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start"

// unprivilegedPortStart reads net.ipv4.ip_unprivileged_port_start (1024
// when it cannot be read).
func unprivilegedPortStart() int {
	b, err := os.ReadFile(unprivSysctl)
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 1024
	}
	return n
}

// reservePorts checks that every host port can be bound, picks a free port
// for HostPort 0, and returns the mappings with the ports chosen. The
// sockets of the ports myctr's forwarder serves (keep) stay open and are
// returned, in the order of those ports; the others are released for the
// tool to bind. A port picked for HostPort 0 and released could be taken by
// another process before the tool binds it; the tool then fails and Start
// reports it.
//
// A kept port without a host address listens on both families (the
// forwarder gives IPv6 clients the gateway's address); a released one is
// checked on the IPv4 wildcard, which slirp4netns binds (pasta binds both
// families; that check catches the usual conflicts).
func reservePorts(ports []PortMapping, keep func(PortMapping) bool) (out []PortMapping, kept []*os.File, err error) {
	defer func() {
		if err != nil {
			for _, f := range kept {
				f.Close()
			}
			kept = nil
		}
	}()
	start := unprivilegedPortStart()
	for _, p := range ports {
		if p.HostPort != 0 && int(p.HostPort) < start && os.Geteuid() != 0 {
			return nil, kept, &Error{Err: ErrPrivilegedPort,
				Msg:  fmt.Sprintf("cannot publish %s: host port %d is below net.ipv4.ip_unprivileged_port_start (%d)", p, p.HostPort, start),
				Hint: fmt.Sprintf("use a host port of %d or above, lower the limit as root (sysctl -w net.ipv4.ip_unprivileged_port_start=%d), or use --network bridge", start, p.HostPort)}
		}
		hold := keep(p)
		addr := net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort)))
		network := p.Protocol
		if p.HostIP == "" && !hold {
			addr = net.JoinHostPort("0.0.0.0", strconv.Itoa(int(p.HostPort)))
			network += "4"
		}
		var port int
		var err error
		if p.Protocol == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket(network, addr); err == nil {
				port = c.LocalAddr().(*net.UDPAddr).Port
				if hold {
					var f *os.File
					f, err = c.(*net.UDPConn).File()
					if err == nil {
						kept = append(kept, f)
					}
				}
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(network, addr); err == nil {
				port = l.Addr().(*net.TCPAddr).Port
				if hold {
					var f *os.File
					f, err = l.(*net.TCPListener).File()
					if err == nil {
						kept = append(kept, f)
					}
				}
				l.Close()
			}
		}
		if err != nil {
			return nil, kept, portError(p, err)
		}
		p.HostPort = uint16(port)
		out = append(out, p)
	}
	return out, kept, nil
}

func portError(p PortMapping, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		owner := portOwner(p.Protocol, p.HostPort)
		if owner == "" {
			owner = "the holder is not known: another user's process, or one whose fds cannot be read, such as a running pasta, slirp4netns or myctr port forwarder"
		}
		return &Error{Err: ErrPortInUse,
			Msg:  fmt.Sprintf("cannot publish %s: host port %d/%s is in use (%s)", p, p.HostPort, p.Protocol, owner),
			Hint: "choose another host port (-p OTHER:" + strconv.Itoa(int(p.ContainerPort)) + "), or stop the process that holds it"}
	case errors.Is(err, syscall.EACCES):
		return &Error{Err: ErrPrivilegedPort, Msg: fmt.Sprintf("cannot publish %s", p),
			Hint: "use a host port above net.ipv4.ip_unprivileged_port_start, or --network bridge"}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return &Error{Err: fmt.Errorf("%w: %v", ErrInvalidPublish, err),
			Msg: fmt.Sprintf("cannot publish %s: %s is not an address of this host", p, p.HostIP), Hint: "use an address of this host, or none for all addresses"}
	}
	return &Error{Err: err, Msg: fmt.Sprintf("cannot publish %s", p)}
}

// portOwner names the process that holds a socket bound to port, found in
// /proc/net/{tcp,tcp6,udp,udp6} and the fds of the processes we may read
// (our own). It returns "" when it cannot tell.
func portOwner(proto string, port uint16) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		for _, ino := range socketInodes(f, proto, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("by pid %s, %s", pid, strings.TrimSpace(string(comm)))
		}
	}
	return ""
}

// socketInodes returns the inodes of the listening (TCP) or bound (UDP)
// sockets on port in a /proc/net table.
func socketInodes(file, proto string, port uint16) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !strings.HasSuffix(fields[1], want) {
			continue
		}
		// TCP_LISTEN is 0A; a bound UDP socket is 07 (TCP_CLOSE).
		if (proto == "tcp" && fields[3] != "0A") || (proto == "udp" && fields[3] != "07") {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}
