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
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The options the frontend adds to a bind of a volume or a :U bind
// (container.OptCopyUp and friends); the kernel never sees them.
const (
	optCopyUp = "x-myctr.copyup"
	optOwn    = "x-myctr.own="
	optChown  = "x-myctr.chown="
)

// prepareSource does what a bind's x-myctr options ask before it is bound,
// as root of the container's user namespace, where the image's owners and
// the container's user are mapped: copy the image's directory at the
// destination into an empty volume (copy-up), give a volume's first mount
// the owner and mode of that directory, chown the source to the
// container's user (:U).
//
// Why this is safe: the source is a directory of the user's (a volume, or
// a path the user named), and the ids are mapped ones; what is copied is
// read from the container's own root (resolved inside it) without
// following symlinks, and written only as new entries of the source.
func prepareSource(root string, m *specs.Mount) error {
	var copyUp bool
	var own, chown string
	for _, o := range m.Options {
		switch {
		case o == optCopyUp:
			copyUp = true
		case strings.HasPrefix(o, optOwn):
			own = strings.TrimPrefix(o, optOwn)
		case strings.HasPrefix(o, optChown):
			chown = strings.TrimPrefix(o, optChown)
		}
	}
	if !copyUp && own == "" && chown == "" {
		return nil
	}
	// What the image has at the destination, found inside the root and
	// read through its descriptor.
	var imageFi os.FileInfo
	image, imageErr := openInRoot(root, m.Destination)
	if imageErr == nil {
		defer image.Close()
		imageFi, imageErr = image.Stat()
	}
	if copyUp && imageErr == nil && imageFi.IsDir() {
		if err := copyDir(fdPath(image), m.Source); err != nil {
			return fmt.Errorf("copy %s of the image into the volume: %w", m.Destination, err)
		}
	}
	if own != "" {
		if imageErr == nil && imageFi.IsDir() {
			st := imageFi.Sys().(*syscall.Stat_t)
			if err := os.Lchown(m.Source, int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("give the volume the owner of %s: %w", m.Destination, err)
			}
			if err := os.Chmod(m.Source, imageFi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid)); err != nil {
				return fmt.Errorf("give the volume the mode of %s: %w", m.Destination, err)
			}
		} else if uid, gid, ok := ids(own); ok {
			if err := os.Lchown(m.Source, uid, gid); err != nil {
				return fmt.Errorf("give the volume the container's user: %w", err)
			}
		}
	}
	if chown != "" {
		uid, gid, ok := ids(chown)
		if !ok {
			return fmt.Errorf("bad %s%s", optChown, chown)
		}
		var st unix.Stat_t
		if err := unix.Lstat(m.Source, &st); err != nil {
			return fmt.Errorf("stat %s: %w", m.Source, err)
		}
		// As Podman: only a source whose top has another owner is
		// chowned, and then all of it.
		if int(st.Uid) != uid || int(st.Gid) != gid {
			err := filepath.WalkDir(m.Source, func(p string, _ fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, uid, gid)
			})
			if err != nil {
				return fmt.Errorf("chown %s to %d:%d (:U): %w", m.Source, uid, gid, err)
			}
		}
	}
	return nil
}

func ids(s string) (int, int, bool) {
	u, g, ok := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	return uid, gid, ok && err1 == nil && err2 == nil
}

// copyDir copies the entries of src into dst (an existing directory),
// keeping owners, modes and times; symlinks are copied as links, devices
// and sockets are skipped (a user namespace may not make devices).
func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := copyEntry(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if err := copyDir(src, dst); err != nil {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		if err := copyFile(src, dst); err != nil {
			return err
		}
	case fi.Mode()&fs.ModeNamedPipe != 0:
		if err := unix.Mkfifo(dst, 0o600); err != nil {
			return err
		}
	default:
		return nil
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
