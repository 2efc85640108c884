package helper

import (
	"slices"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// UnpublishPort is org.myctr.Helper1.UnpublishPort:
// (s container, s protocol, s host_ip, q host_port, a{sv}).
func (a api) UnpublishPort(sender dbus.Sender, container, proto, hostIP string, hostPort uint16, options map[string]dbus.Variant) *dbus.Error {
	defer a.s.begin()()
	req := protocol.PortRequest{Container: container, Protocol: proto, HostIP: hostIP, HostPort: hostPort}
	uid, err := a.s.callerUID(sender)
	if err == nil {
		err = a.s.unpublishPort(sender, uid, req, options)
	}
	return a.s.decide(uid, "UnpublishPort", container, err, req.String())
}

func (s *Server) unpublishPort(sender dbus.Sender, uid uint32, req protocol.PortRequest, options map[string]dbus.Variant) error {
	if err := protocol.DecodeNoOptions(options); err != nil {
		return err
	}
	if err := req.ValidateUnpublish(); err != nil {
		return err
	}
	hostIP, _ := protocol.ParseHostIP(req.HostIP)
	if err := s.authorize(sender, protocol.ActionNetwork, map[string]string{protocol.DetailContainer: req.Container,
		protocol.DetailPort: req.PortDetail(), protocol.DetailProtocol: req.Protocol}); err != nil {
		return err
	}
	// Why this is safe: only the caller's own record is looked at, and
	// only its rules are rewritten; another user's port reads as absent.
	return s.serial(func() error {
		rec := s.ledger.Get(uid, req.Container)
		if rec == nil {
			return protocol.Errorf(protocol.ErrNotFound, "container %s is not attached", req.Container)
		}
		i := slices.IndexFunc(rec.Ports, func(p PortRecord) bool {
			return p.Protocol == req.Protocol && p.HostIP == hostIP && p.HostPort == req.HostPort
		})
		if i < 0 {
			return protocol.Errorf(protocol.ErrNotFound, "container %s does not publish host port %s", req.Container, req.PortDetail())
		}
		// Record first: a crash before the rules change leaves a rule the
		// next start removes (resyncPorts), never a rule with no record.
		rec.Ports = slices.Delete(rec.Ports, i, i+1)
		if err := s.ledger.Put(rec); err != nil {
			return err
		}
		return s.net.SetPorts(rec.HostIf, rec.hostnetPorts())
	})
}
