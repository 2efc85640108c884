package archive

import (
	"archive/tar"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

const noFollow = unix.O_NOFOLLOW

// mkWhiteout creates an overlay whiteout: a character device 0/0. Since
// Linux 5.8 this needs no CAP_MKNOD.
func mkWhiteout(p string) error {
	return unix.Mknod(p, unix.S_IFCHR, 0)
}

func mkfifo(p string) error {
	return unix.Mkfifo(p, 0o600)
}

func mkdev(p string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFCHR)
	if hdr.Typeflag == tar.TypeBlock {
		mode = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	return unix.Mknod(p, mode|0o600, int(dev))
}

// isPermission reports the errors a process gets for lack of privilege.
func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// chmodRaw sets the permission bits, set-id and sticky bits of p from a
// tar mode (whose bits match the Unix ones). p is never a symlink here.
func chmodRaw(p string, mode int64) error {
	return unix.Chmod(p, uint32(mode&0o7777))
}

// setTimes sets access and modification times without following a
// symlink at p.
func setTimes(p string, hdr *tar.Header) error {
	mtime := hdr.ModTime
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{toTimespec(atime), toTimespec(mtime)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func toTimespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func lsetxattr(p, name string, value []byte) error {
	return unix.Lsetxattr(p, name, value, 0)
}
