package api

// Named volumes: the store of `myctr volume` (frontend/volume), in-use
// as the container store tells it (Store.VolumeUsers).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	voltypes "github.com/moby/moby/api/types/volume"

	"github.com/myctr/myctr/frontend/diskusage"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/volume"
)

// volumeStatus maps the volume store's sentinels to Docker's codes.
func volumeStatus(err error) error {
	switch {
	case errors.Is(err, volume.ErrNoSuchVolume), errors.Is(err, volume.ErrNoPlugin):
		return withStatus(http.StatusNotFound, err)
	case errors.Is(err, volume.ErrInUse):
		return withStatus(http.StatusConflict, err)
	case errors.Is(err, volume.ErrInvalidName), errors.Is(err, volume.ErrInvalidOption):
		return withStatus(http.StatusBadRequest, err)
	}
	return err
}

// volumeJSON is Docker's view of a volume.
func volumeJSON(v *volume.Volume) voltypes.Volume {
	out := voltypes.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		CreatedAt:  v.CreatedAt.Format(time.RFC3339),
		Labels:     v.Labels,
		Scope:      v.Scope,
		Options:    v.Options,
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	return out
}

// decodeVolumeCreate reads the body of POST /volumes/create; what the
// volume store cannot honour is refused, naming it.
func decodeVolumeCreate(body []byte) (volume.CreateOptions, error) {
	var req voltypes.CreateRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return volume.CreateOptions{}, badRequest("decode the volume's configuration: %v", err)
		}
	}
	if req.ClusterVolumeSpec != nil {
		return volume.CreateOptions{}, withStatus(http.StatusNotImplemented, errors.New("ClusterVolumeSpec is not supported: myctr has no swarm"))
	}
	if req.Driver != "" && req.Driver != volume.DriverLocal {
		return volume.CreateOptions{}, withStatus(http.StatusNotFound, fmt.Errorf("volume driver %q: %w (only %q)", req.Driver, volume.ErrNoPlugin, volume.DriverLocal))
	}
	// A volume of that name already there is answered as created, as
	// Docker does.
	return volume.CreateOptions{Name: req.Name, Driver: volume.DriverLocal, Labels: req.Labels, Options: req.DriverOpts, Exist: true}, nil
}

func (s *Server) volumeCreate(w http.ResponseWriter, r *http.Request) {
	body, err := volumeBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	o, err := decodeVolumeCreate(body)
	if err != nil {
		writeError(w, err)
		return
	}
	vs, err := s.b.Containers.Volumes()
	if err != nil {
		writeError(w, err)
		return
	}
	existed := false
	if o.Name != "" {
		_, gerr := vs.Get(o.Name)
		existed = gerr == nil
	}
	v, err := vs.Create(o)
	if err != nil {
		writeError(w, volumeStatus(err))
		return
	}
	if !existed {
		s.volumeEvent("create", v.Name, v.Name)
	}
	writeJSON(w, http.StatusCreated, volumeJSON(v))
}

// volumeUsers is, by volume name, the containers that mount it.
func (s *Server) volumeUsers() (map[string][]string, error) {
	all, err := s.b.Containers.List()
	if err != nil {
		return nil, err
	}
	used := map[string][]string{}
	for _, c := range all {
		for _, mp := range c.Mounts {
			if mp.Type == volume.TypeVolume {
				used[mp.Name] = append(used[mp.Name], c.ID)
			}
		}
	}
	return used, nil
}

// volumes opens the volume store (swept first when sweep is set, as
// prune does) and lists its volumes with the containers using each.
func (s *Server) volumes(sweep bool) (*volume.Store, []*volume.Volume, map[string][]string, error) {
	vs, err := s.b.Containers.Volumes()
	if err != nil {
		return nil, nil, nil, err
	}
	if sweep {
		vs.Sweep()
	}
	all, err := vs.List()
	if err != nil {
		return nil, nil, nil, err
	}
	used, err := s.volumeUsers()
	if err != nil {
		return nil, nil, nil, err
	}
	return vs, all, used, nil
}

// volumeFilter reads the filters parameter of GET /volumes and POST
// /volumes/prune into the volume store's filter.
func volumeFilter(r *http.Request, allowed ...string) (volume.Filter, error) {
	raw, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var list []string
	for _, k := range keys {
		for _, v := range raw[k] {
			list = append(list, k+"="+v)
		}
	}
	f, err := volume.ParseFilter(list, allowed...)
	if err != nil {
		return nil, withStatus(http.StatusBadRequest, err)
	}
	return f, nil
}

func (s *Server) volumeList(w http.ResponseWriter, r *http.Request) {
	f, err := volumeFilter(r, "name", "driver", "label", "label!", "dangling", "opt", "scope")
	if err != nil {
		writeError(w, err)
		return
	}
	_, all, used, err := s.volumes(false)
	if err != nil {
		writeError(w, err)
		return
	}
	out := voltypes.ListResponse{Volumes: []voltypes.Volume{}, Warnings: []string{}}
	for _, v := range all {
		if f.Match(v, len(used[v.Name]) > 0) {
			out.Volumes = append(out.Volumes, volumeJSON(v))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request) {
	vs, err := s.b.Containers.Volumes()
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := vs.Get(r.PathValue("name"))
	if err != nil {
		writeError(w, volumeStatus(err))
		return
	}
	writeJSON(w, http.StatusOK, volumeJSON(v))
}

// volumeRemove answers DELETE /volumes/{name}: a volume a container
// mounts is a 409 (force or not, as Docker); with force a missing one is
// no error.
func (s *Server) volumeRemove(w http.ResponseWriter, r *http.Request) {
	force, err := boolParam(r, "force")
	if err != nil {
		writeError(w, err)
		return
	}
	name := r.PathValue("name")
	vs, err := s.b.Containers.Volumes()
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := vs.Get(name); err != nil {
		if force && errors.Is(err, volume.ErrNoSuchVolume) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeError(w, volumeStatus(err))
		return
	}
	users, err := s.b.Containers.VolumeUsers(name)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(users) > 0 {
		ids := make([]string, len(users))
		for i, c := range users {
			ids[i] = c.ID
		}
		writeError(w, withStatus(http.StatusConflict, fmt.Errorf("remove %s: volume is in use - [%s]", name, strings.Join(ids, ", "))))
		return
	}
	if err := vs.Remove(name); err != nil {
		writeError(w, volumeStatus(err))
		return
	}
	s.volumeEvent("remove", name, name)
	w.WriteHeader(http.StatusNoContent)
}

// volumePrune answers POST /volumes/prune: every volume no container
// mounts (API 1.41 prunes named ones too), as `myctr volume prune`.
func (s *Server) volumePrune(w http.ResponseWriter, r *http.Request) {
	f, err := volumeFilter(r, "label", "label!", "until", "name", "driver", "opt", "anonymous")
	if err != nil {
		writeError(w, err)
		return
	}
	vs, all, used, err := s.volumes(true)
	if err != nil {
		writeError(w, err)
		return
	}
	rep := voltypes.PruneReport{VolumesDeleted: []string{}}
	for _, v := range all {
		if len(used[v.Name]) > 0 || !f.Match(v, false) {
			continue
		}
		// In use meanwhile: the volume stays.
		if users, err := s.b.Containers.VolumeUsers(v.Name); err != nil || len(users) > 0 {
			continue
		}
		size := diskusage.TreeSize(v.Mountpoint)
		if err := vs.Remove(v.Name); err != nil {
			writeError(w, volumeStatus(err))
			return
		}
		s.volumeEvent("remove", v.Name, v.Name)
		rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
		rep.SpaceReclaimed += uint64(size)
	}
	writeJSON(w, http.StatusOK, rep)
}

// volumeEvent writes a volume's event to the log `myctr events` reads,
// as `myctr volume` does.
func (s *Server) volumeEvent(status, id, name string) {
	if s.b.RunRoot == "" {
		return
	}
	_ = events.Record(s.b.RunRoot, events.Event{ID: id, Name: name, Status: status, Type: events.TypeVolume})
}

// volumeBody reads a bounded request body (413 past MaxBody).
func volumeBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, withStatus(http.StatusRequestEntityTooLarge, err)
	}
	if err != nil {
		return nil, badRequest("read the request body: %v", err)
	}
	return b, nil
}
