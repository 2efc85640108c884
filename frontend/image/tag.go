package image

import (
	"errors"
	"fmt"
	"slices"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tag gives the image that ref finds one more name. When the name
// belonged to another image, it moves, and that image stays, dangling if
// it has no other name (setName).
func (s *Store) Tag(ref, name string) error {
	pr, err := parseRef(name)
	if err != nil {
		return err
	}
	if pr.digest != "" {
		return fmt.Errorf("tag %s: a digest cannot be given as a name: %w", name, ErrInvalidRef)
	}
	full := pr.String()

	// Holding gc.lock shared keeps the image from being deleted between
	// finding it and naming it.
	gc, err := lock(s.gcLockPath(), false)
	if err != nil {
		return err
	}
	defer gc.unlock()
	desc, err := s.find(ref)
	if err != nil {
		return err
	}
	if err := s.setName(desc, full); err != nil {
		return fmt.Errorf("tag %s as %s: %w", ref, full, err)
	}
	return nil
}

// find returns the index descriptor of the image ref finds, without its
// name annotation.
func (s *Store) find(ref string) (v1.Descriptor, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer l.unlock()
	images, idx, err := s.load()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("look up %s: %w", ref, err)
	}
	img, _, err := resolve(images, ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, d := range idx.Manifests {
		if d.Digest == img.Digest {
			d.Annotations = nil
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s: %w", ref, ErrImageUnknown)
}

// ErrNameNotOfImage is returned by Untag for a name the image does not have.
var ErrNameNotOfImage = errors.New("tag not known")

// Untag takes names away from the image that ref finds, all of them when
// names is empty. Unlike Remove it keeps the image, without a name when
// none is left (as Podman's untag does); `image prune` removes it then.
func (s *Store) Untag(ref string, names []string) (removed []string, err error) {
	gc, err := lock(s.gcLockPath(), false)
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
		return nil, fmt.Errorf("untag %s: %w", ref, err)
	}
	img, _, err := resolve(images, ref)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, n := range names {
		full, err := NormalizeRef(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(img.Names, full) {
			// Podman's words: "NAME: tag not known".
			return nil, fmt.Errorf("%s: %w", n, ErrNameNotOfImage)
		}
		drop[full] = true
	}
	var kept []v1.Descriptor
	var nameless *v1.Descriptor
	left := 0
	for _, d := range idx.Manifests {
		if d.Digest != img.Digest {
			kept = append(kept, d)
			continue
		}
		n := d.Annotations[v1.AnnotationRefName]
		if n != "" && (len(drop) == 0 || drop[n]) {
			removed = append(removed, n)
			if nameless == nil {
				c := d
				c.Annotations = nil
				nameless = &c
			}
			continue
		}
		kept = append(kept, d)
		left++
	}
	if left == 0 && nameless != nil {
		kept = append(kept, *nameless)
	}
	idx.Manifests = kept
	if err := s.writeIndex(idx); err != nil {
		return nil, fmt.Errorf("untag %s: %w", ref, err)
	}
	return removed, nil
}
