package api

import (
	"net/netip"
	"sort"
	"strconv"

	ctypes "github.com/moby/moby/api/types/container"
	nettypes "github.com/moby/moby/api/types/network"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/network"
)

// apiPort is a mapping's container side, "8080/tcp".
func apiPort(p network.PortMapping) (nettypes.Port, bool) {
	return nettypes.PortFrom(p.ContainerPort, nettypes.IPProtocol(p.Protocol))
}

// apiBinding is a mapping's host side. HostIp is all (zero: "") when
// the port is bound on every address; HostPort is "" for "any free
// port" until a run has chosen one.
func apiBinding(p network.PortMapping, all netip.Addr) nettypes.PortBinding {
	b := nettypes.PortBinding{HostIP: all}
	if a, err := netip.ParseAddr(p.HostIP); err == nil {
		b.HostIP = a
	}
	if p.HostPort != 0 {
		b.HostPort = strconv.Itoa(int(p.HostPort))
	}
	return b
}

// portMap groups mappings by container port.
func portMap(ports []network.PortMapping, all netip.Addr) nettypes.PortMap {
	out := nettypes.PortMap{}
	for _, p := range ports {
		if k, ok := apiPort(p); ok {
			out[k] = append(out[k], apiBinding(p, all))
		}
	}
	return out
}

// exposedPorts is Config.ExposedPorts: the image's EXPOSE and the
// published ports (Docker exposes what it publishes).
func exposedPorts(c *container.Container, imageExposed map[string]struct{}) nettypes.PortSet {
	out := nettypes.PortSet{}
	for s := range imageExposed {
		if p, err := nettypes.ParsePort(s); err == nil {
			out[p] = struct{}{}
		}
	}
	for _, m := range c.HostConfig.PortBindings {
		if k, ok := apiPort(m); ok {
			out[k] = struct{}{}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// networkPorts is NetworkSettings.Ports, which clients read the host
// port of a mapping from (Ports["8080/tcp"][0].HostPort): while the
// container runs, each exposed port with the host ports its network
// chose (an exposed port that is not published maps to null); empty
// when it does not run, as in Docker.
func networkPorts(c *container.Container, running bool, exposed nettypes.PortSet) nettypes.PortMap {
	out := nettypes.PortMap{}
	if !running {
		return out
	}
	for p := range exposed {
		out[p] = nil
	}
	ports := c.State.Ports
	if len(ports) == 0 {
		ports = c.HostConfig.PortBindings
	}
	// Docker writes "0.0.0.0" for a port bound on every address.
	for k, bs := range portMap(ports, netip.IPv4Unspecified()) {
		sort.SliceStable(bs, func(i, j int) bool { return bs[i].HostIP.Less(bs[j].HostIP) })
		out[k] = bs
	}
	return out
}

// fillConfig completes inspect's Config and HostConfig from the
// container's spec and image: its environment, working directory,
// host name, exposed and published ports.
func (s *Server) fillConfig(c *container.Container, resp *ctypes.InspectResponse) {
	var imageExposed map[string]struct{}
	if img, err := s.b.Images.Lookup(c.Image); err == nil {
		imageExposed = img.Config.Config.ExposedPorts
	}
	if spec, err := c.Spec(); err == nil {
		resp.Config.Hostname = spec.Hostname
		if p := spec.Process; p != nil {
			resp.Config.Env = p.Env
			resp.Config.WorkingDir = p.Cwd
		}
	}
	resp.Config.ExposedPorts = exposedPorts(c, imageExposed)
	// The request's form: HostIp "" for every address.
	resp.HostConfig.PortBindings = portMap(c.HostConfig.PortBindings, netip.Addr{})
	resp.NetworkSettings.Ports = networkPorts(c, resp.State.Running, resp.Config.ExposedPorts)
}
