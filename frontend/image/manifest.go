//go:build !lean

package image

// The registry side of manifest lists (lists.go): members added from a
// registry, push, inspect of a remote list.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

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
