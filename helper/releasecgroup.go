package helper

import (
	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// ReleaseCgroup is org.myctr.Helper1.ReleaseCgroup: (s container, a{sv}).
func (a api) ReleaseCgroup(sender dbus.Sender, container string, options map[string]dbus.Variant) *dbus.Error {
	defer a.s.begin()()
	uid, err := a.s.callerUID(sender)
	if err == nil {
		err = a.s.releaseCgroupCall(sender, uid, container, options)
	}
	return a.s.decide(uid, "ReleaseCgroup", container, err, "")
}

func (s *Server) releaseCgroupCall(sender dbus.Sender, uid uint32, container string, options map[string]dbus.Variant) error {
	if err := protocol.DecodeNoOptions(options); err != nil {
		return err
	}
	if err := protocol.ValidateContainer(container); err != nil {
		return err
	}
	if err := s.authorize(sender, protocol.ActionCgroup, map[string]string{protocol.DetailContainer: container}); err != nil {
		return err
	}
	// Why this is safe: the record is looked up by the caller's uid, and
	// what is left in its cgroup can only be the caller's processes;
	// releasing what is not there succeeds (and says nothing of others').
	return s.serial(func() error {
		rec := s.cgroups.Get(uid, container)
		if rec == nil {
			return nil
		}
		_, err := s.releaseCgroup(rec)
		return err
	})
}
