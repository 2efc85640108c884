package api

import (
	"net/http"

	"github.com/myctr/myctr/frontend/container"
)

// containerChanges answers GET /containers/{id}/changes (`docker diff`):
// container.Changes, as `myctr diff` lists them, in Docker's form.
func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	changes, err := container.Changes(c)
	if err != nil {
		writeError(w, err)
		return
	}
	type change struct {
		Path string
		Kind int
	}
	out := make([]change, 0, len(changes))
	for _, ch := range changes {
		out = append(out, change{Path: ch.Path, Kind: int(ch.Kind)})
	}
	writeJSON(w, http.StatusOK, out)
}
