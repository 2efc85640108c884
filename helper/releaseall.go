package helper

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// ReleaseAll is org.myctr.Helper1.ReleaseAll: (a{sv} options) → (u released).
func (a api) ReleaseAll(sender dbus.Sender, options map[string]dbus.Variant) (uint32, *dbus.Error) {
	defer a.s.begin()()
	uid, err := a.s.callerUID(sender)
	var n uint32
	target := uid
	if err == nil {
		target, n, err = a.s.releaseAll(sender, uid, options)
	}
	if derr := a.s.decide(uid, "ReleaseAll", "", err, fmt.Sprintf("uid %d: %d released", target, n)); derr != nil {
		return 0, derr
	}
	return n, nil
}

func (s *Server) releaseAll(sender dbus.Sender, uid uint32, options map[string]dbus.Variant) (target, released uint32, err error) {
	opts, err := protocol.DecodeReleaseAllOptions(options)
	if err != nil {
		return uid, 0, err
	}
	target = uid
	if opts.UID != nil {
		target = *opts.UID
	}
	// Why this is safe: a user releases its own objects; only root may
	// name another uid (to clean up after a user, for instance).
	if target != uid && uid != 0 {
		return target, 0, protocol.NotAuthorized(protocol.ActionNetwork, "only root may release another user's objects")
	}
	// The action of each kind of object the uid has: the network's (also
	// when it has nothing), the cgroups'.
	var nets, cgs int
	if err := s.inLoop(func() error {
		nets, cgs = len(s.ledger.ByUID(target)), len(s.cgroups.ByUID(target))
		return nil
	}, false); err != nil {
		return target, 0, err
	}
	if nets > 0 || cgs == 0 {
		if err := s.authorize(sender, protocol.ActionNetwork, nil); err != nil {
			return target, 0, err
		}
	}
	if cgs > 0 {
		if err := s.authorize(sender, protocol.ActionCgroup, nil); err != nil {
			return target, 0, err
		}
	}
	err = s.serial(func() error {
		var errs []error
		for _, r := range s.ledger.ByUID(target) {
			if err := s.releaseRecord(r); err != nil {
				errs = append(errs, err)
				continue
			}
			released++
		}
		for _, r := range s.cgroups.ByUID(target) {
			if gone, err := s.releaseCgroup(r); err != nil {
				errs = append(errs, err)
			} else if gone {
				released++
			}
		}
		return errors.Join(errs...)
	})
	return target, released, err
}
