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
