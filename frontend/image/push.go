//go:build !lean

package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push copies the local image src to a registry as dest (src's own name
// when dest is empty; a "docker://" prefix is allowed, as Podman's), or to
// a directory as dir:PATH (pushDir), byte
// for byte from the store, which is an OCI image layout: the manifest's
// digest in the registry is the local one. Credentials come from the auth
// files, as pull's; registries.conf's insecure = true allows plain HTTP,
// as --tls-verify=false does. It returns the manifest digest.
func (s *Store) Push(ctx context.Context, src, dest string, o PullOptions) (string, error) {
	img, err := s.Lookup(src)
	if err != nil {
		return "", err
	}
	if dir, ok := strings.CutPrefix(dest, "dir:"); ok {
		return s.pushDir(img, src, dir, newProgress(o.Progress))
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
	li, unlock, err := s.openStored(img, src)
	if err != nil {
		return "", err
	}
	defer unlock.unlock()
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

// dirVersion is the version file of containers/image's dir: transport.
const dirVersion = "Directory Transport Version: 1.1\n"

// pushDir writes the image to the directory dir in the layout of
// containers/image's dir: transport, as Podman's push to dir:PATH does:
// manifest.json, each blob (the config, the layers as stored) in a file
// named by its sha256 digest's hex, and the version file. A directory
// that holds anything but an earlier such copy is refused; an earlier
// copy is replaced.
func (s *Store) pushDir(img *Image, src, dir string, p *progress) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("push %s: %w: dir: needs a path (dir:PATH)", src, ErrInvalidRef)
	}
	if err := prepareDirDest(dir); err != nil {
		return "", fmt.Errorf("push %s to dir:%s: %w", src, dir, err)
	}
	li, unlock, err := s.openStored(img, src)
	if err != nil {
		return "", err
	}
	defer unlock.unlock()
	layers, err := li.Layers()
	if err != nil {
		return "", err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return "", err
		}
		p.printf("Copying blob %s", d)
		if err := copyBlob(filepath.Join(dir, d.Hex), l.Compressed); err != nil {
			return "", fmt.Errorf("push %s to dir:%s: %w", src, dir, err)
		}
	}
	cfgName, err := li.ConfigName()
	if err != nil {
		return "", err
	}
	cfg, err := li.RawConfigFile()
	if err != nil {
		return "", err
	}
	p.printf("Copying config %s", cfgName)
	mf, err := li.RawManifest()
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName.Hex, cfg}, {"manifest.json", mf}, {"version", []byte(dirVersion)}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return "", fmt.Errorf("push %s to dir:%s: %w", src, dir, err)
		}
	}
	p.printf("Writing manifest to image destination")
	return img.Digest.String(), nil
}

// prepareDirDest makes dir, or empties an earlier dir: copy there, as
// containers/image does; anything else in it is left alone and refused.
func prepareDirDest(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil || len(ents) == 0 {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "version")); err != nil || !strings.HasPrefix(string(b), "Directory Transport Version:") {
		return fmt.Errorf("%s is not empty and holds no earlier dir: copy (no version file): refusing to write into it", dir)
	}
	for _, e := range ents {
		if e.IsDir() {
			return fmt.Errorf("%s holds a directory, %s, which a dir: copy does not: refusing to empty it", dir, e.Name())
		}
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyBlob writes what open reads to path.
func copyBlob(path string, open func() (io.ReadCloser, error)) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// openStored opens the stored image img (src names it, for messages) for
// reading, under the content lock that keeps its blobs: the caller
// unlocks it when done.
func (s *Store) openStored(img *Image, src string) (ggcrv1.Image, *fileLock, error) {
	h, err := ggcrv1.NewHash(img.Digest.String())
	if err != nil {
		return nil, nil, err
	}
	unlock, err := s.holdContent()
	if err != nil {
		return nil, nil, err
	}
	li, err := layout.Path(s.root).Image(h)
	if err != nil {
		unlock.unlock()
		return nil, nil, fmt.Errorf("read %s from the store: %w", src, err)
	}
	return li, unlock, nil
}
