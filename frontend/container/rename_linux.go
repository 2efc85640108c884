package container

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/netholder"
)

// NameInUseError is rename's refusal of a name another container has, in
// Podman's words, naming that container; it is ErrNameInUse.
type NameInUseError struct{ Name, ID string }

func (e *NameInUseError) Error() string {
	return fmt.Sprintf("the container name %q is already in use by %s. You have to remove that container to be able to reuse that name: %v", e.Name, e.ID, ErrNameInUse)
}

// Is makes a NameInUseError ErrNameInUse.
func (e *NameInUseError) Is(target error) bool { return target == ErrNameInUse }

// Rename gives c the name name (Podman's and Docker's rename; a leading
// "/", as Docker's API spells names, is dropped), running or not: in its
// record, which is where every lookup by name looks, so the old name finds
// nothing from then on. A running container's names in its networks' DNS
// change at once (the holder's for named networks, the members' /etc/hosts
// on a bridge-helper network); its hostname and its own /etc/hosts stay,
// as Docker's and Podman's do. The events log gets a "rename" event.
//
// The warnings are what could not be changed in a running container's
// networks (the record's rename stands).
func (s *Store) Rename(c *Container, name string) (warnings []string, err error) {
	name = strings.TrimPrefix(name, "/")
	if err := ValidName(name); err != nil {
		return nil, err
	}
	unlock, err := s.lockCurrent(c)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Name == name {
		return nil, fmt.Errorf("%w: %s is the container's name already", ErrInvalidName, name)
	}
	old := c.Name
	if err := s.renameRecord(c, name); err != nil {
		return nil, err
	}
	s.renameEvent(c, old)
	if !c.Running() {
		return nil, nil
	}
	for _, w := range s.renameInNetworks(c) {
		warnings = append(warnings, fmt.Sprintf("container %s: its names on its networks: %v", name, w))
	}
	return warnings, nil
}

// renameRecord checks that no other container has name and saves c's
// record with it, under the store lock (which create's reservation of a
// name holds too): the new name's link first, the old one's after.
func (s *Store) renameRecord(c *Container, name string) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.indexLoose(); err != nil {
		return err
	}
	cur, err := s.load(c.ID)
	if err != nil {
		return err
	}
	old := cur.Name
	if err := s.claimName(name, c.ID); err != nil {
		return err
	}
	cur.Name = name
	if err := s.Save(cur); err != nil {
		if name != old {
			removeLinkTo(s.nameLink(name), c.ID)
		}
		return err
	}
	if name != old {
		removeLinkTo(s.nameLink(old), c.ID)
	}
	*c = *cur
	c.Refresh()
	return nil
}

// renameEvent records the rename as Podman's events do, with Docker's
// oldName among the attributes.
func (s *Store) renameEvent(c *Container, old string) {
	attrs := map[string]string{"image": c.ImageName, "name": c.Name, "oldName": old}
	maps.Copy(attrs, c.Labels)
	if c.Pod != "" {
		attrs["podId"] = c.Pod
	}
	_ = events.Record(s.Dirs.RunRoot, events.Event{ID: c.ID, Image: c.ImageName, Name: c.Name, Status: "rename",
		Type: events.TypeContainer, Attributes: attrs})
}

// renameInNetworks gives the running c its new name where its networks
// resolve names: the holder's DNS of its named networks, and the
// /etc/hosts sections of a bridge-helper network's members.
func (s *Store) renameInNetworks(c *Container) []error {
	var errs []error
	if helperNet := c.HelperNetwork(); helperNet != "" {
		if err := s.renameHelperMember(helperNet, c); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", helperNet, err))
		}
		return errs
	}
	if len(c.Networks) == 0 {
		return nil
	}
	h, err := netholder.Find(s.Dirs.RunRoot)
	if err != nil {
		return []error{err}
	}
	if h == nil {
		return nil // no holder: none of its networks is up
	}
	defer h.Close()
	for _, n := range c.NamedNetworks() {
		if err := h.Rename(n, c.ID, append([]string{c.Name}, c.Networks[n].Aliases...)); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n, err))
		}
	}
	return errs
}

// renameHelperMember replaces c's name in its entry among network's
// members, whose /etc/hosts sections are then written anew. A container
// that is no member (its network has no DNS) has nothing to change.
func (s *Store) renameHelperMember(network string, c *Container) error {
	err := s.editHelperNet(network, func(m *helperMember) bool {
		if m.ID != c.ID {
			return false
		}
		m.Names = append([]string{c.Name, c.ID[:12]}, c.Networks[network].Aliases...)
		return true
	})
	if errors.Is(err, errNoMember) {
		return nil
	}
	return err
}
