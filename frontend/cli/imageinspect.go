package cli

import (
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/image"
)

// imageInspect is `inspect` of an image, with Podman's field names.
type imageInspect struct {
	Id          string
	Digest      digest.Digest
	RepoTags    []string
	RepoDigests []string
	Parent      string
	Comment     string
	Created     time.Time
	Config      imageConfig
	// HealthCheck is the image's HEALTHCHECK (Podman's name for it; Docker
	// shows it as Config.Healthcheck, which is here too): empty, and left
	// out of the JSON, where it has none, so that a template may name its
	// fields whatever the image.
	HealthCheck  image.Healthcheck `json:",omitzero"`
	Version      string
	Author       string
	Architecture string
	Os           string
	Size         int64
	VirtualSize  int64
	GraphDriver  graphDriver
	RootFS       imageRootFS
	Labels       map[string]string
	Annotations  map[string]string
	ManifestType string
	User         string
	History      []v1.History
	NamesHistory []string
}

// imageConfig is the image's OCI config with the HEALTHCHECK that
// Docker's config format adds to it.
type imageConfig struct {
	v1.ImageConfig
	Healthcheck image.Healthcheck `json:",omitzero"`
}

type imageRootFS struct {
	Type   string
	Layers []digest.Digest
}

// imageInspectOf is img as inspect shows it; hc is its HEALTHCHECK, or nil.
func imageInspectOf(img *image.Image, hc *image.Healthcheck) imageInspect {
	var health image.Healthcheck
	if hc != nil {
		health = *hc
	}
	var repoDigests []string
	seen := map[string]bool{}
	for _, n := range img.Names {
		repo := n
		if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
			repo = n[:i]
		}
		if !seen[repo] {
			seen[repo] = true
			repoDigests = append(repoDigests, repo+"@"+img.Digest.String())
		}
	}
	c := img.Config
	e := imageInspect{
		Id: img.ID, Digest: img.Digest, RepoTags: img.Names, RepoDigests: repoDigests,
		Created: img.Created, Config: imageConfig{c.Config, health}, HealthCheck: health, Author: c.Author,
		Architecture: c.Architecture, Os: c.OS, Size: img.Size, VirtualSize: img.Size,
		RootFS:       imageRootFS{Type: c.RootFS.Type, Layers: c.RootFS.DiffIDs},
		Labels:       c.Config.Labels,
		ManifestType: img.ManifestType(), User: c.Config.User, History: c.History,
		NamesHistory: img.Names,
		Annotations:  map[string]string{},
	}
	if e.RepoTags == nil {
		e.RepoTags = []string{}
	}
	if e.RepoDigests == nil {
		e.RepoDigests = []string{}
	}
	if e.Labels == nil {
		e.Labels = map[string]string{}
	}
	// Base first in the store; Podman names the top layer's directory
	// UpperDir and the rest, top first, LowerDir.
	dirs := img.LayerDirs
	data := map[string]string{}
	if n := len(dirs); n > 0 {
		data["UpperDir"] = dirs[n-1]
		var lower []string
		for i := n - 2; i >= 0; i-- {
			lower = append(lower, dirs[i])
		}
		if len(lower) > 0 {
			data["LowerDir"] = strings.Join(lower, ":")
		}
	}
	e.GraphDriver = graphDriver{Name: "overlay", Data: data}
	if c.Created != nil {
		e.Created = *c.Created
	}
	return e
}
