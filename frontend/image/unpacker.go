package image

import (
	"fmt"
	"os"
	"strings"

	"github.com/myctr/myctr/frontend/archive"
)

// Unpacker extracts layer blobs. The CLI's implementation runs
// archive.Unpack inside the user's user namespace, so that ownership in
// the layer lands in the user's subordinate id range.
type Unpacker interface {
	// Unpack extracts the layer blob at blobPath (mediaType tells
	// compression) into dest, an existing empty dir. It returns the
	// permission bits the layer gives its root directory, or nil when
	// the layer has no entry for it.
	Unpack(blobPath, mediaType, dest string) (rootMode *os.FileMode, err error)
}

// Remover is implemented by an Unpacker that can also delete what it
// unpacked. Layer directories hold files owned by subordinate ids, which
// the user cannot delete outside the user namespace. When the Unpacker is
// not a Remover, the store uses os.RemoveAll.
type Remover interface {
	RemoveAll(dir string) error
}

// InProcessUnpacker returns an Unpacker that calls archive.Unpack in the
// current process, warnings going to standard error. It serves tests and
// callers already inside the right user namespace.
func InProcessUnpacker(chown bool) Unpacker {
	return inProcess{chown: chown}
}

type inProcess struct{ chown bool }

func (p inProcess) Unpack(blobPath, mediaType, dest string) (*os.FileMode, error) {
	if err := checkLayerMediaType(mediaType); err != nil {
		return nil, err
	}
	f, err := os.Open(blobPath)
	if err != nil {
		return nil, fmt.Errorf("open layer blob: %w", err)
	}
	defer f.Close()
	warn := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "Warning: "+format+"\n", args...)
	}
	var mode *os.FileMode
	if err := archive.Unpack(f, dest, archive.Options{Chown: p.chown, Warn: warn, RootMode: &mode}); err != nil {
		return nil, fmt.Errorf("unpack layer %s: %w", blobPath, err)
	}
	return mode, nil
}

// checkLayerMediaType refuses the layer compressions archive.Unpack does
// not read (it detects gzip itself).
func checkLayerMediaType(mediaType string) error {
	if strings.HasSuffix(mediaType, "+zstd") || strings.HasSuffix(mediaType, ".zstd") {
		return fmt.Errorf("layer media type %s: zstd layers are not supported yet", mediaType)
	}
	return nil
}
