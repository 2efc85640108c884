package rootfs

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// mountCopyUp mounts a tmpfs on mp that starts with a copy of what mp
// held before (Podman's default for tmpfs mounts, "tmpcopyup"): the image's
// files there, and what `cp` put there before the first start. It runs in
// the container's init, before pivot_root: everything read is the
// container's own root filesystem, reached through a descriptor of the
// directory opened without following a symlink, everything written is the
// new tmpfs, and copyDir copies links as links, so a link in the image
// cannot make the copy read or write anything else.
func mountCopyUp(mp *mountPoint, fstype string, o Options) error {
	under := mp.f
	// Writable while the copy is made; the flags asked for afterwards.
	if err := mp.mount("tmpfs", fstype, o.Flags&^unix.MS_RDONLY, o.Data); err != nil {
		return err
	}
	tmpfs, err := mp.open()
	if err != nil {
		return fmt.Errorf("open the tmpfs on %s: %w", mp.path, err)
	}
	defer tmpfs.Close()
	if err := copyDir("/proc/self/fd/"+strconv.Itoa(int(under.Fd())), "/proc/self/fd/"+strconv.Itoa(int(tmpfs.Fd()))); err != nil {
		return fmt.Errorf("copy %s into its tmpfs: %w", mp.path, err)
	}
	if o.Flags&unix.MS_RDONLY != 0 {
		return mountFd("", tmpfs, mp.path, "", unix.MS_REMOUNT|o.Flags, o.Data)
	}
	return nil
}
