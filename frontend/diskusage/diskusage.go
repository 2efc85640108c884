// Package diskusage measures what the stores hold on disk: each image's
// layers (a layer two images share counted once), each container's
// writable layer, each volume's files. `myctr system df` and the API's
// GET /system/df both print what Measure returns; neither measures on
// its own.
package diskusage

import (
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/volume"
)

// Image is one image's usage: Size is its layers' unpacked bytes, of which
// SharedSize lies in layers another image has too; Containers is how many
// containers were made from it.
type Image struct {
	Image      *image.Image
	Size       int64
	SharedSize int64
	Containers int
}

// UniqueSize is the bytes only this image holds: what removing it frees.
func (i Image) UniqueSize() int64 { return i.Size - i.SharedSize }

// Container is one container's usage: RWSize is its writable layer (the
// overlay's upper directory), RootFsSize that plus its image.
type Container struct {
	Container  *container.Container
	RWSize     int64
	RootFsSize int64
	// Volumes is how many volumes and bind mounts the user gave it
	// (Podman's LOCAL VOLUMES).
	Volumes int
}

// Volume is one volume's usage: Size is its files, Users the containers
// that mount it.
type Volume struct {
	Volume *volume.Volume
	Size   int64
	Users  []string
}

// Usage is the whole store's: LayersSize counts each image layer once.
type Usage struct {
	LayersSize int64
	Images     []Image
	Containers []Container
	Volumes    []Volume
}

// Measure walks the stores. A layer without its size record counts
// nothing rather than failing the whole report; build steps' working
// containers are no containers of the user's and are left out.
func Measure(cs *container.Store, is *image.Store) (*Usage, error) {
	imgs, err := is.List()
	if err != nil {
		return nil, err
	}
	ctrs, err := cs.List()
	if err != nil {
		return nil, err
	}
	vs, err := cs.Volumes()
	if err != nil {
		return nil, err
	}
	vols, err := vs.List()
	if err != nil {
		return nil, err
	}
	u := &Usage{Images: []Image{}, Containers: []Container{}, Volumes: []Volume{}}

	users := map[string]int{}
	volUsers := map[string][]string{}
	for _, c := range ctrs {
		users[c.Image]++
		for _, mp := range c.Mounts {
			if mp.Type == volume.TypeVolume {
				volUsers[mp.Name] = append(volUsers[mp.Name], c.ID)
			}
		}
	}

	layerSize := map[string]int64{}
	layerImages := map[string]int{}
	for i := range imgs {
		for _, l := range imgs[i].Layers() {
			k := l.DiffID.String()
			if _, ok := layerSize[k]; !ok {
				n, err := is.LayerSize(l)
				if err != nil {
					n = 0
				}
				layerSize[k] = n
				u.LayersSize += n
			}
			layerImages[k]++
		}
	}
	imageSize := map[string]int64{}
	for i := range imgs {
		img := &imgs[i]
		var shared int64
		for _, l := range img.Layers() {
			if layerImages[l.DiffID.String()] > 1 {
				shared += layerSize[l.DiffID.String()]
			}
		}
		imageSize[img.ID] = img.Size
		u.Images = append(u.Images, Image{Image: img, Size: img.Size, SharedSize: shared, Containers: users[img.ID]})
	}

	for _, c := range ctrs {
		if c.BuildStep {
			continue
		}
		c.Refresh()
		rw := TreeSize(c.File("upper"))
		n := 0
		for _, mp := range c.Mounts {
			if mp.Type == volume.TypeVolume || mp.Type == volume.TypeBind {
				n++
			}
		}
		u.Containers = append(u.Containers, Container{Container: c, RWSize: rw, RootFsSize: rw + imageSize[c.Image], Volumes: n})
	}

	for _, v := range vols {
		u.Volumes = append(u.Volumes, Volume{Volume: v, Size: TreeSize(v.Mountpoint), Users: volUsers[v.Name]})
	}
	return u, nil
}

// TreeSize is the bytes of the regular files below dir, each inode
// counted once (hard links share their data); what cannot be read counts
// nothing.
func TreeSize(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += fi.Size()
		return nil
	})
	return total
}
