// Package security holds the container's privilege settings: the default
// capability set, capability names, and applying them in the init just
// before execve.
package security

import (
	"fmt"
	"sort"
	"strings"
)

// DefaultCaps is the set Podman gives a container (containers.conf's
// default_capabilities).
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// capNames maps every capability name the kernel knows to its number.
var capNames = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// CapValue returns the number of a capability name.
func CapValue(name string) (uint, bool) {
	v, ok := capNames[name]
	return v, ok
}

// NormalizeCap accepts "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" and "ALL".
func NormalizeCap(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return n, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if _, ok := capNames[n]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownCap, name)
	}
	return n, nil
}

// AllCaps lists every known capability, sorted by number.
func AllCaps() []string {
	out := make([]string, 0, len(capNames))
	for n := range capNames {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return capNames[out[i]] < capNames[out[j]] })
	return out
}

// MergeCaps applies --cap-add and --cap-drop to the default set, as Podman
// does: drop ALL empties the base, add ALL gives everything, an explicit add
// wins over a drop of the same name.
func MergeCaps(base, add, drop []string) ([]string, error) {
	set := map[string]bool{}
	for _, c := range base {
		set[c] = true
	}
	adds := map[string]bool{}
	for _, c := range add {
		n, err := NormalizeCap(c)
		if err != nil {
			return nil, err
		}
		adds[n] = true
	}
	for _, c := range drop {
		n, err := NormalizeCap(c)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = map[string]bool{}
			continue
		}
		if !adds[n] {
			delete(set, n)
		}
	}
	for n := range adds {
		if n == "ALL" {
			for _, c := range AllCaps() {
				set[c] = true
			}
			continue
		}
		set[n] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return capNames[out[i]] < capNames[out[j]] })
	return out, nil
}
