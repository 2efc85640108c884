package image

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// What a build needs from the store: layers made one at a time from tar
// streams, then an image committed from a config the builder wrote.

// Layer is one layer of an image: its blob and the digest of its tar.
type Layer struct {
	Blob   v1.Descriptor `json:"blob"`
	DiffID digest.Digest `json:"diff_id"`
}

// Layers returns the image's layers, base first.
func (img *Image) Layers() []Layer {
	var out []Layer
	for i, d := range img.manifest.Layers {
		if i < len(img.Config.RootFS.DiffIDs) {
			out = append(out, Layer{Blob: d, DiffID: img.Config.RootFS.DiffIDs[i]})
		}
	}
	return out
}

// RawConfig returns the image's config blob as stored, with the fields
// (Healthcheck, OnBuild, Shell) that v1.Image does not carry.
func (s *Store) RawConfig(img *Image) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(img.manifest.Config.Digest))
	if err != nil {
		return nil, fmt.Errorf("read config of %.12s: %w", img.ID, err)
	}
	return b, nil
}

// Healthcheck is the image's HEALTHCHECK (Docker's config field, which
// myctr's builds write and images pulled from Docker's registries carry):
// nil where it has none. Durations are nanoseconds.
type Healthcheck struct {
	Test        []string      `json:",omitempty"`
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// ImageHealthcheck reads img's HEALTHCHECK from its config blob.
func (s *Store) ImageHealthcheck(img *Image) (*Healthcheck, error) {
	b, err := s.RawConfig(img)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Config struct {
			Healthcheck *Healthcheck
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("read the HEALTHCHECK of %.12s: %w", img.ID, err)
	}
	if h := cfg.Config.Healthcheck; h == nil || len(h.Test) == 0 {
		return nil, nil
	}
	return cfg.Config.Healthcheck, nil
}

// LayerDir is where the layer is unpacked.
func (s *Store) LayerDir(l Layer) string { return s.layerDir(l.DiffID.Encoded()) }

// LayerSize is the layer's unpacked size, as recorded when it was
// unpacked (the sizes an image's Size sums).
func (s *Store) LayerSize(l Layer) (int64, error) { return s.layerSize(l.DiffID) }

// HasLayer reports whether the layer's blob and its unpacked directory are
// both in the store.
func (s *Store) HasLayer(l Layer) bool {
	if l.Blob.Digest.Validate() != nil || l.DiffID.Validate() != nil {
		return false
	}
	return s.haveLayer(l.Blob.Digest, l.DiffID)
}

// BuildSession holds gc.lock shared while a build makes layers, so that no
// collection deletes a layer the build has made or reuses before the
// image that names it is committed.
type BuildSession struct {
	s  *Store
	gc *fileLock
}

// NewBuildSession starts a build's hold on the store's content. Close (or
// Commit) ends it.
func (s *Store) NewBuildSession() (*BuildSession, error) {
	gc, err := s.holdContent()
	if err != nil {
		return nil, err
	}
	return &BuildSession{s: s, gc: gc}, nil
}

// Close ends the session without committing.
func (b *BuildSession) Close() {
	if b.gc != nil {
		b.gc.unlock()
		b.gc = nil
	}
}

// AddLayer stores the uncompressed tar stream r as a gzip layer blob and
// unpacks it (through the store's Unpacker, so owners land in the user's
// subordinate range). A layer already in the store is reused.
func (b *BuildSession) AddLayer(r io.Reader) (Layer, error) {
	s := b.s
	l, err := s.writeLayer(r)
	if err != nil {
		return Layer{}, err
	}
	defer os.Remove(l.tmp) // gone already once it is in blobs/
	if err := s.ensureLayerDir(l); err != nil {
		return Layer{}, err
	}
	if err := commitBlob(l.tmp, s.blobPath(l.desc.Digest)); err != nil {
		return Layer{}, fmt.Errorf("store layer blob: %w", err)
	}
	return Layer{Blob: l.desc, DiffID: l.diffID}, nil
}

// Docker's schema 2 media types, for images committed in Docker's format
// (`commit --format docker`).
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// Commit stores config (an image config in JSON, whose rootfs lists the
// diff_ids of layers in order) and a manifest for layers, names the image
// (name "" lists it without a name) and ends the session. The image that
// name was taken from is deleted when nothing else names it.
func (b *BuildSession) Commit(config []byte, layers []Layer, name string) (*Image, error) {
	return b.CommitAs(config, layers, name, v1.MediaTypeImageManifest)
}

// CommitAs is Commit with the manifest's media type: OCI's
// (v1.MediaTypeImageManifest) or Docker's schema 2
// (MediaTypeDockerManifest), whose config and gzip layers then carry
// Docker's media types too.
func (b *BuildSession) CommitAs(config []byte, layers []Layer, name, mediaType string) (*Image, error) {
	s := b.s
	configType := v1.MediaTypeImageConfig
	switch mediaType {
	case v1.MediaTypeImageManifest:
	case MediaTypeDockerManifest:
		configType = mediaTypeDockerConfig
	default:
		b.Close()
		return nil, fmt.Errorf("manifest type %q: want %s or %s", mediaType, v1.MediaTypeImageManifest, MediaTypeDockerManifest)
	}
	defer b.Close()
	if name != "" {
		pr, err := parseRef(name)
		if err != nil {
			return nil, err
		}
		if pr.digest != "" {
			return nil, fmt.Errorf("commit as %s: a digest cannot be given as a name: %w", name, ErrInvalidRef)
		}
		name = pr.String()
	}
	var cfg v1.Image
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("parse image config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return nil, fmt.Errorf("image config lists %d layers, commit has %d", len(cfg.RootFS.DiffIDs), len(layers))
	}
	manifest := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: mediaType,
		Config:    v1.Descriptor{MediaType: configType, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers:    []v1.Descriptor{},
	}
	for i, l := range layers {
		if l.DiffID != cfg.RootFS.DiffIDs[i] {
			return nil, fmt.Errorf("layer %d: config says %s, commit has %s", i, cfg.RootFS.DiffIDs[i], l.DiffID)
		}
		if !s.HasLayer(l) {
			return nil, fmt.Errorf("layer %s is not in the store", l.DiffID)
		}
		blob := l.Blob
		if mediaType == MediaTypeDockerManifest {
			if blob.MediaType != v1.MediaTypeImageLayerGzip && blob.MediaType != mediaTypeDockerLayer {
				return nil, fmt.Errorf("layer %s is %s: Docker's format has gzip layers only", l.DiffID, blob.MediaType)
			}
			blob.MediaType = mediaTypeDockerLayer
		}
		manifest.Layers = append(manifest.Layers, blob)
	}
	if _, err := s.writeBlob(config); err != nil {
		return nil, fmt.Errorf("store image config: %w", err)
	}
	mb, err := json.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	md, err := s.writeBlob(mb)
	if err != nil {
		return nil, fmt.Errorf("store image manifest: %w", err)
	}
	desc := v1.Descriptor{MediaType: mediaType, Digest: md, Size: int64(len(mb))}
	goos, arch := cfg.OS, cfg.Architecture
	if goos == "" || arch == "" {
		goos, arch = "linux", runtime.GOARCH
	}
	desc.Platform = &v1.Platform{OS: goos, Architecture: arch, Variant: cfg.Variant}
	if name == "" {
		if err := s.addUnnamed(desc); err != nil {
			return nil, err
		}
		return s.lookupDigest(md)
	}
	if err := s.setName(desc, name); err != nil {
		return nil, err
	}
	b.gc.unlock()
	b.gc = nil
	return s.Lookup(name)
}

// ManifestType is the media type of the image's manifest as stored (OCI's,
// or Docker's schema 2 for an image pulled or loaded so).
func (img *Image) ManifestType() string {
	if img.manifest.MediaType != "" {
		return img.manifest.MediaType
	}
	return v1.MediaTypeImageManifest
}
