package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

// imagePost serves POST /images/{name}/tag, where the name may hold
// slashes; any other POST under /images/ is not implemented.
func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutSuffix(r.PathValue("name"), "/push"); ok && name != "" {
		s.imagePush(w, r, name)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("name"), "/tag")
	if !ok || name == "" {
		notImplemented(w, r)
		return
	}
	s.imageTag(w, r, name)
}

// imageTag gives the image ref the name repo[:tag], as `myctr tag`.
func (s *Server) imageTag(w http.ResponseWriter, r *http.Request, ref string) {
	q := r.URL.Query()
	repo, tag := q.Get("repo"), q.Get("tag")
	if repo == "" {
		writeError(w, badRequest("repo is required"))
		return
	}
	name := repo
	if tag != "" {
		name += ":" + tag
	}
	img, err := s.lookupImage(ref)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.Images.Tag(img.ID, name); err != nil {
		if errors.Is(err, image.ErrInvalidRef) {
			err = withStatus(http.StatusBadRequest, err)
		}
		writeError(w, err)
		return
	}
	_ = events.Record(s.b.RunRoot, events.Event{ID: img.ID, Name: name, Status: "tag", Type: events.TypeImage})
	w.WriteHeader(http.StatusCreated)
}

// imageSave serves GET /images/get?names=A&names=B: a docker-archive of
// the images, written by image.Store.Save as `myctr save`.
func (s *Server) imageSave(w http.ResponseWriter, r *http.Request) {
	s.saveImages(w, r, r.URL.Query()["names"])
}

func (s *Server) saveImages(w http.ResponseWriter, r *http.Request, refs []string) {
	if len(refs) == 0 {
		writeError(w, badRequest("no image given: names is required"))
		return
	}
	// Every image is looked up first: once the archive streams, the
	// status is sent and an error can only cut it short.
	for _, ref := range refs {
		if _, err := s.lookupImage(ref); err != nil {
			writeError(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	cw := &countingWriter{w: w}
	if err := s.b.Images.Save(cw, refs, image.FormatDockerArchive); err != nil {
		// A failure before the first byte still gets its status; after
		// it, the archive ends short and the client sees it truncated.
		if cw.n == 0 {
			writeError(w, err)
		}
		return
	}
	for _, ref := range refs {
		_ = events.Record(s.b.RunRoot, events.Event{Name: ref, Status: "save", Type: events.TypeImage})
	}
}

// imageLoad serves POST /images/load: the body is a docker-archive or
// oci-archive (of any length: a stream route) that image.Store.LoadChecked
// adds, if policy.json allows its transport, as `myctr load`. The answer
// is Docker's JSON stream: the load's progress unless quiet, then a
// "Loaded image" line per name.
func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) {
	quiet, err := boolParam(r, "quiet")
	if err != nil {
		writeError(w, err)
		return
	}
	pol, err := config.LoadPolicy(config.HostEnv())
	if err != nil {
		writeError(w, err)
		return
	}
	enc, flush := jsonStream(w)
	pl := &progressLines{enc: enc, flush: flush}
	var progress io.Writer = pl
	if quiet {
		progress = nil
	}
	images, err := s.b.Images.LoadChecked(r.Body, func(transport string) error {
		return pol.Check(transport, "")
	}, progress)
	_, _ = pl.Write([]byte("\n"))
	if err != nil {
		// The status is sent: the failure is the stream's last message.
		_ = enc.Encode(jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}})
		return
	}
	for _, img := range images {
		_ = events.Record(s.b.RunRoot, events.Event{ID: img.ID, Name: strings.Join(img.Names, ","), Status: "load", Type: events.TypeImage})
		if len(img.Names) == 0 {
			_ = enc.Encode(jsonstream.Message{Stream: "Loaded image ID: sha256:" + img.ID + "\n"})
		}
		for _, n := range img.Names {
			_ = enc.Encode(jsonstream.Message{Stream: "Loaded image: " + n + "\n"})
		}
	}
	flush()
}

// imagePrune serves POST /images/prune with image.Store.PruneUnused, as
// `myctr image prune`: the default dangling=true removes the nameless
// images no container uses; dangling=false also the named ones (Docker's
// prune -a, Podman's image prune -a), each as `myctr rmi` does.
func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	danglingOnly := true
	for k, vs := range filters {
		if k != "dangling" {
			writeError(w, badRequest("invalid filter '%s': myctr's API prunes images by dangling only", k))
			return
		}
		for _, v := range vs {
			switch strings.ToLower(v) {
			case "true", "1":
				danglingOnly = true
			case "false", "0":
				danglingOnly = false
			default:
				writeError(w, badRequest("invalid filter 'dangling=%s': want true or false", v))
				return
			}
		}
	}
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	used := map[string]bool{}
	for _, c := range cs {
		used[c.Image] = true
	}
	report := itypes.PruneReport{ImagesDeleted: []itypes.DeleteResponse{}}
	pruned, err := s.b.Images.PruneUnused(!danglingOnly, func(id string) bool { return used[id] }, nil)
	for _, p := range pruned {
		for _, n := range p.Untagged {
			report.ImagesDeleted = append(report.ImagesDeleted, itypes.DeleteResponse{Untagged: n})
		}
		report.ImagesDeleted = append(report.ImagesDeleted, itypes.DeleteResponse{Deleted: "sha256:" + p.ID})
		report.SpaceReclaimed += uint64(max(p.Size, 0))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// countingWriter counts what went through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
