// Package archivetest is the hostile tar corpus that every tar reader of
// myctr is tested against (the layer unpacker, load, import, build's ADD),
// and the sandbox that tells whether a reader touched anything outside its
// destination. Only tests import it.
//
// A reader under test gets each Case's archive and a destination inside a
// Sandbox; next to the destination lies a sentinel directory, Outside, that
// the cases aim at (absolute names, "..", symlinks and hard links to it).
// Whatever the reader does with a case (refuse it, or contain it inside the
// destination), Sandbox.Check must find Outside and everything else beside
// the destination exactly as before: same names, types, modes, owners,
// sizes, link counts, link targets, contents and modification times.
//
// Each reader's test states, per case name, what it expects (an error, or
// success), and must name every case: a case added here fails every
// reader's test until the reader has been looked at (see Names).
package archivetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Entry is one member of a test archive.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Body     string
	Linkname string
	Mode     int64      // 0o644, 0o755 for directories, 0o777 for symlinks, when zero
	Format   tar.Format // tar.FormatPAX when zero
	Devmajor int64
	Devminor int64
}

// File, Dir, Symlink and Hardlink make entries.
func File(name, body string) Entry { return Entry{Name: name, Type: tar.TypeReg, Body: body} }
func Dir(name string) Entry        { return Entry{Name: name, Type: tar.TypeDir} }
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Linkname: target}
}
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Linkname: target}
}

// Case is one hostile (or merely unusual) archive.
type Case struct {
	Name    string
	Entries []Entry
}

// Tar writes entries as a tar stream.
func Tar(t testing.TB, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: e.Mode,
			ModTime: time.Unix(1_600_000_000, 0), Devmajor: e.Devmajor, Devminor: e.Devminor,
			Format: e.Format,
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Format == tar.FormatUnknown {
			h.Format = tar.FormatPAX
		}
		if h.Mode == 0 {
			switch h.Typeflag {
			case tar.TypeDir:
				h.Mode = 0o755
			case tar.TypeSymlink:
				h.Mode = 0o777
			default:
				h.Mode = 0o644
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if h.Format == tar.FormatGNU {
			h.Uname, h.Gname = "", ""
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("archivetest: write header %q: %v", e.Name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatalf("archivetest: write %q: %v", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("archivetest: close: %v", err)
	}
	return buf.Bytes()
}

// Corpus returns the cases, aimed at the sentinel directory outside (an
// absolute path) and at its file "keep". Names of cases are stable: the
// readers' expectation tables use them.
func Corpus(outside string) []Case {
	rel := strings.TrimPrefix(outside, "/")
	keep := filepath.Join(outside, "keep")
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("e", 200) + "/" + strings.Repeat("f", 200)
	climb := strings.Repeat("a/", 60) + strings.Repeat("../", 61) + "outside/planted" // > 100 bytes, cleans to ../outside/planted
	return []Case{
		{"absolute name", []Entry{File(filepath.Join(outside, "planted"), "pwned")}},
		{"absolute name of an existing file", []Entry{File(keep, "pwned")}},
		{"dotdot name", []Entry{File("../outside/planted", "pwned")}},
		{"dotdot inside a name", []Entry{File("a/../../outside/keep", "pwned")}},
		{"dotdot after a directory", []Entry{Dir("a/"), Dir("a/b/"), File("a/b/../../../outside/planted", "pwned")}},
		{"absolute symlink then write through", []Entry{
			Symlink("x", outside), File("x/planted", "pwned"), File("x/keep", "pwned")}},
		{"relative symlink then write through", []Entry{
			Symlink("x", "../outside"), File("x/planted", "pwned"), File("x/keep", "pwned")}},
		{"symlink to root then write through", []Entry{
			Symlink("r", "/"), File("r/"+rel+"/planted", "pwned")}},
		{"symlink to dotdot chain then write through", []Entry{
			Dir("a/"), Symlink("a/up", ".."), Symlink("a/up2", "up/.."), Symlink("a/up3", "up2/../../.."),
			File("a/up3/outside/planted", "pwned"), File("a/up/../outside/keep", "pwned")}},
		{"symlink chain ending outside then write through", []Entry{
			Symlink("l1", "l2"), Symlink("l2", "l3"), Symlink("l3", outside), File("l1/planted", "pwned")}},
		{"directory replaced by a symlink then write through", []Entry{
			Dir("d/"), File("d/f", "x"), Symlink("d", outside), File("d/planted", "pwned"), File("d/keep", "pwned")}},
		{"symlink replaced by a directory then write", []Entry{
			Symlink("s", outside), Dir("s/"), File("s/planted", "x")}},
		{"symlink replaced by a file", []Entry{Symlink("s", keep), File("s", "pwned")}},
		{"hardlink to dotdot", []Entry{Hardlink("h", "../outside/keep")}},
		{"hardlink to an absolute path", []Entry{Hardlink("h", keep)}},
		{"hardlink through a symlink", []Entry{Symlink("s", outside), Hardlink("h", "s/keep")}},
		{"hardlink to a symlink then write through", []Entry{
			Symlink("s", outside), Hardlink("h", "s"), File("h/planted", "pwned")}},
		{"hardlink to a symlink then replace", []Entry{
			Symlink("s", keep), Hardlink("h", "s"), File("h", "pwned")}},
		{"device nodes", []Entry{
			{Name: "null", Type: tar.TypeChar, Devmajor: 1, Devminor: 3},
			{Name: "sda", Type: tar.TypeBlock, Devmajor: 8, Devminor: 0},
			{Name: "fifo", Type: tar.TypeFifo}}},
		{"device node at an absolute name", []Entry{{Name: filepath.Join(outside, "null"), Type: tar.TypeChar, Devmajor: 1, Devminor: 3}}},
		{"very long names", []Entry{Dir("l/"), File("l/"+long, "x")}},
		{"name component longer than NAME_MAX", []Entry{File(strings.Repeat("n", 300), "x")}},
		{"dot-slash prefixes", []Entry{Dir("./"), Dir("./a/"), File("./a/f", "x"), File(".//a//g", "y")}},
		{"PAX long name climbing out", []Entry{{Name: climb, Type: tar.TypeReg, Body: "pwned", Format: tar.FormatPAX}}},
		{"GNU long name climbing out", []Entry{{Name: climb, Type: tar.TypeReg, Body: "pwned", Format: tar.FormatGNU}}},
		{"GNU long symlink target then write through", []Entry{
			{Name: "g", Type: tar.TypeSymlink, Linkname: outside + strings.Repeat("/.", 60), Format: tar.FormatGNU},
			{Name: "g/planted", Type: tar.TypeReg, Body: "pwned", Format: tar.FormatGNU}}},
		{"PAX long hardlink target climbing out", []Entry{
			{Name: "h", Type: tar.TypeLink, Linkname: strings.Repeat("a/../", 30) + "../outside/keep", Format: tar.FormatPAX}}},
		{"duplicate files", []Entry{File("f", "one"), File("f", "two")}},
	}
}

// Names returns the names of the corpus's cases, for expectation tables.
func Names() []string {
	var out []string
	for _, c := range Corpus("/outside") {
		out = append(out, c.Name)
	}
	return out
}

// Sandbox is a temporary directory holding a reader's destination (or
// whatever the reader writes into, such as a store root) and Outside,
// the sentinel the corpus aims at.
type Sandbox struct {
	Base    string // parent of Dest and Outside
	Dest    string // Base/dest, created empty
	Outside string // Base/outside: keep ("orig"), sub/file, link -> keep
	before  string
}

// NewSandbox makes the directories and takes the snapshot Check compares
// with.
func NewSandbox(t testing.TB) *Sandbox {
	t.Helper()
	base := t.TempDir()
	s := &Sandbox{Base: base, Dest: filepath.Join(base, "dest"), Outside: filepath.Join(base, "outside")}
	for _, d := range []string{s.Dest, s.Outside, filepath.Join(s.Outside, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Outside, "keep"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Outside, "sub", "file"), []byte("orig"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("keep", filepath.Join(s.Outside, "link")); err != nil {
		t.Fatal(err)
	}
	// Fixed times: a reader that only touches a file shows too.
	old := time.Unix(1_500_000_000, 0)
	for _, p := range []string{filepath.Join(s.Outside, "keep"), filepath.Join(s.Outside, "sub", "file"), filepath.Join(s.Outside, "sub"), s.Outside} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s.before = s.snapshot(t)
	return s
}

// Check fails the test when anything beside Dest changed: in Outside, in
// Base, or on the host at the absolute names the corpus uses below "/"
// (checked by the snapshot of Base, whose path they are built from).
func (s *Sandbox) Check(t testing.TB) {
	t.Helper()
	if after := s.snapshot(t); after != s.before {
		t.Errorf("something outside the destination changed:\nbefore:\n%s\nafter:\n%s", s.before, after)
	}
}

// snapshot lists everything below Base except Dest's contents.
func (s *Sandbox) snapshot(t testing.TB) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(s.Base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == s.Dest {
			return fs.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d nlink=%d size=%d", strings.TrimPrefix(p, s.Base), fi.Mode(), st.Uid, st.Gid, st.Nlink, fi.Size())
		if !fi.IsDir() {
			line += " mtime=" + fi.ModTime().UTC().Format(time.RFC3339Nano)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("archivetest: snapshot %s: %v", s.Base, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Expect checks that a reader's expectation table names every case of the
// corpus and nothing else.
func Expect[V any](t testing.TB, table map[string]V) {
	t.Helper()
	names := map[string]bool{}
	for _, n := range Names() {
		names[n] = true
		if _, ok := table[n]; !ok {
			t.Errorf("no expectation for the corpus case %q", n)
		}
	}
	for n := range table {
		if !names[n] {
			t.Errorf("expectation for %q, which is not a corpus case", n)
		}
	}
}
