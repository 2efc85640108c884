package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Pull and Load both end in commit: the blobs of one image, verified and
// waiting in R/tmp (or already in the store), become an image. The
// manifest and config are kept byte for byte, so the image keeps its
// manifest digest and its ID.

// incoming is an image ready to be committed.
type incoming struct {
	manifest   []byte
	mediaType  string // the manifest's
	config     []byte
	layers     []incomingLayer
	manifestV  v1.Manifest
	configV    v1.Image
	configDesc v1.Descriptor
}

// incomingLayer is one verified layer blob.
type incomingLayer struct {
	blob layerBlob // blob.tmp: where the blob is now
	// inStore: blob.tmp is the store's own copy; nothing to move.
	inStore bool
}

// parseIncoming parses and cross-checks a manifest and config: the
// config's digest is the manifest's, it parses as an image config, and
// it lists one diff_id per layer.
func parseIncoming(manifest []byte, mediaType string, config []byte) (*incoming, error) {
	in := &incoming{manifest: manifest, mediaType: mediaType, config: config}
	if err := json.Unmarshal(manifest, &in.manifestV); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if in.mediaType == "" {
		in.mediaType = in.manifestV.MediaType
	}
	if in.mediaType == "" {
		in.mediaType = v1.MediaTypeImageManifest
	}
	if in.manifestV.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schema version %d: only version 2 is supported", in.manifestV.SchemaVersion)
	}
	in.configDesc = in.manifestV.Config
	if got := digest.FromBytes(config); got != in.configDesc.Digest {
		return nil, fmt.Errorf("config is %s, manifest says %s: %w", got, in.configDesc.Digest, ErrDigestMismatch)
	}
	if err := json.Unmarshal(config, &in.configV); err != nil {
		return nil, fmt.Errorf("parse image config: %w", err)
	}
	if n, m := len(in.configV.RootFS.DiffIDs), len(in.manifestV.Layers); n != m {
		return nil, fmt.Errorf("image config lists %d layers, manifest %d", n, m)
	}
	for i, l := range in.manifestV.Layers {
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("layer %d digest %q: %w", i, l.Digest, err)
		}
		if err := in.configV.RootFS.DiffIDs[i].Validate(); err != nil {
			return nil, fmt.Errorf("layer %d diff_id %q: %w", i, in.configV.RootFS.DiffIDs[i], err)
		}
		if err := checkLayerMediaType(l.MediaType); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// haveLayer reports whether the layer's blob and its unpacked directory
// are both in the store already.
func (s *Store) haveLayer(blob digest.Digest, diffID digest.Digest) bool {
	if _, err := os.Lstat(s.blobPath(blob)); err != nil {
		return false
	}
	_, err := os.Lstat(s.layerDir(diffID.Encoded()))
	return err == nil
}

// layerDigests is what reading a layer blob tells.
type layerDigests struct {
	digest digest.Digest // of the blob
	size   int64         // of the blob
	diffID digest.Digest // of the uncompressed tar
	usize  int64         // of the uncompressed tar
}

// copyLayer copies a layer blob from r to w, hashing both the blob and,
// through a decompressor running alongside, the tar inside it (gzip or
// none; zstd is refused).
func copyLayer(w io.Writer, r io.Reader) (layerDigests, error) {
	pr, pw := io.Pipe()
	type result struct {
		diffID digest.Digest
		usize  int64
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res := result{}
		br := bufio.NewReader(pr)
		var src io.Reader = br
		magic, _ := br.Peek(4)
		switch {
		case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
			zr, err := gzip.NewReader(br)
			if err != nil {
				res.err = fmt.Errorf("open gzip layer: %w", err)
			}
			src = zr
		case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			res.err = errors.New("zstd layers are not supported yet")
		}
		if res.err == nil {
			dd := digest.SHA256.Digester()
			res.usize, res.err = io.Copy(dd.Hash(), src)
			res.diffID = dd.Digest()
		}
		// Read to the end even after an error, so that the blob's digest
		// is complete: a digest mismatch explains a corrupt stream best.
		io.Copy(io.Discard, pr)
		pr.Close()
		done <- res
	}()
	cd := digest.SHA256.Digester()
	var n counter
	_, err := io.Copy(io.MultiWriter(w, cd.Hash(), &n, pw), r)
	pw.CloseWithError(err)
	res := <-done
	if err == nil {
		err = res.err
	}
	// On error too: what came so far, for the caller to tell a digest
	// mismatch (found by a verifying reader at its end) from the rest.
	return layerDigests{digest: cd.Digest(), size: int64(n), diffID: res.diffID, usize: res.usize}, err
}

// fetchLayer writes a layer blob from r into R/tmp and checks it against
// its manifest descriptor and diff_id; nothing is left behind on error.
func (s *Store) fetchLayer(r io.Reader, desc v1.Descriptor, diffID digest.Digest) (incomingLayer, error) {
	f, err := os.CreateTemp(s.tmpDir(), "layer-")
	if err != nil {
		return incomingLayer{}, fmt.Errorf("create temporary layer blob: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	d, err := copyLayer(f, r)
	if err != nil {
		return incomingLayer{}, layerError(d, desc, err)
	}
	if err := checkLayerDigests(d, desc, diffID); err != nil {
		return incomingLayer{}, err
	}
	if err := f.Sync(); err != nil {
		return incomingLayer{}, fmt.Errorf("sync layer blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return incomingLayer{}, fmt.Errorf("close layer blob: %w", err)
	}
	ok = true
	return incomingLayer{blob: layerBlob{tmp: f.Name(), desc: desc, diffID: diffID, size: d.usize}}, nil
}

// verifyLayerFile checks a layer blob already on disk (in the store, or
// unpacked from an archive into R/tmp).
func verifyLayerFile(path string, desc v1.Descriptor, diffID digest.Digest) (layerDigests, error) {
	d, err := inspectLayerFile(path)
	if err != nil {
		return d, layerError(d, desc, err)
	}
	return d, checkLayerDigests(d, desc, diffID)
}

// inspectLayerFile hashes a layer blob on disk and the tar inside it.
func inspectLayerFile(path string) (layerDigests, error) {
	f, err := os.Open(path)
	if err != nil {
		return layerDigests{}, fmt.Errorf("open layer blob: %w", err)
	}
	defer f.Close()
	return copyLayer(io.Discard, f)
}

// layerError explains a failed read of a layer: when the whole blob came
// and its digest is wrong, that is the error (a verifying reader, or the
// decompressor, may have noticed first).
func layerError(d layerDigests, desc v1.Descriptor, err error) error {
	if d.size == desc.Size && d.digest != desc.Digest {
		return fmt.Errorf("layer blob is %s, manifest says %s: %w (%w)", d.digest, desc.Digest, ErrDigestMismatch, err)
	}
	return fmt.Errorf("layer %s: %w", desc.Digest, err)
}

func checkLayerDigests(d layerDigests, desc v1.Descriptor, diffID digest.Digest) error {
	if d.digest != desc.Digest {
		return fmt.Errorf("layer blob is %s, manifest says %s: %w", d.digest, desc.Digest, ErrDigestMismatch)
	}
	if desc.Size > 0 && d.size != desc.Size {
		return fmt.Errorf("layer %s is %d bytes, manifest says %d: %w", desc.Digest, d.size, desc.Size, ErrDigestMismatch)
	}
	if d.diffID != diffID {
		return fmt.Errorf("layer %s holds a tar of digest %s, config says %s: %w", desc.Digest, d.diffID, diffID, ErrDigestMismatch)
	}
	return nil
}

// storedLayer returns the store's copy of a layer blob, for a layer whose
// blob is there but whose directory may not be.
func (s *Store) storedLayer(desc v1.Descriptor, diffID digest.Digest) (incomingLayer, error) {
	path := s.blobPath(desc.Digest)
	if _, err := os.Lstat(s.layerDir(diffID.Encoded())); err == nil {
		return incomingLayer{blob: layerBlob{tmp: path, desc: desc, diffID: diffID}, inStore: true}, nil
	}
	d, err := verifyLayerFile(path, desc, diffID)
	if err != nil {
		return incomingLayer{}, err
	}
	return incomingLayer{blob: layerBlob{tmp: path, desc: desc, diffID: diffID, size: d.usize}, inStore: true}, nil
}

// commit stores an incoming image: unpacks each layer not yet unpacked,
// moves the blobs into place, writes config and manifest as they came,
// and names the image (or lists it without a name when name is empty).
// Preconditions: gc.lock held (shared at least); every layer verified.
func (s *Store) commit(in *incoming, name string) (desc v1.Descriptor, err error) {
	for i := range in.layers {
		l := &in.layers[i]
		if err := s.ensureLayerDir(&l.blob); err != nil {
			return desc, err
		}
		if !l.inStore {
			if err := placeBlob(l.blob.tmp, s.blobPath(l.blob.desc.Digest)); err != nil {
				return desc, fmt.Errorf("store layer blob %s: %w", l.blob.desc.Digest, err)
			}
		}
	}
	if _, err := s.writeBlob(in.config); err != nil {
		return desc, fmt.Errorf("store image config: %w", err)
	}
	md, err := s.writeBlob(in.manifest)
	if err != nil {
		return desc, fmt.Errorf("store image manifest: %w", err)
	}
	desc = v1.Descriptor{MediaType: in.mediaType, Digest: md, Size: int64(len(in.manifest))}
	if in.configV.OS != "" && in.configV.Architecture != "" {
		desc.Platform = &v1.Platform{OS: in.configV.OS, Architecture: in.configV.Architecture, Variant: in.configV.Variant}
	}
	if name == "" {
		return desc, s.addUnnamed(desc)
	}
	return desc, s.setName(desc, name)
}

// placeBlob moves (or, for a file that stays where it is, links) a
// verified blob to its content address.
func placeBlob(src, final string) error {
	if _, err := os.Lstat(final); err == nil {
		return nil
	}
	if err := os.Chmod(src, 0o644); err != nil {
		return err
	}
	if err := os.Link(src, final); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// writeBlob stores b as a blob and returns its digest.
// Preconditions: gc.lock held (shared at least).
func (s *Store) writeBlob(b []byte) (digest.Digest, error) {
	d := digest.FromBytes(b)
	if _, err := os.Lstat(s.blobPath(d)); err == nil {
		return d, nil
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return "", fmt.Errorf("create temporary blob: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write blob %s: %w", d, err)
	}
	if err := commitBlob(f.Name(), s.blobPath(d)); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("store blob %s: %w", d, err)
	}
	return d, nil
}

// addUnnamed lists the manifest desc in index.json without a name, unless
// the index lists it already (named or not).
func (s *Store) addUnnamed(desc v1.Descriptor) error {
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if referenced(idx, desc.Digest) {
		return nil
	}
	desc.Annotations = nil
	idx.Manifests = append(idx.Manifests, desc)
	return s.writeIndex(idx)
}

// lookupDigest returns the image whose manifest digest is d.
func (s *Store) lookupDigest(d digest.Digest) (*Image, error) {
	images, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := range images {
		if images[i].Digest == d {
			return &images[i], nil
		}
	}
	return nil, fmt.Errorf("%s: %w", d, ErrImageUnknown)
}
