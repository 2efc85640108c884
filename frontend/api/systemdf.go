package api

import (
	"net/http"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	voltypes "github.com/moby/moby/api/types/volume"
)

// diskUsage is GET /system/df's answer in API 1.41 (the docker CLI 20.10
// reads it): the objects with their sizes. moby's current DiskUsage type
// is the later, summarised form.
type diskUsage struct {
	LayersSize int64
	Images     []dfImage
	Containers []ctypes.Summary
	Volumes    []voltypes.Volume
	BuildCache []struct{}
}

// dfImage is an image of /images/json and /system/df: API 1.41 clients (the docker CLI
// 20.10) show VirtualSize, which moby's Summary no longer has.
type dfImage struct {
	itypes.Summary
	VirtualSize int64
}

// systemDF answers GET /system/df from the stores: an image's size is
// its layers' unpacked sizes (a layer two images share counted once in
// LayersSize and as SharedSize), a container's its writable layer (the
// overlay's upper directory), a volume's its files.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) {
	imgs, err := s.b.Images.List()
	if err != nil {
		writeError(w, err)
		return
	}
	cs, err := s.b.Containers.List()
	if err != nil {
		writeError(w, err)
		return
	}
	out := diskUsage{Images: []dfImage{}, Containers: []ctypes.Summary{}, Volumes: []voltypes.Volume{}, BuildCache: []struct{}{}}

	users := map[string]int64{}
	for _, c := range cs {
		users[c.Image]++
	}
	layerSize := map[string]int64{}
	layerImages := map[string]int{}
	for i := range imgs {
		for _, l := range imgs[i].Layers() {
			k := l.DiffID.String()
			if _, ok := layerSize[k]; !ok {
				n, err := s.b.Images.LayerSize(l)
				if err != nil {
					n = 0 // a layer without its size record counts nothing
				}
				layerSize[k] = n
				out.LayersSize += n
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
		out.Images = append(out.Images, imageSummary(img, users[img.ID], shared))
	}

	for _, c := range cs {
		if c.BuildStep {
			continue
		}
		c.Refresh()
		rw := treeSize(c.File("upper"))
		out.Containers = append(out.Containers, ctypes.Summary{
			ID:         c.ID,
			Names:      []string{"/" + c.Name},
			Image:      c.ImageName,
			ImageID:    "sha256:" + c.Image,
			Command:    strings.Join(c.Args, " "),
			Created:    c.Created.Unix(),
			Labels:     c.Labels,
			State:      ctypes.ContainerState(dockerState(c)),
			Status:     statusLine(c),
			SizeRw:     rw,
			SizeRootFs: rw + imageSize[c.Image],
			Mounts:     mountPoints(c),
		})
	}

	_, vols, used, err := s.volumes(false)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, v := range vols {
		j := volumeJSON(v)
		j.UsageData = &voltypes.UsageData{Size: treeSize(v.Mountpoint), RefCount: int64(len(used[v.Name]))}
		out.Volumes = append(out.Volumes, j)
	}
	writeJSON(w, http.StatusOK, out)
}
