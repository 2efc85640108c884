package build

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/myctr/myctr/frontend/layerfs"
)

// WriteDiff writes the overlay upper directory upper as an OCI layer tar
// to w: a character device 0/0 (an overlay whiteout) becomes ".wh.NAME",
// and a directory marked opaque (xattr user.overlay.opaque=y) gets a
// ".wh..wh..opq" entry. Owners are written as this process sees them, so
// it runs inside the user's user namespace, where they read as container
// ids (and where root may read files of any mode).
// mountStub are the files a step container's runtime binds over; their
// empty mount points in the upper dir are left out of the layer.
var mountStub = map[string]bool{"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true}

func WriteDiff(upper string, w io.Writer) error {
	tw := tar.NewWriter(w)
	links := map[uint64]string{}
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == upper {
			return nil
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if mountStub[rel] && fi.Mode().IsRegular() && fi.Size() == 0 {
			// The empty file the runtime made to bind /etc/hosts and
			// friends over: build-time, not part of the image (as BuildKit).
			return nil
		}
		if layerfs.IsWhiteout(fi) {
			dir, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		hdr, err := headerFor(p, rel, fi, links)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", rel, err)
			}
		}
		if fi.IsDir() && layerfs.IsOpaque(p) {
			return tw.WriteHeader(&tar.Header{Name: rel + "/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: fi.ModTime(), Format: tar.FormatPAX})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	return tw.Close()
}

// headerFor makes the tar header of one file; links remembers the first
// name of each multiply-linked inode.
func headerFor(p, rel string, fi fs.FileInfo, links map[uint64]string) (*tar.Header, error) {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		link = l
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[st.Ino] = rel
			}
		}
	}
	return hdr, nil
}
