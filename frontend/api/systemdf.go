package api

import (
	"net/http"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	voltypes "github.com/moby/moby/api/types/volume"

	"github.com/myctr/myctr/frontend/diskusage"
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

// systemDF answers GET /system/df with what diskusage.Measure finds, in
// API 1.41's shape.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) {
	u, err := diskusage.Measure(s.b.Containers, s.b.Images)
	if err != nil {
		writeError(w, err)
		return
	}
	out := diskUsage{LayersSize: u.LayersSize, Images: []dfImage{}, Containers: []ctypes.Summary{}, Volumes: []voltypes.Volume{}, BuildCache: []struct{}{}}
	for _, i := range u.Images {
		out.Images = append(out.Images, imageSummary(i.Image, int64(i.Containers), i.SharedSize))
	}
	for _, cu := range u.Containers {
		c := cu.Container
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
			SizeRw:     cu.RWSize,
			SizeRootFs: cu.RootFsSize,
			Mounts:     mountPoints(c),
		})
	}
	for _, v := range u.Volumes {
		j := volumeJSON(v.Volume)
		j.UsageData = &voltypes.UsageData{Size: v.Size, RefCount: int64(len(v.Users))}
		out.Volumes = append(out.Volumes, j)
	}
	writeJSON(w, http.StatusOK, out)
}
