package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrInvalidDevice is a --device value myctr cannot give the container.
var ErrInvalidDevice = errors.New("invalid --device")

// DeviceMapping is one --device, in Docker's fields (HostConfig.Devices).
type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string // r, w and m: without w the node is read-only
}

// ParseDevice reads --device HOST[:CONTAINER][:PERMISSIONS] as Docker and
// Podman do: CONTAINER defaults to HOST, PERMISSIONS (of r, w, m) to rwm.
// HOST must be a character or block device node; a user namespace may
// not make one, so the container gets the host's node bound in, as
// rootless Podman gives it. Only a device cgroup rule could narrow the
// access to r or w alone, which an unprivileged user cannot set (a
// read-only mount does not stop writes to a device), so permissions
// without both r and w are refused rather than ignored.
func ParseDevice(v string) (DeviceMapping, error) {
	parts := strings.Split(v, ":")
	d := DeviceMapping{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if isDevicePerms(parts[1]) {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
		if !isDevicePerms(d.CgroupPermissions) {
			return d, fmt.Errorf("%w %q: permissions %q: want a combination of r, w and m", ErrInvalidDevice, v, d.CgroupPermissions)
		}
	default:
		return d, fmt.Errorf("%w %q: want HOST[:CONTAINER][:PERMISSIONS]", ErrInvalidDevice, v)
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !strings.Contains(d.CgroupPermissions, "r") || !strings.Contains(d.CgroupPermissions, "w") {
		return d, fmt.Errorf("%w %q: permissions %q: only a device cgroup rule could hold the container to them, which an unprivileged user cannot set", ErrInvalidDevice, v, d.CgroupPermissions)
	}
	if !filepath.IsAbs(d.PathOnHost) || !filepath.IsAbs(d.PathInContainer) {
		return d, fmt.Errorf("%w %q: the paths must be absolute", ErrInvalidDevice, v)
	}
	d.PathOnHost, d.PathInContainer = filepath.Clean(d.PathOnHost), filepath.Clean(d.PathInContainer)
	fi, err := os.Stat(d.PathOnHost)
	if err != nil {
		return d, fmt.Errorf("%w %q: %w", ErrInvalidDevice, v, err)
	}
	if fi.Mode()&os.ModeDevice == 0 {
		return d, fmt.Errorf("%w %q: %s is not a device node", ErrInvalidDevice, v, d.PathOnHost)
	}
	return d, nil
}

func isDevicePerms(s string) bool {
	return s != "" && strings.Trim(s, "rwm") == "" && len(s) <= 3
}

// deviceMount is d as the bind mount that gives the container the host's
// node.
func deviceMount(d DeviceMapping) specs.Mount {
	return specs.Mount{Destination: d.PathInContainer, Type: "bind", Source: d.PathOnHost, Options: []string{"bind", "nosuid", "noexec"}}
}
