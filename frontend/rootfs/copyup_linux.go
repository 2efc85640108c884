package rootfs

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// mountCopyUp mounts a tmpfs on dest that starts with a copy of what dest
// held before (Podman's default for tmpfs mounts, "tmpcopyup"): the image's
// files there, and what `cp` put there before the first start. It runs in
// the container's init, before pivot_root: everything read is the
// container's own root filesystem, reached through a descriptor of the
// directory opened without following a symlink, everything written is the
// new tmpfs, and copyDir copies links as links, so a link in the image
// cannot make the copy read or write anything else.
func mountCopyUp(dest, fstype string, o Options) error {
	under, err := unix.Open(dest, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s before its tmpfs: %w", dest, err)
	}
	defer unix.Close(under)
	// Writable while the copy is made; the flags asked for afterwards.
	if err := mount("tmpfs", dest, fstype, o.Flags&^unix.MS_RDONLY, o.Data); err != nil {
		return err
	}
	if err := copyDir("/proc/self/fd/"+strconv.Itoa(under), dest); err != nil {
		return fmt.Errorf("copy %s into its tmpfs: %w", dest, err)
	}
	if o.Flags&unix.MS_RDONLY != 0 {
		return mount("", dest, "", unix.MS_REMOUNT|o.Flags, o.Data)
	}
	return nil
}
