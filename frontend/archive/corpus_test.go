package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/myctr/myctr/frontend/archive/archivetest"
)

// TestUnpackCorpus runs the layer unpacker on the shared hostile corpus.
// The unpacker resolves every name inside the destination as if it were
// the root (absolute names and symlinks land inside it) and refuses names
// and hard link targets that climb above it: either way nothing outside
// the destination changes.
func TestUnpackCorpus(t *testing.T) {
	anyErr := errors.New("any error")
	// nil: must succeed; anyErr: must fail; else: must fail with it.
	want := map[string]error{
		"absolute name":                                      nil,
		"absolute name of an existing file":                  nil,
		"dotdot name":                                        ErrUnsafePath,
		"dotdot inside a name":                               ErrUnsafePath,
		"dotdot after a directory":                           ErrUnsafePath,
		"absolute symlink then write through":                nil,
		"relative symlink then write through":                nil,
		"symlink to root then write through":                 nil,
		"symlink to dotdot chain then write through":         nil,
		"symlink chain ending outside then write through":    nil,
		"directory replaced by a symlink then write through": nil,
		"symlink replaced by a directory then write":         nil,
		"symlink replaced by a file":                         nil,
		"hardlink to dotdot":                                 ErrUnsafePath,
		"hardlink to an absolute path":                       os.ErrNotExist, // looked up inside dest
		"hardlink through a symlink":                         os.ErrNotExist,
		"hardlink to a symlink then write through":           nil,
		"hardlink to a symlink then replace":                 nil,
		"device nodes":                                       nil, // made as root, skipped with a warning otherwise
		"device node at an absolute name":                    nil,
		"very long names":                                    nil,
		"name component longer than NAME_MAX":                anyErr,
		"dot-slash prefixes":                                 nil,
		"PAX long name climbing out":                         ErrUnsafePath,
		"GNU long name climbing out":                         ErrUnsafePath,
		"GNU long symlink target then write through":         nil,
		"PAX long hardlink target climbing out":              ErrUnsafePath,
		"duplicate files":                                    nil,
	}
	archivetest.Expect(t, want)
	sb := archivetest.NewSandbox(t) // only for its Outside path
	for _, c := range archivetest.Corpus(sb.Outside) {
		t.Run(c.Name, func(t *testing.T) {
			sb := archivetest.NewSandbox(t)
			c := caseNamed(t, sb.Outside, c.Name)
			err := Unpack(bytes.NewReader(archivetest.Tar(t, c.Entries)), sb.Dest, Options{})
			sb.Check(t)
			switch w := want[c.Name]; {
			case w == nil && err != nil:
				t.Errorf("Unpack: %v, want success (contained in the destination)", err)
			case w == anyErr && err == nil:
				t.Errorf("Unpack succeeded, want an error")
			case w != nil && w != anyErr && !errors.Is(err, w):
				t.Errorf("Unpack: %v, want %v", err, w)
			}
			if err != nil {
				t.Logf("error (for the record): %v", err)
			}
		})
	}
	// What the contained cases did, where it is easy to say.
	t.Run("contents", func(t *testing.T) {
		sb := archivetest.NewSandbox(t)
		c := caseNamed(t, sb.Outside, "duplicate files")
		if err := Unpack(bytes.NewReader(archivetest.Tar(t, c.Entries)), sb.Dest, Options{}); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(sb.Dest, "f")); err != nil || string(b) != "two" {
			t.Errorf("duplicate f = %q, %v; want the later entry", b, err)
		}
		sb = archivetest.NewSandbox(t)
		c = caseNamed(t, sb.Outside, "absolute symlink then write through")
		if err := Unpack(bytes.NewReader(archivetest.Tar(t, c.Entries)), sb.Dest, Options{}); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(sb.Dest, sb.Outside, "planted")); err != nil || string(b) != "pwned" {
			t.Errorf("x/planted landed at %q, %v; want inside dest at the symlink's target", b, err)
		}
		sb.Check(t)
	})
}

// caseNamed returns the corpus case name aimed at outside.
func caseNamed(t *testing.T, outside, name string) archivetest.Case {
	t.Helper()
	for _, c := range archivetest.Corpus(outside) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no corpus case %q", name)
	return archivetest.Case{}
}
