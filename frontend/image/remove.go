package image

import (
	"errors"
	"fmt"
	"os"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/archive"
)

// Remove untags one name of an image. When ref is a name, only that name
// goes. When ref is an ID (or ID prefix, or name@digest), every name goes;
// an image with several names is then refused with ErrMultipleNames unless
// force is set. When no name is left, the image is deleted: its manifest,
// its config, and the layer blobs and layer directories no other image
// uses.
//
// removedNames lists the names taken away; id is the image ID when the
// image itself was deleted, and empty when it keeps other names.
func (s *Store) Remove(ref string, force bool) (removedNames []string, id string, err error) {
	gc, err := lock(s.gcLockPath(), true)
	if err != nil {
		return nil, "", err
	}
	defer gc.unlock()
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return nil, "", err
	}
	defer l.unlock()

	images, idx, err := s.load()
	if err != nil {
		return nil, "", fmt.Errorf("remove %s: %w", ref, err)
	}
	img, name, err := resolve(images, ref)
	if err != nil {
		return nil, "", err
	}
	drop := map[string]bool{}
	if name != "" {
		drop[name] = true
	} else {
		if len(img.Names) > 1 && !force {
			return nil, "", fmt.Errorf("remove %s (%.12s, named %v): %w", ref, img.ID, img.Names, ErrMultipleNames)
		}
		for _, n := range img.Names {
			drop[n] = true
		}
	}
	kept := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		if d.Digest == img.Digest && (drop[d.Annotations[v1.AnnotationRefName]] || len(drop) == 0) {
			if n := d.Annotations[v1.AnnotationRefName]; n != "" {
				removedNames = append(removedNames, n)
			}
			continue
		}
		kept = append(kept, d)
	}
	idx.Manifests = kept
	if err := s.writeIndex(idx); err != nil {
		return nil, "", fmt.Errorf("remove %s: %w", ref, err)
	}
	if referenced(idx, img.Digest) {
		return removedNames, "", nil
	}
	if err := s.collectLocked(idx, []digest.Digest{img.Digest}); err != nil {
		return removedNames, img.ID, fmt.Errorf("delete image %.12s: %w", img.ID, err)
	}
	s.removeStale() // best effort: we hold gc.lock exclusively anyway
	return removedNames, img.ID, nil
}

// collect deletes the manifests in candidates that index.json no longer
// lists, with their config and layers where no listed image uses them.
func (s *Store) collect(candidates []digest.Digest) error {
	gc, err := lock(s.gcLockPath(), true)
	if err != nil {
		return err
	}
	defer gc.unlock()
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	return s.collectLocked(idx, candidates)
}

// collectLocked is collect's body. Preconditions: gc.lock and lock held
// exclusively; idx is the current index.
func (s *Store) collectLocked(idx v1.Index, candidates []digest.Digest) error {
	// What the remaining images use.
	usedBlobs := map[digest.Digest]bool{}
	usedLayers := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		if usedBlobs[d.Digest] {
			continue
		}
		img, err := s.loadImage(d.Digest)
		if err != nil {
			return fmt.Errorf("read image still in use: %w", err)
		}
		usedBlobs[d.Digest] = true
		usedBlobs[img.manifest.Config.Digest] = true
		for _, l := range img.manifest.Layers {
			usedBlobs[l.Digest] = true
		}
		for _, diffID := range img.Config.RootFS.DiffIDs {
			usedLayers[diffID] = true
		}
	}

	var errs []error
	removeBlob := func(d digest.Digest) {
		if usedBlobs[d] || d.Validate() != nil {
			return
		}
		if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove blob %s: %w", d, err))
		}
	}
	for _, m := range candidates {
		if usedBlobs[m] {
			continue
		}
		img, err := s.loadImage(m)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // collected already
			}
			return fmt.Errorf("read image to delete: %w", err)
		}
		for _, diffID := range img.Config.RootFS.DiffIDs {
			if usedLayers[diffID] {
				continue
			}
			dir := s.layerDir(diffID.Encoded())
			if err := s.removeAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("remove layer directory %s: %w", dir, err))
				continue
			}
			for _, sidecar := range []string{".size", archive.RootModeSuffix} {
				if err := os.Remove(dir + sidecar); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("remove layer %s: %w", sidecar, err))
				}
			}
		}
		for _, l := range img.manifest.Layers {
			removeBlob(l.Digest)
		}
		removeBlob(img.manifest.Config.Digest)
		// The manifest goes last: while it exists, a rerun can find
		// what it references.
		removeBlob(m)
	}
	return errors.Join(errs...)
}
