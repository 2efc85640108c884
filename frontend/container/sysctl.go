package container

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// ErrInvalidSysctl is a --sysctl (or default_sysctls) entry myctr cannot set.
var ErrInvalidSysctl = errors.New("invalid sysctl")

// DefaultSysctls are set in every container that has its own network
// namespace unless containers.conf's default_sysctls says otherwise, as
// containers-common does: ping_group_range "0 0" lets the container's root
// (the user) open ICMP echo sockets, so that ping works without
// CAP_NET_RAW in a rootless container.
var DefaultSysctls = []string{"net.ipv4.ping_group_range=0 0"}

// ipcSysctls are the kernel.* sysctls of the IPC namespace; fs.mqueue.*
// belong to it as well, and net.* to the network namespace. Nothing else
// is namespaced: writing it would change the host (or fail), so it is
// refused, as runc and crun refuse it.
var ipcSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

// ParseSysctls reads KEY=VALUE entries (a later key replaces an earlier
// one) and checks each against the namespaces the container has of its
// own: with --network host, net.* would be the host's. Keys are dotted
// names; each part is made of letters, digits, '_' and '-' (so a key
// never leaves /proc/sys), and values are one line.
func ParseSysctls(entries []string, networkMode string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%w %q: want KEY=VALUE", ErrInvalidSysctl, e)
		}
		for _, part := range strings.Split(k, ".") {
			if part == "" || strings.TrimLeft(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
				return nil, fmt.Errorf("%w %q: not a sysctl name", ErrInvalidSysctl, k)
			}
		}
		if strings.ContainsAny(v, "\n\x00") {
			return nil, fmt.Errorf("%w %s: the value must be one line", ErrInvalidSysctl, k)
		}
		switch {
		case strings.HasPrefix(k, "net."):
			if networkMode == "host" {
				return nil, fmt.Errorf("%w %s: --network host shares the host's network namespace, whose settings a container may not change", ErrInvalidSysctl, k)
			}
		case ipcSysctl(k):
		default:
			return nil, fmt.Errorf("%w %s: not namespaced (only net.*, fs.mqueue.* and the IPC namespace's kernel.msg*, kernel.sem and kernel.shm* can be set for one container)", ErrInvalidSysctl, k)
		}
		out[k] = v
	}
	return out, nil
}

// MergeSysctls is the container's sysctl settings: the defaults (from
// containers.conf, or DefaultSysctls), less the network namespace's when
// the container shares the host's, then the user's --sysctl entries,
// which replace a default of the same key.
func MergeSysctls(defaults, flags []string, networkMode string) (map[string]string, error) {
	var keep []string
	for _, d := range defaults {
		if networkMode == "host" && strings.HasPrefix(strings.TrimSpace(d), "net.") {
			continue
		}
		keep = append(keep, d)
	}
	base, err := ParseSysctls(keep, networkMode)
	if err != nil {
		return nil, err
	}
	user, err := ParseSysctls(flags, networkMode)
	if err != nil {
		return nil, err
	}
	maps.Copy(base, user)
	if len(base) == 0 {
		return nil, nil
	}
	return base, nil
}
