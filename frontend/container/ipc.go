package container

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The --ipc modes, as Podman names them.
const (
	IPCShareable = "shareable" // the default: an IPC namespace of its own
	IPCPrivate   = "private"   // the same; Podman lets no container join it
	IPCNone      = "none"      // its own, without /dev/shm
	IPCHost      = "host"      // the host's
)

// ErrIPCJoin is --ipc container:NAME, which myctr does not do: each
// container has a user namespace of its own, which its IPC namespace
// belongs to, so joining another's is joining its user namespace too,
// which a pod does.
var ErrIPCJoin = errors.New("--ipc container:NAME is not supported")

// ParseIPC checks --ipc and gives the mode to record: "" is shareable.
// container:NAME is ErrIPCJoin, or Podman's refusal when NAME's mode is
// private (donorMode gives it).
func ParseIPC(mode string, donorMode func(ref string) (string, error)) (string, error) {
	switch mode {
	case "":
		return IPCShareable, nil
	case IPCShareable, IPCPrivate, IPCNone, IPCHost:
		return mode, nil
	}
	if ref, ok := strings.CutPrefix(mode, "container:"); ok && ref != "" {
		m, err := donorMode(ref)
		if err != nil {
			return "", err
		}
		if m == IPCPrivate {
			return "", fmt.Errorf("--ipc container:%s is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", ref)
		}
		return "", &hintError{fmt.Errorf("%w: each container has a user namespace of its own, which its IPC namespace belongs to", ErrIPCJoin),
			"share an IPC namespace through a pod: myctr pod create --share ipc,net,uts, then run --pod POD for each container"}
	}
	return "", fmt.Errorf("invalid --ipc %q: use shareable, private, none, host or container:NAME", mode)
}

// applyIPC gives the spec the IPC namespace and mounts of mode: host
// leaves the namespace out and binds the host's /dev/shm and /dev/mqueue
// over the container's own, or leaves out the one the host has not
// (hostHas says; an mqueue file system can only be mounted by the owner
// of its IPC namespace); none keeps the namespace and has no /dev/shm.
func applyIPC(spec *specs.Spec, mode string, hostHas func(path string) bool) {
	switch mode {
	case IPCHost:
		spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.IPCNamespace })
		var keep []specs.Mount
		for _, m := range spec.Mounts {
			if m.Destination == "/dev/shm" || m.Destination == "/dev/mqueue" {
				if !hostHas(m.Destination) {
					continue
				}
				m = specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Destination,
					Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
			}
			keep = append(keep, m)
		}
		spec.Mounts = keep
	case IPCNone:
		spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev/shm" })
	}
}

// ipcSysctl reports whether the sysctl k belongs to the IPC namespace.
func ipcSysctl(k string) bool {
	return strings.HasPrefix(k, "fs.mqueue.") || slices.Contains(ipcSysctls, k)
}

// hostDir reports whether the host has the directory p.
func hostDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
