// Package security holds the container's privilege settings: the default
// capability set, capability names, and applying them in the init just
// before execve.
package security

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moby/sys/capability"
)

// DefaultCaps is the set Podman gives a container (containers.conf's
// default_capabilities).
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// capNames maps every capability name moby/sys/capability knows (the
// kernel's, up to the library's release) to its number, in the spelling
// of the OCI spec and Podman: CAP_ and upper case.
var capNames = func() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}()

// CapValue returns the number of a capability name.
func CapValue(name string) (uint, bool) {
	v, ok := capNames[name]
	return uint(v), ok
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
