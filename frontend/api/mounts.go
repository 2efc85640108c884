package api

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/volume"
)

// mountFlag spells one HostConfig.Mounts entry as `myctr run --mount`
// takes it, so that the API's mount is the one the CLI makes (parsed and
// checked by volume.ParseMountFlag). What myctr cannot honour is a 501
// naming it.
func mountFlag(i int, m mount.Mount) (string, error) {
	field := fmt.Sprintf("HostConfig.Mounts[%d]", i)
	refuse := func(what string) error {
		return withStatus(http.StatusNotImplemented, fmt.Errorf("%s: %s is not supported by myctr", field, what))
	}
	for _, v := range []string{m.Source, m.Target} {
		if strings.ContainsAny(v, ",\x00") {
			return "", badRequest("%s: a path or name with a comma is not supported: %q", field, v)
		}
	}
	switch m.Type {
	case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
	case "":
		return "", badRequest("%s: Type is required (bind, volume or tmpfs)", field)
	default:
		return "", refuse(fmt.Sprintf("Type %q", m.Type))
	}
	if (m.BindOptions != nil && m.Type != mount.TypeBind) || (m.VolumeOptions != nil && m.Type != mount.TypeVolume) ||
		(m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs) {
		return "", badRequest("%s: options of another mount type than %s", field, m.Type)
	}
	if m.ImageOptions != nil {
		return "", refuse("ImageOptions")
	}
	if m.ClusterOptions != nil {
		return "", refuse("ClusterOptions")
	}
	parts := []string{"type=" + string(m.Type)}
	if m.Source != "" {
		parts = append(parts, "source="+m.Source)
	}
	parts = append(parts, "destination="+m.Target)
	if m.ReadOnly {
		parts = append(parts, "ro=true")
	}
	if b := m.BindOptions; b != nil {
		if b.Propagation != "" {
			parts = append(parts, "bind-propagation="+string(b.Propagation))
		}
		if b.NonRecursive {
			parts = append(parts, "bind-nonrecursive=true")
		}
		if b.CreateMountpoint {
			return "", refuse("BindOptions.CreateMountpoint")
		}
		if b.ReadOnlyNonRecursive || b.ReadOnlyForceRecursive {
			return "", refuse("BindOptions.ReadOnlyNonRecursive and ReadOnlyForceRecursive")
		}
	}
	if v := m.VolumeOptions; v != nil {
		if v.NoCopy {
			parts = append(parts, "volume-nocopy=true")
		}
		if len(v.Labels) > 0 {
			return "", refuse("VolumeOptions.Labels (create the volume first: POST /volumes/create)")
		}
		if v.Subpath != "" {
			return "", refuse("VolumeOptions.Subpath")
		}
		if d := v.DriverConfig; d != nil && ((d.Name != "" && d.Name != volume.DriverLocal) || len(d.Options) > 0) {
			return "", refuse("VolumeOptions.DriverConfig (only the local driver, options given at POST /volumes/create)")
		}
	}
	if t := m.TmpfsOptions; t != nil {
		if t.SizeBytes < 0 {
			return "", badRequest("%s: negative TmpfsOptions.SizeBytes", field)
		}
		if t.SizeBytes > 0 {
			parts = append(parts, "tmpfs-size="+strconv.FormatInt(t.SizeBytes, 10))
		}
		if t.Mode != 0 {
			parts = append(parts, fmt.Sprintf("tmpfs-mode=%o", t.Mode.Perm()))
		}
		if len(t.Options) > 0 {
			return "", refuse("TmpfsOptions.Options")
		}
	}
	return strings.Join(parts, ","), nil
}

// hostMounts adds to the create options, after HostConfig.Binds, the
// other mounts of a create request as `myctr run` takes them:
// HostConfig.Mounts (--mount), Tmpfs (--tmpfs), VolumesFrom
// (--volumes-from) and Config.Volumes, the anonymous volumes of
// `docker run -v /PATH` (-v /PATH), skipped where a bind or mount already
// covers the path, as Docker does. Preconditions: req.HostConfig != nil.
func hostMounts(req *ctypes.CreateRequest, o *container.CreateOptions) error {
	hc := req.HostConfig
	if hc.VolumeDriver != "" && hc.VolumeDriver != volume.DriverLocal {
		return withStatus(http.StatusNotImplemented, fmt.Errorf("HostConfig.VolumeDriver %q is not supported: only %q", hc.VolumeDriver, volume.DriverLocal))
	}
	for i, m := range hc.Mounts {
		flag, err := mountFlag(i, m)
		if err != nil {
			return err
		}
		vm, err := volume.ParseMountFlag(flag)
		if err != nil {
			return withStatus(http.StatusBadRequest, fmt.Errorf("HostConfig.Mounts[%d]: %w", i, err))
		}
		o.Mounts = append(o.Mounts, vm)
	}
	for _, dest := range slices.Sorted(maps.Keys(hc.Tmpfs)) {
		t := dest
		if opts := hc.Tmpfs[dest]; opts != "" {
			t += ":" + opts
		}
		if _, err := container.ParseTmpfs(t); err != nil {
			return withStatus(http.StatusBadRequest, fmt.Errorf("HostConfig.Tmpfs %q: %w", t, err))
		}
		o.Tmpfs = append(o.Tmpfs, t)
	}
	for _, ref := range hc.VolumesFrom {
		if _, _, err := volume.ParseVolumesFrom(ref); err != nil {
			return withStatus(http.StatusBadRequest, fmt.Errorf("HostConfig.VolumesFrom %q: %w", ref, err))
		}
		o.VolumesFrom = append(o.VolumesFrom, ref)
	}
	if req.Config == nil {
		return nil
	}
	covered := map[string]bool{}
	for _, m := range o.Mounts {
		covered[m.Destination] = true
	}
	for _, t := range o.Tmpfs {
		d, _, _ := strings.Cut(t, ":")
		covered[filepath.Clean(d)] = true
	}
	for _, dest := range slices.Sorted(maps.Keys(req.Volumes)) {
		m, err := volume.ParseVolumeFlag(dest)
		if err != nil || m.Type != volume.TypeVolume || m.Source != "" {
			return badRequest("Volumes %q: want an absolute container path", dest)
		}
		if covered[m.Destination] {
			continue
		}
		covered[m.Destination] = true
		o.Mounts = append(o.Mounts, m)
	}
	return nil
}

// mountPoints is a container's mounts as inspect shows them.
func mountPoints(c *container.Container) []ctypes.MountPoint {
	out := []ctypes.MountPoint{}
	for _, mp := range c.Mounts {
		p := ctypes.MountPoint{
			Type:        mount.Type(mp.Type),
			Name:        mp.Name,
			Source:      mp.Source,
			Destination: mp.Destination,
			Driver:      mp.Driver,
			Mode:        mp.Mode,
			RW:          mp.RW,
			Propagation: mount.Propagation(mp.Propagation),
		}
		if mp.Type == volume.TypeVolume && p.Driver == "" {
			p.Driver = volume.DriverLocal
		}
		out = append(out, p)
	}
	return out
}
