package image

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// ImportOptions are the config defaults of an imported image.
type ImportOptions struct {
	Cmd, Entrypoint, Env []string
	WorkingDir, User     string
	Message              string // history comment
	// Change, when set, edits the config made from the fields above
	// (import's --change).
	Change func(*v1.ImageConfig)
}

// layerBlob is a layer written to a temporary file, not yet in blobs/.
type layerBlob struct {
	tmp    string
	desc   v1.Descriptor // compressed blob
	diffID digest.Digest // digest of the uncompressed tar
	size   int64         // size of the uncompressed tar
}

// Import makes a one-layer image from a root filesystem tarball r (plain
// or gzip) and names it ref ("": an image without a name, as Podman's
// import without one). A layer already in the store (same diffID)
// is not unpacked again. When ref named another image, the name moves,
// and that image is deleted if it has no other name.
func (s *Store) Import(r io.Reader, ref string, o ImportOptions) (*Image, error) {
	var name string
	if ref != "" {
		pr, err := parseRef(ref)
		if err != nil {
			return nil, err
		}
		if pr.digest != "" {
			return nil, fmt.Errorf("import as %s: a digest cannot be given as a name: %w", ref, ErrInvalidRef)
		}
		name = pr.String()
	}

	gc, err := s.holdContent()
	if err != nil {
		return nil, err
	}
	defer gc.unlock()

	layer, err := s.writeLayer(r)
	if err != nil {
		return nil, err
	}
	defer os.Remove(layer.tmp) // gone already once it is in blobs/
	if err := s.ensureLayerDir(layer); err != nil {
		return nil, err
	}
	if err := commitBlob(layer.tmp, s.blobPath(layer.desc.Digest)); err != nil {
		return nil, fmt.Errorf("store layer blob: %w", err)
	}

	now := time.Now().UTC()
	config := v1.Image{
		Created:  &now,
		Platform: v1.Platform{Architecture: runtime.GOARCH, OS: runtime.GOOS},
		Config: v1.ImageConfig{
			Cmd: o.Cmd, Entrypoint: o.Entrypoint, Env: o.Env,
			WorkingDir: o.WorkingDir, User: o.User,
		},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.diffID}},
		History: []v1.History{{Created: &now, CreatedBy: "myctr import", Comment: o.Message}},
	}
	if o.Change != nil {
		o.Change(&config.Config)
	}
	configDesc, err := s.writeJSONBlob(config, v1.MediaTypeImageConfig)
	if err != nil {
		return nil, fmt.Errorf("store image config: %w", err)
	}
	manifest := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []v1.Descriptor{layer.desc},
	}
	manifestDesc, err := s.writeJSONBlob(manifest, v1.MediaTypeImageManifest)
	if err != nil {
		return nil, fmt.Errorf("store image manifest: %w", err)
	}
	manifestDesc.Platform = &v1.Platform{Architecture: runtime.GOARCH, OS: runtime.GOOS}

	if name == "" {
		err = s.addUnnamed(manifestDesc)
	} else {
		err = s.setName(manifestDesc, name)
	}
	if err != nil {
		return nil, err
	}
	gc.unlock()

	img, err := s.lookupDigest(manifestDesc.Digest)
	if err != nil {
		return nil, fmt.Errorf("read back imported image: %w", err)
	}
	return img, nil
}

// holdContent takes gc.lock shared for the time of an import, first
// clearing crash leftovers if nobody else holds it.
func (s *Store) holdContent() (*fileLock, error) {
	l, ok, err := tryExclusive(s.gcLockPath())
	if err != nil {
		return nil, err
	}
	if !ok {
		return lock(s.gcLockPath(), false)
	}
	if err := s.removeStale(); err != nil {
		l.unlock()
		return nil, err
	}
	if err := l.share(); err != nil {
		l.unlock()
		return nil, err
	}
	return l, nil
}

// writeLayer reads the tarball once, computing the diffID and size of the
// uncompressed stream while gzip-compressing it into R/tmp and hashing the
// compressed bytes.
func (s *Store) writeLayer(r io.Reader) (*layerBlob, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip tarball: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	f, err := os.CreateTemp(s.tmpDir(), "layer-")
	if err != nil {
		return nil, fmt.Errorf("create temporary layer blob: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	compressed := digest.SHA256.Digester()
	var compressedSize counter
	zw := gzip.NewWriter(io.MultiWriter(f, compressed.Hash(), &compressedSize))
	diff := digest.SHA256.Digester()
	size, err := io.Copy(zw, io.TeeReader(src, diff.Hash()))
	if err != nil {
		return nil, fmt.Errorf("read tarball: %w", err)
	}
	if size == 0 {
		return nil, errors.New("read tarball: it is empty")
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync layer blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close layer blob: %w", err)
	}
	ok = true
	return &layerBlob{
		tmp: f.Name(),
		desc: v1.Descriptor{
			MediaType: v1.MediaTypeImageLayerGzip,
			Digest:    compressed.Digest(),
			Size:      int64(compressedSize),
		},
		diffID: diff.Digest(),
		size:   size,
	}, nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// ensureLayerDir unpacks the layer into R/layers/<diffid> unless it is
// there already. It unpacks into R/layers/.tmp-* and renames, so the final
// name only ever holds a complete layer.
// Preconditions: gc.lock held (shared at least).
func (s *Store) ensureLayerDir(l *layerBlob) error {
	final := s.layerDir(l.diffID.Encoded())
	if _, err := os.Lstat(final); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("inspect layer directory: %w", err)
	}
	tmp, err := os.MkdirTemp(s.layerDir(""), ".tmp-")
	if err != nil {
		return fmt.Errorf("create layer directory: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create layer directory: %w", err)
	}
	rootMode, err := s.u.Unpack(l.tmp, l.desc.MediaType, tmp)
	if err != nil {
		if rerr := s.removeAll(tmp); rerr != nil {
			return fmt.Errorf("unpack layer %s: %w (and remove partial layer: %v)", l.diffID, err, rerr)
		}
		return fmt.Errorf("unpack layer %s: %w", l.diffID, err)
	}
	// Concurrent imports of one layer may both get here: each writes its
	// own temporary (a .tmp-* name, which removeStale clears if we crash).
	if err := atomicfile.WriteFile(final+".size", []byte(strconv.FormatInt(l.size, 10)), 0o644); err != nil {
		s.removeAll(tmp)
		return fmt.Errorf("record layer size: %w", err)
	}
	if rootMode != nil {
		if err := atomicfile.WriteFile(final+archive.RootModeSuffix, []byte(fmt.Sprintf("%o\n", *rootMode)), 0o644); err != nil {
			s.removeAll(tmp)
			return fmt.Errorf("record layer root mode: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		// A concurrent import of the same layer won the race: its copy
		// is as good as ours.
		if _, serr := os.Lstat(final); serr == nil {
			return s.removeAll(tmp)
		}
		s.removeAll(tmp)
		return fmt.Errorf("move layer into place: %w", err)
	}
	return nil
}

// commitBlob moves a finished temporary blob to its content address; when
// the blob is already there, the temporary is dropped (same content).
func commitBlob(tmp, final string) error {
	if _, err := os.Lstat(final); err == nil {
		return os.Remove(tmp)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// writeJSONBlob stores v as a blob and returns its descriptor.
// Preconditions: gc.lock held (shared at least).
func (s *Store) writeJSONBlob(v any, mediaType string) (v1.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("encode %s: %w", mediaType, err)
	}
	desc := v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("create temporary blob: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return v1.Descriptor{}, fmt.Errorf("write blob %s: %w", desc.Digest, err)
	}
	if err := commitBlob(f.Name(), s.blobPath(desc.Digest)); err != nil {
		os.Remove(f.Name())
		return v1.Descriptor{}, fmt.Errorf("store blob %s: %w", desc.Digest, err)
	}
	return desc, nil
}

// setName points name at the manifest desc in index.json. The image the
// name pointed at before keeps existing: when no other name points at it
// any more, it is listed without a name (dangling, as Podman leaves it),
// until rmi or image prune removes it; a container may still run on it.
// A dangling entry of desc's own image goes, now that it has a name.
func (s *Store) setName(desc v1.Descriptor, name string) error {
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	var prev *v1.Descriptor
	var kept []v1.Descriptor
	for _, d := range idx.Manifests {
		switch n := d.Annotations[v1.AnnotationRefName]; {
		case n == name && d.Digest == desc.Digest:
			return nil // already so
		case n == name:
			p := d
			prev = &p
			continue
		case n == "" && d.Digest == desc.Digest:
			continue
		}
		kept = append(kept, d)
	}
	desc.Annotations = map[string]string{v1.AnnotationRefName: name}
	idx.Manifests = append(kept, desc)
	if prev != nil && !referenced(idx, prev.Digest) {
		// Its names history comes back from the old index (noteNames).
		prev.Annotations = nil
		idx.Manifests = append(idx.Manifests, *prev)
	}
	return s.writeIndex(idx)
}

// referenced reports whether the index lists manifest d.
func referenced(idx v1.Index, d digest.Digest) bool {
	for _, m := range idx.Manifests {
		if m.Digest == d {
			return true
		}
	}
	return false
}
