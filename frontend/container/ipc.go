package container

import (
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

// IPCContainerPrefix starts an IPC mode that joins another container's
// IPC namespace: "container:ID" once created.
const IPCContainerPrefix = "container:"

// ParseIPC checks --ipc and gives the mode to record: "" is shareable;
// container:NAME stays as given for Create, which names the container by
// its id (resolveIPCDonor).
func ParseIPC(mode string) (string, error) {
	switch mode {
	case "":
		return IPCShareable, nil
	case IPCShareable, IPCPrivate, IPCNone, IPCHost:
		return mode, nil
	}
	if ref, ok := strings.CutPrefix(mode, IPCContainerPrefix); ok && ref != "" {
		return mode, nil
	}
	return "", fmt.Errorf("invalid --ipc %q: use shareable, private, none, host or container:NAME", mode)
}

// IPCContainer is the id of the container whose IPC namespace c joins
// (--ipc container:ID), or "".
func (c *Container) IPCContainer() string {
	id, ok := strings.CutPrefix(c.HostConfig.IpcMode, IPCContainerPrefix)
	if !ok {
		return ""
	}
	return id
}

// resolveIPCDonor checks --ipc container:REF at create and returns the
// donor. Rootless, the donor's IPC namespace belongs to its user
// namespace, which the joiner joins too (as --network container: does):
// so it must be the container whose user namespace the joiner joins
// anyway, if any (joins), and a donor on the host's IPC namespace, which
// no rootless user namespace may join, is refused. A private donor is
// refused in Podman's words.
func (s *Store) resolveIPCDonor(ref, joins string) (*Container, error) {
	donor, err := s.Lookup(ref)
	if err != nil {
		return nil, &hintError{fmt.Errorf("%w: --ipc container:%s: %w", ErrInvalidIPC, ref, err), "name a container that exists (myctr ps -a lists them)"}
	}
	switch donor.HostConfig.IpcMode {
	case IPCPrivate:
		return nil, fmt.Errorf("--ipc container:%s is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", ref)
	case IPCHost:
		return nil, &hintError{fmt.Errorf("%w: --ipc container:%s: %s uses the host's IPC namespace", ErrInvalidIPC, ref, donor.Name), "use --ipc host"}
	}
	if joins != "" && joins != donor.ID {
		return nil, &hintError{fmt.Errorf("%w: --ipc container:%s: the container joins the user namespace of another container (its network's, or its pod's), and an IPC namespace belongs to the user namespace of its owner", ErrInvalidIPC, ref),
			"join the IPC namespace of that same container, or leave out --ipc"}
	}
	return donor, nil
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
