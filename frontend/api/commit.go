package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/build"
	mcontainer "github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// commit serves POST /commit?container=ID&repo=R&tag=T (docker commit):
// build.Builder.Commit, the code of `myctr commit`, with comment,
// author and changes (repeated, or one per line); the image is in
// Docker's format, as Docker's daemon makes it. A body with a container
// configuration to merge in is not implemented (the docker CLI sends
// none).
func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := q.Get("container")
	if ref == "" {
		writeError(w, badRequest("container is required"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, bodyError(err))
		return
	}
	if b := bytes.TrimSpace(body); len(b) > 0 && !bytes.Equal(b, []byte("null")) && !bytes.Equal(b, []byte("{}")) {
		var cfg container.Config
		if err := json.Unmarshal(b, &cfg); err != nil {
			writeError(w, badRequest("decode the commit configuration: %v", err))
			return
		}
		writeError(w, withStatus(http.StatusNotImplemented, errors.New("a container configuration in the body of POST /commit is not implemented by myctr's API service: use changes")))
		return
	}
	c, err := s.b.Containers.Lookup(ref)
	if errors.Is(err, mcontainer.ErrNotFound) {
		err = withStatus(http.StatusNotFound, fmt.Errorf("No such container: %s", ref))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	name := q.Get("repo")
	if tag := q.Get("tag"); name != "" && tag != "" {
		name += ":" + tag
	}
	var changes []string
	for _, ch := range q["changes"] {
		for _, l := range bytes.Split([]byte(ch), []byte("\n")) {
			if l := bytes.TrimSpace(l); len(l) > 0 {
				changes = append(changes, string(l))
			}
		}
	}
	b := &build.Builder{Images: s.b.Images, Containers: s.b.Containers, Mapping: s.b.Mapping, Differ: s.b.Differ}
	img, err := b.Commit(c, build.CommitOptions{
		Name:    name,
		Message: q.Get("comment"),
		Author:  q.Get("author"),
		Changes: changes,
		Format:  "docker",
	})
	if errors.Is(err, build.ErrChange) || errors.Is(err, image.ErrInvalidRef) {
		err = withStatus(http.StatusBadRequest, err)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, container.CommitResponse{ID: "sha256:" + img.ID})
}
