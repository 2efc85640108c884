package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/security"
)

// baseCaps is the bounding set before --cap-add and --cap-drop: Docker's
// default set, or every capability with --privileged (capabilities of the
// container's user namespace, which give nothing over the host's objects
// that the user does not have).
func baseCaps(o *CreateOptions) []string {
	if o.Privileged {
		return security.AllCaps()
	}
	return security.DefaultCaps
}

// applyPrivileged gives a --privileged container what rootless Podman
// gives it: no masked or read-only /proc and /sys paths, and the host's
// device nodes in /dev that the user may open (bound, as a user
// namespace may not mknod; the kernel checks each open against the
// user's own rights on the host). The seccomp filter is dropped by the
// caller (seccomp=unconfined).
func applyPrivileged(spec *specs.Spec) {
	spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
	have := map[string]bool{}
	for _, d := range spec.Linux.Devices {
		have[d.Path] = true
	}
	for _, p := range hostDevices() {
		if !have[p] {
			spec.Linux.Devices = append(spec.Linux.Devices, specs.LinuxDevice{Path: p, Type: "c"})
		}
	}
}

// hostDevices lists the character devices directly in the host's /dev that
// this user may read or write, but the terminal ones (/dev/console, the
// ptmx of the host's devpts): the container has its own.
func hostDevices() []string {
	ents, err := os.ReadDir("/dev")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.Type()&os.ModeCharDevice == 0 || e.Name() == "console" || e.Name() == "ptmx" {
			continue
		}
		p := "/dev/" + e.Name()
		if unix.Access(p, unix.R_OK) == nil || unix.Access(p, unix.W_OK) == nil {
			out = append(out, p)
		}
	}
	return out
}

// zoneinfo is where the host's time zone files are.
const zoneinfo = "/usr/share/zoneinfo"

// ZoneFile is the host's file of the --tz zone: "local" is the host's
// /etc/localtime, anything else a zone of the host's zoneinfo
// (Europe/Paris, MST7MDT), never a path out of it.
func ZoneFile(tz string) (string, error) {
	name := filepath.Join(zoneinfo, filepath.Clean("/"+tz))
	if tz == "local" {
		name = "/etc/localtime"
	} else if tz == "" || strings.Contains(tz, "..") || filepath.IsAbs(tz) {
		return "", fmt.Errorf("invalid --tz %q: a zone name such as Europe/Paris, or local", tz)
	}
	p, err := filepath.EvalSymlinks(name)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(p); err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a zone file")
		}
	}
	if err != nil {
		return "", fmt.Errorf("--tz %s: no such time zone in %s: %w", tz, zoneinfo, err)
	}
	return p, nil
}
