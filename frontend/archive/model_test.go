package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/archive/archivetest"
)

// FuzzUnpack builds up to four layers from the fuzzer's bytes, out of a
// small vocabulary of hostile names (absolute, climbing, through
// symlinks), symlinks aimed out of the destination (absolute, relative,
// dangling, looping, at the sentinel beside it), hard links, whiteouts,
// opaque markers and FIFOs, and unpacks them one after another into one
// destination, as the image store stacks layers. After each layer it
// checks that nothing outside the destination changed or is linked to
// (see checkContained), and that the destination holds exactly what a
// reference model of Unpack's rules says (model, below): every name, its
// kind, a file's body, a symlink's target, hard links shared, opaque
// marks; and that the layer failed exactly when the model says it must.
//
// The model is a tree in memory with the rules written out plainly, one
// entry at a time, where Unpack works by descriptor with a cache of
// directory handles: a difference between the two is a bug in one.
func FuzzUnpack(f *testing.F) {
	for _, s := range [][]byte{
		{1, 0, 0, 0, 1, 0},                      // a file, a directory
		{2, 0, 6, 1, 0, 0, 6, 0, 9},             // a symlink at the sentinel, a file through it
		{2, 0, 6, 2, 0, 1, 6, 0, 0, 0},          // a symlink climbing, a file through it
		{2, 0, 6, 12, 0, 1, 6, 0, 0, 1, 0, 6},   // a dangling symlink, a directory through it
		{0, 0, 0, 1, 3, 1, 0, 0},                // a file and a hard link to it
		{1, 0, 0, 0, 0, 1, 0, 1, 4, 0, 0, 5, 0}, // a directory, a file, a whiteout, an opaque marker
		{2, 0, 6, 10, 0, 1, 6, 0, 0},            // a symlink to itself, a file through it
		{1, 0, 0, 7, 2, 0, 0, 8, 0, 0, 0, 1, 0}, // a layer break: a directory replaced by a symlink
		{6, 0, 0, 3, 1, 0, 0, 2, 1, 0, 1, 1, 0}, // a FIFO, a hard link to it, replaced
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sb := archivetest.NewSandbox(t)
		g := &modelGen{data: data, outside: sb.Outside}
		m := newModel()
		for layer := 0; layer < 4 && len(g.data) > 0; layer++ {
			entries := g.layer()
			err := Unpack(bytes.NewReader(archivetest.Tar(t, entries)), sb.Dest, Options{})
			checkContained(t, sb)
			merr := m.layer(entries)
			if (err == nil) != (merr == nil) {
				t.Fatalf("layer %d: Unpack: %v; the model: %v\nentries: %s", layer, err, merr, describeEntries(entries))
			}
			got, want := realTree(t, sb.Dest), m.tree()
			if got != want {
				t.Fatalf("layer %d (Unpack: %v): the destination holds\n%s\nthe model says\n%s\nentries: %s", layer, err, got, want, describeEntries(entries))
			}
		}
	})
}

func describeEntries(entries []archivetest.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "\n  %c %q", e.Type, e.Name)
		if e.Linkname != "" {
			fmt.Fprintf(&b, " -> %q", e.Linkname)
		}
	}
	return b.String()
}

// modelGen turns bytes into layers, one decision per byte.
type modelGen struct {
	data    []byte
	outside string
}

func (g *modelGen) next() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

var modelComponents = []string{"a", "b", "c", "s", "..", "."}

// name is one to three components, absolute when the first byte says so.
func (g *modelGen) name() string {
	b := g.next()
	parts := make([]string, 1+int(b&3)%3)
	for i := range parts {
		parts[i] = modelComponents[int(g.next())%len(modelComponents)]
	}
	s := strings.Join(parts, "/")
	if b&4 != 0 {
		s = "/" + s
	}
	return s
}

// target is a symlink's target: out of the destination every way.
func (g *modelGen) target() string {
	targets := []string{
		"a", "b/c", "..", "../..", "/", "/a", "/a/b", "../a",
		g.outside, "../outside", "s", "a/../../b", "x/y", ".", "/x/../a",
	}
	return targets[int(g.next())%len(targets)]
}

// layer returns entries up to a layer break (opcode 7) or the end.
func (g *modelGen) layer() []archivetest.Entry {
	var entries []archivetest.Entry
	for len(entries) < 24 && len(g.data) > 0 {
		var e archivetest.Entry
		switch g.next() % 8 {
		case 0:
			e = archivetest.File(g.name(), string(rune('A'+g.next()%26)))
		case 1:
			e = archivetest.Dir(g.name() + "/")
		case 2:
			e = archivetest.Symlink(g.name(), "")
			e.Linkname = g.target()
		case 3:
			e = archivetest.Hardlink(g.name(), "")
			e.Linkname = g.name()
		case 4:
			e = archivetest.File(path.Join(g.name(), ".wh."+modelComponents[int(g.next())%len(modelComponents)]), "")
		case 5:
			e = archivetest.File(path.Join(g.name(), whiteoutOpaque), "")
		case 6:
			e = archivetest.Entry{Name: g.name(), Type: tar.TypeFifo}
		case 7:
			return entries
		}
		if e.Type != tar.TypeDir {
			if e.Name = strings.TrimRight(e.Name, "/"); e.Name == "" {
				e.Name = "."
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// mnode is a file of the model. Hard links share one mnode.
type mnode struct {
	kind     byte // tar.TypeDir, TypeReg, TypeSymlink, TypeFifo, or 'w' for a whiteout
	children map[string]*mnode
	body     string
	target   string
	opaque   bool
}

type model struct{ root *mnode }

func newModel() *model { return &model{root: newDir()} }

func newDir() *mnode { return &mnode{kind: tar.TypeDir, children: map[string]*mnode{}} }

var (
	errModelNotExist = errors.New("no such file (model)")
	errModelNotDir   = errors.New("not a directory (model)")
	errModelLoop     = errors.New("too many symlinks (model)")
	errModelRefused  = errors.New("refused (model)")
)

// layer applies entries until one fails, as Unpack does.
func (m *model) layer(entries []archivetest.Entry) error {
	for _, e := range entries {
		if err := m.entry(e); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return nil
}

func (m *model) entry(e archivetest.Entry) error {
	rel, err := cleanName(e.Name)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if base == whiteoutOpaque {
		d, err := m.walk(path.Dir(rel), true)
		if err != nil {
			return err
		}
		d.opaque = true
		return nil
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if name == "" || name == "." || name == ".." {
			return errModelRefused
		}
		return m.put(path.Join(path.Dir(rel), name), &mnode{kind: 'w'})
	}
	switch e.Type {
	case tar.TypeDir:
		if rel == "." {
			return nil
		}
		parent, base, err := m.prepare(rel, true)
		if err != nil {
			return err
		}
		if parent.children[base] == nil {
			parent.children[base] = newDir()
		}
		return nil
	case tar.TypeReg, 0:
		return m.put(rel, &mnode{kind: tar.TypeReg, body: e.Body})
	case tar.TypeSymlink:
		return m.put(rel, &mnode{kind: tar.TypeSymlink, target: e.Linkname})
	case tar.TypeFifo:
		return m.put(rel, &mnode{kind: tar.TypeFifo})
	case tar.TypeLink:
		return m.hardlink(rel, e.Linkname)
	}
	return fmt.Errorf("type %c: %w", e.Type, errModelRefused)
}

// put places a new non-directory n at rel, replacing what is there.
func (m *model) put(rel string, n *mnode) error {
	parent, base, err := m.prepare(rel, false)
	if err != nil {
		return err
	}
	parent.children[base] = n
	return nil
}

func (m *model) hardlink(rel, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return err
	}
	if target == "." {
		return errModelRefused
	}
	srcDir, err := m.walk(path.Dir(target), false)
	if err != nil {
		return err
	}
	src := srcDir.children[path.Base(target)]
	if src == nil {
		return errModelNotExist
	}
	if src.kind == tar.TypeDir {
		return errModelRefused
	}
	if d, err := m.walk(path.Dir(rel), false); err == nil && d.children[path.Base(rel)] == src {
		return nil
	}
	parent, base, err := m.prepare(rel, false)
	if err != nil {
		return err
	}
	// Clearing the place may have removed the target, or a directory
	// above it (whose children are then gone).
	if srcDir.children[path.Base(target)] != src {
		return errModelNotExist
	}
	parent.children[base] = src
	return nil
}

// prepare resolves the parent of rel (creating it) and clears the place
// of its last component, keeping a directory when keepDir is set.
func (m *model) prepare(rel string, keepDir bool) (*mnode, string, error) {
	if rel == "." {
		return nil, "", errModelRefused
	}
	parent, err := m.walk(path.Dir(rel), true)
	if err != nil {
		return nil, "", err
	}
	base := path.Base(rel)
	if old := parent.children[base]; old != nil && (old.kind != tar.TypeDir || !keepDir) {
		delete(parent.children, base)
		detach(old)
	}
	return parent, base, nil
}

// detach empties a removed directory tree, so that a handle still held
// on one of its directories finds nothing, as on disk.
func detach(n *mnode) {
	if n.kind != tar.TypeDir {
		return
	}
	for k, c := range n.children {
		delete(n.children, k)
		detach(c)
	}
}

// walk resolves the directory p inside the root. Without create it
// resolves as the kernel does with RESOLVE_IN_ROOT (what OpenatInRoot
// uses): symlinks followed as if the root were "/", ".." at the root
// staying there, a missing component or a non-directory failing. With
// create it resolves as SecureJoin does (what MkdirAllHandle comes to,
// with the fallback of dirHandle): ".." taken lexically, a missing or
// non-directory component taken as a name, symlinks expanded; then the
// directories the result names are made, a non-directory there failing.
func (m *model) walk(p string, create bool) (*mnode, error) {
	if !create {
		return m.lookup(p)
	}
	names, err := m.secureJoin(p)
	if err != nil {
		return nil, err
	}
	d := m.root
	for _, c := range names {
		n := d.children[c]
		switch {
		case n == nil:
			n = newDir()
			d.children[c] = n
		case n.kind != tar.TypeDir:
			return nil, errModelNotDir
		}
		d = n
	}
	return d, nil
}

// lookup is the kernel's resolution inside the root (RESOLVE_IN_ROOT).
func (m *model) lookup(p string) (*mnode, error) {
	stack := []*mnode{m.root}
	names := strings.Split(p, "/")
	links := 0
	for len(names) > 0 {
		c := names[0]
		names = names[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		n := stack[len(stack)-1].children[c]
		switch {
		case n == nil:
			return nil, errModelNotExist
		case n.kind == tar.TypeDir:
			stack = append(stack, n)
		case n.kind == tar.TypeSymlink:
			if links++; links > 40 {
				return nil, errModelLoop
			}
			if strings.HasPrefix(n.target, "/") {
				stack = stack[:1]
			}
			names = append(strings.Split(n.target, "/"), names...)
		default:
			return nil, errModelNotDir
		}
	}
	return stack[len(stack)-1], nil
}

// secureJoin is SecureJoin's resolution: the names of the result.
func (m *model) secureJoin(p string) ([]string, error) {
	var cur []string
	names := strings.Split(p, "/")
	links := 0
	for len(names) > 0 {
		c := names[0]
		names = names[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		n := m.at(append(cur, c))
		if n == nil || n.kind != tar.TypeSymlink {
			cur = append(cur, c)
			continue
		}
		if links++; links > 255 {
			return nil, errModelLoop
		}
		if strings.HasPrefix(n.target, "/") {
			cur = nil
		}
		names = append(strings.Split(n.target, "/"), names...)
	}
	return cur, nil
}

// at returns the node a symlink-free name leads to, or nil.
func (m *model) at(names []string) *mnode {
	n := m.root
	for _, c := range names {
		if n.kind != tar.TypeDir {
			return nil
		}
		if n = n.children[c]; n == nil {
			return nil
		}
	}
	return n
}

// tree describes the model's files, one line each, as realTree does the
// destination's.
func (m *model) tree() string {
	links := map[*mnode]int{}
	var count func(n *mnode)
	count = func(n *mnode) {
		for _, c := range n.children {
			links[c]++
			if c.kind == tar.TypeDir {
				count(c)
			}
		}
	}
	count(m.root)
	var lines []string
	var walk func(p string, n *mnode)
	walk = func(p string, n *mnode) {
		for name, c := range n.children {
			q := path.Join(p, name)
			switch c.kind {
			case tar.TypeDir:
				lines = append(lines, fmt.Sprintf("%s dir opaque=%v", q, c.opaque))
				walk(q, c)
			case tar.TypeReg:
				lines = append(lines, fmt.Sprintf("%s file %q links=%d", q, c.body, links[c]))
			case tar.TypeSymlink:
				lines = append(lines, fmt.Sprintf("%s symlink %q links=%d", q, c.target, links[c]))
			case tar.TypeFifo:
				lines = append(lines, fmt.Sprintf("%s fifo links=%d", q, links[c]))
			case 'w':
				lines = append(lines, fmt.Sprintf("%s whiteout links=%d", q, links[c]))
			}
		}
	}
	walk("/", m.root)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// realTree describes the files below dest in the terms of model.tree.
func realTree(t *testing.T, dest string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dest {
			return nil
		}
		q := "/" + strings.TrimPrefix(p, dest+"/")
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch m := fi.Mode(); {
		case m.IsDir():
			v := make([]byte, 8)
			n, err := unix.Lgetxattr(p, "user.overlay.opaque", v)
			lines = append(lines, fmt.Sprintf("%s dir opaque=%v", q, err == nil && string(v[:n]) == "y"))
		case m.IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s file %q links=%d", q, b, st.Nlink))
		case m&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s symlink %q links=%d", q, l, st.Nlink))
		case m&fs.ModeNamedPipe != 0:
			lines = append(lines, fmt.Sprintf("%s fifo links=%d", q, st.Nlink))
		case m&fs.ModeCharDevice != 0 && st.Rdev == 0:
			lines = append(lines, fmt.Sprintf("%s whiteout links=%d", q, st.Nlink))
		default:
			lines = append(lines, fmt.Sprintf("%s unexpected %v", q, m))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dest, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
