package image

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Archive formats of Save.
const (
	FormatDockerArchive = "docker-archive"
	FormatOCIArchive    = "oci-archive"
)

// annotationContainerdName is where containerd and Docker put an image's
// full name in an OCI layout (ref.name then holds only the tag).
const annotationContainerdName = "io.containerd.image.name"

// savedImage is one image to save and the names it is saved with.
type savedImage struct {
	img   Image
	names []string
}

// Save writes the images refs name to w as a docker-archive (the
// `docker save` format, written by ggcr's tarball package: manifest.json,
// the config and the layer blobs) or an oci-archive (a tar of an OCI
// image layout). Blobs are written as stored, so an oci-archive keeps the
// manifest digests and both keep the image IDs. An image named by a name
// is saved with that name, one named by ID with none, as Podman's and
// Docker's save do: it loads as an image without a name.
func (s *Store) Save(w io.Writer, refs []string, format string) error {
	return s.SaveWith(w, refs, format, SaveOptions{})
}

// SaveOptions are save's choices beyond the format.
type SaveOptions struct {
	// Uncompressed: an oci-archive holds its layers uncompressed
	// (Podman's --uncompressed), under manifests that name them so (a
	// new manifest digest; the config, and so the image ID, is the
	// same). A docker-archive is unchanged.
	Uncompressed bool
}

// SaveWith is Save with o.
func (s *Store) SaveWith(w io.Writer, refs []string, format string, o SaveOptions) error {
	if format == "" {
		format = FormatDockerArchive
	}
	if format != FormatDockerArchive && format != FormatOCIArchive {
		return fmt.Errorf("save: unknown format %q: use %s or %s", format, FormatDockerArchive, FormatOCIArchive)
	}
	if len(refs) == 0 {
		return errors.New("save: no image given")
	}
	// gc.lock shared: no blob goes away while we read it.
	gc, err := lock(s.gcLockPath(), false)
	if err != nil {
		return err
	}
	defer gc.unlock()
	saved, err := s.resolveAll(refs)
	if err != nil {
		return err
	}
	if format == FormatOCIArchive {
		return s.writeOCIArchive(w, saved, o.Uncompressed)
	}
	return s.writeDockerArchive(w, saved)
}

// resolveAll finds the images refs name, merging repeats.
func (s *Store) resolveAll(refs []string) ([]*savedImage, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	images, _, err := s.load()
	if err != nil {
		return nil, err
	}
	var out []*savedImage
	byDigest := map[digest.Digest]*savedImage{}
	for _, ref := range refs {
		img, n, err := resolve(images, ref)
		if err != nil {
			return nil, err
		}
		si := byDigest[img.Digest]
		if si == nil {
			si = &savedImage{img: *img}
			byDigest[img.Digest] = si
			out = append(out, si)
		}
		var names []string
		switch {
		case n != "":
			names = []string{n}
		case !isHex(strings.TrimPrefix(ref, "sha256:")) || !strings.HasPrefix(img.ID, strings.TrimPrefix(ref, "sha256:")):
			// name@digest: the image's names.
			names = img.Names
		}
		for _, nm := range names {
			if !contains(si.names, nm) {
				si.names = append(si.names, nm)
			}
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Store) writeOCIArchive(w io.Writer, saved []*savedImage, uncompressed bool) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	writeFile := func(name string, b []byte) error {
		h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
	}
	layoutJSON, _ := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
	if err := writeFile(v1.ImageLayoutFile, layoutJSON); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	idx := newIndex()
	written := map[digest.Digest]bool{}
	for _, si := range saved {
		m := si.img.manifest
		desc, err := s.manifestDesc(&si.img)
		if err != nil {
			return err
		}
		if uncompressed && hasCompressedLayer(m) {
			if desc, err = s.writeUncompressed(tw, &si.img, desc, written, now); err != nil {
				return err
			}
		} else {
			blobs := []digest.Digest{si.img.Digest, m.Config.Digest}
			for _, l := range m.Layers {
				blobs = append(blobs, l.Digest)
			}
			for _, d := range blobs {
				if written[d] {
					continue
				}
				written[d] = true
				if err := s.copyBlobToTar(tw, d, now); err != nil {
					return err
				}
			}
		}
		if len(si.names) == 0 {
			idx.Manifests = append(idx.Manifests, desc)
		}
		for _, n := range si.names {
			d := desc
			d.Annotations = map[string]string{v1.AnnotationRefName: n}
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := writeFile(v1.ImageIndexFile, b); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// uncompressedType is the media type of a gzip layer's uncompressed
// form ("" for a layer that is not gzip).
func uncompressedType(mt string) string {
	switch mt {
	case v1.MediaTypeImageLayerGzip:
		return v1.MediaTypeImageLayer
	case "application/vnd.docker.image.rootfs.diff.tar.gzip":
		return "application/vnd.docker.image.rootfs.diff.tar"
	}
	return ""
}

func hasCompressedLayer(m v1.Manifest) bool {
	for _, l := range m.Layers {
		if uncompressedType(l.MediaType) != "" {
			return true
		}
	}
	return false
}

// writeUncompressed writes img's config, its layers (the gzip ones
// uncompressed, each checked against the config's diff_ids) and a
// manifest naming them so, and returns that manifest's descriptor.
func (s *Store) writeUncompressed(tw *tar.Writer, img *Image, desc v1.Descriptor, written map[digest.Digest]bool, now time.Time) (v1.Descriptor, error) {
	m := img.manifest
	m.Layers = slices.Clone(m.Layers)
	diffIDs := img.Config.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return desc, fmt.Errorf("save: image %.12s: %d layers, %d diff_ids in its config", img.ID, len(m.Layers), len(diffIDs))
	}
	for i, l := range m.Layers {
		mt := uncompressedType(l.MediaType)
		if mt == "" {
			if !written[l.Digest] {
				written[l.Digest] = true
				if err := s.copyBlobToTar(tw, l.Digest, now); err != nil {
					return desc, err
				}
			}
			continue
		}
		size, err := s.copyUncompressedToTar(tw, l.Digest, diffIDs[i], written, now)
		if err != nil {
			return desc, err
		}
		m.Layers[i] = v1.Descriptor{MediaType: mt, Digest: diffIDs[i], Size: size, Annotations: l.Annotations}
	}
	if !written[m.Config.Digest] {
		written[m.Config.Digest] = true
		if err := s.copyBlobToTar(tw, m.Config.Digest, now); err != nil {
			return desc, err
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return desc, err
	}
	desc.Digest, desc.Size = digest.FromBytes(b), int64(len(b))
	if !written[desc.Digest] {
		written[desc.Digest] = true
		h := &tar.Header{Name: "blobs/sha256/" + desc.Digest.Encoded(), Typeflag: tar.TypeReg, Mode: 0o644, Size: desc.Size, ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return desc, fmt.Errorf("write archive: %w", err)
		}
		if _, err := tw.Write(b); err != nil {
			return desc, fmt.Errorf("write archive: %w", err)
		}
	}
	return desc, nil
}

// copyUncompressedToTar writes the gzip blob d uncompressed, as the blob
// diffID, and returns its size: through a file of the store's tmp/ (a
// tar entry's size comes first), whose digest must be diffID.
func (s *Store) copyUncompressedToTar(tw *tar.Writer, d, diffID digest.Digest, written map[digest.Digest]bool, now time.Time) (int64, error) {
	in, err := os.Open(s.blobPath(d))
	if err != nil {
		return 0, fmt.Errorf("read blob: %w", err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return 0, fmt.Errorf("read layer %s: %w", d, err)
	}
	defer zr.Close()
	if err := os.MkdirAll(s.tmpDir(), 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(s.tmpDir(), "save-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	v := diffID.Algorithm().Digester()
	size, err := io.Copy(io.MultiWriter(tmp, v.Hash()), zr)
	if err != nil {
		return 0, fmt.Errorf("read layer %s: %w", d, err)
	}
	if v.Digest() != diffID {
		return 0, fmt.Errorf("layer %s uncompresses to %s, not its diff_id %s", d, v.Digest(), diffID)
	}
	if written[diffID] {
		return size, nil
	}
	written[diffID] = true
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	h := &tar.Header{Name: "blobs/sha256/" + diffID.Encoded(), Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: now}
	if err := tw.WriteHeader(h); err != nil {
		return 0, fmt.Errorf("write archive: %w", err)
	}
	if _, err := io.Copy(tw, tmp); err != nil {
		return 0, fmt.Errorf("write archive: layer %s: %w", diffID, err)
	}
	return size, nil
}

// manifestDesc describes an image's manifest as stored.
func (s *Store) manifestDesc(img *Image) (v1.Descriptor, error) {
	fi, err := os.Stat(s.blobPath(img.Digest))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest of %.12s: %w", img.ID, err)
	}
	mt := img.manifest.MediaType
	if mt == "" {
		mt = v1.MediaTypeImageManifest
	}
	desc := v1.Descriptor{MediaType: mt, Digest: img.Digest, Size: fi.Size()}
	if img.Config.OS != "" && img.Config.Architecture != "" {
		desc.Platform = &v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	}
	return desc, nil
}

func (s *Store) copyBlobToTar(tw *tar.Writer, d digest.Digest, mtime time.Time) error {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return fmt.Errorf("read blob: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read blob: %w", err)
	}
	h := &tar.Header{Name: "blobs/sha256/" + d.Encoded(), Typeflag: tar.TypeReg, Mode: 0o644, Size: fi.Size(), ModTime: mtime}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("write archive: blob %s: %w", d, err)
	}
	return nil
}

// writeDockerArchive lets ggcr's tarball package write the archive, from
// the store read as an OCI layout by ggcr's layout package.
func (s *Store) writeDockerArchive(w io.Writer, saved []*savedImage) error {
	ii, err := layout.Path(s.root).ImageIndex()
	if err != nil {
		return fmt.Errorf("read store: %w", err)
	}
	refs := map[name.Reference]ggcrv1.Image{}
	for _, si := range saved {
		h, err := ggcrv1.NewHash(si.img.Digest.String())
		if err != nil {
			return err
		}
		img, err := ii.Image(h)
		if err != nil {
			return fmt.Errorf("read image %.12s: %w", si.img.ID, err)
		}
		for _, n := range si.names {
			t, err := name.NewTag(n)
			if err != nil {
				return fmt.Errorf("image name %s: %w", n, err)
			}
			refs[t] = img
		}
		if len(si.names) == 0 {
			// No RepoTags: ggcr needs a reference all the same.
			d, err := name.NewDigest("localhost/unnamed@" + si.img.Digest.String())
			if err != nil {
				return err
			}
			refs[d] = img
		}
	}
	if err := tarball.MultiRefWrite(refs, w); err != nil {
		return fmt.Errorf("write docker-archive: %w", err)
	}
	return nil
}

// Load reads a docker-archive or an oci-archive (plain or gzip; the
// format is told by content) and stores its images, keeping their
// config (so their IDs) and, from an oci-archive, their manifests (so
// their digests). Names in the archive are given to the images, moving
// them from other images; images without names are kept unnamed (see
// Prune). Every blob is checked against its digest and every layer
// against its diff_id before anything is stored. The archive is never
// extracted by name (see archiveread.go): nothing it holds can write
// outside the store's scratch directory.
func (s *Store) Load(r io.Reader) ([]*Image, error) { return s.LoadChecked(r, nil, nil) }

// LoadChecked is Load with a check of the archive's transport
// ("docker-archive" or "oci-archive", known once the archive is read):
// an error from allow stops the load before anything is stored. Each
// image's blobs are reported to progress as a pull reports them (nil:
// nothing).
func (s *Store) LoadChecked(r io.Reader, allow func(transport string) error, progress io.Writer) ([]*Image, error) {
	p := newProgress(progress)
	gc, err := s.holdContent()
	if err != nil {
		return nil, err
	}
	defer gc.unlock()
	dir, err := os.MkdirTemp(s.tmpDir(), "load-")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.RemoveAll(dir)
	idx, err := readArchive(r, dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	var items []loadItem
	transport := "oci-archive"
	if idx.has("manifest.json") {
		transport = "docker-archive"
	}
	if allow != nil {
		if err := allow(transport); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	switch {
	case idx.has("manifest.json"):
		items, err = s.readDockerArchive(idx)
	case idx.has(v1.ImageIndexFile) && idx.has(v1.ImageLayoutFile):
		items, err = s.readOCIArchive(idx)
	default:
		err = fmt.Errorf("no manifest.json or oci-layout and index.json: %w", ErrBadArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("load: no image in the archive: %w", ErrBadArchive)
	}

	for _, it := range items {
		p.printf("Getting image source signatures")
		seen := map[digest.Digest]bool{}
		for _, ld := range it.in.manifestV.Layers {
			if seen[ld.Digest] {
				continue
			}
			seen[ld.Digest] = true
			if _, err := os.Lstat(s.blobPath(ld.Digest)); err == nil {
				p.printf("Copying blob %s skipped: already exists", ld.Digest)
			} else {
				p.printf("Copying blob %s done", ld.Digest)
			}
		}
		p.printf("Copying config %s done", it.in.configDesc.Digest)
		p.printf("Writing manifest to image destination")
		first := ""
		if len(it.names) > 0 {
			first = it.names[0]
		}
		desc, err := s.commit(it.in, first)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		for _, n := range it.names[min(1, len(it.names)):] {
			if err := s.setName(desc, n); err != nil {
				return nil, fmt.Errorf("load: name %s: %w", n, err)
			}
		}
	}
	gc.unlock()
	var out []*Image
	for _, it := range items {
		img, err := s.lookupDigest(digest.FromBytes(it.in.manifest))
		if err != nil {
			return nil, fmt.Errorf("load: read back image: %w", err)
		}
		out = append(out, img)
	}
	return out, nil
}

// loadItem is one image read from an archive, verified.
type loadItem struct {
	in    *incoming
	names []string
}

// dockerManifestEntry is one image of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// readDockerArchive reads the images of an extracted docker-archive. Its
// manifest.json carries no registry manifest: one is made (OCI, blobs as
// they are in the archive), so the ID is kept but not the digest.
func (s *Store) readDockerArchive(idx *archiveIndex) ([]loadItem, error) {
	b, err := idx.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parse manifest.json: %w: %w", ErrBadArchive, err)
	}
	var items []loadItem
	for _, e := range entries {
		config, err := idx.read(e.Config)
		if err != nil {
			return nil, err
		}
		var cfg v1.Image
		if err := json.Unmarshal(config, &cfg); err != nil {
			return nil, fmt.Errorf("parse config %s: %w", e.Config, err)
		}
		if len(cfg.RootFS.DiffIDs) != len(e.Layers) {
			return nil, fmt.Errorf("config %s lists %d layers, manifest.json %d: %w", e.Config, len(cfg.RootFS.DiffIDs), len(e.Layers), ErrBadArchive)
		}
		m := v1.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: v1.MediaTypeImageManifest,
			Config:    v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
			Layers:    []v1.Descriptor{},
		}
		var layers []incomingLayer
		for i, lp := range e.Layers {
			p, err := idx.file(lp)
			if err != nil {
				return nil, err
			}
			d, err := inspectLayerFile(p)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", lp, err)
			}
			if d.diffID != cfg.RootFS.DiffIDs[i] {
				return nil, fmt.Errorf("layer %s holds a tar of digest %s, config says %s: %w", lp, d.diffID, cfg.RootFS.DiffIDs[i], ErrDigestMismatch)
			}
			// Stored as it comes: a plain tar, or gzip (zstd is refused).
			desc := v1.Descriptor{MediaType: v1.MediaTypeImageLayer}
			desc.Digest, desc.Size = d.digest, d.size
			if d.digest != d.diffID {
				desc.MediaType = v1.MediaTypeImageLayerGzip
			}
			m.Layers = append(m.Layers, desc)
			layers = append(layers, incomingLayer{blob: layerBlob{tmp: p, desc: desc, diffID: d.diffID, size: d.usize}})
		}
		mb, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		in, err := parseIncoming(mb, v1.MediaTypeImageManifest, config)
		if err != nil {
			return nil, err
		}
		in.layers = layers
		var names []string
		for _, t := range e.RepoTags {
			n, err := dockerName(t)
			if err != nil {
				return nil, fmt.Errorf("RepoTags %q: %w", t, err)
			}
			names = append(names, n)
		}
		items = append(items, loadItem{in: in, names: names})
	}
	return items, nil
}

// dockerName normalizes a name written by Docker, for which a name
// without a registry lives on docker.io (Podman reads them so too).
func dockerName(n string) (string, error) {
	first, _, hasSlash := strings.Cut(n, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == defaultDomain) {
		n = "docker.io/" + n
	}
	n = strings.Replace(n, "index.docker.io/", "docker.io/", 1)
	return NormalizeRef(n)
}

// readOCIArchive reads the images of an extracted OCI layout; a nested
// index resolves to linux/GOARCH.
func (s *Store) readOCIArchive(archive *archiveIndex) ([]loadItem, error) {
	var idx v1.Index
	if err := readJSONFile(archive, v1.ImageIndexFile, &idx); err != nil {
		return nil, err
	}
	var items []loadItem
	pos := map[digest.Digest]int{}
	for _, desc := range idx.Manifests {
		n, err := ociName(desc.Annotations)
		if err != nil {
			return nil, err
		}
		md := desc
		if desc.MediaType == v1.MediaTypeImageIndex || desc.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json" {
			md, err = platformManifest(archive, desc)
			if err != nil {
				return nil, err
			}
		}
		if i, ok := pos[md.Digest]; ok {
			if n != "" && !contains(items[i].names, n) {
				items[i].names = append(items[i].names, n)
			}
			continue
		}
		manifest, err := readBlobFile(archive, md)
		if err != nil {
			return nil, err
		}
		var m v1.Manifest
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, fmt.Errorf("parse manifest %s: %w", md.Digest, err)
		}
		config, err := readBlobFile(archive, m.Config)
		if err != nil {
			return nil, err
		}
		in, err := parseIncoming(manifest, md.MediaType, config)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", md.Digest, err)
		}
		seen := map[digest.Digest]bool{}
		for i, ld := range m.Layers {
			if seen[ld.Digest] {
				continue
			}
			seen[ld.Digest] = true
			diffID := in.configV.RootFS.DiffIDs[i]
			if _, err := os.Lstat(s.blobPath(ld.Digest)); err == nil {
				l, err := s.storedLayer(ld, diffID)
				if err != nil {
					return nil, err
				}
				in.layers = append(in.layers, l)
				continue
			}
			if err := ld.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("layer digest %q: %w: %w", ld.Digest, ErrBadArchive, err)
			}
			p, err := archive.file(blobName(ld.Digest))
			if err != nil {
				return nil, err
			}
			d, err := verifyLayerFile(p, ld, diffID)
			if err != nil {
				return nil, err
			}
			in.layers = append(in.layers, incomingLayer{blob: layerBlob{tmp: p, desc: ld, diffID: diffID, size: d.usize}})
		}
		var names []string
		if n != "" {
			names = []string{n}
		}
		pos[md.Digest] = len(items)
		items = append(items, loadItem{in: in, names: names})
	}
	return items, nil
}

// ociName returns the image name an OCI layout gives a manifest: the
// containerd name when present, else ref.name when it is a name; a bare
// tag ("latest", as skopeo writes) names nothing.
func ociName(ann map[string]string) (string, error) {
	if n := ann[annotationContainerdName]; n != "" {
		return dockerName(n)
	}
	n := ann[v1.AnnotationRefName]
	if n == "" || !strings.ContainsAny(n, "/:") {
		return "", nil
	}
	return NormalizeRef(n)
}

func blobName(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

// readBlobFile reads a blob of the extracted layout and checks its digest.
func readBlobFile(archive *archiveIndex, desc v1.Descriptor) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("digest %q: %w: %w", desc.Digest, ErrBadArchive, err)
	}
	b, err := archive.read(blobName(desc.Digest))
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(b); got != desc.Digest {
		return nil, fmt.Errorf("blob %s hashes to %s: %w", desc.Digest, got, ErrDigestMismatch)
	}
	return b, nil
}

// platformManifest picks linux/GOARCH out of an index blob.
func platformManifest(archive *archiveIndex, desc v1.Descriptor) (v1.Descriptor, error) {
	b, err := readBlobFile(archive, desc)
	if err != nil {
		return v1.Descriptor{}, err
	}
	var idx v1.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return v1.Descriptor{}, fmt.Errorf("parse index %s: %w", desc.Digest, err)
	}
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
			return m, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s has no image for linux/%s: %w", desc.Digest, runtime.GOARCH, ErrBadArchive)
}

func readJSONFile(archive *archiveIndex, name string, v any) error {
	b, err := archive.read(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w: %w", name, ErrBadArchive, err)
	}
	return nil
}
