package container

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/myctr/myctr/frontend/names"
	"golang.org/x/sys/unix"
)

// The store's index: which container has a name, and which containers
// join another's user namespace (JoinsUserOf). Without it, finding a
// container by name, checking that a new name is free and finding a
// container's dependents (rm refuses to remove one that others join)
// each read and decode every record: every run read all of them twice,
// 4 ms more with 100 containers in the store. Two directories of
// symbolic links answer those with one readlink:
//
//	containers/.names/NAME -> ID     every container's name
//	containers/.joins/ID   -> OTHER  a container that joins OTHER
//
// A link holds the id's 32 bytes in base64url (linkTarget): 43
// characters, which ext4 keeps in the inode itself (up to 59), where the
// 64 hex digits would take a block of their own to write and to free.
//
// The records stay the truth. A link is believed only once the record it
// names is read and agrees: a crash can leave one stale (a container whose
// removal or rename it outlived). Under the store's lock, a name's link is
// made before a record carries the name (reserve, rename) and removed
// after it no longer does (rm, rename), so a container always has a link
// for its name. A container no link names (a store an older myctr wrote)
// is found by comparing the directories with the links, and linked the
// next time a name is reserved.
const (
	namesIndex = ".names"
	joinsIndex = ".joins"
)

func (s *Store) nameLink(name string) string { return filepath.Join(s.dir, namesIndex, name) }
func (s *Store) joinLink(id string) string   { return filepath.Join(s.dir, joinsIndex, id) }

// linkTarget is what a link to the container id holds.
func linkTarget(id string) string {
	b, err := hex.DecodeString(id)
	if err != nil {
		panic("container: link to an id that is not one: " + id)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// linkID is the container id a link's target t names, or "".
func linkID(t string) string {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) != 32 {
		return ""
	}
	return hex.EncodeToString(b)
}

// readLink is the container id the link p names, or "".
func readLink(p string) string {
	t, err := os.Readlink(p)
	if err != nil {
		return ""
	}
	return linkID(t)
}

// symlinkIn makes p a link to the container id, and p's directory when it
// is the first link.
func symlinkIn(id, p string) error {
	target := linkTarget(id)
	err := os.Symlink(target, p)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.Mkdir(filepath.Dir(p), 0o700); err == nil || errors.Is(err, os.ErrExist) {
			err = os.Symlink(target, p)
		}
	}
	return err
}

// removeLinkTo removes the link p when it names id.
func removeLinkTo(p, id string) {
	if readLink(p) == id {
		_ = os.Remove(p)
	}
}

// readLinks is the container ids the links in dir name, by the links'
// names (none when dir cannot be read): one readlinkat each, from dir's
// descriptor.
func readLinks(dir string) map[string]string {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	out := make(map[string]string, len(names))
	buf := make([]byte, 128)
	for _, n := range names {
		if k, err := unix.Readlinkat(int(f.Fd()), n, buf); err == nil && k < len(buf) {
			if id := linkID(string(buf[:k])); id != "" {
				out[n] = id
			}
		}
	}
	return out
}

// byName is the container whose name is name, as its link says and its
// record confirms; ErrNotFound when there is no such link or it is stale.
func (s *Store) byName(name string) (*Container, error) {
	notFound := fmt.Errorf("%w: %s", ErrNotFound, name)
	if !names.Valid(name) {
		return nil, notFound // (and no path a link could not have)
	}
	id := readLink(s.nameLink(name))
	if id == "" {
		return nil, notFound
	}
	c, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if c.Name != name {
		return nil, notFound
	}
	return c, nil
}

// claimName links name to the container id, replacing a stale link; a
// *NameInUseError when another container has the name. Preconditions: the
// store's lock held, the store indexed (indexLoose).
func (s *Store) claimName(name, id string) error {
	if !names.Valid(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	p := s.nameLink(name)
	for stale := false; ; stale = true {
		err := symlinkIn(id, p)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrExist) || stale {
			return fmt.Errorf("index the name %q: %w", name, err)
		}
		other, err := s.byName(name)
		switch {
		case err == nil && other.ID == id:
			return nil
		case err == nil:
			return &NameInUseError{Name: name, ID: other.ID}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replace the stale index of the name %q: %w", name, err)
		}
	}
}

// joinIndex links c to the container whose user namespace it joins.
// Preconditions: the store's lock held.
func (s *Store) joinIndex(c *Container) error {
	j := c.JoinsUserOf()
	if j == "" {
		return nil
	}
	if err := symlinkIn(j, s.joinLink(c.ID)); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("index %s: %w", c.Name, err)
	}
	return nil
}

// unindex removes the links of a container whose directory is gone: its
// name's (name, when it is not known: every link to it) and its join's.
// Preconditions: the store's lock held.
func (s *Store) unindex(id, name string) {
	_ = os.Remove(s.joinLink(id))
	if name != "" {
		removeLinkTo(s.nameLink(name), id)
		return
	}
	ents, _ := os.ReadDir(filepath.Join(s.dir, namesIndex))
	for _, e := range ents {
		removeLinkTo(s.nameLink(e.Name()), id)
	}
}

// loose compares the container directories with the name links: it
// returns every container's id and the records of those that no link
// names (written by an older myctr), oldest first.
func (s *Store) loose() (ids []string, out []*Container, err error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	linked := map[string]bool{}
	for _, t := range readLinks(filepath.Join(s.dir, namesIndex)) {
		linked[t] = true
	}
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || !isID(id) {
			continue
		}
		ids = append(ids, id)
		if linked[id] {
			continue
		}
		c, err := s.load(id)
		if errors.Is(err, ErrNotFound) {
			continue // being created or removed right now
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Container) int { return a.Created.Compare(b.Created) })
	return ids, out, nil
}

// indexLoose links every container that no link names, and removes the
// links of containers that are gone (a crash between an rm's removal and
// its unlink). Preconditions: the store's lock held: no container is
// half-created.
func (s *Store) indexLoose() error {
	ids, loose, err := s.loose()
	if err != nil {
		return err
	}
	for _, c := range loose {
		if err := s.joinIndex(c); err != nil {
			return err
		}
		var inUse *NameInUseError
		if err := s.claimName(c.Name, c.ID); err != nil && !errors.As(err, &inUse) {
			return err
		}
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	for _, dir := range []string{namesIndex, joinsIndex} {
		ents, _ := os.ReadDir(filepath.Join(s.dir, dir))
		for _, e := range ents {
			p := filepath.Join(s.dir, dir, e.Name())
			gone := !have[e.Name()] // a join's link is named by its container
			if dir == namesIndex {
				t := readLink(p)
				gone = t == "" || !have[t]
			}
			if gone {
				_ = os.Remove(p)
			}
		}
	}
	return nil
}

// Dependents are the containers that depend on c (they join its network
// namespace, or its user namespace as members of its pod), oldest first:
// those whose join link names c, and those no link names that join it.
func (s *Store) Dependents(c *Container) ([]*Container, error) {
	var out []*Container
	ents, _ := os.ReadDir(filepath.Join(s.dir, joinsIndex))
	for _, e := range ents {
		id := e.Name()
		if readLink(s.joinLink(id)) != c.ID || id == c.ID || !isID(id) {
			continue
		}
		d, err := s.load(id)
		if errors.Is(err, ErrNotFound) {
			continue // a stale link
		}
		if err != nil {
			return nil, err
		}
		if d.JoinsUserOf() == c.ID {
			out = append(out, d)
		}
	}
	_, loose, err := s.loose()
	if err != nil {
		return nil, err
	}
	for _, d := range loose {
		if d.ID != c.ID && d.JoinsUserOf() == c.ID && !slices.ContainsFunc(out, func(o *Container) bool { return o.ID == d.ID }) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *Container) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Lookup finds a container by name, full id or unique id prefix: a full
// id, a name's link, a container no link names, then an id's prefix
// among the directories.
func (s *Store) Lookup(ref string) (*Container, error) {
	if isID(ref) {
		if c, err := s.load(ref); !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	c, err := s.byName(ref)
	if !errors.Is(err, ErrNotFound) {
		return c, err
	}
	ids, loose, err := s.loose()
	if err != nil {
		return nil, err
	}
	for _, c := range loose {
		if c.Name == ref {
			return c, nil
		}
	}
	var byPrefix []string
	if len(ref) >= 3 {
		for _, id := range ids {
			if strings.HasPrefix(id, ref) {
				byPrefix = append(byPrefix, id)
			}
		}
	}
	switch len(byPrefix) {
	case 1:
		c, err := s.load(byPrefix[0])
		if !errors.Is(err, ErrNotFound) {
			return c, err
		}
	case 0:
	default:
		return nil, fmt.Errorf("%w: %s", ErrAmbiguous, ref)
	}
	// Podman's words, which scripts match exactly.
	return nil, fmt.Errorf("no container with name or ID %q found: %w", ref, ErrNotFound)
}
