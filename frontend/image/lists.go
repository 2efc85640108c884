package image

// Manifest lists (`myctr manifest`): an OCI image index made locally, one
// image per platform, pushed to a registry as one name.
//
// Lists live in R/lists.json, beside index.json rather than in it, so that
// nothing that reads images (images, prune, save, run) meets a list. A
// list names its members by manifest digest. A member added from the store
// is read from the store when the list is pushed; a member added from a
// registry is not pulled (as with Podman): the list records where it came
// from, and push copies it from there. Removing an image a list names
// leaves the list as it is, and its push then fails for that member.
//
// lists.json is read and written under R/lock, as index.json is.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/protocol/atomicfile"
)

var (
	// ErrListUnknown is a manifest list the store does not have.
	ErrListUnknown = errors.New("manifest list not known")
	// ErrNameInUse is a list name an image or another list has.
	ErrNameInUse = errors.New("name in use")
	// ErrNotInList is a digest a list does not name.
	ErrNotInList = errors.New("no such image in the manifest list")
)

// List is a manifest list of the store.
type List struct {
	// ID is the list's own id, 64 hex digits, kept while the list
	// changes (Podman prints it where myctr does).
	ID   string
	Name string
	// Index is the list as it is pushed: its manifests with their
	// platforms and annotations.
	Index v1.Index
	// Sources maps a member's manifest digest to the repository it was
	// added from, for members that are not in the store.
	Sources map[digest.Digest]string `json:",omitempty"`
}

type listsFile struct {
	Lists []List
}

func (s *Store) listsPath() string { return filepath.Join(s.root, "lists.json") }

// readLists reads lists.json. Preconditions: lock held.
func (s *Store) readLists() (listsFile, error) {
	var lf listsFile
	b, err := os.ReadFile(s.listsPath())
	if errors.Is(err, os.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, fmt.Errorf("read lists.json: %w", err)
	}
	if err := json.Unmarshal(b, &lf); err != nil {
		return lf, fmt.Errorf("parse lists.json: %w", err)
	}
	return lf, nil
}

// writeLists replaces lists.json. Preconditions: lock held exclusively.
func (s *Store) writeLists(lf listsFile) error {
	b, err := json.Marshal(lf)
	if err != nil {
		return fmt.Errorf("encode lists.json: %w", err)
	}
	if err := atomicfile.WriteFile(s.listsPath(), b, 0o644); err != nil {
		return fmt.Errorf("write lists.json: %w", err)
	}
	return nil
}

// findList returns the index in lf of the list ref names: its name (as
// image names are normalized), its id, or an unambiguous id prefix.
func findList(lf listsFile, ref string) (int, error) {
	if n, err := NormalizeRef(ref); err == nil {
		for i, l := range lf.Lists {
			if l.Name == n {
				return i, nil
			}
		}
	}
	if len(ref) >= 3 && isHex(ref) {
		found := -1
		for i, l := range lf.Lists {
			if strings.HasPrefix(l.ID, ref) {
				if found >= 0 {
					return -1, fmt.Errorf("%s: %w", ref, ErrAmbiguous)
				}
				found = i
			}
		}
		if found >= 0 {
			return found, nil
		}
	}
	return -1, fmt.Errorf("%s: %w", ref, ErrListUnknown)
}

// changeLists runs f on the lists under the lock, exclusively, and writes
// them when f succeeds.
func (s *Store) changeLists(f func(*listsFile) error) error {
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	lf, err := s.readLists()
	if err != nil {
		return err
	}
	if err := f(&lf); err != nil {
		return err
	}
	return s.writeLists(lf)
}

// updateList runs f on the list ref names, under the lock, and writes the
// result when f succeeds.
func (s *Store) updateList(ref string, f func(*List) error) (*List, error) {
	var out List
	err := s.changeLists(func(lf *listsFile) error {
		i, err := findList(*lf, ref)
		if err != nil {
			return err
		}
		if err := f(&lf.Lists[i]); err != nil {
			return err
		}
		out = lf.Lists[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateList makes an empty manifest list called name. A name an image or
// a list has already is refused.
func (s *Store) CreateList(ref string) (*List, error) {
	n, err := NormalizeRef(ref)
	if err != nil {
		return nil, err
	}
	if strings.Contains(n, "@") {
		return nil, fmt.Errorf("%s: a list's name has a tag, not a digest: %w", ref, ErrInvalidRef)
	}
	var id [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	list := List{ID: hex.EncodeToString(id[:]), Name: n,
		Index: v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}}
	err = s.changeLists(func(lf *listsFile) error {
		images, _, err := s.load()
		if err != nil {
			return err
		}
		for _, img := range images {
			if slices.Contains(img.Names, n) {
				return fmt.Errorf("%s: image %.12s has this name: %w", n, img.ID, ErrNameInUse)
			}
		}
		if _, err := findList(*lf, n); err == nil {
			return fmt.Errorf("%s: a manifest list has this name: %w", n, ErrNameInUse)
		}
		lf.Lists = append(lf.Lists, list)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &list, nil
}

// Lists returns every manifest list.
func (s *Store) Lists() ([]List, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	lf, err := s.readLists()
	return lf.Lists, err
}

// LookupList returns the list ref names (name, id or id prefix).
func (s *Store) LookupList(ref string) (*List, error) {
	lists, err := s.Lists()
	if err != nil {
		return nil, err
	}
	i, err := findList(listsFile{lists}, ref)
	if err != nil {
		return nil, err
	}
	return &lists[i], nil
}

// RemoveList deletes the list ref names; the images it names stay.
func (s *Store) RemoveList(ref string) (*List, error) {
	var gone List
	err := s.changeLists(func(lf *listsFile) error {
		i, err := findList(*lf, ref)
		if err != nil {
			return err
		}
		gone = lf.Lists[i]
		lf.Lists = slices.Delete(lf.Lists, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gone, nil
}
