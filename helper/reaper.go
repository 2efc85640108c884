package helper

import (
	"errors"
	"fmt"

	"github.com/myctr/myctr/helper/hostnet"
)

// releaseRecord removes r's objects (port rules, then the veth pair) and
// then its record, so that no object is ever left without one. Objects
// that are gone already are no error.
func (s *Server) releaseRecord(r *Record) error {
	if err := s.net.SetPorts(r.HostIf, nil); err != nil && !(errors.Is(err, hostnet.ErrNoNftables) && len(r.Ports) == 0) {
		return fmt.Errorf("remove the port rules of %s: %w", r.Container, err)
	}
	if err := s.net.DeleteLink(r.HostIf); err != nil {
		return fmt.Errorf("remove the veth of %s: %w", r.Container, err)
	}
	return s.ledger.Delete(r)
}

// reap removes what belongs to no live container: records whose host veth
// is gone (the kernel deletes a veth pair when the container's network
// namespace dies, so this frees their address and port rules), port rules
// of owners with no record, and helper-named links with no record (left
// by a crash between making them and recording them ready, or by an
// earlier reaper that failed half-way). It runs in the loop goroutine.
func (s *Server) reap(why string) {
	for _, r := range s.ledger.All() {
		alive, err := s.net.LinkExists(r.HostIf)
		if err != nil {
			s.log.Printf("reaper (%s): %v", why, err)
			return
		}
		if alive {
			continue
		}
		if err := s.releaseRecord(r); err != nil {
			s.log.Printf("reaper (%s): uid=%d container=%s: %v", why, r.UID, r.Container, err)
			continue
		}
		s.log.Printf("reaper (%s): uid=%d container=%s: its network namespace is gone: released %s, %s",
			why, r.UID, r.Container, r.HostIf, r.Address)
	}

	owned := map[string]bool{}
	for _, r := range s.ledger.All() {
		owned[r.HostIf], owned[r.PeerIf] = true, true
	}
	owners, err := s.net.PortOwners()
	if err != nil && !errors.Is(err, hostnet.ErrNoNftables) {
		s.log.Printf("reaper (%s): %v", why, err)
	}
	for _, o := range owners {
		if owned[o] {
			continue
		}
		if err := s.net.SetPorts(o, nil); err != nil {
			s.log.Printf("reaper (%s): port rules of %s: %v", why, o, err)
			continue
		}
		s.log.Printf("reaper (%s): removed the port rules of %s (no record)", why, o)
	}
	for _, prefix := range []string{"mc", "mp"} {
		names, err := s.net.Links(prefix)
		if err != nil {
			s.log.Printf("reaper (%s): %v", why, err)
			return
		}
		for _, n := range names {
			if !isOurLinkName(n) || owned[n] {
				continue
			}
			if err := s.net.DeleteLink(n); err != nil {
				s.log.Printf("reaper (%s): link %s: %v", why, n, err)
				continue
			}
			s.log.Printf("reaper (%s): removed link %s (no record)", why, n)
		}
	}
}

// resyncPorts makes each live record's port rules exactly what it says,
// once at start: a helper that stopped between recording a port change
// and making it leaves the rules one step behind the ledger.
func (s *Server) resyncPorts() {
	for _, r := range s.ledger.All() {
		if alive, err := s.net.LinkExists(r.HostIf); err != nil || !alive {
			continue
		}
		err := s.applyPorts(r)
		if err != nil && !(errors.Is(err, hostnet.ErrNoNftables) && len(r.Ports) == 0) {
			s.log.Printf("start: port rules of uid=%d container=%s: %v", r.UID, r.Container, err)
		}
	}
}
