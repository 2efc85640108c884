package api

import (
	"net/http"
)

// containerPause serves POST /containers/{id}/pause: 204, 404 for an
// unknown container, 409 for one that is not running (or is paused), as
// Docker; the work is the CLI's (container.Store.Pause).
func (s *Server) containerPause(w http.ResponseWriter, r *http.Request) {
	s.freeze(w, r, true)
}

// containerUnpause serves POST /containers/{id}/unpause: 409 for a
// container that is not paused.
func (s *Server) containerUnpause(w http.ResponseWriter, r *http.Request) {
	s.freeze(w, r, false)
}

func (s *Server) freeze(w http.ResponseWriter, r *http.Request, on bool) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	act := s.b.Containers.Unpause
	if on {
		act = s.b.Containers.Pause
	}
	if err := act(c); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
