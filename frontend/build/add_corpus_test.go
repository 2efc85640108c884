package build

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/archive/archivetest"
)

// TestAddArchiveCorpus: ADD of a local archive copies its members into
// the layer below the destination, and the layer is then unpacked by the
// layer unpacker. For every case of the hostile corpus, the two together
// change nothing outside the layer's directory; members whose names or
// hard link targets climb out are refused by ADD itself.
func TestAddArchiveCorpus(t *testing.T) {
	// "add": ADD refuses it (ErrUnsafeSource); "unpack": the unpacker
	// fails on the layer; "": the layer unpacks, contained.
	want := map[string]string{
		"absolute name":                                      "",
		"absolute name of an existing file":                  "",
		"dotdot name":                                        "add",
		"dotdot inside a name":                               "add",
		"dotdot after a directory":                           "add",
		"absolute symlink then write through":                "",
		"relative symlink then write through":                "",
		"symlink to root then write through":                 "",
		"symlink to dotdot chain then write through":         "",
		"symlink chain ending outside then write through":    "",
		"directory replaced by a symlink then write through": "",
		"symlink replaced by a directory then write":         "",
		"symlink replaced by a file":                         "",
		"hardlink to dotdot":                                 "add",
		"hardlink to an absolute path":                       "unpack",
		"hardlink through a symlink":                         "unpack",
		"hardlink to a symlink then write through":           "",
		"hardlink to a symlink then replace":                 "",
		"device nodes":                                       "",
		"device node at an absolute name":                    "",
		"very long names":                                    "",
		"name component longer than NAME_MAX":                "unpack",
		"dot-slash prefixes":                                 "",
		"PAX long name climbing out":                         "add",
		"GNU long name climbing out":                         "add",
		"GNU long symlink target then write through":         "",
		"PAX long hardlink target climbing out":              "add",
		"duplicate files":                                    "",
	}
	archivetest.Expect(t, want)
	for _, name := range archivetest.Names() {
		t.Run(name, func(t *testing.T) {
			sb := archivetest.NewSandbox(t)
			var c archivetest.Case
			for _, cc := range archivetest.Corpus(sb.Outside) {
				if cc.Name == name {
					c = cc
				}
			}
			ctx := filepath.Join(sb.Dest, "ctx")
			layer := filepath.Join(sb.Dest, "layer")
			for _, d := range []string{ctx, layer} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(ctx, "evil.tar"), archivetest.Tar(t, c.Entries), 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := newContextSource(ctx, &Ignore{})
			if err != nil {
				t.Fatal(err)
			}
			r := &copyRequest{sources: []string{"evil.tar"}, dest: "/dst/", workdir: "/", add: true, src: src}
			p, err := r.plan()
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			var buf bytes.Buffer
			addErr := p.write(&buf)
			var unpackErr error
			if addErr == nil {
				unpackErr = archive.Unpack(bytes.NewReader(buf.Bytes()), layer, archive.Options{})
			}
			sb.Check(t)
			switch want[name] {
			case "add":
				if !errors.Is(addErr, ErrUnsafeSource) {
					t.Errorf("ADD: %v, want ErrUnsafeSource", addErr)
				}
			case "unpack":
				if addErr != nil || unpackErr == nil {
					t.Errorf("ADD: %v, unpack: %v; want the unpacker to fail", addErr, unpackErr)
				}
			default:
				if addErr != nil || unpackErr != nil {
					t.Errorf("ADD: %v, unpack: %v; want both to succeed (contained)", addErr, unpackErr)
				}
			}
		})
	}
}
