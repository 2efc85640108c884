package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/myctr/myctr/frontend/image"
)

// repoDigests are the image's name@digest forms.
func repoDigests(img *image.Image) []string {
	out := []string{}
	if img.Digest == "" {
		return out
	}
	seen := map[string]bool{}
	for _, n := range img.Names {
		repo := n
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
			repo = n[:i]
		}
		if d := repo + "@" + img.Digest.String(); !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func (s *Server) imageList(w http.ResponseWriter, r *http.Request) {
	imgs, err := s.b.Images.List()
	if err != nil {
		writeError(w, err)
		return
	}
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	users := map[string]int64{}
	for _, c := range cs {
		users[c.Image]++
	}
	out := []dfImage{}
	for i := range imgs {
		img := &imgs[i]
		out = append(out, imageSummary(img, users[img.ID], -1))
	}
	writeJSON(w, http.StatusOK, out)
}

// imageSummary is img as /images/json and /system/df list it: used by
// that many containers, shared bytes with other images (-1: not counted).
func imageSummary(img *image.Image, users, shared int64) dfImage {
	tags := img.Names
	if tags == nil {
		tags = []string{}
	}
	return dfImage{VirtualSize: img.Size, Summary: itypes.Summary{
		ID:          "sha256:" + img.ID,
		Created:     img.Created.Unix(),
		RepoTags:    tags,
		RepoDigests: repoDigests(img),
		Labels:      img.Config.Config.Labels,
		Size:        img.Size,
		SharedSize:  shared,
		Containers:  users,
	}}
}

// lookupImage finds the image of ref, or answers Docker's 404.
func (s *Server) lookupImage(ref string) (*image.Image, error) {
	img, err := s.b.Images.Lookup(strings.TrimPrefix(ref, "sha256:"))
	if errors.Is(err, image.ErrImageUnknown) {
		return nil, withStatus(http.StatusNotFound, fmt.Errorf("No such image: %s", ref))
	}
	return img, err
}

// imageInspectOrNot serves GET /images/{name}/json, /images/{name}/get
// (imageSave of one image) and /images/{name}/history, where the name may
// hold slashes; any other GET under /images/ is not implemented.
func (s *Server) imageInspectOrNot(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutSuffix(r.PathValue("name"), "/get"); ok && name != "" {
		s.saveImages(w, r, []string{name})
		return
	}
	if name, ok := strings.CutSuffix(r.PathValue("name"), "/history"); ok && name != "" {
		s.imageHistory(w, name)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("name"), "/json")
	if !ok || name == "" {
		notImplemented(w, r)
		return
	}
	img, err := s.lookupImage(name)
	if err != nil {
		writeError(w, err)
		return
	}
	layers := []string{}
	for _, d := range img.Config.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	tags := img.Names
	if tags == nil {
		tags = []string{}
	}
	cfg := &dockerspec.DockerOCIImageConfig{ImageConfig: img.Config.Config}
	if hc, err := s.b.Images.ImageHealthcheck(img); err != nil {
		writeError(w, err)
		return
	} else if hc != nil {
		cfg.Healthcheck = &dockerspec.HealthcheckConfig{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries}
	}
	resp := imageInspect{InspectResponse: itypes.InspectResponse{
		ID:           "sha256:" + img.ID,
		RepoTags:     tags,
		RepoDigests:  repoDigests(img),
		Created:      img.Created.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
		Author:       img.Config.Author,
		Config:       cfg,
		Architecture: img.Config.Architecture,
		Variant:      img.Config.Variant,
		Os:           img.Config.OS,
		Size:         img.Size,
		RootFS:       itypes.RootFS{Type: "layers", Layers: layers},
	}, ContainerConfig: &ctypes.Config{}}
	writeJSON(w, http.StatusOK, resp)
}

// imageInspect is Docker's image inspect as API versions before 1.45
// answer it (this service's are): with ContainerConfig, the config of the
// container an image was committed from, which docker-compose 1.29 reads
// (for its Volumes) when it recreates a service. myctr keeps no such
// config, so it is empty, as Docker's is for the images BuildKit builds.
type imageInspect struct {
	itypes.InspectResponse
	ContainerConfig *ctypes.Config `json:"ContainerConfig"`
}

// progressLines turns the pull's plain progress lines into Docker's JSON
// progress messages, one per line.
type progressLines struct {
	enc   *json.Encoder
	flush func()
	part  []byte
}

func (p *progressLines) Write(b []byte) (int, error) {
	p.part = append(p.part, b...)
	for {
		i := strings.IndexAny(string(p.part), "\r\n")
		if i < 0 {
			return len(b), nil
		}
		line := strings.TrimSpace(string(p.part[:i]))
		p.part = p.part[i+1:]
		if line != "" {
			_ = p.enc.Encode(jsonstream.Message{Status: line})
			p.flush()
		}
	}
}

// imageCreate serves POST /images/create?fromImage=NAME&tag=TAG: a pull
// through image.Store.Pull (registries.conf, credentials and all, as
// `myctr pull`), its progress as a JSON stream. fromSrc (import) is not
// implemented.
func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("fromSrc") != "" {
		notImplemented(w, r)
		return
	}
	ref := q.Get("fromImage")
	if ref == "" {
		writeError(w, badRequest("fromImage is required"))
		return
	}
	if tag := q.Get("tag"); tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	}
	auth, err := registryAuth(r)
	if err != nil {
		writeError(w, err)
		return
	}
	// docker pull --platform: the entry of a multi-platform index.
	platform, err := image.ParsePlatform(q.Get("platform"), "", "", "")
	if err != nil {
		writeError(w, badRequest("platform: %v", err))
		return
	}
	enc, flush := jsonStream(w)
	_ = enc.Encode(jsonstream.Message{Status: "Pulling from " + ref})
	flush()
	pl := &progressLines{enc: enc, flush: flush}
	img, err := s.b.Images.Pull(r.Context(), ref, image.PullOptions{Progress: pl, Auth: auth, Platform: platform})
	_, _ = pl.Write([]byte("\n"))
	if err != nil {
		// The status is sent: a pull's failure is the stream's last
		// message, as Docker's.
		_ = enc.Encode(jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}})
		return
	}
	_ = enc.Encode(jsonstream.Message{Status: "Digest: " + img.Digest.String()})
	_ = enc.Encode(jsonstream.Message{Status: "Status: Downloaded newer image for " + ref})
	flush()
}

func (s *Server) imageRemove(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("name")
	force, err := boolParam(r, "force")
	if err != nil {
		writeError(w, err)
		return
	}
	img, err := s.lookupImage(ref)
	if err != nil {
		writeError(w, err)
		return
	}
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	for _, c := range cs {
		if c.Image == img.ID && len(img.Names) <= 1 {
			writeError(w, withStatus(http.StatusConflict, fmt.Errorf("conflict: unable to remove image %s: image is being used by container %.12s", ref, c.ID)))
			return
		}
	}
	names, id, err := s.b.Images.Remove(strings.TrimPrefix(ref, "sha256:"), force)
	if errors.Is(err, image.ErrMultipleNames) {
		err = withStatus(http.StatusConflict, err)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out := []itypes.DeleteResponse{}
	for _, n := range names {
		out = append(out, itypes.DeleteResponse{Untagged: n})
	}
	if id != "" {
		out = append(out, itypes.DeleteResponse{Deleted: "sha256:" + id})
	}
	writeJSON(w, http.StatusOK, out)
}

var _ io.Writer = (*progressLines)(nil)
