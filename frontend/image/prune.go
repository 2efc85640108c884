package image

import (
	"fmt"

	digest "github.com/opencontainers/go-digest"
)

// Prune deletes the dangling images: those without a name that inUse
// (nil: none is in use) does not claim, with their blobs and layers no
// other image uses. It returns the IDs of the deleted images.
func (s *Store) Prune(inUse func(id string) bool) ([]string, error) {
	gc, err := lock(s.gcLockPath(), true)
	if err != nil {
		return nil, err
	}
	defer gc.unlock()
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	images, idx, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	drop := map[digest.Digest]bool{}
	var ids []string
	var gone []digest.Digest
	for _, img := range images {
		if len(img.Names) > 0 || (inUse != nil && inUse(img.ID)) {
			continue
		}
		drop[img.Digest] = true
		ids = append(ids, img.ID)
		gone = append(gone, img.Digest)
	}
	if len(gone) == 0 {
		return nil, nil
	}
	kept := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		if !drop[d.Digest] {
			kept = append(kept, d)
		}
	}
	idx.Manifests = kept
	if err := s.writeIndex(idx); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	if err := s.collectLocked(idx, gone); err != nil {
		return ids, fmt.Errorf("prune: %w", err)
	}
	s.removeStale() // best effort: we hold gc.lock exclusively anyway
	return ids, nil
}

// Pruned is an image PruneUnused removed: its ID, the names it had, and
// its size (its layers', some of which another image may still hold).
type Pruned struct {
	ID       string
	Untagged []string
	Size     int64
}

// PruneUnused is image prune, of the CLI and of the API: the dangling
// images that inUse does not claim and, with all, also the named ones
// (Podman's -a, Docker's dangling=false). keep (nil: none) holds back the
// images a filter leaves out.
func (s *Store) PruneUnused(all bool, inUse func(id string) bool, keep func(*Image) bool) ([]Pruned, error) {
	imgs, err := s.List()
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	kept := map[string]bool{}
	for i := range imgs {
		sizes[imgs[i].ID] = imgs[i].Size
		if (inUse != nil && inUse(imgs[i].ID)) || (keep != nil && keep(&imgs[i])) {
			kept[imgs[i].ID] = true
		}
	}
	var out []Pruned
	if all {
		for _, img := range imgs {
			if kept[img.ID] || len(img.Names) == 0 {
				continue
			}
			names, id, err := s.Remove(img.ID, true)
			if err != nil {
				return out, fmt.Errorf("prune image %.12s: %w", img.ID, err)
			}
			if id != "" {
				out = append(out, Pruned{ID: id, Untagged: names, Size: sizes[id]})
			}
		}
	}
	ids, err := s.Prune(func(id string) bool { return kept[id] })
	for _, id := range ids {
		out = append(out, Pruned{ID: id, Size: sizes[id]})
	}
	return out, err
}
