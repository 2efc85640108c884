//go:build !lean

package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/myctr/myctr/frontend/config"
	digest "github.com/opencontainers/go-digest"
)

// authHost is the registry that given credentials are for: that of the
// image's name, not of a mirror it is pulled from.
func authHost(full, fallback string) string {
	if r, err := parseRef(full); err == nil {
		return r.domain
	}
	return fallback
}

// keychain is the credentials for a transfer with the registry host:
// o.Auth for that host when given, else the auth files'.
func (o PullOptions) keychain(c conn, host string) authn.Keychain {
	if o.Auth == nil {
		return c.keys
	}
	return givenKeychain{host: host, auth: *o.Auth, next: c.keys}
}

// withConfig fills in the files nobody gave.
func (o PullOptions) withConfig() (PullOptions, error) {
	env := config.HostEnv()
	if o.Env == nil {
		o.Env = &env
	}
	var err error
	if o.Registries == nil {
		if o.Registries, err = config.LoadRegistries(*o.Env); err != nil {
			return o, err
		}
	}
	if o.Policy == nil {
		if o.Policy, err = config.LoadPolicy(*o.Env); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Pull fetches ref from its registry and stores it under its normalized
// name ("quay.io/a/b" becomes "quay.io/a/b:latest"). A short name
// ("busybox") resolves as Podman's do (resolveRef: aliases, then the
// unqualified-search-registries by short-name-mode). Each full name must
// pass policy.json; its [[registry]] in registries.conf may block it,
// send it to another location, allow plain HTTP (insecure) and list
// mirrors, tried in order before the registry itself; the image keeps
// the name asked for, whichever served it. A multi-platform index
// resolves to linux/GOARCH. Every blob is checked against its digest (the
// config and layers by ggcr while reading, the uncompressed layers
// against the config's diff_ids by us) before anything becomes part of
// the store; blobs are stored as they came, so the image keeps its
// manifest digest and its ID. Layers the store has already are neither
// fetched nor unpacked again. Credentials come from the auth files (see
// AuthFile).
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (*Image, error) {
	o, err := o.withConfig()
	if err != nil {
		return nil, err
	}
	candidates, err := resolveRef(ref, o.Registries, o)
	if err != nil {
		return nil, err
	}
	p := newProgress(o.Progress)
	var errs []error
	for _, c := range candidates {
		if err := o.Policy.Check("docker", c.name); err != nil {
			errs = append(errs, fmt.Errorf("pull %s: %w", c.name, err))
			continue
		}
		eps, err := endpoints(c.name, o.Registries, o.SkipTLSVerify)
		if err != nil {
			errs = append(errs, fmt.Errorf("pull %s: %w", c.name, err))
			continue
		}
		p.printf("Trying to pull %s...", c.name)
		for _, ep := range eps {
			switch {
			case ep.mirror:
				p.printf("Trying mirror %s...", ep.ref)
			case ep.ref != c.name:
				p.printf("Trying location %s...", ep.ref)
			}
			img, err := s.pullOne(ctx, c.name, ep, o, p)
			if err == nil {
				if c.short != "" {
					r, _ := parseRef(c.name)
					if err := config.RecordAlias(*o.Env, c.short, r.repo()); err != nil {
						fmt.Fprintf(os.Stderr, "Warning: %v\n", err)
					}
				}
				return img, nil
			}
			var se *sourceError
			if !errors.As(err, &se) {
				err = fmt.Errorf("pull %s: %w", ep.ref, err)
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				return nil, joinErrs(errs)
			}
		}
	}
	return nil, joinErrs(errs)
}

// sourceError is a registry's failure to give an image's manifest: not
// reached, refused, or without the image. It names the image in Podman's
// words (containers/image's), which scripts match.
type sourceError struct {
	ref string
	err error
}

func (e *sourceError) Error() string {
	return "initializing source docker://" + e.ref + ": " + e.err.Error()
}

func (e *sourceError) Unwrap() error { return e.err }

// pullOne pulls one fully qualified, normalized name.
func (s *Store) pullOne(ctx context.Context, full string, ep endpoint, o PullOptions, p *progress) (*Image, error) {
	r, err := parseRef(ep.ref)
	if err != nil {
		return nil, err
	}
	c := newConn(r.domain, ep.insecure)
	nref, err := name.ParseReference(r.String(), c.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", ep.ref, ErrInvalidRef, err)
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(c.tr),
		remote.WithAuthFromKeychain(o.keychain(c, authHost(full, r.domain))),
		remote.WithPlatform(o.platform()),
	}
	desc, err := remote.Get(nref, opts...)
	if err != nil {
		return nil, &sourceError{ref: ep.ref, err: classify(err)}
	}
	img, err := desc.Image() // an index resolves to the host's platform
	if err != nil {
		return nil, classify(err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, classify(err)
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	// ggcr reads the config through a reader that checks its digest.
	config, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("fetch config: %w", classify(err))
	}
	in, err := parseIncoming(manifest, string(mediaType), config)
	if err != nil {
		return nil, err
	}
	want := o.platform()
	if cfg := in.configV; cfg.OS != "" && (cfg.OS != want.OS || cfg.Architecture != want.Architecture) {
		if o.Platform != nil {
			fmt.Fprintf(os.Stderr, "Warning: image %s is for %s/%s, not the platform asked for, %s/%s\n", full, cfg.OS, cfg.Architecture, want.OS, want.Architecture)
		} else {
			fmt.Fprintf(os.Stderr, "Warning: image %s is for %s/%s, this machine is linux/%s\n", full, cfg.OS, cfg.Architecture, runtime.GOARCH)
		}
	}

	p.printf("Getting image source signatures")
	gc, err := s.holdContent()
	if err != nil {
		return nil, err
	}
	defer gc.unlock()
	defer func() {
		for _, l := range in.layers {
			if !l.inStore {
				os.Remove(l.blob.tmp) // linked into blobs/ once committed
			}
		}
	}()
	seen := map[digest.Digest]bool{}
	for i, ld := range in.manifestV.Layers {
		diffID := in.configV.RootFS.DiffIDs[i]
		what := "blob " + ld.Digest.String()
		if seen[ld.Digest] {
			continue
		}
		seen[ld.Digest] = true
		if _, err := os.Lstat(s.blobPath(ld.Digest)); err == nil {
			l, err := s.storedLayer(ld, diffID)
			if err != nil {
				return nil, err
			}
			in.layers = append(in.layers, l)
			p.printf("Copying %s skipped: already exists", what)
			continue
		}
		h, err := ggcrv1.NewHash(ld.Digest.String())
		if err != nil {
			return nil, fmt.Errorf("layer digest %s: %w", ld.Digest, err)
		}
		layer, err := img.LayerByDigest(h)
		if err != nil {
			return nil, classify(err)
		}
		rc, err := layer.Compressed() // checks the digest at the end
		if err != nil {
			return nil, fmt.Errorf("fetch layer %s: %w", ld.Digest, classify(err))
		}
		pr, done := p.blob(what, rc, ld.Size)
		l, err := s.fetchLayer(pr, ld, diffID)
		rc.Close()
		if err != nil {
			done("failed")
			return nil, fmt.Errorf("fetch layer: %w", classify(err))
		}
		done("done")
		in.layers = append(in.layers, l)
	}
	p.printf("Copying config %s done", in.configDesc.Digest)
	p.printf("Writing manifest to image destination")
	if _, err := s.commit(in, full); err != nil {
		return nil, err
	}
	gc.unlock()
	return s.Lookup(full)
}
