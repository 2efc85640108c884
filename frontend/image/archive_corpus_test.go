package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/archive/archivetest"
)

// validDockerArchive returns a docker-archive of one image named
// "docker.io/library/good:latest".
func validDockerArchive(t *testing.T) []byte {
	t.Helper()
	src := openStore(t, t.TempDir())
	mustImport(t, src, rootfs(t, "good"), "good")
	var buf bytes.Buffer
	if err := src.Save(&buf, []string{"good"}, FormatDockerArchive); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// concatTars writes the members of each tar, in order, into one tar,
// with f (if set) rewriting each header.
func concatTars(t *testing.T, f func(*tar.Header), tars ...[]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, in := range tars {
		tr := tar.NewReader(bytes.NewReader(in))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if f != nil {
				f(h)
			}
			if err := tw.WriteHeader(h); err != nil {
				t.Fatalf("write %q: %v", h.Name, err)
			}
			if _, err := io.Copy(tw, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestLoadCorpus: Load of each hostile case (followed by a valid image,
// so that only the hostile entries can make it fail) changes nothing
// outside the store, and refuses every entry no image archive holds with
// ErrBadArchive naming the entry; the benign cases load the image.
func TestLoadCorpus(t *testing.T) {
	valid := validDockerArchive(t)
	refuse := map[string]bool{
		"absolute name":                                      true,
		"absolute name of an existing file":                  true,
		"dotdot name":                                        true,
		"dotdot inside a name":                               true,
		"dotdot after a directory":                           true,
		"absolute symlink then write through":                true,
		"relative symlink then write through":                true,
		"symlink to root then write through":                 true,
		"symlink to dotdot chain then write through":         true,
		"symlink chain ending outside then write through":    true,
		"directory replaced by a symlink then write through": true,
		"symlink replaced by a directory then write":         true,
		"symlink replaced by a file":                         true,
		"hardlink to dotdot":                                 true,
		"hardlink to an absolute path":                       true,
		"hardlink through a symlink":                         true,
		"hardlink to a symlink then write through":           true,
		"hardlink to a symlink then replace":                 true,
		"device nodes":                                       true,
		"device node at an absolute name":                    true,
		"very long names":                                    false,
		"name component longer than NAME_MAX":                false,
		"dot-slash prefixes":                                 false,
		"PAX long name climbing out":                         true,
		"GNU long name climbing out":                         true,
		"GNU long symlink target then write through":         true,
		"PAX long hardlink target climbing out":              true,
		"duplicate files":                                    false,
	}
	archivetest.Expect(t, refuse)
	for _, name := range archivetest.Names() {
		t.Run(name, func(t *testing.T) {
			sb := archivetest.NewSandbox(t)
			c := corpusCase(t, sb.Outside, name)
			s := openStore(t, sb.Dest)
			in := concatTars(t, nil, archivetest.Tar(t, c.Entries), valid)
			_, err := s.Load(bytes.NewReader(in))
			sb.Check(t)
			if refuse[name] {
				if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), "archive entry \"") {
					t.Errorf("Load: %v; want ErrBadArchive naming the entry", err)
				}
				if list, _ := s.List(); len(list) != 0 {
					t.Errorf("images stored from a refused archive: %v", list)
				}
				t.Logf("error (for the record): %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := s.Lookup("good"); err != nil {
				t.Errorf("the archive's image is not there: %v", err)
			}
		})
	}
}

// TestLoadArchiveLinks: symlinks inside the archive are followed inside it
// (Docker's older archives link layers to one another), and cannot serve
// as a way out or a loop.
func TestLoadArchiveLinks(t *testing.T) {
	valid := validDockerArchive(t)
	// Move every member under "real/" and link "manifest.json" and each
	// layer's directory to it, as relative links.
	moved := concatTars(t, func(h *tar.Header) { h.Name = "real/" + h.Name }, valid)
	links := archivetest.Tar(t, []archivetest.Entry{
		archivetest.Dir("sub/"),
		archivetest.Symlink("sub/m", "../real/manifest.json"),
		archivetest.Symlink("manifest.json", "sub/m"),
	})
	// manifest.json names the config and layers relative to the root:
	// "real" is not in their names, so give each a link at the root.
	var rootLinks []archivetest.Entry
	tr := tar.NewReader(bytes.NewReader(valid))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name != "manifest.json" && !strings.Contains(strings.TrimSuffix(h.Name, "/"), "/") {
			rootLinks = append(rootLinks, archivetest.Symlink(strings.TrimSuffix(h.Name, "/"), "real/"+strings.TrimSuffix(h.Name, "/")))
		}
	}
	linked := concatTars(t, nil, moved, links, archivetest.Tar(t, rootLinks))
	s := openStore(t, t.TempDir())
	if _, err := s.Load(bytes.NewReader(linked)); err != nil {
		t.Fatalf("Load of an archive linking inside itself: %v", err)
	}
	if _, err := s.Lookup("good"); err != nil {
		t.Error(err)
	}

	for _, tc := range []struct {
		name    string
		entries []archivetest.Entry
		naming  string
	}{
		{"entry below an inner symlink", []archivetest.Entry{
			archivetest.Dir("d/"), archivetest.Symlink("x", "d"), archivetest.File("x/f", "x")}, `"x/f"`},
		{"entry below a file", []archivetest.Entry{
			archivetest.File("f", "x"), archivetest.File("f/g", "x")}, `"f/g"`},
		{"symlink loop", []archivetest.Entry{
			archivetest.Symlink("manifest.json", "loop"), archivetest.Symlink("loop", "manifest.json")}, `"manifest.json"`},
		{"hardlink to a later entry", []archivetest.Entry{
			archivetest.Hardlink("h", "later"), archivetest.File("later", "x")}, `"h"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			_, err := s.Load(bytes.NewReader(archivetest.Tar(t, tc.entries)))
			if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), tc.naming) {
				t.Errorf("Load: %v; want ErrBadArchive naming %s", err, tc.naming)
			}
		})
	}
}

// TestLoadArchiveForms: a valid archive still loads with "./" prefixes,
// in GNU format, and gzip-compressed.
func TestLoadArchiveForms(t *testing.T) {
	valid := validDockerArchive(t)
	dotSlash := concatTars(t, func(h *tar.Header) { h.Name = "./" + h.Name }, valid)
	gnu := concatTars(t, func(h *tar.Header) { h.Format = tar.FormatGNU; h.PAXRecords = nil; h.Uname, h.Gname = "", "" }, dotSlash)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(gnu)
	zw.Close()
	for name, b := range map[string][]byte{"dot-slash": dotSlash, "gnu": gnu, "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			if _, err := s.Load(bytes.NewReader(b)); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := s.Lookup("good"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestImportCorpus: import (a root filesystem tarball, unpacked by the
// layer unpacker into the store) changes nothing outside the store for
// any case of the corpus.
func TestImportCorpus(t *testing.T) {
	fail := map[string]bool{
		"dotdot name":                           true,
		"dotdot inside a name":                  true,
		"dotdot after a directory":              true,
		"hardlink to dotdot":                    true,
		"hardlink to an absolute path":          true,
		"hardlink through a symlink":            true,
		"name component longer than NAME_MAX":   true,
		"PAX long name climbing out":            true,
		"GNU long name climbing out":            true,
		"PAX long hardlink target climbing out": true,
	}
	expect := map[string]bool{}
	for _, n := range archivetest.Names() {
		expect[n] = fail[n]
	}
	archivetest.Expect(t, expect)
	for _, name := range archivetest.Names() {
		t.Run(name, func(t *testing.T) {
			sb := archivetest.NewSandbox(t)
			c := corpusCase(t, sb.Outside, name)
			s := openStore(t, sb.Dest)
			_, err := s.Import(bytes.NewReader(archivetest.Tar(t, c.Entries)), "evil", ImportOptions{})
			sb.Check(t)
			if fail[name] && err == nil {
				t.Errorf("Import succeeded, want an error")
			}
			if !fail[name] && err != nil {
				t.Errorf("Import: %v, want success (contained in the store)", err)
			}
		})
	}
}

func corpusCase(t *testing.T, outside, name string) archivetest.Case {
	t.Helper()
	for _, c := range archivetest.Corpus(outside) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no corpus case %q", name)
	return archivetest.Case{}
}
