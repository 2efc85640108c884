// Package archive extracts image layers (tar streams, plain or gzip) into a
// directory without ever writing outside it.
//
// Every entry name is resolved inside the destination as if the destination
// were the root directory: absolute names are taken relative to it, a
// symlink met on the way (absolute or relative, planted by an earlier entry
// or an earlier layer) is followed within it, and a name that climbs above
// it lexically ("../x") is refused with ErrUnsafePath. The last component
// of a name is never followed: an entry replaces whatever non-directory
// sits at its place.
//
// Nothing is done through a path string. The destination is opened once;
// the directory holding each entry is resolved from that descriptor
// (openat2 with RESOLVE_IN_ROOT, or a walk by descriptor that never
// follows a symlink) and held open, and the entry is made, cleared, chowned,
// chmodded and timestamped in it with the *at system calls without
// following its name. So even a symlink swapped in by another process
// while a layer is unpacked cannot take a write out of the destination.
// os.Root is not used: it refuses a symlink that
// leaves the root instead of following it within the root, which layers
// (an absolute "/usr/lib" link) need, and it resolves every name from the
// root again, where the unpacker keeps the directory handles of recent
// entries (layers come grouped by directory).
//
// OCI whiteouts become OverlayFS whiteouts, so that the unpacked layer can
// serve directly as an overlay lowerdir:
//   - ".wh.NAME" becomes a character device 0/0 named NAME;
//   - ".wh..wh..opq" marks its directory opaque with the xattr
//     "user.overlay.opaque=y", which overlay reads when it is mounted with
//     the "userxattr" option (always the case rootless: trusted.* xattrs
//     need CAP_SYS_ADMIN in the initial user namespace), and also, when
//     permitted, "trusted.overlay.opaque=y", which overlay reads when it is
//     mounted by real root without "userxattr".
//
// A file entry writes at most maxExpansion times the bytes the stream
// carries for it (ErrExpansion): a sparse entry's holes would otherwise
// let a few hundred bytes fill the disk with zeros.
//
// Overlay xattrs carried by the tarball itself ("user.overlay.*",
// "trusted.overlay.*") are never applied: only the whiteout entries above
// may produce them, so a layer cannot smuggle redirects or opaque marks.
package archive

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Options tunes Unpack.
type Options struct {
	// Chown sets the owner of each entry to the uid and gid in the tarball.
	// The caller runs Unpack as root inside the user's user namespace, so
	// the ids land in the user's subordinate range on disk.
	Chown bool
	// Warn reports what was skipped (device nodes, xattrs the filesystem
	// or our privileges refuse). Nil discards warnings.
	Warn func(format string, args ...any)
	// Plain takes ".wh." names as ordinary files: the stream is a copy of
	// files (cp), not an image layer, and must not delete anything.
	Plain bool
	// KeepKinds refuses, with ErrKindClash, an entry that would replace a
	// directory with a non-directory or a non-directory with a directory
	// (cp without --overwrite).
	KeepKinds bool
	// RootMode, when not nil, is pointed at the permission bits the stream
	// gives its root directory ("./"); it is left alone when the stream
	// has no such entry, as most layers above the first have not (the
	// image store then lets the root keep a lower layer's mode).
	RootMode **os.FileMode
}

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Unpack extracts the tar stream r, uncompressed or gzip-compressed (told
// apart by the gzip magic number), into the existing directory dest.
//
// Every entry is made by descriptor: dest is opened once, each parent
// directory is resolved from that descriptor inside dest (see dirHandle),
// and the entry is made in it with the *at system calls without following
// its last component. A symlink swapped in by a concurrent writer can
// therefore never take a write outside dest. The result is only defined,
// though, when nothing else writes under dest while Unpack runs (the
// image store unpacks into a fresh private directory).
func Unpack(r io.Reader, dest string, opts Options) error {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("resolve destination %s: %w", dest, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return fmt.Errorf("stat destination: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("destination %s: %w", abs, errors.New("not a directory"))
	}
	root, err := os.OpenFile(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open destination: %w", err)
	}
	defer root.Close()
	stream, closeStream, err := decompress(r)
	if err != nil {
		return err
	}
	defer closeStream()

	counted := &countingReader{r: stream}
	u := &unpacker{dest: abs, root: root, handles: map[string]int{}, opts: opts,
		warned: map[string]bool{}, dirs: map[string]*tar.Header{}, read: counted}
	defer u.closeAll()
	tr := tar.NewReader(counted)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar header: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
	if err := u.finishDirs(); err != nil {
		return err
	}
	if h, ok := u.dirs["."]; ok && opts.RootMode != nil {
		m := os.FileMode(h.Mode).Perm()
		*opts.RootMode = &m
	}
	return nil
}

// decompress returns r itself or a gzip reader over it, by magic number.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("read layer header: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	}
	return br, func() {}, nil
}

type unpacker struct {
	dest string   // the destination's absolute path, for messages
	root *os.File // the destination, opened O_PATH: every entry is made through it
	// handles caches directory descriptors by name (see dirHandle);
	// stale holds those dropped during the current entry.
	handles map[string]int
	stale   []int
	opts    Options
	warned  map[string]bool
	// dirs holds the directories whose owner, mode and times are applied
	// once every entry is written: a directory's mtime changes as its
	// children appear, and a read-only mode would stop them appearing.
	dirs     map[string]*tar.Header
	dirOrder []string
	// read counts the bytes of the (decompressed) tar stream read so far.
	read *countingReader
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A file entry may write at most maxExpansion times the bytes of the tar
// stream read while it is written, plus expansionSlack. Only a sparse
// entry (GNU sparse, in a PAX header) writes more than it reads: its
// holes come out of the tar reader as zeros, so that a few hundred bytes
// of header can claim a file of 2^62 bytes and fill the disk. The ratio
// is gzip's own limit (about 1032:1), so that a sparse map lets a layer
// amplify no further than compression already does.
const (
	maxExpansion   = 1024
	expansionSlack = 1 << 20
)

// expansionLimit is the writer of one file entry, refusing to write past
// the limit above.
type expansionLimit struct {
	w       io.Writer
	read    *countingReader
	start   int64 // read.n when the entry's data began
	written int64
}

func (l *expansionLimit) Write(p []byte) (int, error) {
	if l.written+int64(len(p)) > expansionSlack+maxExpansion*(l.read.n-l.start) {
		return 0, ErrExpansion
	}
	n, err := l.w.Write(p)
	l.written += int64(n)
	return n, err
}

func (u *unpacker) warn(format string, args ...any) {
	if u.opts.Warn != nil {
		u.opts.Warn(format, args...)
	}
}

// warnOnce warns at most once per key, so a layer full of files carrying
// an xattr we cannot set does not flood the terminal.
func (u *unpacker) warnOnce(key, format string, args ...any) {
	if u.warned[key] {
		return
	}
	u.warned[key] = true
	u.warn(format, args...)
}

// cleanName turns a tar name into a slash-separated path relative to the
// destination: leading slashes are dropped, "." and ".." are resolved
// lexically, and a name that climbs out is refused.
func cleanName(name string) (string, error) {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q: %w", name, ErrUnsafePath)
	}
	return rel, nil
}

// place is where one entry goes: a name inside a directory held open.
// Every change to the destination is made with the *at system calls on
// such a place, never through a path string, and the last component is
// never followed.
type place struct {
	dir  int    // descriptor of the directory holding the entry
	name string // the entry's last component ("." for the destination itself)
	path string // the destination joined with the entry's name, for messages only
}

// maxHandles bounds the directory descriptors kept open between entries.
const maxHandles = 64

// dirHandle returns a descriptor of the directory dir (a cleaned name
// relative to the destination), resolved inside the destination: a
// symlink met on the way is followed as if the destination were the root
// directory. With create, missing directories are made (mode 0755 before
// the umask) and a dangling symlink on the way is made to point at a new
// directory, as an unpacker joining paths would do.
//
// Handles are cached by name, because entries come grouped by directory;
// forget drops them whenever an entry is removed, the only change that
// can make a name resolve elsewhere.
//
// Why this is safe: the name is resolved from the destination's own
// descriptor by the kernel, with openat2(RESOLVE_IN_ROOT), so a symlink,
// even one swapped in while the walk runs, cannot lead outside the
// destination. Where that fails (a directory to make, a dangling symlink,
// a kernel before 5.6), SecureJoin is only asked for the name the
// directory stands for inside the destination, and that name is walked
// one component at a time from the destination's descriptor, each made
// with mkdirat and opened with O_NOFOLLOW: a symlink swapped in fails the
// walk instead of being followed. Neither needs /proc, which the copy
// worker (whose destination is a container's root) may not have.
func (u *unpacker) dirHandle(dir string, create bool) (int, error) {
	root := int(u.root.Fd())
	if dir == "." {
		return root, nil
	}
	if fd, ok := u.handles[dir]; ok {
		return fd, nil
	}
	fd, err := openInRoot(root, dir)
	if err != nil && (create || errors.Is(err, unix.ENOSYS)) {
		var resolved, rel string
		if resolved, err = securejoin.SecureJoin(u.dest, dir); err == nil {
			if rel, err = filepath.Rel(u.dest, resolved); err == nil {
				fd, err = walkAt(root, rel, create)
			}
		}
	}
	if err != nil {
		return -1, err
	}
	if len(u.handles) >= maxHandles {
		u.forget()
	}
	u.handles[dir] = fd
	return fd, nil
}

// forget drops the cached directory handles. They are closed after the
// current entry, whose places may still use them.
func (u *unpacker) forget() {
	for k, fd := range u.handles {
		u.stale = append(u.stale, fd)
		delete(u.handles, k)
	}
}

// closeStale closes the handles forget dropped.
func (u *unpacker) closeStale() {
	for _, fd := range u.stale {
		unix.Close(fd)
	}
	u.stale = u.stale[:0]
}

// closeAll closes every handle but the root's.
func (u *unpacker) closeAll() {
	u.forget()
	u.closeStale()
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	defer u.closeStale()
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if u.opts.Plain {
		base = ""
	}
	if base == whiteoutOpaque {
		dir, err := u.dirHandle(path.Dir(rel), true)
		if err != nil {
			return fmt.Errorf("create parent directories: %w", err)
		}
		return u.setOpaque(dir, filepath.Join(u.dest, path.Dir(rel)))
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		name := strings.TrimPrefix(base, whiteoutPrefix)
		if name == "" || name == "." || name == ".." {
			return ErrBadWhiteout
		}
		pl, err := u.prepare(path.Join(path.Dir(rel), name), false)
		if err != nil {
			return err
		}
		if err := mkWhiteout(pl); err != nil {
			return fmt.Errorf("create whiteout %s: %w", pl.path, err)
		}
		return nil
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		pl, err := u.prepare(rel, true)
		if err != nil {
			return err
		}
		if pl.name != "." {
			if err := unix.Mkdirat(pl.dir, pl.name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("create directory: %w", err)
			}
		}
		if _, seen := u.dirs[rel]; !seen {
			u.dirOrder = append(u.dirOrder, rel)
		}
		u.dirs[rel] = hdr
		return u.setDirXattrs(pl, hdr)
	case tar.TypeReg, tar.TypeCont:
		pl, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		return u.writeFile(pl, hdr, r)
	case tar.TypeSymlink:
		pl, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		// The target is stored as written: it is only ever followed
		// inside dest (by dirHandle, or by the container's root).
		if err := unix.Symlinkat(hdr.Linkname, pl.dir, pl.name); err != nil {
			return fmt.Errorf("create symlink: %w", err)
		}
		return u.finish(pl, hdr, false)
	case tar.TypeLink:
		return u.hardlink(rel, hdr)
	case tar.TypeFifo:
		pl, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		if err := mkfifo(pl); err != nil {
			return fmt.Errorf("create fifo: %w", err)
		}
		return u.finish(pl, hdr, true)
	case tar.TypeChar, tar.TypeBlock:
		pl, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		if err := mkdev(pl, hdr); err != nil {
			if isPermission(err) {
				u.warn("skipping device node %s", rel)
				return nil
			}
			return fmt.Errorf("create device node: %w", err)
		}
		return u.finish(pl, hdr, true)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		u.warn("skipping %s: unsupported tar entry type %q", rel, hdr.Typeflag)
		return nil
	}
}

// prepare resolves rel, creates its parents, and clears its place: an
// existing directory is kept when keepDir is set (layers merge), anything
// else that is there is removed.
func (u *unpacker) prepare(rel string, keepDir bool) (place, error) {
	if rel == "." {
		if keepDir {
			return place{dir: int(u.root.Fd()), name: ".", path: u.dest}, nil
		}
		return place{}, fmt.Errorf("replace the destination itself: %w", ErrUnsafePath)
	}
	dir, err := u.dirHandle(path.Dir(rel), true)
	if err != nil {
		return place{}, fmt.Errorf("create parent directories: %w", err)
	}
	pl := place{dir: dir, name: path.Base(rel), path: filepath.Join(u.dest, rel)}
	var st unix.Stat_t
	err = unix.Fstatat(pl.dir, pl.name, &st, unix.AT_SYMLINK_NOFOLLOW)
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case errors.Is(err, unix.ENOENT):
		return pl, nil
	case err != nil:
		return place{}, fmt.Errorf("inspect existing entry: %w", err)
	case isDir && keepDir:
		return pl, nil
	case u.opts.KeepKinds && isDir != keepDir:
		return place{}, fmt.Errorf("error creating %q: %w", "/"+rel, &os.PathError{Op: "create", Path: pl.path, Err: ErrKindClash})
	case isDir:
		u.forget()
		if err := removeAllAt(pl.dir, pl.name); err != nil {
			return place{}, fmt.Errorf("remove existing directory: %w", err)
		}
	default:
		u.forget()
		if err := unix.Unlinkat(pl.dir, pl.name, 0); err != nil {
			return place{}, fmt.Errorf("remove existing entry: %w", err)
		}
	}
	return pl, nil
}

func (u *unpacker) writeFile(pl place, hdr *tar.Header, r io.Reader) error {
	// O_EXCL|O_NOFOLLOW: prepare cleared the place, so this creates a new
	// file and never opens one a symlink points to.
	fd, err := unix.Openat(pl.dir, pl.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	f := os.NewFile(uintptr(fd), pl.path)
	w := &expansionLimit{w: f, read: u.read, start: u.read.n}
	if _, err := io.Copy(w, r); err != nil {
		f.Close()
		return fmt.Errorf("write file: %w", err)
	}
	// Owner, then mode (chown clears set-id bits), then xattrs, all on
	// the descriptor of the file just made.
	if err := u.fileMeta(fd, pl, hdr); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close file: %w", err)
	}
	if err := setTimes(pl, hdr); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fileMeta applies owner, mode and xattrs to the open regular file fd.
func (u *unpacker) fileMeta(fd int, pl place, hdr *tar.Header) error {
	if u.opts.Chown {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return u.setXattrs(pl, hdr, func(name string, v []byte) error { return unix.Fsetxattr(fd, name, v, 0) })
}

func (u *unpacker) hardlink(rel string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if target == "." {
		return fmt.Errorf("hardlink to the destination itself: %w", ErrUnsafePath)
	}
	srcDir, err := u.dirHandle(path.Dir(target), false)
	if err != nil {
		return fmt.Errorf("hardlink target %s: %w", hdr.Linkname, err)
	}
	srcName := path.Base(target)
	var src unix.Stat_t
	if err := unix.Fstatat(srcDir, srcName, &src, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("hardlink target %s: %w", hdr.Linkname, err)
	}
	if src.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hardlink target %s is a directory: %w", hdr.Linkname, ErrUnsafePath)
	}
	if dir, err := u.dirHandle(path.Dir(rel), false); err == nil {
		var st unix.Stat_t
		if unix.Fstatat(dir, path.Base(rel), &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Dev == src.Dev && st.Ino == src.Ino {
			return nil // a link to itself: already there
		}
	}
	pl, err := u.prepare(rel, false)
	if err != nil {
		return err
	}
	// linkat(2) without AT_SYMLINK_FOLLOW does not follow a symlink at
	// the target: the link names the same inode as the target, which is
	// inside dest. srcDir stays open until the entry ends, even when
	// prepare made the handles stale.
	if err := unix.Linkat(srcDir, srcName, pl.dir, pl.name, 0); err != nil {
		return fmt.Errorf("create hardlink: %w", err)
	}
	return nil
}

// finish applies owner, mode (after the owner: chown clears set-id
// bits), xattrs, and times to the fresh non-directory at pl.
func (u *unpacker) finish(pl place, hdr *tar.Header, chmod bool) error {
	if u.opts.Chown {
		if err := unix.Fchownat(pl.dir, pl.name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if chmod {
		if err := chmodAt(pl, hdr.Mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := u.setXattrs(pl, hdr, nil); err != nil {
		return err
	}
	if err := setTimes(pl, hdr); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// finishDirs applies the deferred directory metadata. A directory that a
// later entry replaced or removed is skipped.
func (u *unpacker) finishDirs() error {
	for _, rel := range u.dirOrder {
		hdr := u.dirs[rel]
		pl := place{dir: int(u.root.Fd()), name: ".", path: u.dest}
		if rel != "." {
			// A later entry may have removed the directory, or
			// replaced one above it by a file or a symlink that no
			// longer leads to it (or loops): nothing to finish then.
			dir, err := u.dirHandle(path.Dir(rel), false)
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				continue
			}
			if err != nil {
				return fmt.Errorf("finish directory %s: %w", rel, err)
			}
			pl = place{dir: dir, name: path.Base(rel), path: filepath.Join(u.dest, rel)}
		}
		var st unix.Stat_t
		if err := unix.Fstatat(pl.dir, pl.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if u.opts.Chown {
			if err := unix.Fchownat(pl.dir, pl.name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown directory %s: %w", rel, err)
			}
		}
		if err := chmodAt(pl, hdr.Mode); err != nil {
			return fmt.Errorf("chmod directory %s: %w", rel, err)
		}
		if err := setTimes(pl, hdr); err != nil {
			return fmt.Errorf("set times of directory %s: %w", rel, err)
		}
	}
	return nil
}

const paxXattr = "SCHILY.xattr."

// setXattrs applies the xattrs recorded in the tarball: user.* and
// security.capability best-effort with a warning, overlay ones never,
// others (security.selinux, trusted.*, ACLs) best-effort too. set writes
// one xattr; nil sets it on the entry at pl without following it.
func (u *unpacker) setXattrs(pl place, hdr *tar.Header, set func(name string, value []byte) error) error {
	if set == nil {
		set = func(name string, value []byte) error { return lsetxattrAt(pl, name, value) }
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok {
			continue
		}
		if strings.HasPrefix(name, "user.overlay.") || strings.HasPrefix(name, "trusted.overlay.") {
			u.warnOnce("overlay:"+name, "ignoring overlay xattr %s on %s from the layer", name, hdr.Name)
			continue
		}
		if err := set(name, []byte(v)); err != nil {
			u.warnOnce("xattr:"+name, "cannot set xattr %s on %s (further failures for it not shown): %v", name, hdr.Name, err)
		}
	}
	return nil
}

// setDirXattrs applies the xattrs of the directory entry at pl through a
// descriptor of the directory, when it has any.
func (u *unpacker) setDirXattrs(pl place, hdr *tar.Header) error {
	has := false
	for k := range hdr.PAXRecords {
		has = has || strings.HasPrefix(k, paxXattr)
	}
	if !has {
		return nil
	}
	fd, err := unix.Openat(pl.dir, pl.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return u.setXattrs(pl, hdr, nil)
	}
	defer unix.Close(fd)
	return u.setXattrs(pl, hdr, func(name string, v []byte) error { return unix.Fsetxattr(fd, name, v, 0) })
}

// setOpaque marks the directory dir (a descriptor; shown as display)
// opaque for overlay: user.overlay.opaque for rootless mounts
// (userxattr), trusted.overlay.opaque for mounts by real root. At least
// one must succeed.
func (u *unpacker) setOpaque(dir int, display string) error {
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mark %s opaque: open: %w", display, err)
	}
	defer unix.Close(fd)
	userErr := unix.Fsetxattr(fd, "user.overlay.opaque", []byte("y"), 0)
	trustedErr := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0)
	if userErr != nil && trustedErr != nil {
		return fmt.Errorf("mark %s opaque: user.overlay.opaque: %w (trusted.overlay.opaque: %v)", display, userErr, trustedErr)
	}
	if trustedErr != nil && !isPermission(trustedErr) {
		u.warnOnce("trusted.overlay.opaque", "cannot set trusted.overlay.opaque on %s: %v", display, trustedErr)
	}
	return nil
}
