package image

// Check (`myctr system check`) walks the store and says what is damaged;
// with Repair it re-extracts a layer from its blob when the blob is
// intact, and otherwise removes what is broken.
//
// What is verified, and what it costs:
//   - always (--quick too): index.json parses; each image's manifest and
//     config are there and parse, and list as many layers as diff_ids; each
//     layer's blob is there; each layer's directory is there, a directory,
//     with a readable .size; temporaries and orphaned layers (below).
//   - without Quick: every blob is hashed against its name; each layer
//     blob is decompressed and its tar hashed against the config's diff_id
//     and measured against .size; and every regular file, directory and
//     symlink the tar holds is looked up in the layer's directory (one
//     lstat each; regular files by size too; entries below a directory the
//     user may not search, files of subordinate ids, are not seen). A
//     file's content in the directory is not compared with the tar.
//
// Locks: a check holds gc.lock shared (nothing deletes content under it,
// imports go on) and reads index.json under lock; the orphan scan needs to
// know no import is in flight, so it runs only if gc.lock can then be
// taken exclusively without waiting, and says so otherwise. A repair holds
// gc.lock and lock exclusively throughout.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// ErrLayerMissing is returned when an image's unpacked layer directory is
// not in the store (see VerifyLayers).
var ErrLayerMissing = errors.New("layer directory missing")

// VerifyLayers checks, with one lstat per layer, that each unpacked layer
// of img is in the store, so that a damaged image fails with its name and
// layer rather than with the kernel's word from a mount.
func (s *Store) VerifyLayers(img *Image) error {
	for i, dir := range img.LayerDirs {
		st, err := os.Lstat(dir)
		if err == nil && st.IsDir() {
			continue
		}
		why := dir
		if err == nil {
			why += " is not a directory"
		} else if !errors.Is(err, os.ErrNotExist) {
			why = err.Error()
		}
		return fmt.Errorf("image %s: layer %d of %d (%.12s): %w: %s",
			imageLabel(img.Names, img.ID, img.Digest), i+1, len(img.LayerDirs), filepath.Base(dir), ErrLayerMissing, why)
	}
	return nil
}

// Finding is one problem Check found, and what its repair did.
type Finding struct {
	// Kind is "index", "image", "layer", "blob" or "tmp".
	Kind string `json:"kind"`
	// Object names what it is about: an image by name (short id when it
	// has none), a layer by short diff_id, a blob by digest, a path.
	Object  string `json:"object"`
	Problem string `json:"problem"`
	// Action is what the repair did, or why it did not.
	Action   string `json:"action,omitempty"`
	Repaired bool   `json:"repaired"`
}

// LayerUser is a container as Check sees it: its lower dirs are not
// orphans, and a running one's are never touched.
type LayerUser struct {
	Name    string
	Running bool
	Dirs    []string
}

// CheckOptions are Check's settings.
type CheckOptions struct {
	Quick  bool // skip hashing blobs and comparing layers with their tars
	Repair bool
	// Containers use layer directories as lower dirs.
	Containers []LayerUser
	// Cached are layers the build cache refers to: not orphans.
	Cached []Layer
}

// CheckReport is what Check found.
type CheckReport struct {
	Findings []Finding
	// ImageIDs are the images in the store once Check is done.
	ImageIDs map[string]bool
	// Notes say what was not checked, and why.
	Notes []string
}

// Whole reports whether nothing is left to repair.
func (r *CheckReport) Whole() bool {
	for _, f := range r.Findings {
		if !f.Repaired {
			return false
		}
	}
	return true
}

type checkImage struct {
	digest   digest.Digest
	names    []string
	label    string
	id       string
	manifest v1.Manifest
	config   v1.Image
	broken   []string // what makes it unrepairable
	layers   []*layerState
}

type layerState struct {
	diffID  digest.Digest
	blob    v1.Descriptor
	users   []*checkImage
	blobBad string // the blob is missing or does not hold the layer
	dirBad  string // the directory is missing or does not match
	sizeBad string // .size is missing or wrong (the directory is fine)
	usize   int64  // the tar's size, once hashed (-1: not yet)
	hashed  bool
}

type checker struct {
	s       *Store
	o       CheckOptions
	r       *CheckReport
	images  []*checkImage
	layers  map[digest.Digest]*layerState // by diff_id
	byBlob  map[digest.Digest]*layerState
	badBlob map[digest.Digest]string
}

// Check walks the store and reports what is damaged; with o.Repair it
// repairs what it can (see the comment at the top of this file).
func (s *Store) Check(o CheckOptions) (*CheckReport, error) {
	r := &CheckReport{ImageIDs: map[string]bool{}}
	gc, err := lock(s.gcLockPath(), o.Repair)
	if err != nil {
		return nil, err
	}
	defer func() { gc.unlock() }()
	l, err := lock(s.lockPath(), o.Repair)
	if err != nil {
		return nil, err
	}
	idx, err := s.readIndex()
	if !o.Repair {
		l.unlock()
		l = nil
	}
	defer l.unlock()
	if err != nil {
		r.Findings = append(r.Findings, Finding{Kind: "index", Object: s.indexPath(), Problem: err.Error(),
			Action: "not repaired: the images' names are in it"})
		return r, nil
	}
	c := &checker{s: s, o: o, r: r, layers: map[digest.Digest]*layerState{},
		byBlob: map[digest.Digest]*layerState{}, badBlob: map[digest.Digest]string{}}
	c.readImages(idx)
	if !o.Quick {
		if err := c.hashBlobs(); err != nil {
			return nil, err
		}
	}
	c.checkLayers()
	if err := c.report(); err != nil {
		return nil, err
	}
	if !o.Repair {
		// The orphan scan must see no import in flight: only with gc.lock
		// exclusive (taken without waiting) is everything that no image
		// names a leftover.
		gc.unlock()
		var ok bool
		gc, ok, err = tryExclusive(s.gcLockPath())
		if err != nil {
			return nil, err
		}
		if !ok {
			r.Notes = append(r.Notes, "orphaned layers and temporary files not checked: an image import or build is in progress")
			return r, nil
		}
		sl, err := lock(s.lockPath(), false)
		if err != nil {
			return nil, err
		}
		defer sl.unlock()
	}
	if err := c.orphans(); err != nil {
		return nil, err
	}
	return r, nil
}

func imageLabel(names []string, id string, d digest.Digest) string {
	if len(names) > 0 {
		return names[0]
	}
	if id != "" {
		return fmt.Sprintf("%.12s", id)
	}
	return fmt.Sprintf("%.12s (manifest)", d.Encoded())
}

func shortDigest(d digest.Digest) string { return fmt.Sprintf("%.12s", d.Encoded()) }

// readJSON reads a JSON blob and says what is wrong with it, in words.
func (c *checker) readJSON(d digest.Digest, what string, v any) string {
	if err := d.Validate(); err != nil {
		return fmt.Sprintf("%s digest %q is not valid", what, d)
	}
	b, err := os.ReadFile(c.s.blobPath(d))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("%s blob %s is missing", what, shortDigest(d))
	case err != nil:
		return fmt.Sprintf("%s blob %s: %v", what, shortDigest(d), err)
	case len(bytes.TrimSpace(b)) == 0:
		return fmt.Sprintf("%s blob %s is empty", what, shortDigest(d))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Sprintf("%s blob %s does not parse: %v", what, shortDigest(d), err)
	}
	return ""
}

func (c *checker) readImages(idx v1.Index) {
	pos := map[digest.Digest]*checkImage{}
	for _, desc := range idx.Manifests {
		img := pos[desc.Digest]
		if img == nil {
			img = &checkImage{digest: desc.Digest}
			pos[desc.Digest] = img
			c.images = append(c.images, img)
		}
		if n := desc.Annotations[v1.AnnotationRefName]; n != "" {
			img.names = append(img.names, n)
		}
	}
	for _, img := range c.images {
		c.readImage(img)
		img.label = imageLabel(img.names, img.id, img.digest)
	}
}

func (c *checker) readImage(img *checkImage) {
	if p := c.readJSON(img.digest, "manifest", &img.manifest); p != "" {
		img.broken = append(img.broken, p)
		return
	}
	if p := c.readJSON(img.manifest.Config.Digest, "config", &img.config); p != "" {
		img.broken = append(img.broken, p)
		return
	}
	img.id = img.manifest.Config.Digest.Encoded()
	diffIDs := img.config.RootFS.DiffIDs
	if len(diffIDs) != len(img.manifest.Layers) {
		img.broken = append(img.broken, fmt.Sprintf("config lists %d layers, manifest %d", len(diffIDs), len(img.manifest.Layers)))
		return
	}
	for i, ld := range img.manifest.Layers {
		if ld.Digest.Validate() != nil || diffIDs[i].Validate() != nil {
			img.broken = append(img.broken, fmt.Sprintf("layer %d: digest %q or diff_id %q is not valid", i+1, ld.Digest, diffIDs[i]))
			return
		}
	}
	for i, ld := range img.manifest.Layers {
		ls := c.layers[diffIDs[i]]
		if ls == nil {
			ls = &layerState{diffID: diffIDs[i], blob: ld, usize: -1}
			c.layers[diffIDs[i]] = ls
			c.byBlob[ld.Digest] = ls
		}
		ls.users = append(ls.users, img)
		img.layers = append(img.layers, ls)
	}
}

// hashBlobs hashes every blob, and checks each layer blob's tar against
// its diff_id. Preconditions: gc.lock held.
func (c *checker) hashBlobs() error {
	ents, err := os.ReadDir(c.s.blobDir())
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue // not a blob name: nothing refers to it
		}
		if ls := c.byBlob[d]; ls != nil {
			c.verifyLayerBlob(ls)
			continue
		}
		f, err := os.Open(c.s.blobPath(d))
		if err != nil {
			c.badBlob[d] = err.Error()
			continue
		}
		got, err := digest.SHA256.FromReader(bufio.NewReader(f))
		f.Close()
		if err != nil {
			c.badBlob[d] = err.Error()
		} else if got != d {
			c.badBlob[d] = "its content does not match its digest"
		}
	}
	return nil
}

// tarEntry is what a layer's tar says a path is.
type tarEntry struct {
	typ  byte
	size int64
}

// verifyLayerBlob hashes ls's blob and its tar; without Quick it also
// compares the tar's entries with the layer directory.
func (c *checker) verifyLayerBlob(ls *layerState) {
	if ls.hashed {
		return
	}
	ls.hashed = true
	entries, problem := c.hashLayerBlob(ls)
	if problem != "" {
		ls.blobBad = problem
		if strings.Contains(problem, "does not match its digest") {
			c.badBlob[ls.blob.Digest] = problem
		}
		return
	}
	if entries != nil {
		ls.dirBad = compareTree(c.s.layerDir(ls.diffID.Encoded()), entries)
	}
}

func (c *checker) hashLayerBlob(ls *layerState) (map[string]tarEntry, string) {
	f, err := os.Open(c.s.blobPath(ls.blob.Digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Sprintf("blob %s is missing", shortDigest(ls.blob.Digest))
	}
	if err != nil {
		return nil, fmt.Sprintf("blob %s: %v", shortDigest(ls.blob.Digest), err)
	}
	defer f.Close()
	blobHash := digest.SHA256.Digester()
	br := bufio.NewReader(io.TeeReader(f, blobHash.Hash()))
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err == nil {
			defer zr.Close()
			src = zr
		}
	}
	tarHash := digest.SHA256.Digester()
	var n counter
	tee := io.TeeReader(src, io.MultiWriter(tarHash.Hash(), &n))
	entries := map[string]tarEntry{}
	tr := tar.NewReader(tee)
	var tarErr error
	for {
		h, err := tr.Next()
		if err != nil {
			if err != io.EOF {
				tarErr = err
			}
			break
		}
		p := path.Clean("/" + h.Name)
		base := path.Base(p)
		switch {
		case p == "/" || base == ".wh..wh..opq":
		case strings.HasPrefix(base, ".wh."):
			delete(entries, path.Join(path.Dir(p), strings.TrimPrefix(base, ".wh.")))
		case h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeDir || h.Typeflag == tar.TypeSymlink:
			entries[p] = tarEntry{typ: h.Typeflag, size: h.Size}
		default:
			delete(entries, p) // devices and the like may be skipped by the unpacker
		}
	}
	// Read to the end, so that both digests cover everything.
	_, rerr := io.Copy(io.Discard, tee)
	_, ferr := io.Copy(io.Discard, br)
	// The whole file went through blobHash (the tee sits below the
	// buffer), whatever the decompressor made of it.
	if d := blobHash.Digest(); ferr == nil && d != ls.blob.Digest {
		return nil, fmt.Sprintf("blob %s: its content does not match its digest", shortDigest(ls.blob.Digest))
	}
	if err := errors.Join(tarErr, rerr, ferr); err != nil {
		return nil, fmt.Sprintf("blob %s does not read as a layer: %v", shortDigest(ls.blob.Digest), err)
	}
	if d := tarHash.Digest(); d != ls.diffID {
		return nil, fmt.Sprintf("blob %s unpacks to diff_id %s, the config says %s", shortDigest(ls.blob.Digest), shortDigest(d), shortDigest(ls.diffID))
	}
	ls.usize = int64(n)
	return entries, ""
}

// compareTree looks up each entry of a layer's tar in its directory and
// says what is missing or differs ("" when nothing).
func compareTree(dir string, entries map[string]tarEntry) string {
	if _, err := os.Lstat(dir); err != nil {
		return "" // reported as missing by checkLayers
	}
	var missing, differ []string
	for p, e := range entries {
		st, err := os.Lstat(filepath.Join(dir, p))
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, p)
			continue
		}
		if err != nil {
			continue // below a directory the user may not search
		}
		m := st.Mode()
		switch e.typ {
		case tar.TypeReg:
			if !m.IsRegular() || st.Size() != e.size {
				differ = append(differ, p)
			}
		case tar.TypeDir:
			if !m.IsDir() {
				differ = append(differ, p)
			}
		case tar.TypeSymlink:
			if m&os.ModeSymlink == 0 {
				differ = append(differ, p)
			}
		}
	}
	slices.Sort(missing)
	slices.Sort(differ)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d of its %d files are missing (%s)", len(missing), len(entries), firstFew(missing)))
	}
	if len(differ) > 0 {
		parts = append(parts, fmt.Sprintf("%d files differ from its blob in type or size (%s)", len(differ), firstFew(differ)))
	}
	return strings.Join(parts, "; ")
}

func firstFew(l []string) string {
	if len(l) > 3 {
		return strings.Join(l[:3], ", ") + ", ..."
	}
	return strings.Join(l, ", ")
}

// checkLayers looks at each layer's directory and .size, and at the
// layer blobs that hashBlobs did not see (--quick: only that they exist).
func (c *checker) checkLayers() {
	for _, ls := range c.sortedLayers() {
		if !ls.hashed {
			if _, err := os.Lstat(c.s.blobPath(ls.blob.Digest)); errors.Is(err, os.ErrNotExist) {
				ls.blobBad = fmt.Sprintf("blob %s is missing", shortDigest(ls.blob.Digest))
			} else if !c.o.Quick {
				// Not in blobs/ as a file hashBlobs listed (a directory?).
				ls.blobBad = fmt.Sprintf("blob %s is not a readable file", shortDigest(ls.blob.Digest))
			}
		}
		dir := c.s.layerDir(ls.diffID.Encoded())
		st, err := os.Lstat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			ls.dirBad = "its directory is missing"
			continue
		case err != nil:
			ls.dirBad = err.Error()
			continue
		case !st.IsDir():
			ls.dirBad = "its directory is not a directory"
			continue
		}
		if ls.dirBad != "" {
			ls.dirBad = "its directory does not match its blob: " + ls.dirBad
			continue
		}
		size, err := c.s.layerSize(ls.diffID)
		switch {
		case err != nil:
			ls.sizeBad = "its recorded size (.size) is missing or unreadable"
		case ls.usize >= 0 && size != ls.usize:
			ls.sizeBad = fmt.Sprintf("its recorded size is %d, its tar is %d bytes", size, ls.usize)
		}
	}
}

func (c *checker) sortedLayers() []*layerState {
	var out []*layerState
	for _, img := range c.images {
		for _, ls := range img.layers {
			if !slices.Contains(out, ls) {
				out = append(out, ls)
			}
		}
	}
	return out
}

func (c *checker) add(f Finding) *Finding {
	c.r.Findings = append(c.r.Findings, f)
	return &c.r.Findings[len(c.r.Findings)-1]
}

func labels(imgs []*checkImage) string {
	var l []string
	for _, img := range imgs {
		l = append(l, img.label)
	}
	return strings.Join(l, ", ")
}

// running names a running container that has dir as a lower dir.
func (c *checker) running(dir string) string {
	for _, u := range c.o.Containers {
		if u.Running && slices.Contains(u.Dirs, dir) {
			return u.Name
		}
	}
	return ""
}

// report turns the state into findings and, with Repair, repairs.
func (c *checker) report() error {
	// Blobs that do not match their names, whoever uses them.
	for _, d := range sortedKeys(c.badBlob) {
		f := c.add(Finding{Kind: "blob", Object: d.String(), Problem: c.badBlob[d]})
		if c.o.Repair {
			if err := os.Remove(c.s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
				f.Action = fmt.Sprintf("not removed: %v", err)
			} else {
				f.Action, f.Repaired = "removed", true
			}
		}
	}
	for _, img := range c.images {
		if len(img.broken) == 0 {
			// A blob the image needs (manifest or config) that does not
			// match its digest breaks it: layers are handled below.
			for _, d := range []digest.Digest{img.digest, img.manifest.Config.Digest} {
				if p, bad := c.badBlob[d]; bad {
					img.broken = append(img.broken, fmt.Sprintf("blob %s: %s", shortDigest(d), p))
				}
			}
		}
	}
	for _, ls := range c.sortedLayers() {
		if err := c.reportLayer(ls); err != nil {
			return err
		}
	}
	var keep []*checkImage
	for _, img := range c.images {
		if len(img.broken) == 0 {
			keep = append(keep, img)
			c.r.ImageIDs[img.id] = true
			continue
		}
		f := c.add(Finding{Kind: "image", Object: img.label, Problem: strings.Join(img.broken, "; ")})
		if c.o.Repair {
			f.Action, f.Repaired = "removed (pull, load or build it again)", true
		}
	}
	if !c.o.Repair || len(keep) == len(c.images) {
		return nil
	}
	return c.dropImages(keep)
}

// reportLayer reports one layer and, with Repair, re-extracts it from its
// blob when the blob holds it, or marks the images that use it broken.
func (c *checker) reportLayer(ls *layerState) error {
	obj := fmt.Sprintf("%.12s", ls.diffID.Encoded())
	who := "image " + labels(ls.users)
	if ls.blobBad != "" {
		for _, img := range ls.users {
			img.broken = append(img.broken, fmt.Sprintf("layer %s: %s", obj, ls.blobBad))
		}
	}
	if ls.dirBad == "" && ls.sizeBad == "" {
		return nil
	}
	problem := ls.dirBad
	if problem == "" {
		problem = ls.sizeBad
	}
	f := c.add(Finding{Kind: "layer", Object: obj, Problem: fmt.Sprintf("%s (%s)", problem, who)})
	if !c.o.Repair {
		return nil
	}
	dir := c.s.layerDir(ls.diffID.Encoded())
	if ls.dirBad != "" {
		if _, err := os.Lstat(dir); err == nil {
			if name := c.running(dir); name != "" {
				f.Action = fmt.Sprintf("not repaired: running container %s uses it (stop it and repair again)", name)
				return nil
			}
		}
	}
	// Whatever --quick skipped, the blob is verified before it is used.
	if !ls.hashed {
		ls.hashed = true
		if _, p := c.hashLayerBlob(ls); p != "" && ls.blobBad == "" {
			ls.blobBad = p
			for _, img := range ls.users {
				img.broken = append(img.broken, fmt.Sprintf("layer %s: %s", obj, p))
			}
		}
	}
	if ls.blobBad != "" {
		f.Action = "not re-extracted: " + ls.blobBad
		return nil
	}
	if ls.dirBad == "" {
		// Only the size record is wrong: write it again.
		if err := atomicfile.WriteFile(dir+".size", []byte(strconv.FormatInt(ls.usize, 10)), 0o644); err != nil {
			f.Action = fmt.Sprintf("not repaired: %v", err)
			return nil
		}
		f.Action, f.Repaired = "size recorded again from its blob", true
		return nil
	}
	if _, err := os.Lstat(dir); err == nil {
		if err := c.s.removeAll(dir); err != nil {
			f.Action = fmt.Sprintf("not repaired: remove the damaged directory: %v", err)
			return nil
		}
	}
	err := c.s.ensureLayerDir(&layerBlob{tmp: c.s.blobPath(ls.blob.Digest), desc: ls.blob, diffID: ls.diffID, size: ls.usize})
	if err != nil {
		f.Action = fmt.Sprintf("not re-extracted: %v", err)
		return nil
	}
	f.Action, f.Repaired = "re-extracted from its blob", true
	return nil
}

func sortedKeys(m map[digest.Digest]string) []digest.Digest {
	out := make([]digest.Digest, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dropImages rewrites index.json with only the images in keep, and
// deletes the blobs of the others that no kept image and no build cache
// entry uses. Their layer directories become orphans, which the orphan
// scan deletes unless a container uses them.
// Preconditions: gc.lock and lock held exclusively.
func (c *checker) dropImages(keep []*checkImage) error {
	kept := map[digest.Digest]bool{}
	used := map[digest.Digest]bool{}
	for _, img := range keep {
		kept[img.digest] = true
		used[img.digest], used[img.manifest.Config.Digest] = true, true
		for _, ls := range img.layers {
			used[ls.blob.Digest] = true
		}
	}
	for _, l := range c.o.Cached {
		used[l.Blob.Digest] = true
	}
	idx, err := c.s.readIndex()
	if err != nil {
		return err
	}
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool { return !kept[d.Digest] })
	if err := c.s.writeIndex(idx); err != nil {
		return fmt.Errorf("remove broken images: %w", err)
	}
	for _, img := range c.images {
		if kept[img.digest] {
			continue
		}
		blobs := []digest.Digest{img.manifest.Config.Digest}
		for _, ls := range img.layers {
			blobs = append(blobs, ls.blob.Digest)
		}
		blobs = append(blobs, img.digest) // the manifest last, as collect does
		for _, d := range blobs {
			if d == "" || used[d] || d.Validate() != nil {
				continue
			}
			if err := os.Remove(c.s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove blob %s of a broken image: %w", d, err)
			}
		}
	}
	return nil
}

// orphans reports (and with Repair deletes) layers no image, container or
// build cache entry uses, and the temporaries of crashed writes.
// Preconditions: gc.lock held exclusively, lock held.
func (c *checker) orphans() error {
	idx, err := c.s.readIndex()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	unknown := ""
	for _, desc := range idx.Manifests {
		var m v1.Manifest
		var cfg v1.Image
		if c.readJSON(desc.Digest, "manifest", &m) != "" || c.readJSON(m.Config.Digest, "config", &cfg) != "" {
			unknown = imageLabel([]string{desc.Annotations[v1.AnnotationRefName]}, "", desc.Digest)
			continue
		}
		c.r.ImageIDs[m.Config.Digest.Encoded()] = true
		for _, d := range cfg.RootFS.DiffIDs {
			used[d.Encoded()] = true
		}
	}
	for _, l := range c.o.Cached {
		used[l.DiffID.Encoded()] = true
	}
	for _, u := range c.o.Containers {
		for _, d := range u.Dirs {
			if filepath.Dir(d) == c.s.layerDir("") {
				used[filepath.Base(d)] = true
			}
		}
	}
	ents, err := os.ReadDir(c.s.layerDir(""))
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	handled := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		p := c.s.layerDir(name)
		hex := strings.TrimSuffix(strings.TrimSuffix(name, ".size"), archive.RootModeSuffix)
		switch {
		case strings.HasPrefix(name, atomicfile.TempPrefix):
			c.remove(Finding{Kind: "tmp", Object: p, Problem: "left by an interrupted layer extraction or write"}, p)
		case used[hex] || !hex64RE().MatchString(hex) || unknown != "":
		case hex == name:
			handled[hex] = true
			if c.remove(Finding{Kind: "layer", Object: fmt.Sprintf("%.12s", hex), Problem: "orphaned: no image, container or build cache entry uses it"}, p) {
				for _, sidecar := range []string{".size", archive.RootModeSuffix} {
					os.Remove(p + sidecar)
				}
			}
		case handled[hex]:
		default:
			// A .size or .root without its layer directory.
			if _, err := os.Lstat(c.s.layerDir(hex)); errors.Is(err, os.ErrNotExist) {
				c.remove(Finding{Kind: "layer", Object: name, Problem: "orphaned: the record of a layer that is gone"}, p)
			}
		}
	}
	if unknown != "" {
		c.r.Notes = append(c.r.Notes, fmt.Sprintf("orphaned layers not checked: the layers of image %s cannot be told (its manifest or config is unreadable)", unknown))
	}
	tmps, err := os.ReadDir(c.s.tmpDir())
	if err != nil {
		return fmt.Errorf("list temporary blobs: %w", err)
	}
	for _, e := range tmps {
		p := filepath.Join(c.s.tmpDir(), e.Name())
		c.remove(Finding{Kind: "tmp", Object: p, Problem: "left by an interrupted import"}, p)
	}
	top, err := os.ReadDir(c.s.root)
	if err != nil {
		return fmt.Errorf("list the store: %w", err)
	}
	for _, e := range top {
		// index.json, lists.json and oci-layout are written under lock;
		// the build cache's file under its own lock, so its temporaries
		// are left alone.
		if n := e.Name(); strings.HasPrefix(n, atomicfile.TempPrefix) && !strings.Contains(n, "build-cache") {
			p := filepath.Join(c.s.root, n)
			c.remove(Finding{Kind: "tmp", Object: p, Problem: "left by an interrupted write"}, p)
		}
	}
	return nil
}

// remove adds f and, with Repair, deletes p; it reports whether it did.
func (c *checker) remove(f Finding, p string) bool {
	if c.o.Repair {
		if err := c.s.removeAll(p); err != nil {
			f.Action = fmt.Sprintf("not removed: %v", err)
		} else {
			f.Action, f.Repaired = "removed", true
		}
	}
	c.add(f)
	return f.Repaired
}
