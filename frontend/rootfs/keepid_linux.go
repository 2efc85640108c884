package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ShiftOwners gives every file of the merged root at root its keep-id
// owner (see Rotate), unless marker exists, and then creates marker: the
// image's files are stored for the default mapping, and a chown through
// the overlay copies each file up into the container's own upper
// directory (as Podman's storage makes a chowned copy of the layers), so
// it is done once, at the container's first start, before anything runs
// in it. A start that stops halfway leaves marker.partial, and the next
// one fails with ErrShiftInterrupted. Symlinks are never followed: only lchown, and chmod of
// non-links (a chown clears set-user-ID and set-group-ID, which are put
// back). File capabilities (security.capability) are lost with the chown.
//
// Preconditions: root is the container's merged overlay, nothing else is
// mounted under it yet, and we are root of the container's user
// namespace.
func ShiftOwners(root string, k KeepUser, marker string) error {
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	// The shift is a permutation of owners: run twice over the same
	// files it would give them wrong ones, so a start that died halfway
	// leaves a mark that stops the next.
	partial := marker + ".partial"
	if _, err := os.Stat(partial); err == nil {
		return ErrShiftInterrupted
	}
	if err := os.WriteFile(partial, nil, 0o600); err != nil {
		return fmt.Errorf("mark owners being shifted: %w", err)
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("lstat %s: %w", p, err)
		}
		uid, gid := Rotate(st.Uid, k.UID), Rotate(st.Gid, k.GID)
		if uid == st.Uid && gid == st.Gid {
			return nil
		}
		if err := unix.Lchown(p, int(uid), int(gid)); err != nil {
			return fmt.Errorf("chown %s to %d:%d: %w", p, uid, gid, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			if err := unix.Chmod(p, st.Mode&0o7777); err != nil {
				return fmt.Errorf("chmod %s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("shift owners for --userns=keep-id: %w", err)
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("mark owners shifted: %w", err)
	}
	return os.Remove(partial)
}

// ErrShiftInterrupted means an earlier start stopped while shifting the
// owners of a keep-id container: some files have their new owners and
// some not, and no second pass can tell which.
var ErrShiftInterrupted = errors.New("an earlier start of this --userns=keep-id container stopped while giving the image's files their owners: remove the container and create it again")

// AddUser gives the container's /etc/passwd an entry for the keep-id user
// and its /etc/group one for the user's group, where the image has no
// entry for those ids (as Podman does, so that `id -un` and `~` work).
// The files are found inside root without leaving it and opened without
// following a last symlink.
func AddUser(root string, k KeepUser) error {
	uid, gid := strconv.FormatUint(uint64(k.UID), 10), strconv.FormatUint(uint64(k.GID), 10)
	if err := addEntry(root, "/etc/passwd", 2, uid,
		fmt.Sprintf("%s:*:%s:%s:%s:%s:/bin/sh\n", k.Name, uid, gid, k.Name, k.Home)); err != nil {
		return err
	}
	return addEntry(root, "/etc/group", 2, gid, fmt.Sprintf("%s:x:%s:\n", k.Name, gid))
}

// addEntry appends line to file unless a line's field idx already is id.
// The file is found inside root, created there (with its directory) if
// missing, and read and written through one descriptor opened without
// following a last symlink.
func addEntry(root, file string, idx int, id, line string) error {
	r, err := resolveIn(root, file)
	if err != nil {
		return fmt.Errorf("find %s: %w", file, err)
	}
	defer r.Close()
	dir, err := r.mkdirParent()
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(file), err)
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(r.rel), unix.O_RDWR|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	f := os.NewFile(uintptr(fd), r.path)
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); len(f) > idx && f[idx] == id {
			return nil
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
