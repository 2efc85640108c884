package api

import (
	"net/http"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/diskusage"
)

// containerPrune is POST /containers/prune (docker container prune): the
// containers `myctr container prune` removes (Store.Prunable, PruneOne),
// filters label, label! and until; SpaceReclaimed is their writable
// layers' bytes, as /system/df counts them.
func (s *Server) containerPrune(w http.ResponseWriter, r *http.Request) {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	var list []string
	for k, vs := range filters {
		for _, v := range vs {
			list = append(list, k+"="+v)
		}
	}
	f, err := container.ParsePruneFilter(list)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	cs := s.b.Containers
	prunable, err := cs.Prunable(f)
	if err != nil {
		writeError(w, err)
		return
	}
	rep := ctypes.PruneReport{ContainersDeleted: []string{}}
	for _, c := range prunable {
		size := diskusage.TreeSize(c.File("upper"))
		removed, err := cs.PruneOne(c)
		if err != nil {
			writeError(w, err)
			return
		}
		if !removed {
			continue
		}
		_ = cs.ReleaseCgroup(c)
		rep.ContainersDeleted = append(rep.ContainersDeleted, c.ID)
		rep.SpaceReclaimed += uint64(size)
	}
	cs.SweepRemoved()
	writeJSON(w, http.StatusOK, rep)
}
