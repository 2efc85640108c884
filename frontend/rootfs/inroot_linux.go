package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Paths inside the container's root are resolved and acted on by file
// descriptor, as runc does since its 2025 fixes: the root is opened once,
// every directory and file made in it is made from a handle resolved
// inside it (pathrs-lite: openat2 with RESOLVE_IN_ROOT, or a walk by
// descriptor on older kernels), and every mount lands on the descriptor
// of its mount point through /proc/thread-self/fd/N. A string path is
// never handed to the kernel twice, so a symlink that the image, a volume
// or a racing process swaps in after the check cannot redirect a mkdir,
// a create or a mount out of the root.

// inRoot is a name inside the container's root and a handle of the root.
type inRoot struct {
	root *os.File // the root, opened O_PATH
	rel  string   // the name relative to the root, free of symlinks when resolved
	path string   // root joined with rel: the host path, for messages only
}

// resolveIn opens root and names dest inside it. SecureJoin gives the
// name dest stands for with every symlink resolved inside root (a
// dangling one included, so that a mount point is made where it points,
// as before); that name is only a hint: everything done with it goes
// through the root's handle and is resolved inside the root again.
func resolveIn(root, dest string) (*inRoot, error) {
	p, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in rootfs: %w", dest, err)
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in rootfs: %w", dest, err)
	}
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", root, err)
	}
	return &inRoot{root: f, rel: rel, path: p}, nil
}

func (r *inRoot) Close() error { return r.root.Close() }

// mkdirAll creates the directory r names, and any missing parents, inside
// the root, and returns its handle.
func (r *inRoot) mkdirAll() (*os.File, error) {
	return pathrs.MkdirAllHandle(r.root, r.rel, 0o755)
}

// create makes sure the file r names exists, creating an empty one if
// not, in its parent directory made by mkdirParent. The last component is
// created with O_NOFOLLOW: a symlink found there is refused, never
// followed. A directory found there is kept (the mount onto it then
// fails, as it did before).
func (r *inRoot) create(dir *os.File) error {
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(r.rel), unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if errors.Is(err, unix.EISDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// mkdirParent creates the parent directory of what r names, and any
// missing above it, inside the root, and returns its handle.
func (r *inRoot) mkdirParent() (*os.File, error) {
	return pathrs.MkdirAllHandle(r.root, filepath.Dir(r.rel), 0o755)
}

// open returns an O_PATH handle of what r names now, resolved inside the
// root: after a mount, the root of the mount on top.
func (r *inRoot) open() (*os.File, error) {
	if r.rel == "." {
		return pathrs.Reopen(r.root, unix.O_PATH|unix.O_DIRECTORY)
	}
	return pathrs.OpenatInRoot(r.root, r.rel)
}

// openInRoot opens what dest names inside root now (O_PATH), following
// symlinks only inside root.
func openInRoot(root, dest string) (*os.File, error) {
	r, err := resolveIn(root, dest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.open()
}

// fdPath names the open file f for a system call that takes a path: the
// kernel follows /proc/thread-self/fd/N to f itself, whatever its path
// has become since.
func fdPath(f *os.File) string {
	return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd()))
}

// afterResolve, set only by tests, runs between the check of a mount
// point's path and its making: where a racing process would swap a
// symlink in.
var afterResolve func()

// mountPoint is a mount point made inside the root and held open.
type mountPoint struct {
	*inRoot
	f *os.File // the mount point itself (under what is mounted on it)
}

// target resolves a destination inside root without following symlinks out
// of it, creates it as a directory or an empty file, and returns it open.
func target(root, dest string, file bool) (*mountPoint, error) {
	if mp := existingTarget(root, dest, file); mp != nil {
		return mp, nil
	}
	if file {
		if mp := newFileTarget(root, dest); mp != nil {
			return mp, nil
		}
	}
	r, err := resolveIn(root, dest)
	if err != nil {
		return nil, err
	}
	if afterResolve != nil {
		afterResolve()
	}
	if file {
		dir, err := r.mkdirParent()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("create parent of %s: %w", dest, err)
		}
		err = r.create(dir)
		dir.Close()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("create mount point %s: %w", dest, err)
		}
		f, err := r.open()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("create mount point %s: %w", dest, err)
		}
		return &mountPoint{inRoot: r, f: f}, nil
	}
	f, err := r.mkdirAll()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("create mount point %s: %w", dest, err)
	}
	return &mountPoint{inRoot: r, f: f}, nil
}

// existingTarget is target's fast path, for a mount point the image has
// already (/proc, /dev, /sys and /etc/hosts in nearly every image): one
// openat2 resolves dest inside the root, following symlinks only inside
// it, as pathrs-lite's own lookup does, and nothing is made. Without it,
// each mount point costs a walk by lstat, a lookup and pathrs-lite's
// checks of /proc for naming its handles: some 40 system calls against
// 3. Any failure (a missing path, a file where a directory is wanted, a
// rename racing the lookup) leaves the work to target's full path, which
// makes what is missing and reports what is wrong; nil then.
func existingTarget(root, dest string, file bool) *mountPoint {
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !file {
		flags |= unix.O_DIRECTORY
	}
	rel := strings.TrimPrefix(filepath.Clean("/"+dest), "/")
	if rel == "" {
		rel = "."
	}
	rootFD, fd, err := openatInRoot(root, rel, flags)
	if err != nil {
		return nil
	}
	return newMountPoint(root, rel, rootFD, fd)
}

// openatInRoot opens root, then rel inside it with one openat2 that
// follows symlinks only inside the root and no magic link; both
// descriptors come back, neither on error.
func openatInRoot(root, rel string, flags int) (rootFD, fd int, err error) {
	if rootFD, err = unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return -1, -1, err
	}
	fd, err = unix.Openat2(rootFD, rel, &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		unix.Close(rootFD)
		return -1, -1, err
	}
	return rootFD, fd, nil
}

// newMountPoint holds the descriptors of the root and of rel inside it.
func newMountPoint(root, rel string, rootFD, fd int) *mountPoint {
	path := filepath.Join(root, rel)
	r := &inRoot{root: os.NewFile(uintptr(rootFD), root), rel: rel, path: path}
	return &mountPoint{inRoot: r, f: os.NewFile(uintptr(fd), path)}
}

// newFileTarget is target's fast path for a file mount point that is
// missing from a directory that exists (a device's node in the
// container's own /dev, a file the image lacks in /etc): the directory
// is found by one openat2 inside the root, as existingTarget finds a
// mount point, and the file is made in it by its name alone with
// O_EXCL and O_NOFOLLOW, so nothing outside the root is made or opened,
// and the descriptor that made it is the mount point. Against target's
// full path (SecureJoin's walk, pathrs-lite's MkdirAllHandle and
// reopen), 4 system calls instead of some 30 for each of a container's
// six default devices. Anything else (a missing directory, a name
// already there, even a dangling symlink) leaves the work to the full
// path; nil then.
func newFileTarget(root, dest string) *mountPoint {
	rel := strings.TrimPrefix(filepath.Clean("/"+dest), "/")
	dir, base := filepath.Split(rel)
	if base == "" || base == "." || base == ".." {
		return nil
	}
	if dir = strings.TrimSuffix(dir, "/"); dir == "" {
		dir = "."
	}
	rootFD, dirFD, err := openatInRoot(root, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil
	}
	if afterResolve != nil {
		afterResolve()
	}
	fd, err := unix.Openat(dirFD, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	unix.Close(dirFD)
	if err != nil {
		unix.Close(rootFD)
		return nil
	}
	return newMountPoint(root, rel, rootFD, fd)
}

func (m *mountPoint) Close() error {
	m.f.Close()
	return m.inRoot.Close()
}

// mount mounts source on the mount point's descriptor; errors name the
// mount point by its path.
func (m *mountPoint) mount(source, fstype string, flags uintptr, data string) error {
	return mountFd(source, m.f, m.path, fstype, flags, data)
}

// mountFd mounts onto the open file f, shown as shown in errors.
func mountFd(source string, f *os.File, shown, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, fdPath(f), fstype, flags, data); err != nil {
		return &MountError{Op: "mount", Source: source, Target: shown, Type: fstype, Flags: flags, Data: data, Err: err}
	}
	return nil
}

// setAttrFd sets mount attributes on the mount whose root f is, and on its
// submounts where recursive.
func setAttrFd(f *os.File, shown string, set uint64, recursive bool) error {
	flags := unix.AT_EMPTY_PATH
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: set}
	if err := unix.MountSetattr(int(f.Fd()), "", uint(flags), attr); err != nil {
		if set == unix.MOUNT_ATTR_RDONLY {
			return fmt.Errorf("make %s read-only: %w", shown, err)
		}
		return fmt.Errorf("set mount attributes %#x on %s: %w", set, shown, err)
	}
	return nil
}
