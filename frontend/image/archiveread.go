package image

// Reading docker-archives and oci-archives without extracting them.
//
// Threat model: the archive given to `myctr load` is untrusted (a download,
// a file from another user). Until issue 20 Load extracted it into a
// scratch directory by entry name, and an entry "x -> /home/user" followed
// by "x/.bash_login" wrote into the user's home before Load failed.
//
// Load now never creates a path from an entry's name. The tar stream is read
// once, in order (it may be standard input, which cannot seek); the content
// of each regular file goes into a scratch file named by its position in the
// archive ("0", "1", ...) inside a fresh private directory, and every name,
// directory and link lives only in memory (archiveIndex). Symbolic links are
// resolved in that in-memory tree, component by component, and may not
// leave it. Nothing the archive says can reach the filesystem except as the
// bytes of a scratch file, so no sequence of entries can write outside the
// scratch directory.
//
// Entries that no tool writes into an image archive, and that only serve an
// attack, are refused with ErrBadArchive and the entry's name: absolute
// names, ".." components, an entry below a symlink or a file, a link whose
// target leaves the archive, device nodes and FIFOs.
//
// Why not go-containerregistry's tarball package: it reads docker-archives
// only (not oci-archives), and it scans the tar from the start for every
// file it opens, so it needs a seekable file: standard input would first
// have to be copied whole to disk, and then read once per blob. One pass
// with an index costs one copy of each blob, which Load needs anyway (a
// layer's scratch file becomes its blob by a hard link).

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
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinkHops bounds symlink resolution in an archive, as the kernel's
// limit of 40 does for paths.
const maxLinkHops = 40

type nodeKind int

const (
	nodeDir nodeKind = iota
	nodeFile
	nodeLink
)

// archiveNode is one name of an archive.
type archiveNode struct {
	kind nodeKind
	file string // nodeFile: the scratch file holding the content
	link string // nodeLink: the target as written
}

// archiveIndex is an archive read once: names in memory, file contents in
// scratch files.
type archiveIndex struct {
	dir   string // scratch directory, private to this Load
	nodes map[string]*archiveNode
	next  int // name of the next scratch file
}

// readArchive reads the tar (maybe gzip) r into an index whose file
// contents go to scratch files in dir, which must exist and be private.
func readArchive(r io.Reader, dir string) (*archiveIndex, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip archive: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	idx := &archiveIndex{dir: dir, nodes: map[string]*archiveNode{}}
	tr := tar.NewReader(src)
	n := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w: %w", ErrBadArchive, err)
		}
		n++
		if err := idx.add(h, tr); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("empty archive: %w", ErrBadArchive)
	}
	return idx, nil
}

// entryError is the error for an entry refused as it is read.
func entryError(name, format string, args ...any) error {
	return fmt.Errorf("archive entry %s %s: %w", strconv.Quote(name), fmt.Sprintf(format, args...), ErrBadArchive)
}

// cleanEntryName returns the archive-relative form of a name: leading
// "./" dropped, slashes collapsed; "." for the archive's root. Absolute
// names and ".." components are refused.
func cleanEntryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("has an absolute name")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("has a NUL byte in its name")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", errors.New("has a .. component")
		}
	}
	return path.Clean(name), nil
}

func (idx *archiveIndex) add(h *tar.Header, r io.Reader) error {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // PAX global header (git archive writes one): no file
	case tar.TypeChar, tar.TypeBlock:
		return entryError(h.Name, "is a device node: an image archive holds only files, directories and links")
	case tar.TypeFifo:
		return entryError(h.Name, "is a FIFO: an image archive holds only files, directories and links")
	case tar.TypeDir, tar.TypeReg, tar.TypeCont, tar.TypeSymlink, tar.TypeLink:
	default:
		return entryError(h.Name, "has the unsupported type %q", h.Typeflag)
	}
	name, err := cleanEntryName(h.Name)
	if err != nil {
		return entryError(h.Name, "%v", err)
	}
	if name == "." {
		if h.Typeflag == tar.TypeDir {
			return nil
		}
		return entryError(h.Name, "names the archive's root but is not a directory")
	}
	// Every parent is a directory, implicit or not: an entry below a
	// symlink ("x -> /home/user", then "x/.bash_login") or below a file is
	// refused, as no image archive has one.
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		if nd, ok := idx.nodes[p]; ok && nd.kind != nodeDir {
			what := "a file"
			if nd.kind == nodeLink {
				what = "a symbolic link"
			}
			return entryError(h.Name, "is below %s, which is %s", strconv.Quote(p), what)
		}
	}
	var nd *archiveNode
	switch h.Typeflag {
	case tar.TypeDir:
		if old, ok := idx.nodes[name]; ok && old.kind == nodeDir {
			return nil
		}
		nd = &archiveNode{kind: nodeDir}
	case tar.TypeReg, tar.TypeCont:
		f, err := idx.store(r)
		if err != nil {
			return fmt.Errorf("read archive entry %s: %w", strconv.Quote(h.Name), err)
		}
		nd = &archiveNode{kind: nodeFile, file: f}
	case tar.TypeSymlink:
		if _, err := idx.linkTarget(name, h.Linkname); err != nil {
			return entryError(h.Name, "%v", err)
		}
		nd = &archiveNode{kind: nodeLink, link: h.Linkname}
	case tar.TypeLink:
		// A hard link names an earlier entry by its archive name; link(2)
		// does not follow a symlink there, so neither do we.
		target, err := cleanEntryName(h.Linkname)
		if err != nil {
			return entryError(h.Name, "is a hard link to %s, which %v", strconv.Quote(h.Linkname), err)
		}
		old, ok := idx.nodes[target]
		if !ok || old.kind == nodeDir {
			return entryError(h.Name, "is a hard link to %s, which is not an earlier file of the archive", strconv.Quote(h.Linkname))
		}
		cp := *old
		nd = &cp
	}
	idx.replace(name)
	idx.nodes[name] = nd
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		if _, ok := idx.nodes[p]; !ok {
			idx.nodes[p] = &archiveNode{kind: nodeDir}
		}
	}
	return nil
}

// replace removes name and, if it was a directory, everything below it:
// a later entry of the same name replaces an earlier one, as tar does.
func (idx *archiveIndex) replace(name string) {
	old, ok := idx.nodes[name]
	if !ok {
		return
	}
	delete(idx.nodes, name)
	if old.kind != nodeDir {
		return
	}
	prefix := name + "/"
	for n := range idx.nodes {
		if strings.HasPrefix(n, prefix) {
			delete(idx.nodes, n)
		}
	}
}

// store copies one file's content into a new scratch file, named by its
// position in the archive and created exclusively, never following a link.
func (idx *archiveIndex) store(r io.Reader) (string, error) {
	p := filepath.Join(idx.dir, strconv.Itoa(idx.next))
	idx.next++
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := io.Copy(f, r)
	serr := f.Sync() // the content may become a blob
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return "", err
	}
	return p, nil
}

// linkTarget returns the archive name a symlink at name points to: its
// target taken relative to the link's directory, which must stay inside
// the archive. Absolute targets are refused: they name the host's files.
func (idx *archiveIndex) linkTarget(name, link string) (string, error) {
	if link == "" {
		return "", errors.New("is a symbolic link with an empty target")
	}
	if strings.HasPrefix(link, "/") {
		return "", fmt.Errorf("is a symbolic link to the absolute path %s, outside the archive", strconv.Quote(link))
	}
	t := path.Join(path.Dir(name), link)
	if t == ".." || strings.HasPrefix(t, "../") {
		return "", fmt.Errorf("is a symbolic link to %s, outside the archive", strconv.Quote(link))
	}
	return t, nil
}

// resolve follows symlinks in name, component by component, inside the
// archive, and returns the node it names.
func (idx *archiveIndex) resolve(name string) (*archiveNode, error) {
	orig := name
	if strings.HasPrefix(name, "/") || strings.Contains("/"+name+"/", "/../") {
		return nil, fmt.Errorf("%s is not a name inside the archive: %w", strconv.Quote(orig), ErrBadArchive)
	}
	rest := strings.Split(path.Clean(name), "/")
	cur := "."
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == "." {
			continue
		}
		next := path.Join(cur, c)
		nd, ok := idx.nodes[next]
		if !ok {
			return nil, fmt.Errorf("%s is not in the archive: %w", strconv.Quote(orig), ErrBadArchive)
		}
		switch nd.kind {
		case nodeDir:
			cur = next
		case nodeFile:
			if len(rest) > 0 {
				return nil, fmt.Errorf("%s is not in the archive (%s is a file): %w", strconv.Quote(orig), strconv.Quote(next), ErrBadArchive)
			}
			return nd, nil
		case nodeLink:
			hops++
			if hops > maxLinkHops {
				return nil, fmt.Errorf("%s: too many levels of symbolic links: %w", strconv.Quote(orig), ErrBadArchive)
			}
			t, err := idx.linkTarget(next, nd.link)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %w: %w", strconv.Quote(orig), strconv.Quote(next), err, ErrBadArchive)
			}
			// Resolution starts again from the archive's root.
			rest = append(strings.Split(t, "/"), rest...)
			cur = "."
		}
	}
	return idx.nodes[cur], nil
}

// has reports whether the archive has an entry named name (of any kind:
// reading it tells what it is).
func (idx *archiveIndex) has(name string) bool {
	_, ok := idx.nodes[path.Clean(name)]
	return ok
}

// file returns the scratch file holding the regular file name.
func (idx *archiveIndex) file(name string) (string, error) {
	nd, err := idx.resolve(name)
	if err != nil {
		return "", err
	}
	if nd == nil || nd.kind != nodeFile {
		return "", fmt.Errorf("%s is not a regular file: %w", strconv.Quote(name), ErrBadArchive)
	}
	return nd.file, nil
}

// read returns the content of the regular file name.
func (idx *archiveIndex) read(name string) ([]byte, error) {
	p, err := idx.file(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}
