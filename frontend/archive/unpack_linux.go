package archive

import (
	"archive/tar"
	"errors"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mkWhiteout creates an overlay whiteout: a character device 0/0. Since
// Linux 5.8 this needs no CAP_MKNOD.
func mkWhiteout(pl place) error {
	return unix.Mknodat(pl.dir, pl.name, unix.S_IFCHR, 0)
}

func mkfifo(pl place) error {
	return unix.Mknodat(pl.dir, pl.name, unix.S_IFIFO|0o600, 0)
}

func mkdev(pl place, hdr *tar.Header) error {
	mode := uint32(unix.S_IFCHR)
	if hdr.Typeflag == tar.TypeBlock {
		mode = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	return unix.Mknodat(pl.dir, pl.name, mode|0o600, int(dev))
}

// isPermission reports the errors a process gets for lack of privilege.
func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// chmodAt sets the permission bits, set-id and sticky bits of the entry
// at pl from a tar mode (whose bits match the Unix ones), without
// following a symlink there (fchmodat2, Linux 6.6). Older kernels have
// only fchmodat, which follows one; the entry is then one Unpack has just
// made or checked to be a directory, and the precondition of Unpack (no
// other writer in dest) keeps it so.
func chmodAt(pl place, mode int64) error {
	perm := uint32(mode & 0o7777)
	err := unix.Fchmodat(pl.dir, pl.name, perm, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = unix.Fchmodat(pl.dir, pl.name, perm, 0)
	}
	return err
}

// setTimes sets access and modification times of the entry at pl
// without following a symlink there.
func setTimes(pl place, hdr *tar.Header) error {
	mtime := hdr.ModTime
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{toTimespec(atime), toTimespec(mtime)}
	return unix.UtimesNanoAt(pl.dir, pl.name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func toTimespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// lsetxattrAt sets an xattr on the entry at pl without following it.
// Linux before 6.13 has no setxattrat, so the entry is named through the
// directory's descriptor in /proc/self/fd: the kernel walks that magic
// link to the very directory held open, and lsetxattr does not follow
// the last component. Only symlinks, devices and FIFOs carrying xattrs in
// the layer come here (files and directories get theirs through their own
// descriptors), which few layers have; where /proc is missing (a stopped
// container's root, for the copy worker) such an xattr is skipped with
// the warning of any xattr that cannot be set.
func lsetxattrAt(pl place, name string, value []byte) error {
	return unix.Lsetxattr("/proc/self/fd/"+strconv.Itoa(pl.dir)+"/"+pl.name, name, value, 0)
}

// removeAllAt removes the directory name in dir and everything below it,
// by descriptor, never following a symlink.
func removeAllAt(dir int, name string) error {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		names, err := readNames(fd)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			break
		}
		for _, n := range names {
			err := unix.Unlinkat(fd, n, 0)
			if errors.Is(err, unix.EISDIR) {
				err = removeAllAt(fd, n)
			}
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
	}
	return unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}

// readNames returns the names in the open directory fd (without "." and
// ".."), read from its start.
func readNames(fd int) ([]string, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, err
	}
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// openInRoot opens the directory dir below root (O_PATH), resolving it as
// if root were the root directory: ".." stops at root, absolute symlinks
// start from it, and magic links of /proc are refused.
func openInRoot(root int, dir string) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 8 {
		fd, err := unix.Openat2(root, dir, how)
		// EAGAIN: a rename raced the walk of ".."; the kernel asks
		// for a retry.
		if !errors.Is(err, unix.EAGAIN) {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// walkAt opens the directory rel below root one component at a time,
// never following a symlink (rel holds no ".."), making the missing ones
// when create is set, and returns its descriptor (O_PATH).
func walkAt(root int, rel string, create bool) (int, error) {
	fd, err := unix.Openat(root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." {
			continue
		}
		if create {
			if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, err
			}
		}
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}
