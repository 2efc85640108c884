package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push copies the local image src to a registry as dest (src's own name
// when dest is empty; a "docker://" prefix is allowed, as Podman's), byte
// for byte from the store, which is an OCI image layout: the manifest's
// digest in the registry is the local one. Credentials come from the auth
// files, as pull's; registries.conf's insecure = true allows plain HTTP,
// as --tls-verify=false does. It returns the manifest digest.
func (s *Store) Push(ctx context.Context, src, dest string, o PullOptions) (string, error) {
	img, err := s.Lookup(src)
	if err != nil {
		return "", err
	}
	if dest == "" {
		dest = src
	}
	dest = strings.TrimPrefix(dest, "docker://")
	r, err := parseRef(dest)
	if err != nil {
		return "", err
	}
	if !r.qualified && dest == src {
		return "", fmt.Errorf("push %s: %w: name the registry (myctr push %s REGISTRY/NAME[:TAG])", src, ErrInvalidRef, src)
	}
	full := r.String()
	if o, err = o.withConfig(); err != nil {
		return "", err
	}
	// registries.conf's insecure holds for pushes too; its locations and
	// mirrors are for pulls only, as Podman's.
	insecure := o.SkipTLSVerify
	if reg := o.Registries.Find(full); reg != nil && reg.Insecure {
		insecure = true
	}
	c := newConn(r.domain, insecure)
	nref, err := name.ParseReference(full, c.nameOpts...)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", full, ErrInvalidRef, err)
	}
	h, err := ggcrv1.NewHash(img.Digest.String())
	if err != nil {
		return "", err
	}
	unlock, err := s.holdContent()
	if err != nil {
		return "", err
	}
	defer unlock.unlock()
	li, err := layout.Path(s.root).Image(h)
	if err != nil {
		return "", fmt.Errorf("read %s from the store: %w", src, err)
	}
	p := newProgress(o.Progress)
	layers, err := li.Layers()
	if err != nil {
		return "", err
	}
	for _, l := range layers {
		if d, err := l.Digest(); err == nil {
			p.printf("Copying blob %s", d)
		}
	}
	if err := remote.Write(nref, li, remote.WithContext(ctx), remote.WithTransport(c.tr), remote.WithAuthFromKeychain(o.keychain(c, r.domain))); err != nil {
		return "", fmt.Errorf("push %s: %w", full, classify(err))
	}
	p.printf("Writing manifest to image destination %s", full)
	return img.Digest.String(), nil
}
