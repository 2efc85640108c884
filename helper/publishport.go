package helper

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/protocol"
)

// PublishPort is org.myctr.Helper1.PublishPort:
// (s container, s protocol, s host_ip, q host_port, q container_port, a{sv}).
func (a api) PublishPort(sender dbus.Sender, container, proto, hostIP string, hostPort, containerPort uint16, options map[string]dbus.Variant) *dbus.Error {
	defer a.s.begin()()
	req := protocol.PortRequest{Container: container, Protocol: proto, HostIP: hostIP, HostPort: hostPort, ContainerPort: containerPort}
	uid, err := a.s.callerUID(sender)
	if err == nil {
		err = a.s.publishPort(sender, uid, req, options)
	}
	return a.s.decide(uid, "PublishPort", container, err, req.String())
}

func (s *Server) publishPort(sender dbus.Sender, uid uint32, req protocol.PortRequest, options map[string]dbus.Variant) error {
	if err := protocol.DecodeNoOptions(options); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	hostIP, _ := protocol.ParseHostIP(req.HostIP)
	details := map[string]string{protocol.DetailContainer: req.Container,
		protocol.DetailPort: req.PortDetail(), protocol.DetailProtocol: req.Protocol}
	if err := s.authorize(sender, protocol.ActionNetwork, details); err != nil {
		return err
	}
	// A port below the unprivileged start is one only root may bind on
	// this host: it takes the second action too.
	start, err := s.net.UnprivilegedPortStart()
	if err != nil {
		return err
	}
	if int(req.HostPort) < start {
		if err := s.authorize(sender, protocol.ActionPublishLowPort, details); err != nil {
			return err
		}
	}
	port := PortRecord{Protocol: req.Protocol, HostIP: hostIP, HostPort: req.HostPort, ContainerPort: req.ContainerPort}
	// Why this is safe: the port goes to the caller's own attached
	// container; a host port that anyone published, or that a host
	// process has bound, is refused, and the helper holds the port while
	// it is published, so no one can take over traffic meant for someone
	// else; the rules are tagged with the container's hashed name and
	// replaced as one batch.
	return s.serial(func() error {
		rec := s.ledger.Get(uid, req.Container)
		if rec == nil || rec.State != stateReady {
			return protocol.Errorf(protocol.ErrNotFound, "container %s is not attached", req.Container)
		}
		for _, p := range rec.Ports {
			if p == port {
				return nil // published already: the same call again
			}
		}
		if other := s.portHolder(port); other != nil {
			if other.UID == uid {
				return protocol.Errorf(protocol.ErrConflict, "host port %s is published already by container %s", req.PortDetail(), other.Container)
			}
			return protocol.Errorf(protocol.ErrConflict, "host port %s is published already", req.PortDetail())
		}
		n := 0
		for _, r := range s.ledger.ByUID(uid) {
			n += len(r.Ports)
		}
		if n >= s.cfg.MaxPortsPerUser {
			return protocol.Errorf(protocol.ErrLimitExceeded, "%d ports published: the limit per user is %d", n, s.cfg.MaxPortsPerUser)
		}
		rec.Ports = append(rec.Ports, port)
		if err := s.ledger.Put(rec); err != nil {
			return err
		}
		// This also binds the host port, for as long as the rule exists.
		err := s.net.SetPorts(rec.HostIf, rec.hostnetPorts())
		if err == nil {
			return nil
		}
		// Back to the record as it was; the rules were not changed
		// (SetPorts is one batch).
		rec.Ports = rec.Ports[:len(rec.Ports)-1]
		if perr := s.ledger.Put(rec); perr != nil {
			return errors.Join(err, fmt.Errorf("undo: %w", perr))
		}
		switch {
		case errors.Is(err, hostnet.ErrPortInUse):
			return protocol.Errorf(protocol.ErrConflict, "host port %s is in use on the host", req.PortDetail())
		case errors.Is(err, unix.EADDRNOTAVAIL):
			return protocol.Errorf(protocol.ErrInvalidArgs, "host address %s is not an address of this host", req.HostIP)
		}
		return err
	})
}

// applyPorts makes r's port rules and held sockets what r records, at
// start and when an attach is resumed. A host port that a host process
// bound while no helper held it (the helper had stopped) cannot be held
// again: like a publish that meets such a port, it is unpublished (its
// rule goes, then the record forgets it) and the log says so; the
// container keeps its other ports.
func (s *Server) applyPorts(r *Record) error {
	err := s.net.SetPorts(r.HostIf, r.hostnetPorts())
	if !errors.Is(err, hostnet.ErrPortInUse) {
		return err
	}
	kept := r.clone()
	kept.Ports = nil
	for _, p := range r.Ports {
		kept.Ports = append(kept.Ports, p)
		if err := s.net.SetPorts(r.HostIf, kept.hostnetPorts()); err != nil {
			kept.Ports = kept.Ports[:len(kept.Ports)-1]
			if !errors.Is(err, hostnet.ErrPortInUse) {
				return err
			}
			s.log.Printf("uid=%d container=%s: host port %d/%s is bound on the host now: unpublished", r.UID, r.Container, p.HostPort, p.Protocol)
		}
	}
	if err := s.net.SetPorts(r.HostIf, kept.hostnetPorts()); err != nil {
		return err
	}
	return s.ledger.Put(kept)
}

// holdsPorts reports whether any container has a published port: the
// helper holds those host ports (see SetPorts), so it must not exit while
// there are any.
func (s *Server) holdsPorts() bool {
	for _, r := range s.ledger.All() {
		if len(r.Ports) > 0 {
			return true
		}
	}
	return false
}

// portHolder returns the record, of any user, that publishes a host port
// overlapping p: the same protocol and port, on the same host address or
// where either means every address.
func (s *Server) portHolder(p PortRecord) *Record {
	for _, r := range s.ledger.All() {
		for _, q := range r.Ports {
			if q.Protocol == p.Protocol && q.HostPort == p.HostPort &&
				(!q.HostIP.IsValid() || !p.HostIP.IsValid() || q.HostIP == p.HostIP) {
				return r
			}
		}
	}
	return nil
}
