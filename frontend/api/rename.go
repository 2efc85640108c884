package api

import (
	"net/http"
)

// containerRename is POST /containers/{id}/rename?name=NEW, which
// docker-compose uses to recreate a service whose configuration changed
// (rename the old container, create the new one, remove the old): the
// same container.Store.Rename as `myctr rename`. 404: no such container;
// 409: the name is another container's; 400: no name, an invalid one, or
// the container's own.
func (s *Server) containerRename(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		writeError(w, badRequest("rename %s: the new name is missing (?name=)", c.Name))
		return
	}
	// Warnings (a running container's names its networks could not take)
	// have no place in Docker's empty answer: the rename itself stands.
	if _, err := s.b.Containers.Rename(c, name); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
