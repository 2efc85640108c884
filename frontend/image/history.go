package image

import (
	"slices"
	"time"
)

// HistoryEntry is one step of an image's history (`myctr history`), as
// Podman lists it: the newest first.
type HistoryEntry struct {
	// ID is the image's for the newest step, "<missing>" for the others
	// (their intermediate images are not in the store).
	ID        string
	Created   time.Time // zero when the config does not say
	CreatedBy string
	Comment   string
	Size      int64    // of the layer the step made (uncompressed); 0 for an empty one
	Tags      []string // the image's names, on the newest step
}

// MissingID stands for the id of a step that is no image of the store.
const MissingID = "<missing>"

// History lists img's history from its config, each step that made a
// layer with that layer's size; without history in the config, a step
// per layer.
func (s *Store) History(img *Image) []HistoryEntry {
	diffIDs := img.Config.RootFS.DiffIDs
	size := func(i int) int64 {
		if i < 0 || i >= len(diffIDs) {
			return 0
		}
		n, err := s.layerSize(diffIDs[i])
		if err != nil && i < len(img.manifest.Layers) {
			n = img.manifest.Layers[i].Size // compressed, better than nothing
		}
		return n
	}
	var out []HistoryEntry
	layer := 0
	for _, h := range img.Config.History {
		e := HistoryEntry{ID: MissingID, CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer {
			e.Size = size(layer)
			layer++
		}
		out = append(out, e)
	}
	// Layers the history does not account for (a config without one).
	for ; layer < len(diffIDs); layer++ {
		out = append(out, HistoryEntry{ID: MissingID, Created: img.Created, Size: size(layer)})
	}
	slices.Reverse(out)
	if len(out) > 0 {
		out[0].ID = img.ID
		out[0].Tags = img.Names
	}
	return out
}
