package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulikunitz/xz"

	"github.com/myctr/myctr/frontend/layerfs"
	"github.com/myctr/myctr/frontend/userns"
)

// COPY and ADD build their layer from a list of entries: the directories
// leading to the destination (with the attributes they have in the image
// already, so the layer does not change them), then the copied files.

// source is where COPY reads: the build context, or another stage's or
// image's layers (--from).
type source interface {
	// stat resolves name (symlinks followed inside the source's root) and
	// returns the host path, its info, and the resolved name.
	stat(name string) (host string, fi fs.FileInfo, resolved string, err error)
	// list returns the sorted names in the directory host (resolved name rel).
	list(host, rel string) ([]string, error)
	// glob returns the names matching pattern.
	glob(pattern string) ([]string, error)
	excluded(rel string) bool
}

// contextSource is the build context directory.
type contextSource struct {
	root string // absolute, symlinks resolved
	ig   *Ignore
}

func newContextSource(dir string, ig *Ignore) (*contextSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &contextSource{root: real, ig: ig}, nil
}

// cleanSource refuses a name that climbs out of the context lexically and
// returns it relative to the root.
func cleanSource(name string) (string, error) {
	c := path.Clean(filepath.ToSlash(name))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: %w", name, ErrUnsafeSource)
	}
	return strings.TrimPrefix(path.Clean("/"+c), "/"), nil
}

func (c *contextSource) stat(name string) (string, fs.FileInfo, string, error) {
	rel, err := cleanSource(name)
	if err != nil {
		return "", nil, "", err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(c.root, rel))
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if real != c.root && !strings.HasPrefix(real, c.root+"/") {
		return "", nil, "", fmt.Errorf("%s (resolves to %s): %w", name, real, ErrUnsafeSource)
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", name, err)
	}
	r, _ := filepath.Rel(c.root, real)
	return real, fi, filepath.ToSlash(r), nil
}

func (c *contextSource) list(host, rel string) ([]string, error) {
	ents, err := os.ReadDir(host)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

func (c *contextSource) glob(pattern string) ([]string, error) {
	rel, err := cleanSource(pattern)
	if err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(c.root, rel))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	var out []string
	for _, m := range matches {
		r, err := filepath.Rel(c.root, m)
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			return nil, fmt.Errorf("%s: %w", pattern, ErrUnsafeSource)
		}
		out = append(out, filepath.ToSlash(r))
	}
	return out, nil
}

func (c *contextSource) excluded(rel string) bool { return c.ig.Excluded(rel) }

// layerSource is a stage's or image's layers.
type layerSource struct{ fs layerfs.FS }

func (l *layerSource) stat(name string) (string, fs.FileInfo, string, error) {
	r, err := l.fs.Resolve(name, true)
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", name, err)
	}
	p, fi, err := l.fs.Find(r)
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return p, fi, r, nil
}

func (l *layerSource) list(host, rel string) ([]string, error) { return l.fs.ReadDir(rel) }

func (l *layerSource) glob(pattern string) ([]string, error) {
	dir, base := path.Split(path.Clean("/" + pattern))
	r, err := l.fs.Resolve(dir, true)
	if err != nil {
		return nil, err
	}
	names, err := l.fs.ReadDir(r)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if ok, _ := path.Match(base, n); ok {
			out = append(out, path.Join(r, n))
		}
	}
	return out, nil
}

func (l *layerSource) excluded(string) bool { return false }

func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// entry is one member of a COPY/ADD layer.
type entry struct {
	hdr     tar.Header
	host    string // regular file: where to read the content
	archive string // ADD: a local archive whose members go below hdr.Name
}

// copyPlan is the layer of one COPY or ADD.
type copyPlan struct {
	entries []entry
	names   map[string]int
}

func (p *copyPlan) add(e entry) {
	if p.names == nil {
		p.names = map[string]int{}
	}
	if i, ok := p.names[e.hdr.Name]; ok {
		p.entries[i] = e
		return
	}
	p.names[e.hdr.Name] = len(p.entries)
	p.entries = append(p.entries, e)
}

// linkHardLinks makes each file copied that is a hard link of one copied
// before it (the same inode) a hard link to that one in the layer, as
// Docker's and Podman's COPY keep them: one file's data, one inode in the
// image.
func (p *copyPlan) linkHardLinks() {
	type inode struct{ dev, ino uint64 }
	first := map[inode]string{}
	for i := range p.entries {
		e := &p.entries[i]
		if e.hdr.Typeflag != tar.TypeReg || e.host == "" {
			continue
		}
		fi, err := os.Lstat(e.host)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Nlink < 2 {
			continue
		}
		k := inode{uint64(st.Dev), st.Ino}
		if name, ok := first[k]; ok {
			e.hdr.Typeflag, e.hdr.Linkname, e.hdr.Size, e.host = tar.TypeLink, name, 0, ""
			continue
		}
		first[k] = e.hdr.Name
	}
}

// copyRequest is one COPY or ADD after substitution.
type copyRequest struct {
	sources   []string
	dest      string // as written
	workdir   string
	uid, gid  int
	keepOwner bool // the source's owners (as container ids) instead of uid, gid
	chmod     *os.FileMode
	add       bool       // ADD: unpack local archives
	src       source     // where sources are read
	image     layerfs.FS // the stage's current layers (destination attributes)
	mapping   *userns.Mapping
	urlFiles  map[string]string // ADD: URL -> downloaded temporary file
}

// destPath returns the absolute destination and whether it names a
// directory.
func (r *copyRequest) destPath() (string, bool) {
	d := r.dest
	isDir := strings.HasSuffix(d, "/") || strings.HasSuffix(d, "/.") || d == "."
	if !path.IsAbs(d) {
		d = path.Join(r.workdir, d)
	}
	d = path.Clean("/" + d)
	if d == "/" {
		isDir = true
	}
	return d, isDir
}

// plan resolves the sources and lists the layer's entries.
func (r *copyRequest) plan() (*copyPlan, error) {
	dest, destIsDir := r.destPath()
	type match struct {
		name, host, rel string
		fi              fs.FileInfo
		url             bool
	}
	var matches []match
	multi := len(r.sources) > 1
	for _, s := range r.sources {
		if r.add && isURL(s) {
			tmp, ok := r.urlFiles[s]
			if !ok {
				return nil, fmt.Errorf("ADD %s: not downloaded", s)
			}
			fi, err := os.Lstat(tmp)
			if err != nil {
				return nil, err
			}
			matches = append(matches, match{name: urlBase(s), host: tmp, fi: fi, url: true})
			continue
		}
		names := []string{s}
		if hasGlob(s) {
			multi = true
			g, err := r.src.glob(s)
			if err != nil {
				return nil, err
			}
			names = g
		}
		found := 0
		for _, n := range names {
			host, fi, rel, err := r.src.stat(n)
			if err != nil {
				if errors.Is(err, ErrUnsafeSource) {
					return nil, err
				}
				if hasGlob(s) {
					continue
				}
				return nil, fmt.Errorf("%w: %w", ErrNoSource, err)
			}
			if r.src.excluded(rel) {
				continue
			}
			matches = append(matches, match{name: n, host: host, rel: rel, fi: fi})
			found++
		}
		if found == 0 {
			return nil, fmt.Errorf("%s: %w (no such file or directory in the context, or excluded by the ignore file)", s, ErrNoSource)
		}
	}
	if multi && !destIsDir {
		return nil, fmt.Errorf("with more than one source, the destination %q must be a directory and end with /", r.dest)
	}
	if !destIsDir {
		if _, fi, err := r.image.Stat(dest); err == nil && fi.IsDir() {
			destIsDir = true
		}
	}
	p := &copyPlan{}
	for _, m := range matches {
		switch {
		case m.fi.IsDir():
			r.parents(p, dest, true)
			if err := r.walk(p, m.host, m.rel, dest, m.fi, true); err != nil {
				return nil, err
			}
		case r.add && !m.url && m.fi.Mode().IsRegular() && isArchive(m.host):
			r.parents(p, dest, true)
			p.add(entry{hdr: tar.Header{Name: strings.TrimPrefix(dest, "/")}, archive: m.host})
		default:
			target := dest
			if destIsDir {
				target = path.Join(dest, path.Base("/"+m.name))
			}
			r.parents(p, path.Dir(target), true)
			hdr, err := r.header(m.host, m.fi, target)
			if err != nil {
				return nil, err
			}
			if m.url {
				hdr.Mode = 0o600
				if r.chmod != nil {
					hdr.Mode = int64(*r.chmod)
				}
			}
			p.add(entry{hdr: *hdr, host: m.host})
		}
	}
	p.linkHardLinks()
	return p, nil
}

// parents adds dir and the directories above it: those the image has keep
// their attributes, the others are created as the --chown owner.
func (r *copyRequest) parents(p *copyPlan, dir string, self bool) {
	dir = path.Clean("/" + dir)
	var chain []string
	for d := dir; d != "/"; d = path.Dir(d) {
		chain = append([]string{d}, chain...)
	}
	for _, d := range chain {
		name := strings.TrimPrefix(d, "/") + "/"
		if _, ok := p.names[name]; ok {
			continue
		}
		hdr := tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, Uid: r.uid, Gid: r.gid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if _, fi, err := r.image.Stat(d); err == nil && fi.IsDir() {
			hdr.Mode = int64(fi.Mode().Perm()) | int64(modeBits(fi.Mode()))
			hdr.ModTime = fi.ModTime()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && r.mapping != nil {
				hdr.Uid = toContainer(r.mapping.UIDMappings(), st.Uid)
				hdr.Gid = toContainer(r.mapping.GIDMappings(), st.Gid)
			}
		}
		p.add(entry{hdr: hdr})
	}
}

// modeBits returns the setuid, setgid and sticky bits in tar's encoding.
func modeBits(m fs.FileMode) int64 {
	var b int64
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// toContainer maps a host id back to the container id, 65534 if unmapped.
func toContainer(maps []specs.LinuxIDMapping, host uint32) int {
	for _, m := range maps {
		if host >= m.HostID && host-m.HostID < m.Size {
			return int(m.ContainerID + host - m.HostID)
		}
	}
	return 65534
}

// header is the tar header of one copied file at target.
func (r *copyRequest) header(host string, fi fs.FileInfo, target string) (*tar.Header, error) {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(host)
		if err != nil {
			return nil, err
		}
		link = l
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", host, err)
	}
	hdr.Name = strings.TrimPrefix(target, "/")
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Uid, hdr.Gid = r.uid, r.gid
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && r.keepOwner && r.mapping != nil {
		hdr.Uid = toContainer(r.mapping.UIDMappings(), st.Uid)
		hdr.Gid = toContainer(r.mapping.GIDMappings(), st.Gid)
	}
	if r.chmod != nil && fi.Mode()&fs.ModeSymlink == 0 {
		hdr.Mode = int64(*r.chmod)
	}
	return hdr, nil
}

// walk adds the contents of the directory host (resolved name rel) below
// dest. Symlinks inside are copied as symlinks, never followed.
func (r *copyRequest) walk(p *copyPlan, host, rel, dest string, fi fs.FileInfo, top bool) error {
	if _, efi, err := r.image.Stat(dest); err != nil || !efi.IsDir() {
		hdr, err := r.header(host, fi, dest)
		if err != nil {
			return err
		}
		// A directory's contents are copied, not the directory: the one
		// made at the destination belongs to --chown's owner, else root,
		// even when COPY --from keeps the owners of what it copies.
		if top {
			hdr.Uid, hdr.Gid = r.uid, r.gid
		}
		if dest != "/" {
			p.add(entry{hdr: *hdr})
		}
	}
	names, err := r.src.list(host, rel)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	for _, n := range names {
		crel := path.Join(rel, n)
		if r.src.excluded(crel) {
			// An excluded directory is still walked when "!" rules might
			// bring back something below it; its files are checked again.
			cs, ok := r.src.(*contextSource)
			if !ok || !cs.ig.mayHaveExceptions() {
				continue
			}
			if cfi, err := os.Lstat(filepath.Join(host, n)); err != nil || !cfi.IsDir() {
				continue
			}
		}
		chost := filepath.Join(host, n)
		cfi, err := os.Lstat(chost)
		if err != nil {
			return err
		}
		if ls, ok := r.src.(*layerSource); ok {
			if h, f, err := ls.fs.Find(crel); err == nil {
				chost, cfi = h, f
			}
		}
		target := path.Join(dest, n)
		switch {
		case cfi.IsDir():
			if err := r.walk(p, chost, crel, target, cfi, false); err != nil {
				return err
			}
		case cfi.Mode().IsRegular(), cfi.Mode()&fs.ModeSymlink != 0:
			if r.src.excluded(crel) {
				continue
			}
			hdr, err := r.header(chost, cfi, target)
			if err != nil {
				return err
			}
			p.add(entry{hdr: *hdr, host: chost})
		}
	}
	return nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func urlBase(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "download"
	}
	b := path.Base(pu.Path)
	if b == "/" || b == "." || b == "" {
		return "index.html"
	}
	return b
}

// isArchive reports whether the file is a tar: plain, gzip, bzip2, xz or
// zstd.
func isArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	r, err := decompress(bufio.NewReader(f))
	if err != nil {
		return false
	}
	defer closeReader(r)
	buf := make([]byte, 512)
	n, _ := io.ReadFull(r, buf)
	return n >= 262 && string(buf[257:262]) == "ustar"
}

// decompress recognises gzip, bzip2, xz and zstd by their magic numbers
// (ADD extracts what Docker's and Podman's extract); the caller hands the
// reader to closeReader.
func decompress(br *bufio.Reader) (io.Reader, error) {
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return xz.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return br, nil
}

// closeReader ends a reader of decompress (zstd's decoder holds a
// goroutine until then).
func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// digest hashes what the layer will hold: names, types, modes, owners,
// link targets and file contents (not times).
func (p *copyPlan) digest() (string, error) {
	h := sha256.New()
	for _, e := range p.entries {
		fmt.Fprintf(h, "%s\x00%c\x00%o\x00%d:%d\x00%s\x00", e.hdr.Name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, e.hdr.Linkname)
		src := e.host
		if e.archive != "" {
			src = e.archive
			h.Write([]byte("archive\x00"))
		}
		if src != "" && (e.hdr.Typeflag == tar.TypeReg || e.archive != "") {
			f, err := os.Open(src)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", src, err)
			}
			fh := sha256.New()
			_, err = io.Copy(fh, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("read %s: %w", src, err)
			}
			h.Write(fh.Sum(nil))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// write writes the layer tar.
func (p *copyPlan) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range p.entries {
		if e.archive != "" {
			if err := extractInto(tw, e.archive, e.hdr.Name); err != nil {
				return err
			}
			continue
		}
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(e.host)
			if err != nil {
				return fmt.Errorf("read %s: %w", e.host, err)
			}
			n, err := io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", e.host, err)
			}
			if n != hdr.Size {
				return fmt.Errorf("read %s: changed while copying", e.host)
			}
		}
	}
	return tw.Close()
}

// extractInto copies the members of a local archive below dir, keeping
// their owners and modes; names that climb out are refused.
func extractInto(tw *tar.Writer, archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := decompress(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("ADD %s: %w", archive, err)
	}
	defer closeReader(r)
	tr := tar.NewReader(r)
	prefix := func(name string) (string, error) {
		c := path.Clean(name)
		if c == ".." || strings.HasPrefix(c, "../") {
			return "", fmt.Errorf("ADD %s: member %q: %w", archive, name, ErrUnsafeSource)
		}
		return strings.TrimPrefix(path.Join("/"+dir, c), "/"), nil
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ADD %s: %w", archive, err)
		}
		name, err := prefix(strings.TrimPrefix(hdr.Name, "/"))
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			name += "/"
		}
		hdr.Name = name
		if hdr.Typeflag == tar.TypeLink {
			if hdr.Linkname, err = prefix(strings.TrimPrefix(hdr.Linkname, "/")); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// parseChown resolves --chown USER[:GROUP] against the image's
// /etc/passwd and /etc/group (parsed by moby/sys/user, as runc does). A
// user without a group uses the user's number as the group, as Docker
// does.
func parseChown(spec string, image layerfs.FS) (int, int, error) {
	if spec == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	lookup := func(file, name string) (int, error) {
		if n, err := strconv.Atoi(name); err == nil && n >= 0 {
			return n, nil
		}
		p, _, err := image.Stat(file)
		if err != nil {
			return 0, fmt.Errorf("--chown %s: no %s in the image to look %q up", spec, file, name)
		}
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		var ids []int
		if file == "/etc/passwd" {
			users, err := user.ParsePasswdFilter(f, func(e user.User) bool { return e.Name == name })
			for _, e := range users {
				ids = append(ids, e.Uid)
			}
			if err != nil {
				return 0, fmt.Errorf("--chown %s: %s: %w", spec, file, err)
			}
		} else {
			groups, err := user.ParseGroupFilter(f, func(e user.Group) bool { return e.Name == name })
			for _, e := range groups {
				ids = append(ids, e.Gid)
			}
			if err != nil {
				return 0, fmt.Errorf("--chown %s: %s: %w", spec, file, err)
			}
		}
		if len(ids) == 0 {
			return 0, fmt.Errorf("--chown %s: %q is not in the image's %s", spec, name, file)
		}
		return ids[0], nil
	}
	uid, err := lookup("/etc/passwd", u)
	if err != nil {
		return 0, 0, err
	}
	gid := uid
	if hasGroup {
		if gid, err = lookup("/etc/group", g); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
