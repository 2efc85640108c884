// Package image keeps the user's images: an OCI image layout on disk
// (oci-layout, index.json, blobs/sha256/…), plus each layer unpacked once
// under layers/<diffid-hex>/ for use as an overlay lowerdir, shared by
// every image that has it.
//
// Layout under the store root R:
//
//	R/oci-layout, R/index.json, R/blobs/sha256/<hex>   the OCI image layout
//	R/layers/<diffid-hex>/                             an unpacked layer
//	R/layers/<diffid-hex>.size                         its uncompressed tar size
//	R/layers/.tmp-*                                    a layer being unpacked
//	R/tmp/                                             blobs being written
//	R/lock                                             index lock
//	R/gc.lock                                          collection lock
//
// index.json lists one manifest descriptor per image name, the full
// reference in the "org.opencontainers.image.ref.name" annotation, and
// the names the image has had in "org.myctr.image.names-history" (a JSON
// list, the latest first, the same on each of its descriptors); an
// image with several names appears once per name. An image whose last
// name is removed (rmi) is deleted; an image loaded from an archive
// without a name, or whose last name moved to another image (a pull,
// build, import, load or tag of that name), is listed once without the
// annotation (dangling, as Podman keeps it: a container may run on it)
// until rmi or Prune.
//
// Pull and Load store manifests, configs and layer blobs byte for byte as
// they came, after checking every digest, so an image keeps its manifest
// digest and its ID (the config digest) across registries and archives.
//
// Locking, for concurrent CLIs (flock, each lock on its own open file):
//   - R/lock guards index.json: shared to read it, exclusive around every
//     read-modify-write (which writes a temporary file and renames it).
//   - R/gc.lock guards content: an import (pull, load) holds it shared from its first
//     blob until its names are committed, and deleting blobs or layers, or
//     clearing stale temporaries, needs it exclusive. So a collection never
//     deletes a blob that an import in flight is about to reference, and
//     whatever lies in R/tmp or R/layers/.tmp-* while gc.lock is held
//     exclusively was left by a crash.
//
// Always take gc.lock before lock, never the other way around.
package image

import (
	// sha256 registers itself with go-digest.
	_ "crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/protocol/atomicfile"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Store is an image store rooted at one directory. It holds no state
// between calls besides its paths: every call reads index.json under the
// lock, so Stores in several processes see each other's changes.
type Store struct {
	root string
	u    Unpacker
}

// Image is one image of the store.
type Image struct {
	ID     string        // hex of the config digest (64 chars)
	Digest digest.Digest // manifest digest
	Names  []string      // full refs, e.g. "localhost/busybox:latest"
	// NamesHistory is every name the image has had, the latest first
	// (Podman's {{.History}} of `images`).
	NamesHistory []string
	Config       v1.Image // the OCI config (Config.Env, Cmd, Entrypoint, WorkingDir, User, StopSignal...)
	Created      time.Time
	Size         int64    // sum of uncompressed layer sizes
	LayerDirs    []string // absolute unpacked layer dirs, BASE FIRST

	manifest v1.Manifest
}

// Open opens, creating it when needed, the store at root. u unpacks
// layers on import. Temporaries left by a crashed import are removed
// when no import is running.
func Open(root string, u Unpacker) (*Store, error) {
	return open(root, u, true)
}

// OpenForCheck opens the store at root as it is, for Check: it creates
// no oci-layout or index.json and clears no temporaries, so that Check
// sees what a crash left.
func OpenForCheck(root string, u Unpacker) (*Store, error) {
	return open(root, u, false)
}

func open(root string, u Unpacker, tidy bool) (*Store, error) {
	if u == nil {
		return nil, errors.New("open image store: no unpacker")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	s := &Store{root: abs, u: u}
	for _, d := range []string{s.blobDir(), s.layerDir(""), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create image store directory: %w", err)
		}
	}
	if !tidy {
		return s, nil
	}
	if err := s.initLayout(); err != nil {
		return nil, err
	}
	gc, ok, err := tryExclusive(s.gcLockPath())
	if err != nil {
		return nil, err
	}
	if ok {
		defer gc.unlock()
		if err := s.removeStale(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Root returns the absolute store root.
func (s *Store) Root() string { return s.root }

func (s *Store) blobDir() string                 { return filepath.Join(s.root, v1.ImageBlobsDir, "sha256") }
func (s *Store) blobPath(d digest.Digest) string { return filepath.Join(s.blobDir(), d.Encoded()) }
func (s *Store) layerDir(hex string) string      { return filepath.Join(s.root, "layers", hex) }
func (s *Store) tmpDir() string                  { return filepath.Join(s.root, "tmp") }
func (s *Store) indexPath() string               { return filepath.Join(s.root, v1.ImageIndexFile) }
func (s *Store) lockPath() string                { return filepath.Join(s.root, "lock") }
func (s *Store) gcLockPath() string              { return filepath.Join(s.root, "gc.lock") }

// initLayout writes oci-layout and an empty index.json when missing.
func (s *Store) initLayout() error {
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	layoutPath := filepath.Join(s.root, v1.ImageLayoutFile)
	if _, err := os.Stat(layoutPath); errors.Is(err, os.ErrNotExist) {
		b, err := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
		if err != nil {
			return fmt.Errorf("encode oci-layout: %w", err)
		}
		if err := atomicfile.WriteFile(layoutPath, b, 0o644); err != nil {
			return fmt.Errorf("write oci-layout: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("stat oci-layout: %w", err)
	}
	if _, err := os.Stat(s.indexPath()); errors.Is(err, os.ErrNotExist) {
		return s.writeIndex(newIndex())
	} else if err != nil {
		return fmt.Errorf("stat index.json: %w", err)
	}
	return nil
}

func newIndex() v1.Index {
	return v1.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageIndex,
		Manifests: []v1.Descriptor{},
	}
}

// removeStale deletes what crashed imports left behind.
// Preconditions: gc.lock held exclusively.
func (s *Store) removeStale() error {
	tmps, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return fmt.Errorf("list temporary blobs: %w", err)
	}
	for _, e := range tmps {
		if err := os.RemoveAll(filepath.Join(s.tmpDir(), e.Name())); err != nil {
			return fmt.Errorf("remove stale temporary blob: %w", err)
		}
	}
	layers, err := os.ReadDir(s.layerDir(""))
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	for _, e := range layers {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			if err := s.removeAll(s.layerDir(e.Name())); err != nil {
				return fmt.Errorf("remove stale partial layer %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// removeAll deletes a tree the unpacker made.
func (s *Store) removeAll(dir string) error {
	if r, ok := s.u.(Remover); ok {
		return r.RemoveAll(dir)
	}
	return os.RemoveAll(dir)
}

// readIndex reads index.json. Preconditions: lock held.
func (s *Store) readIndex() (v1.Index, error) {
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		return v1.Index{}, fmt.Errorf("read index.json: %w", err)
	}
	var idx v1.Index
	if err := decodeIndex(b, &idx); err != nil {
		return v1.Index{}, fmt.Errorf("parse index.json: %w", err)
	}
	return idx, nil
}

// annotationNamesHistory holds an image's past and present names.
const annotationNamesHistory = "org.myctr.image.names-history"

// writeIndex replaces index.json. Preconditions: lock held exclusively.
func (s *Store) writeIndex(idx v1.Index) error {
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	old, err := s.readIndex()
	if err != nil {
		old = v1.Index{}
	}
	noteNames(old, idx)
	b, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	if err := atomicfile.WriteFile(s.indexPath(), b, 0o644); err != nil {
		return fmt.Errorf("write index.json: %w", err)
	}
	return nil
}

// noteNames records in idx each image's names history: the history the
// old index had (or idx's descriptors carry), with each name idx gives
// the image put in front, the last listed foremost, as containers/storage
// keeps it (a new tag lands after the names the image had).
func noteNames(old, idx v1.Index) {
	hist := map[digest.Digest][]string{}
	for _, list := range [][]v1.Descriptor{old.Manifests, idx.Manifests} {
		for _, d := range list {
			var h []string
			if v := d.Annotations[annotationNamesHistory]; v != "" && json.Unmarshal([]byte(v), &h) == nil && len(h) > len(hist[d.Digest]) {
				hist[d.Digest] = h
			}
		}
	}
	for i := len(idx.Manifests) - 1; i >= 0; i-- {
		d := idx.Manifests[i]
		if n := d.Annotations[v1.AnnotationRefName]; n != "" {
			h := hist[d.Digest]
			hist[d.Digest] = append([]string{n}, slices.DeleteFunc(slices.Clone(h), func(o string) bool { return o == n })...)
		}
	}
	for i := range idx.Manifests {
		d := &idx.Manifests[i]
		h := hist[d.Digest]
		if len(h) == 0 {
			continue
		}
		b, _ := json.Marshal(h)
		ann := map[string]string{annotationNamesHistory: string(b)}
		if n := d.Annotations[v1.AnnotationRefName]; n != "" {
			ann[v1.AnnotationRefName] = n
		}
		d.Annotations = ann
	}
}

func (s *Store) readJSONBlob(d digest.Digest, v any) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("blob digest %q: %w", d, err)
	}
	b, err := os.ReadFile(s.blobPath(d))
	if err != nil {
		return fmt.Errorf("read blob %s: %w", d, err)
	}
	// The store's own types are read by generated decoders
	// (ocijson_gen.go), without encoding/json's reflection.
	switch v := v.(type) {
	case *v1.Manifest:
		err = decodeManifest(b, v)
	case *v1.Image:
		err = decodeImageConfig(b, v)
	default:
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("parse blob %s: %w", d, err)
	}
	return nil
}

// load reads every image in the index. Preconditions: lock held.
func (s *Store) load() ([]Image, v1.Index, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, idx, err
	}
	var images []Image
	pos := map[digest.Digest]int{}
	for _, desc := range idx.Manifests {
		name := desc.Annotations[v1.AnnotationRefName]
		if i, ok := pos[desc.Digest]; ok {
			if len(images[i].NamesHistory) == 0 {
				images[i].NamesHistory = namesHistory(desc)
			}
			if name != "" {
				images[i].Names = append(images[i].Names, name)
			}
			continue
		}
		img, err := s.loadImage(desc.Digest)
		if err != nil {
			return nil, idx, err
		}
		if name != "" {
			img.Names = []string{name}
		}
		img.NamesHistory = namesHistory(desc)
		pos[desc.Digest] = len(images)
		images = append(images, *img)
	}
	return images, idx, nil
}

func namesHistory(desc v1.Descriptor) []string {
	var h []string
	if v := desc.Annotations[annotationNamesHistory]; v != "" {
		_ = json.Unmarshal([]byte(v), &h)
	}
	return h
}

func (s *Store) loadImage(d digest.Digest) (*Image, error) {
	img := &Image{Digest: d}
	if err := s.readJSONBlob(d, &img.manifest); err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	if err := s.readJSONBlob(img.manifest.Config.Digest, &img.Config); err != nil {
		return nil, fmt.Errorf("load config of %s: %w", d, err)
	}
	img.ID = img.manifest.Config.Digest.Encoded()
	if img.Config.Created != nil {
		img.Created = *img.Config.Created
	}
	for i, diffID := range img.Config.RootFS.DiffIDs {
		if err := diffID.Validate(); err != nil {
			return nil, fmt.Errorf("config of %s: diff_id %q: %w", d, diffID, err)
		}
		img.LayerDirs = append(img.LayerDirs, s.layerDir(diffID.Encoded()))
		size, err := s.layerSize(diffID)
		if err != nil && i < len(img.manifest.Layers) {
			size = img.manifest.Layers[i].Size // compressed, better than nothing
		}
		img.Size += size
	}
	return img, nil
}

// layerSize reads the uncompressed size recorded when the layer was
// unpacked.
func (s *Store) layerSize(diffID digest.Digest) (int64, error) {
	b, err := os.ReadFile(s.layerDir(diffID.Encoded()) + ".size")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// List returns every image, in the order of index.json.
func (s *Store) List() ([]Image, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	images, _, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return images, nil
}

// Lookup finds one image by full reference, short name ("busybox",
// "busybox:1", "localhost/busybox"), full ID, "sha256:"+ID, or a unique ID
// prefix of at least 3 hex characters. It returns ErrImageUnknown or
// ErrAmbiguous (wrapped) when it cannot.
func (s *Store) Lookup(ref string) (*Image, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	images, _, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", ref, err)
	}
	img, _, err := resolve(images, ref)
	return img, err
}

// isHex reports whether s is non-empty lowercase hex.
func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// resolve finds ref among images. name is the name ref matched, empty
// when it matched an ID.
func resolve(images []Image, ref string) (img *Image, name string, err error) {
	id := strings.TrimPrefix(ref, "sha256:")
	if hex64RE().MatchString(id) {
		return byIDPrefix(images, ref, id)
	}
	if r, perr := parseRef(ref); perr == nil {
		full := r.String()
		for i := range images {
			for _, n := range images[i].Names {
				if n == full {
					return &images[i], n, nil
				}
			}
		}
		if r.digest != "" {
			// name@digest: the image with that manifest digest and a
			// name in that repository.
			for i := range images {
				if images[i].Digest != r.digest {
					continue
				}
				for _, n := range images[i].Names {
					if nr, err := parseRef(n); err == nil && nr.repo() == r.repo() {
						return &images[i], "", nil
					}
				}
			}
		}
		if !r.qualified && r.digest == "" {
			// A short name also matches a pulled image whose path ends
			// with it: "busybox" finds "docker.io/library/busybox:latest".
			var found *Image
			var foundName string
			for i := range images {
				for _, n := range images[i].Names {
					nr, err := parseRef(n)
					if err != nil || nr.tag != r.tag || (nr.path != r.path && !strings.HasSuffix(nr.path, "/"+r.path)) {
						continue
					}
					if found != nil && found.Digest != images[i].Digest {
						return nil, "", fmt.Errorf("%s matches %s and %s: %w", ref, foundName, n, ErrAmbiguous)
					}
					found, foundName = &images[i], n
				}
			}
			if found != nil {
				return found, foundName, nil
			}
		}
	}
	if len(id) >= 3 && isHex(id) {
		return byIDPrefix(images, ref, id)
	}
	if _, perr := parseRef(ref); perr != nil && !isHex(id) {
		return nil, "", perr
	}
	return nil, "", fmt.Errorf("%s: %w", ref, ErrImageUnknown)
}

func byIDPrefix(images []Image, ref, prefix string) (*Image, string, error) {
	var found *Image
	for i := range images {
		if !strings.HasPrefix(images[i].ID, prefix) {
			continue
		}
		if found != nil {
			return nil, "", fmt.Errorf("%s matches images %.12s and %.12s: %w", ref, found.ID, images[i].ID, ErrAmbiguous)
		}
		found = &images[i]
	}
	if found == nil {
		return nil, "", fmt.Errorf("%s: %w", ref, ErrImageUnknown)
	}
	return found, "", nil
}
