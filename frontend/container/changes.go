package container

// The changes of a container to its image's files (`diff`, docker's
// GET /containers/{id}/changes), read from its overlay upper directory,
// which holds exactly what the container wrote: a path there is added
// (not in the image's layers) or changed (in them); a whiteout (a
// character device 0/0) is a deletion; an opaque directory deleted what
// the layers held below it.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/myctr/myctr/frontend/layerfs"
)

// ChangeKind is Docker's numbering of a change.
type ChangeKind int

// The kinds of change, Docker's values.
const (
	ChangeModify ChangeKind = 0
	ChangeAdd    ChangeKind = 1
	ChangeDelete ChangeKind = 2
)

// Change is one path of a container's changes.
type Change struct {
	Path string
	Kind ChangeKind
}

// String is the change as `diff` prints it: "C /etc".
func (c Change) String() string {
	return string("CAD"[c.Kind]) + " " + c.Path
}

// runtimePaths are what every start makes or mounts, which Podman leaves
// out of a diff: they are no change of the container's own.
var runtimePaths = map[string]bool{
	"/dev": true, "/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true,
	"/proc": true, "/run": true, "/run/notify": true, "/run/.containerenv": true,
	"/run/secrets": true, "/sys": true, "/etc/mtab": true, "/run/podman-init": true,
}

// Changes lists the changes of c to its image's files, sorted by path.
// The upper directory is read from the host: the container's root is the
// user (names and lstat only; a directory made private to another of the
// container's users cannot be listed and fails the diff).
func Changes(c *Container) ([]Change, error) {
	return changesOf(c.File("upper"), c.Lower, true)
}

// LayerChanges lists the changes of an image's top layer to the layers
// below it (layers bottom first, as image.Image.LayerDirs): Podman's
// diff of an image, against its parent. The top layer is an overlay
// upper directory as a container's is (whiteouts, opaque directories).
func LayerChanges(layers []string) ([]Change, error) {
	if len(layers) == 0 {
		return nil, nil
	}
	var lower []string
	for i := len(layers) - 2; i >= 0; i-- {
		lower = append(lower, layers[i])
	}
	return changesOf(layers[len(layers)-1], lower, false)
}

// changesOf reads upper's changes to lower (top first); runtime leaves
// out what every start makes (a container's).
func changesOf(upper string, lower []string, runtime bool) ([]Change, error) {
	lfs := layerfs.FS{Layers: lower}
	inLower := func(rel string) bool {
		_, _, err := lfs.Find(rel)
		return err == nil
	}
	var out []Change
	add := func(rel string, k ChangeKind) {
		p := "/" + filepath.ToSlash(rel)
		if !runtime || !runtimePaths[p] {
			out = append(out, Change{Path: p, Kind: k})
		}
	}
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if layerfs.IsWhiteout(fi) {
			if inLower(rel) {
				add(rel, ChangeDelete)
			}
			return nil
		}
		if !inLower(rel) {
			add(rel, ChangeAdd)
			return nil
		}
		add(rel, ChangeModify)
		if d.IsDir() && layerfs.IsOpaque(p) {
			// What the layers held here is gone, but for the names
			// the upper directory has again (walked on as changes).
			names, err := lfs.ReadDir(rel)
			if err != nil {
				return err
			}
			for _, n := range names {
				if _, err := os.Lstat(filepath.Join(p, n)); errors.Is(err, fs.ErrNotExist) {
					add(path.Join(filepath.ToSlash(rel), n), ChangeDelete)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the changes in %s: %w", upper, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
