package api

import (
	"net/http"

	itypes "github.com/moby/moby/api/types/image"

	"github.com/myctr/myctr/frontend/image"
)

// imageHistory is GET /images/{name}/history (docker history): the steps
// `myctr history` lists (image.Store.History), the newest first, as
// Docker's HistoryResponseItem list: the newest step has the image's id
// (sha256:...) and tags, the others "<missing>" as Docker's do for steps
// that are no local image; Created is in Unix seconds.
func (s *Server) imageHistory(w http.ResponseWriter, name string) {
	img, err := s.lookupImage(name)
	if err != nil {
		writeError(w, err)
		return
	}
	steps := s.b.Images.History(img)
	out := make([]itypes.HistoryResponseItem, len(steps))
	for i, e := range steps {
		item := itypes.HistoryResponseItem{ID: e.ID, CreatedBy: e.CreatedBy, Comment: e.Comment, Size: e.Size, Tags: e.Tags}
		if e.ID != image.MissingID {
			item.ID = "sha256:" + e.ID
		}
		if !e.Created.IsZero() {
			item.Created = e.Created.Unix()
		}
		if item.Tags == nil {
			item.Tags = []string{}
		}
		out[i] = item
	}
	writeJSON(w, http.StatusOK, out)
}
