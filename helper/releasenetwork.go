package helper

import (
	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// ReleaseNetwork is org.myctr.Helper1.ReleaseNetwork: (s container, a{sv}).
func (a api) ReleaseNetwork(sender dbus.Sender, container string, options map[string]dbus.Variant) *dbus.Error {
	defer a.s.begin()()
	uid, err := a.s.callerUID(sender)
	if err == nil {
		err = a.s.releaseNetwork(sender, uid, container, options)
	}
	return a.s.decide(uid, "ReleaseNetwork", container, err, "")
}

func (s *Server) releaseNetwork(sender dbus.Sender, uid uint32, container string, options map[string]dbus.Variant) error {
	if err := protocol.DecodeNoOptions(options); err != nil {
		return err
	}
	if err := protocol.ValidateContainer(container); err != nil {
		return err
	}
	if err := s.authorize(sender, protocol.ActionNetwork, map[string]string{protocol.DetailContainer: container}); err != nil {
		return err
	}
	// Why this is safe: the record is looked up by the caller's uid, so a
	// caller can only release its own containers; releasing what is not
	// there succeeds (the call is idempotent, and says nothing about
	// other users' containers).
	return s.serial(func() error {
		rec := s.ledger.Get(uid, container)
		if rec == nil {
			return nil
		}
		return s.releaseRecord(rec)
	})
}
