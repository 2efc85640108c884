package container

// The file side of `cp`: a tar stream of one path, and its placement at a
// destination by the rules of `docker cp` and `podman cp`. The same code
// runs on the host (the user's files) and in the copy worker, whose root
// directory is the container's (copy_linux.go): it resolves paths with the
// kernel's own rules, so in the worker no symlink can lead out.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/myctr/myctr/frontend/archive"
)

// Sentinels of cp.
var (
	// ErrCopyNotFound: the source, or the destination's parent, is not there.
	ErrCopyNotFound = errors.New("no such file or directory")
	// ErrCopyDirToFile: a directory cannot replace an existing file.
	ErrCopyDirToFile = errors.New("destination must be a directory when copying a directory")
	// ErrCopyStdinDest: a tar stream from stdin is extracted into a directory.
	ErrCopyStdinDest = errors.New("destination must be a directory when copying from stdin")
	// ErrCopyNotTar: what came on stdin is no tar stream.
	ErrCopyNotTar = errors.New("source must be a (compressed) tar archive when copying from stdin")
	// ErrCopyBadDest: the destination is neither a directory nor a regular file.
	ErrCopyBadDest = errors.New("must be a directory or a regular file")
)

// CopyContents reports whether a cp source names the contents of a
// directory rather than the directory ("DIR/." or ".").
func CopyContents(src string) bool {
	return src == "." || strings.HasSuffix(src, "/.")
}

// copyTop is the name the tar stream of src gives its top entry: the last
// component of the path as the user wrote it (a symlink's own name, not
// its target's).
func copyTop(src string) string {
	src = strings.TrimSuffix(src, "/.")
	b := filepath.Base(filepath.Clean(src))
	if b == "/" {
		return "."
	}
	return b
}

// WriteCopyTar writes src (followed if it is a symlink) as a tar stream
// whose entries are named TOP and TOP/..., TOP the last component of src.
// Symlinks below src are stored as symlinks. With zeroIDs every entry
// belongs to 0:0 (the user's own files, which are root's in the container).
//
// The header is built from lstat alone: archive/tar's FileInfoHeader would
// look the owners' names up through the C library, which in the copy
// worker would read the container's nsswitch.conf and could load its NSS
// modules.
func WriteCopyTar(w io.Writer, src string, zeroIDs bool) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	top := copyTop(src)
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(real, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		name := top
		if rel != "." {
			name = path.Join(top, filepath.ToSlash(rel))
		}
		return writeEntry(tw, p, name, zeroIDs, false)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// WriteTreeTar writes the tree at dir as a tar stream whose entries are
// named relative to dir (no entry for dir itself), as an exported root
// filesystem is: "bin/", "etc/passwd". Symlinks are stored as symlinks,
// owners as the ids the caller sees. Times are whole seconds and an entry
// is PAX only where USTAR cannot hold it (a long name), as Podman's
// export writes them: GNU tar's --delete garbles an archive whose member
// it deletes carries a PAX header, and users edit exported archives so.
func WriteTreeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		return writeEntry(tw, p, filepath.ToSlash(rel), false, true)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// writeEntry writes the entry of p, named name. With plain, its time is
// whole seconds and its format whatever holds it (USTAR mostly), not PAX.
func writeEntry(tw *tar.Writer, p, name string, zeroIDs, plain bool) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return fmt.Errorf("lstat %s: %w", p, err)
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: timeOf(st.Mtim),
		Format:  tar.FormatPAX,
	}
	if zeroIDs {
		hdr.Uid, hdr.Gid = 0, 0
	}
	if plain {
		hdr.ModTime, hdr.Format = hdr.ModTime.Truncate(time.Second), tar.FormatUnknown
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case syscall.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
	case syscall.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case syscall.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case syscall.S_IFCHR, syscall.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(major(st.Rdev)), int64(minor(st.Rdev))
	default:
		return nil // sockets: nothing to copy
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	// O_NONBLOCK and the check after opening: a file swapped for a FIFO
	// or a device since the lstat neither blocks the copy nor feeds it.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("read %s: no longer a regular file", p)
	}
	// A file that grows while it is read is cut at its size in the header;
	// one that shrinks fails the copy (tar would be short).
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	return nil
}

func major(dev uint64) uint32 { return uint32((dev>>32)&0xfffff000) | uint32((dev>>8)&0xfff) }
func minor(dev uint64) uint32 { return uint32((dev>>12)&0xffffff00) | uint32(dev&0xff) }

// CopyPlace says where and how a copy tar stream is extracted.
type CopyPlace struct {
	// Dest is the destination path as the user wrote it.
	Dest string
	// Contents: the source was "DIR/.", whose entries go into Dest.
	Contents bool
	// Raw: the stream is the user's own tar (cp - CTR:DIR), extracted as
	// it is into the directory Dest.
	Raw bool
	// Root, when set, is the directory the archive is extracted in (so
	// error messages name paths from there); else Dest's parent.
	Root string
	// Chown sets the owners from the stream (the worker, as root in the
	// container's user namespace); IDs, when set, replaces them.
	Chown bool
	IDs   *[2]int
	// Overwrite lets a file replace a directory and the reverse.
	Overwrite bool
}

// PlaceCopy extracts the copy stream r at p.Dest by cp's rules: into an
// existing directory (as its last component, or its contents for "DIR/."),
// over an existing file, or as a new name whose parent exists.
func PlaceCopy(r io.Reader, p CopyPlace) error {
	opts := archive.Options{Chown: p.Chown, Plain: true, KeepKinds: !p.Overwrite}
	if p.Raw {
		fi, err := os.Stat(p.Dest)
		if err != nil || !fi.IsDir() {
			return ErrCopyStdinDest
		}
		return archive.Unpack(renamed(r, nil, "", "", p.IDs), p.Dest, opts)
	}
	tr := tar.NewReader(r)
	first, err := tr.Next()
	if err != nil {
		return fmt.Errorf("read copy stream: %w", err)
	}
	top := strings.TrimSuffix(first.Name, "/")
	srcDir := first.Typeflag == tar.TypeDir
	dest := p.Dest
	if !filepath.IsAbs(dest) {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		dest = filepath.Join(wd, dest)
	}
	var target string
	skipTop := false
	fi, err := os.Stat(dest)
	switch {
	case err == nil && fi.IsDir():
		d, err := filepath.EvalSymlinks(dest)
		if err != nil {
			return err
		}
		if p.Contents && srcDir {
			target, skipTop = d, true
		} else {
			target = filepath.Join(d, path.Base(top))
		}
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("invalid destination: %q %w", p.Dest, ErrCopyBadDest)
	case err == nil:
		if srcDir {
			return ErrCopyDirToFile
		}
		if target, err = filepath.EvalSymlinks(dest); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		if strings.HasSuffix(p.Dest, "/") {
			return ErrCopyNotFound
		}
		// A dangling symlink is followed: the file is made at its target
		// (as Podman does). SecureJoin against "/" is the kernel's own
		// resolution, but it accepts a missing last component.
		if target, err = securejoin.SecureJoin("/", dest); err != nil {
			return err
		}
		if pfi, err := os.Stat(filepath.Dir(target)); err != nil || !pfi.IsDir() {
			return ErrCopyNotFound
		}
	default:
		return err
	}
	root := p.Root
	if root == "" {
		root = filepath.Dir(target)
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("destination %s is outside %s", target, root)
	}
	if skipTop {
		first = nil
	}
	return archive.Unpack(renamed(tr, first, top, filepath.ToSlash(rel), p.IDs), root, opts)
}

// renamed re-emits the tar stream of tr (after first, when not nil) with
// the prefix top of every name replaced by to, and every owner set to ids
// when given. The reader end is what archive.Unpack reads.
func renamed(src io.Reader, first *tar.Header, top, to string, ids *[2]int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var tr *tar.Reader
		if t, ok := src.(*tar.Reader); ok {
			tr = t
		} else {
			r, err := decompressed(src)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			tr = tar.NewReader(r)
		}
		tw := tar.NewWriter(pw)
		rename := func(n string) string {
			if top == "" {
				return n
			}
			c := strings.TrimSuffix(n, "/")
			if c == top {
				return to
			}
			if rest, ok := strings.CutPrefix(c, top+"/"); ok {
				return path.Join(to, rest)
			}
			return n
		}
		emit := func(h *tar.Header, body io.Reader) error {
			h.Name = rename(h.Name)
			if h.Typeflag == tar.TypeLink {
				h.Linkname = rename(h.Linkname)
			}
			if ids != nil {
				h.Uid, h.Gid = ids[0], ids[1]
			}
			h.Uname, h.Gname = "", ""
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			_, err := io.Copy(tw, body)
			return err
		}
		if first != nil {
			if err := emit(first, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pw.CloseWithError(fmt.Errorf("read copy stream: %w", err))
				return
			}
			if err := emit(h, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// decompressed returns r itself or a gzip reader over it, by magic number.
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// CheckCopyTar reads the start of the stream r, which is to be a tar
// stream (plain or gzip), and returns a reader of the whole stream, or
// ErrCopyNotTar.
func CheckCopyTar(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(1 << 16)
	var plain io.Reader = strings.NewReader(string(head))
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(strings.NewReader(string(head)))
		if err != nil {
			return nil, ErrCopyNotTar
		}
		plain = zr
	}
	if _, err := tar.NewReader(plain).Next(); err != nil {
		return nil, ErrCopyNotTar
	}
	return br, nil
}
