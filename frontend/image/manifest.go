package image

// Manifest lists (`myctr manifest`): an OCI image index made locally, one
// image per platform, pushed to a registry as one name.
//
// Lists live in R/lists.json, beside index.json rather than in it, so that
// nothing that reads images (images, prune, save, run) meets a list. A
// list names its members by manifest digest. A member added from the store
// is read from the store when the list is pushed; a member added from a
// registry is not pulled (as with Podman): the list records where it came
// from, and push copies it from there. Removing an image a list names
// leaves the list as it is, and its push then fails for that member.
//
// lists.json is read and written under R/lock, as index.json is.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/protocol/atomicfile"
)

var (
	// ErrListUnknown is a manifest list the store does not have.
	ErrListUnknown = errors.New("manifest list not known")
	// ErrNameInUse is a list name an image or another list has.
	ErrNameInUse = errors.New("name in use")
	// ErrNotInList is a digest a list does not name.
	ErrNotInList = errors.New("no such image in the manifest list")
)

// List is a manifest list of the store.
type List struct {
	// ID is the list's own id, 64 hex digits, kept while the list
	// changes (Podman prints it where myctr does).
	ID   string
	Name string
	// Index is the list as it is pushed: its manifests with their
	// platforms and annotations.
	Index v1.Index
	// Sources maps a member's manifest digest to the repository it was
	// added from, for members that are not in the store.
	Sources map[digest.Digest]string `json:",omitempty"`
}

type listsFile struct {
	Lists []List
}

func (s *Store) listsPath() string { return filepath.Join(s.root, "lists.json") }

// readLists reads lists.json. Preconditions: lock held.
func (s *Store) readLists() (listsFile, error) {
	var lf listsFile
	b, err := os.ReadFile(s.listsPath())
	if errors.Is(err, os.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, fmt.Errorf("read lists.json: %w", err)
	}
	if err := json.Unmarshal(b, &lf); err != nil {
		return lf, fmt.Errorf("parse lists.json: %w", err)
	}
	return lf, nil
}

// writeLists replaces lists.json. Preconditions: lock held exclusively.
func (s *Store) writeLists(lf listsFile) error {
	b, err := json.Marshal(lf)
	if err != nil {
		return fmt.Errorf("encode lists.json: %w", err)
	}
	if err := atomicfile.WriteFile(s.listsPath(), b, 0o644); err != nil {
		return fmt.Errorf("write lists.json: %w", err)
	}
	return nil
}

// findList returns the index in lf of the list ref names: its name (as
// image names are normalized), its id, or an unambiguous id prefix.
func findList(lf listsFile, ref string) (int, error) {
	if n, err := NormalizeRef(ref); err == nil {
		for i, l := range lf.Lists {
			if l.Name == n {
				return i, nil
			}
		}
	}
	if len(ref) >= 3 && isHex(ref) {
		found := -1
		for i, l := range lf.Lists {
			if strings.HasPrefix(l.ID, ref) {
				if found >= 0 {
					return -1, fmt.Errorf("%s: %w", ref, ErrAmbiguous)
				}
				found = i
			}
		}
		if found >= 0 {
			return found, nil
		}
	}
	return -1, fmt.Errorf("%s: %w", ref, ErrListUnknown)
}

// changeLists runs f on the lists under the lock, exclusively, and writes
// them when f succeeds.
func (s *Store) changeLists(f func(*listsFile) error) error {
	l, err := lock(s.lockPath(), true)
	if err != nil {
		return err
	}
	defer l.unlock()
	lf, err := s.readLists()
	if err != nil {
		return err
	}
	if err := f(&lf); err != nil {
		return err
	}
	return s.writeLists(lf)
}

// updateList runs f on the list ref names, under the lock, and writes the
// result when f succeeds.
func (s *Store) updateList(ref string, f func(*List) error) (*List, error) {
	var out List
	err := s.changeLists(func(lf *listsFile) error {
		i, err := findList(*lf, ref)
		if err != nil {
			return err
		}
		if err := f(&lf.Lists[i]); err != nil {
			return err
		}
		out = lf.Lists[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateList makes an empty manifest list called name. A name an image or
// a list has already is refused.
func (s *Store) CreateList(ref string) (*List, error) {
	n, err := NormalizeRef(ref)
	if err != nil {
		return nil, err
	}
	if strings.Contains(n, "@") {
		return nil, fmt.Errorf("%s: a list's name has a tag, not a digest: %w", ref, ErrInvalidRef)
	}
	var id [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	list := List{ID: hex.EncodeToString(id[:]), Name: n,
		Index: v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}}
	err = s.changeLists(func(lf *listsFile) error {
		images, _, err := s.load()
		if err != nil {
			return err
		}
		for _, img := range images {
			if slices.Contains(img.Names, n) {
				return fmt.Errorf("%s: image %.12s has this name: %w", n, img.ID, ErrNameInUse)
			}
		}
		if _, err := findList(*lf, n); err == nil {
			return fmt.Errorf("%s: a manifest list has this name: %w", n, ErrNameInUse)
		}
		lf.Lists = append(lf.Lists, list)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &list, nil
}

// Lists returns every manifest list.
func (s *Store) Lists() ([]List, error) {
	l, err := lock(s.lockPath(), false)
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	lf, err := s.readLists()
	return lf.Lists, err
}

// LookupList returns the list ref names (name, id or id prefix).
func (s *Store) LookupList(ref string) (*List, error) {
	lists, err := s.Lists()
	if err != nil {
		return nil, err
	}
	i, err := findList(listsFile{lists}, ref)
	if err != nil {
		return nil, err
	}
	return &lists[i], nil
}

// RemoveList deletes the list ref names; the images it names stay.
func (s *Store) RemoveList(ref string) (*List, error) {
	var gone List
	err := s.changeLists(func(lf *listsFile) error {
		i, err := findList(*lf, ref)
		if err != nil {
			return err
		}
		gone = lf.Lists[i]
		lf.Lists = slices.Delete(lf.Lists, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gone, nil
}

// MemberOptions are the platform and annotations of a list's member, as
// `manifest add` and `manifest annotate` set them; empty fields keep what
// the image says.
type MemberOptions struct {
	OS, Arch, Variant, OSVersion string
	OSFeatures                   []string
	Annotations                  map[string]string
}

func (o MemberOptions) apply(d *v1.Descriptor) {
	if o.OS != "" || o.Arch != "" || o.Variant != "" || o.OSVersion != "" || len(o.OSFeatures) > 0 {
		if d.Platform == nil {
			d.Platform = &v1.Platform{}
		}
		if o.OS != "" {
			d.Platform.OS = o.OS
		}
		if o.Arch != "" {
			d.Platform.Architecture = o.Arch
		}
		if o.Variant != "" {
			d.Platform.Variant = o.Variant
		}
		if o.OSVersion != "" {
			d.Platform.OSVersion = o.OSVersion
		}
		if len(o.OSFeatures) > 0 {
			d.Platform.OSFeatures = o.OSFeatures
		}
	}
	for k, v := range o.Annotations {
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations[k] = v
	}
}

// member is one manifest to add to a list, and where it comes from
// ("": the store).
type member struct {
	desc   v1.Descriptor
	source string
}

// localMember describes the store's image img as a list member.
func (s *Store) localMember(img *Image) (member, error) {
	st, err := os.Stat(s.blobPath(img.Digest))
	if err != nil {
		return member{}, fmt.Errorf("read manifest of %.12s: %w", img.ID, err)
	}
	mt := img.manifest.MediaType
	if mt == "" {
		mt = v1.MediaTypeImageManifest
	}
	d := v1.Descriptor{MediaType: mt, Digest: img.Digest, Size: st.Size()}
	if img.Config.OS != "" || img.Config.Architecture != "" {
		d.Platform = &v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture,
			Variant: img.Config.Variant, OSVersion: img.Config.OSVersion, OSFeatures: img.Config.OSFeatures}
	}
	return member{desc: d}, nil
}

// AddToList adds the image ref to the list: an image of the store when
// ref names one (or has the containers-storage: prefix), else the image
// in its registry (a docker:// prefix says so), which is not pulled. A
// registry's index adds the manifest for this machine's platform, or
// with all every manifest. It returns the list as changed. A digest the
// list names already is replaced.
func (s *Store) AddToList(ctx context.Context, listRef, ref string, all bool, mo MemberOptions, o PullOptions) (*List, error) {
	if _, err := s.LookupList(listRef); err != nil {
		return nil, err
	}
	var members []member
	remoteRef, isRemote := strings.CutPrefix(ref, "docker://")
	localRef, isLocal := strings.CutPrefix(ref, "containers-storage:")
	if !isRemote {
		img, err := s.Lookup(localRef)
		switch {
		case err == nil:
			m, err := s.localMember(img)
			if err != nil {
				return nil, err
			}
			members = append(members, m)
		case isLocal || !errors.Is(err, ErrImageUnknown):
			return nil, err
		}
	}
	if members == nil {
		var err error
		if members, err = s.remoteMembers(ctx, remoteRef, all, o); err != nil {
			return nil, err
		}
	}
	if len(members) == 1 {
		mo.apply(&members[0].desc)
	} else {
		for i := range members {
			mo.apply(&members[i].desc)
		}
	}
	return s.updateList(listRef, func(l *List) error {
		for _, m := range members {
			l.Index.Manifests = slices.DeleteFunc(l.Index.Manifests, func(d v1.Descriptor) bool { return d.Digest == m.desc.Digest })
			l.Index.Manifests = append(l.Index.Manifests, m.desc)
			if m.source != "" {
				if l.Sources == nil {
					l.Sources = map[digest.Digest]string{}
				}
				l.Sources[m.desc.Digest] = m.source
			} else {
				delete(l.Sources, m.desc.Digest)
			}
		}
		return nil
	})
}

// remoteConn returns the connection options for a registry reference,
// checked against policy.json and registries.conf as a pull is.
func remoteConn(ctx context.Context, ref string, o PullOptions) (name.Reference, []remote.Option, error) {
	o, err := o.withConfig()
	if err != nil {
		return nil, nil, err
	}
	candidates, err := resolveRef(ref, o.Registries, o)
	if err != nil {
		return nil, nil, err
	}
	full := candidates[0].name
	if err := o.Policy.Check("docker", full); err != nil {
		return nil, nil, err
	}
	r, err := parseRef(full)
	if err != nil {
		return nil, nil, err
	}
	insecure := o.SkipTLSVerify
	if reg := o.Registries.Find(full); reg != nil && reg.Insecure {
		insecure = true
	}
	c := newConn(r.domain, insecure)
	nref, err := name.ParseReference(full, c.nameOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", full, ErrInvalidRef, err)
	}
	return nref, []remote.Option{remote.WithContext(ctx), remote.WithTransport(c.tr), remote.WithAuthFromKeychain(c.keys)}, nil
}

// remoteMembers describes the image ref in its registry as list members.
func (s *Store) remoteMembers(ctx context.Context, ref string, all bool, o PullOptions) ([]member, error) {
	nref, opts, err := remoteConn(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	repo := nref.Context().String()
	desc, err := remote.Get(nref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, classify(err))
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, classify(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, classify(err)
		}
		var out []member
		want := hostPlatform()
		for _, d := range im.Manifests {
			if !all && (d.Platform == nil || !d.Platform.Satisfies(want)) {
				continue
			}
			out = append(out, member{desc: ociDescriptor(d), source: repo})
			if !all {
				break
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no image for %s/%s in its index (--all adds every one): %w", ref, want.OS, want.Architecture, ErrNotInRegistry)
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, classify(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", ref, classify(err))
	}
	d := ociDescriptor(desc.Descriptor)
	d.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion, OSFeatures: cf.OSFeatures}
	return []member{{desc: d, source: repo}}, nil
}

// ociDescriptor converts go-containerregistry's descriptor to the OCI
// type the store keeps.
func ociDescriptor(d ggcrv1.Descriptor) v1.Descriptor {
	out := v1.Descriptor{MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String()), Size: d.Size, Annotations: d.Annotations}
	if p := d.Platform; p != nil {
		out.Platform = &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion, OSFeatures: p.OSFeatures}
	}
	return out
}

// AnnotateMember sets the platform and annotations of the member d.
func (s *Store) AnnotateMember(listRef string, d digest.Digest, mo MemberOptions) (*List, error) {
	return s.updateList(listRef, func(l *List) error {
		i := slices.IndexFunc(l.Index.Manifests, func(m v1.Descriptor) bool { return m.Digest == d })
		if i < 0 {
			return fmt.Errorf("%s in %s: %w", d, l.Name, ErrNotInList)
		}
		mo.apply(&l.Index.Manifests[i])
		return nil
	})
}

// RemoveMember takes the member d out of the list.
func (s *Store) RemoveMember(listRef string, d digest.Digest) (*List, error) {
	return s.updateList(listRef, func(l *List) error {
		n := len(l.Index.Manifests)
		l.Index.Manifests = slices.DeleteFunc(l.Index.Manifests, func(m v1.Descriptor) bool { return m.Digest == d })
		if len(l.Index.Manifests) == n {
			return fmt.Errorf("%s in %s: %w", d, l.Name, ErrNotInList)
		}
		delete(l.Sources, d)
		return nil
	})
}

// ListFormat is the media type a list is written in: Docker's manifest
// list when every member is a Docker manifest, else an OCI index (also
// for an empty list).
func ListFormat(l *List) string {
	if len(l.Index.Manifests) > 0 && !slices.ContainsFunc(l.Index.Manifests, func(d v1.Descriptor) bool {
		return d.MediaType != string(types.DockerManifestSchema2)
	}) {
		return string(types.DockerManifestList)
	}
	return v1.MediaTypeImageIndex
}

// ListJSON is the list as `manifest inspect` prints it and push writes
// it (format: "" for ListFormat's choice, or a media type).
func ListJSON(l *List, format string) ([]byte, error) {
	idx := l.Index
	if format == "" {
		format = ListFormat(l)
	}
	idx.MediaType = format
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	return json.MarshalIndent(idx, "", "    ")
}

// PushList writes the list to a registry as dest (the list's name when
// empty): each member from the store, or copied from the registry it was
// added from, then the list itself (format as ListJSON's). It returns the
// list's digest there.
func (s *Store) PushList(ctx context.Context, listRef, dest, format string, o PullOptions) (string, error) {
	l, err := s.LookupList(listRef)
	if err != nil {
		return "", err
	}
	if dest == "" {
		// A list made under a short name is localhost/NAME: there is no
		// registry to push it to.
		if strings.HasPrefix(l.Name, "localhost/") {
			return "", fmt.Errorf("push %s: %w: name the registry (myctr manifest push %s REGISTRY/NAME[:TAG])", l.Name, ErrInvalidRef, l.Name)
		}
		dest = l.Name
	}
	dest = strings.TrimPrefix(dest, "docker://")
	if format == "" {
		format = ListFormat(l)
	}
	nref, opts, err := remoteConn(ctx, dest, o)
	if err != nil {
		return "", err
	}
	unlock, err := s.holdContent()
	if err != nil {
		return "", err
	}
	defer unlock.unlock()
	p := newProgress(o.Progress)
	var idx ggcrv1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.MediaType(format))
	for _, d := range l.Index.Manifests {
		h, err := ggcrv1.NewHash(d.Digest.String())
		if err != nil {
			return "", err
		}
		var add mutate.Appendable
		if src, ok := l.Sources[d.Digest]; ok {
			sref, sopts, err := remoteConn(ctx, src+"@"+d.Digest.String(), o)
			if err != nil {
				return "", err
			}
			rd, err := remote.Get(sref, sopts...)
			if err != nil {
				return "", fmt.Errorf("read %s from %s: %w", d.Digest, src, classify(err))
			}
			if rd.MediaType.IsIndex() {
				add, err = rd.ImageIndex()
			} else {
				add, err = rd.Image()
			}
			if err != nil {
				return "", classify(err)
			}
		} else {
			img, err := layout.Path(s.root).Image(h)
			if err != nil {
				return "", fmt.Errorf("push %s: member %s is no longer in the store: %w", l.Name, d.Digest, ErrImageUnknown)
			}
			add = img
		}
		p.printf("Copying %s", d.Digest)
		gd := ggcrv1.Descriptor{MediaType: types.MediaType(d.MediaType), Digest: h, Size: d.Size, Annotations: d.Annotations}
		if pl := d.Platform; pl != nil {
			gd.Platform = &ggcrv1.Platform{OS: pl.OS, Architecture: pl.Architecture, Variant: pl.Variant, OSVersion: pl.OSVersion, OSFeatures: pl.OSFeatures}
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: add, Descriptor: gd})
	}
	if err := remote.WriteIndex(nref, idx, opts...); err != nil {
		return "", fmt.Errorf("push %s: %w", nref, classify(err))
	}
	dg, err := idx.Digest()
	if err != nil {
		return "", err
	}
	p.printf("Writing manifest list to image destination %s", nref)
	return dg.String(), nil
}

// InspectRemote returns the manifest (or list) ref names in its registry,
// byte for byte.
func InspectRemote(ctx context.Context, ref string, o PullOptions) ([]byte, error) {
	nref, opts, err := remoteConn(ctx, strings.TrimPrefix(ref, "docker://"), o)
	if err != nil {
		return nil, err
	}
	d, err := remote.Get(nref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, classify(err))
	}
	return d.Manifest, nil
}
