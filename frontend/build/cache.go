package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// The layer cache: STORE/build-cache.json maps a step's key to the layer
// it made. The key chains the parent's key (the base image's ID at the
// start of a stage), the instruction after substitution, the build
// arguments in scope and, for COPY and ADD, a hash of what is copied. An
// entry whose layer is no longer in the store is dropped when next
// written; the file is read and written under an flock on
// build-cache.lock.

// cacheEntry is what a step made.
type cacheEntry struct {
	Layer   *image.Layer `json:"layer,omitempty"`
	Created time.Time    `json:"created"`
}

type cacheFile struct {
	Entries map[string]cacheEntry `json:"entries"`
}

type layerCache struct {
	path string
	s    *image.Store
}

func openCache(s *image.Store) *layerCache {
	return &layerCache{path: filepath.Join(s.Root(), "build-cache.json"), s: s}
}

// cacheKey is the key of a step.
func cacheKey(parent, instruction, args, inputs string) string {
	h := sha256.New()
	for _, p := range []string{parent, instruction, args, inputs} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *layerCache) lock(how flock.Mode) (func(), error) {
	l, err := flock.Acquire(c.path[:len(c.path)-len(".json")]+".lock", 0o600, how)
	if err != nil {
		return nil, fmt.Errorf("lock build cache: %w", err)
	}
	return func() { l.Close() }, nil
}

func (c *layerCache) read() (cacheFile, error) {
	cf := cacheFile{Entries: map[string]cacheEntry{}}
	b, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return cf, fmt.Errorf("read build cache: %w", err)
	}
	if err := json.Unmarshal(b, &cf); err != nil || cf.Entries == nil {
		// A damaged cache only costs a rebuild.
		return cacheFile{Entries: map[string]cacheEntry{}}, nil
	}
	return cf, nil
}

// get returns the entry of key when its layer is still in the store.
func (c *layerCache) get(key string) (cacheEntry, bool) {
	unlock, err := c.lock(flock.Shared)
	if err != nil {
		return cacheEntry{}, false
	}
	defer unlock()
	cf, err := c.read()
	if err != nil {
		return cacheEntry{}, false
	}
	e, ok := cf.Entries[key]
	if !ok || (e.Layer != nil && !c.s.HasLayer(*e.Layer)) {
		return cacheEntry{}, false
	}
	return e, true
}

// put records key, dropping entries whose layers are gone.
func (c *layerCache) put(key string, e cacheEntry) error {
	unlock, err := c.lock(flock.Exclusive)
	if err != nil {
		return err
	}
	defer unlock()
	cf, err := c.read()
	if err != nil {
		return err
	}
	for k, old := range cf.Entries {
		if old.Layer != nil && !c.s.HasLayer(*old.Layer) {
			delete(cf.Entries, k)
		}
	}
	cf.Entries[key] = e
	b, err := json.Marshal(cf)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(c.path, b, 0o600); err != nil {
		return fmt.Errorf("write build cache: %w", err)
	}
	return nil
}
