package ociruntime

import (
	"fmt"
	"strings"
)

// systemdScope is the transient scope that a cgroupsPath in systemd's
// form names (--systemd-cgroup).
type systemdScope struct {
	Slice string // the slice it goes in
	Unit  string // PREFIX-NAME.scope
}

// defaultScopePrefix is the prefix of a scope whose spec names none
// (an empty cgroupsPath).
const defaultScopePrefix = "myctr-runtime"

// maxUnitName is systemd's limit on a unit name (UNIT_NAME_MAX less the
// terminating NUL).
const maxUnitName = 255

// parseSystemdPath reads linux.cgroupsPath in systemd's form,
// slice:prefix:name, by runc's rules: the scope is prefix-name.scope (or
// name.scope without a prefix) in the slice; an empty slice is
// system.slice, or user.slice for a container of a user's manager
// (user); an empty cgroupsPath is :myctr-runtime:ID. Each part is a
// plain unit name (letters, digits, _ . -, no ".."); a slice is one
// that systemd can expand to a path ("-.slice", the root, or dash-separated
// non-empty parts). A name ending in .slice, which runc takes as a slice
// to make, is refused: myctr-runtime makes scopes only.
func parseSystemdPath(path, id string, user bool) (systemdScope, error) {
	slice, prefix, name := "", defaultScopePrefix, id
	if path != "" {
		parts := strings.Split(path, ":")
		if len(parts) != 3 {
			return systemdScope{}, fmt.Errorf("linux.cgroupsPath %q: with --systemd-cgroup it must be slice:prefix:name (for example system.slice:myctr:%s), which names the scope prefix-name.scope in that slice", path, id)
		}
		slice, prefix, name = parts[0], parts[1], parts[2]
	}
	bad := func(what, v, why string) error {
		return fmt.Errorf("linux.cgroupsPath %q: the %s %q %s", path, what, v, why)
	}
	if slice == "" {
		slice = "system.slice"
		if user {
			slice = "user.slice"
		}
	}
	if err := unitChars(slice); err != "" {
		return systemdScope{}, bad("slice", slice, err)
	}
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return systemdScope{}, bad("slice", slice, "is not a slice's name (NAME.slice)")
	}
	if base != "-" {
		for _, c := range strings.Split(base, "-") {
			if c == "" {
				return systemdScope{}, bad("slice", slice, "has an empty part between dashes (systemd reads a-b.slice as b below a.slice)")
			}
		}
	}
	if prefix != "" {
		if err := unitChars(prefix); err != "" {
			return systemdScope{}, bad("prefix", prefix, err)
		}
	}
	if name == "" {
		return systemdScope{}, bad("name", name, "is empty")
	}
	if err := unitChars(name); err != "" {
		return systemdScope{}, bad("name", name, err)
	}
	if strings.HasSuffix(name, ".slice") {
		return systemdScope{}, bad("name", name, "ends in .slice, which asks for a slice of the container's own: myctr-runtime makes a scope (prefix-name.scope) in the slice the first part names")
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	if len(unit) > maxUnitName {
		return systemdScope{}, fmt.Errorf("linux.cgroupsPath %q: the unit name %s is longer than systemd's %d characters", path, unit, maxUnitName)
	}
	return systemdScope{Slice: slice, Unit: unit}, nil
}

// unitChars checks the characters of a part of a unit name: "" when it
// is fine, else why not. systemd also takes ":" (here the separator) and
// "\" escapes, which no container runtime's caller writes.
func unitChars(s string) string {
	if strings.Contains(s, "..") {
		return `contains ".."`
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Sprintf("contains %q: a unit name has only letters, digits, _ . and -", r)
		}
	}
	return ""
}
