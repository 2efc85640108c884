// Package archive extracts image layers (tar streams, plain or gzip) into a
// directory without ever writing outside it.
//
// Every entry name is resolved inside the destination as if the destination
// were the root directory: absolute names are taken relative to it, a
// symlink met on the way (absolute or relative, planted by an earlier entry
// or an earlier layer) is followed within it (filepath-securejoin), and a
// name that climbs above it lexically ("../x") is refused with
// ErrUnsafePath. The last component of a name is never followed: an entry
// replaces whatever non-directory sits at its place.
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
// Preconditions: nothing else writes under dest while Unpack runs (the
// image store unpacks into a fresh private directory); symlinks are
// resolved with lstat walks, which a concurrent writer could race.
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
	stream, closeStream, err := decompress(r)
	if err != nil {
		return err
	}
	defer closeStream()

	counted := &countingReader{r: stream}
	u := &unpacker{dest: abs, opts: opts, warned: map[string]bool{}, dirs: map[string]*tar.Header{}, read: counted}
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
	dest   string
	opts   Options
	warned map[string]bool
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

// within reports whether p is dest or lies below it.
func (u *unpacker) within(p string) bool {
	if u.dest == "/" {
		return true // the copy worker, whose root is the container's
	}
	return p == u.dest || strings.HasPrefix(p, u.dest+string(filepath.Separator))
}

// resolve returns the host path of rel: its parent resolved inside dest
// (symlinks followed within dest), its last component not followed.
func (u *unpacker) resolve(rel string) (string, error) {
	if rel == "." {
		return u.dest, nil
	}
	parent, err := securejoin.SecureJoin(u.dest, path.Dir(rel))
	if err != nil {
		return "", fmt.Errorf("resolve parent: %w", err)
	}
	p := filepath.Join(parent, path.Base(rel))
	if !u.within(p) {
		return "", fmt.Errorf("%q resolves to %s: %w", rel, p, ErrUnsafePath)
	}
	return p, nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if u.opts.Plain {
		base = ""
	}
	if base == whiteoutOpaque {
		dir, err := u.mkdirParent(rel)
		if err != nil {
			return err
		}
		return u.setOpaque(dir)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		name := strings.TrimPrefix(base, whiteoutPrefix)
		if name == "" || name == "." || name == ".." {
			return ErrBadWhiteout
		}
		p, err := u.prepare(path.Join(path.Dir(rel), name), false)
		if err != nil {
			return err
		}
		if err := mkWhiteout(p); err != nil {
			return fmt.Errorf("create whiteout %s: %w", p, err)
		}
		return nil
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		p, err := u.prepare(rel, true)
		if err != nil {
			return err
		}
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create directory: %w", err)
		}
		if _, seen := u.dirs[rel]; !seen {
			u.dirOrder = append(u.dirOrder, rel)
		}
		u.dirs[rel] = hdr
		return u.setXattrs(p, hdr)
	case tar.TypeReg, tar.TypeCont:
		p, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		return u.writeFile(p, hdr, r)
	case tar.TypeSymlink:
		p, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		// The target is stored as written: it is only ever followed
		// inside dest (by resolve, or by the container's root).
		if err := os.Symlink(hdr.Linkname, p); err != nil {
			return fmt.Errorf("create symlink: %w", err)
		}
		return u.finish(p, hdr, false)
	case tar.TypeLink:
		return u.hardlink(rel, hdr)
	case tar.TypeFifo:
		p, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		if err := mkfifo(p); err != nil {
			return fmt.Errorf("create fifo: %w", err)
		}
		return u.finish(p, hdr, true)
	case tar.TypeChar, tar.TypeBlock:
		p, err := u.prepare(rel, false)
		if err != nil {
			return err
		}
		if err := mkdev(p, hdr); err != nil {
			if isPermission(err) {
				u.warn("skipping device node %s", rel)
				return nil
			}
			return fmt.Errorf("create device node: %w", err)
		}
		return u.finish(p, hdr, true)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		u.warn("skipping %s: unsupported tar entry type %q", rel, hdr.Typeflag)
		return nil
	}
}

// mkdirParent makes sure the directory holding rel exists and returns it.
func (u *unpacker) mkdirParent(rel string) (string, error) {
	dir, err := securejoin.SecureJoin(u.dest, path.Dir(rel))
	if err != nil {
		return "", fmt.Errorf("resolve parent: %w", err)
	}
	if !u.within(dir) {
		return "", fmt.Errorf("parent of %q resolves to %s: %w", rel, dir, ErrUnsafePath)
	}
	// Every existing component of dir was resolved above, so MkdirAll
	// only creates plain directories and follows no symlink.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create parent directories: %w", err)
	}
	return dir, nil
}

// prepare resolves rel, creates its parents, and clears its place: an
// existing directory is kept when keepDir is set (layers merge), anything
// else that is there is removed.
func (u *unpacker) prepare(rel string, keepDir bool) (string, error) {
	if rel == "." {
		if keepDir {
			return u.dest, nil
		}
		return "", fmt.Errorf("replace the destination itself: %w", ErrUnsafePath)
	}
	if _, err := u.mkdirParent(rel); err != nil {
		return "", err
	}
	p, err := u.resolve(rel)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return p, nil
	case err != nil:
		return "", fmt.Errorf("inspect existing entry: %w", err)
	case fi.IsDir() && keepDir:
		return p, nil
	case u.opts.KeepKinds && fi.IsDir() != keepDir:
		return "", fmt.Errorf("error creating %q: %w", "/"+rel, &os.PathError{Op: "create", Path: p, Err: ErrKindClash})
	case fi.IsDir():
		// RemoveAll never follows symlinks below p.
		if err := os.RemoveAll(p); err != nil {
			return "", fmt.Errorf("remove existing directory: %w", err)
		}
	default:
		if err := os.Remove(p); err != nil {
			return "", fmt.Errorf("remove existing entry: %w", err)
		}
	}
	return p, nil
}

func (u *unpacker) writeFile(p string, hdr *tar.Header, r io.Reader) error {
	// O_EXCL|O_NOFOLLOW: prepare cleared the place, so this creates a new
	// file and never opens one a symlink points to.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	w := &expansionLimit{w: f, read: u.read, start: u.read.n}
	if _, err := io.Copy(w, r); err != nil {
		f.Close()
		return fmt.Errorf("write file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close file: %w", err)
	}
	return u.finish(p, hdr, true)
}

func (u *unpacker) hardlink(rel string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if target == "." {
		return fmt.Errorf("hardlink to the destination itself: %w", ErrUnsafePath)
	}
	src, err := u.resolve(target)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("hardlink target %s: %w", hdr.Linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hardlink target %s is a directory: %w", hdr.Linkname, ErrUnsafePath)
	}
	if p, err := u.resolve(rel); err == nil && p == src {
		return nil // a link to itself: already there
	}
	p, err := u.prepare(rel, false)
	if err != nil {
		return err
	}
	// link(2) does not follow a symlink at src: the link names the same
	// inode as src, which is inside dest.
	if err := os.Link(src, p); err != nil {
		return fmt.Errorf("create hardlink: %w", err)
	}
	return nil
}

// finish applies owner, mode (after the owner: chown clears set-id
// bits), xattrs, and times to the fresh non-directory p.
func (u *unpacker) finish(p string, hdr *tar.Header, chmod bool) error {
	if u.opts.Chown {
		if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if chmod {
		if err := chmodRaw(p, hdr.Mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := u.setXattrs(p, hdr); err != nil {
		return err
	}
	if err := setTimes(p, hdr); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// finishDirs applies the deferred directory metadata. A directory that a
// later entry replaced is skipped.
func (u *unpacker) finishDirs() error {
	for _, rel := range u.dirOrder {
		hdr := u.dirs[rel]
		p, err := u.resolve(rel)
		if err != nil {
			return fmt.Errorf("finish directory %s: %w", rel, err)
		}
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		if u.opts.Chown {
			if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
				return fmt.Errorf("chown directory %s: %w", rel, err)
			}
		}
		if err := chmodRaw(p, hdr.Mode); err != nil {
			return fmt.Errorf("chmod directory %s: %w", rel, err)
		}
		if err := setTimes(p, hdr); err != nil {
			return fmt.Errorf("set times of directory %s: %w", rel, err)
		}
	}
	return nil
}

const paxXattr = "SCHILY.xattr."

// setXattrs applies the xattrs recorded in the tarball: user.* and
// security.capability best-effort with a warning, overlay ones never,
// others (security.selinux, trusted.*, ACLs) best-effort too.
func (u *unpacker) setXattrs(p string, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok {
			continue
		}
		if strings.HasPrefix(name, "user.overlay.") || strings.HasPrefix(name, "trusted.overlay.") {
			u.warnOnce("overlay:"+name, "ignoring overlay xattr %s on %s from the layer", name, hdr.Name)
			continue
		}
		if err := lsetxattr(p, name, []byte(v)); err != nil {
			u.warnOnce("xattr:"+name, "cannot set xattr %s on %s (further failures for it not shown): %v", name, hdr.Name, err)
		}
	}
	return nil
}

// setOpaque marks dir opaque for overlay: user.overlay.opaque for rootless
// mounts (userxattr), trusted.overlay.opaque for mounts by real root.
// At least one must succeed.
func (u *unpacker) setOpaque(dir string) error {
	userErr := lsetxattr(dir, "user.overlay.opaque", []byte("y"))
	trustedErr := lsetxattr(dir, "trusted.overlay.opaque", []byte("y"))
	if userErr != nil && trustedErr != nil {
		return fmt.Errorf("mark %s opaque: user.overlay.opaque: %w (trusted.overlay.opaque: %v)", dir, userErr, trustedErr)
	}
	if trustedErr != nil && !isPermission(trustedErr) {
		u.warnOnce("trusted.overlay.opaque", "cannot set trusted.overlay.opaque on %s: %v", dir, trustedErr)
	}
	return nil
}
