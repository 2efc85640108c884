package build

import (
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/protocol/flock"
)

// CachedLayers are the layers the build cache refers to, which `system
// check` keeps though no image may use them (the steps of a build that
// failed later, say). A damaged cache file reads as empty, as it does for
// a build.
func CachedLayers(s *image.Store) ([]image.Layer, error) {
	c := openCache(s)
	unlock, err := c.lock(flock.Shared)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cf, err := c.read()
	if err != nil {
		return nil, err
	}
	var out []image.Layer
	for _, e := range cf.Entries {
		if e.Layer != nil {
			out = append(out, *e.Layer)
		}
	}
	return out, nil
}
