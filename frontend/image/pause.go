package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// PauseEntrypoint is the pause image's entrypoint, as in Podman's image
// (catatonit -P): myctr-init answers to it with its pause mode.
var PauseEntrypoint = []string{"/catatonit", "-P"}

// PauseImage returns the image name, making it when it is not there: one
// layer holding the static binary (myctr-init) as /catatonit, its
// entrypoint PauseEntrypoint. Podman builds its localhost/podman-pause
// image from catatonit the same way, without a registry.
func (s *Store) PauseImage(name, binary string) (*Image, error) {
	img, err := s.Lookup(name)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, ErrImageUnknown) {
		return nil, err
	}
	layer, err := pauseLayer(binary)
	if err != nil {
		return nil, err
	}
	return s.Import(bytes.NewReader(layer), name, ImportOptions{
		Entrypoint: PauseEntrypoint, Message: "the infra container of a pod",
	})
}

// pauseLayer is the tar of the pause image's one layer.
func pauseLayer(binary string) ([]byte, error) {
	f, err := os.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: "catatonit", Mode: 0o755, Size: fi.Size(), ModTime: fi.ModTime(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return nil, fmt.Errorf("pause image: read %s: %w", binary, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
