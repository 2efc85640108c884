package rootfs

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// AnnotationMtab asks the init for an /etc/mtab where the image has
// none, as Podman makes one: a symlink to /proc/mounts, which tools such
// as df and mount read. Not for a build's RUN step, whose upper directory
// becomes a layer.
const AnnotationMtab = "io.myctr.mtab"

// AnnotationVolatile set to "1" in a spec (an --rm container's) mounts
// its overlay volatile (Overlay.Volatile).
const AnnotationVolatile = "io.myctr.volatile"

// ensureMtab makes /etc/mtab a symlink to /proc/mounts when the
// container's /etc has no mtab. It runs after pivot_root: every path is
// the container's. Best effort, as Podman's: a read-only or missing /etc
// keeps it as it is.
func ensureMtab(spec *specs.Spec) {
	if spec.Annotations[AnnotationMtab] == "" {
		return
	}
	if fi, err := os.Stat("/etc"); err != nil || !fi.IsDir() {
		return
	}
	if _, err := os.Lstat("/etc/mtab"); !errors.Is(err, os.ErrNotExist) {
		return
	}
	_ = os.Symlink("/proc/mounts", "/etc/mtab")
}
