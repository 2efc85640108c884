//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks on the paths myctr writes and on what a container may read
// (issue 20), each through the real binary as the test user.

// treeSnapshot lists every entry below dir with its type, mode, owner,
// size, link target and content, one line each: two snapshots are equal
// when nothing below dir was created, removed or changed.
func treeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v uid=%d size=%d", strings.TrimPrefix(p, dir), fi.Mode(), st.Uid, fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// homeStandIn is a directory of the test user standing in for $HOME, with
// the files a login shell reads.
func homeStandIn(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte("# the user's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// tarEntry is one member of a crafted archive.
type tarEntry struct {
	name, link, body string
	typ              byte
}

func craftTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, ModTime: time.Unix(1_600_000_000, 0)}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeSymlink:
			h.Mode = 0o777
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSecurityLoadStaysInScratch: `myctr load` of an archive whose entries
// plant a symlink into the user's home and then write through it creates
// nothing there, and fails with a clear Error naming the entry (issue 20,
// item 3: a .bash_login written this way runs at the user's next login).
func TestSecurityLoadStaysInScratch(t *testing.T) {
	payload := "echo pwned >/dev/tty\n"
	tests := []struct {
		name    string
		entries func(home string) []tarEntry
		naming  string // the entry the error must name: the first hostile one
	}{
		{
			name: "absolute symlink then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "x", typ: tar.TypeSymlink, link: home},
					{name: "x/.bash_login", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "x",
		},
		{
			name: "relative symlink climbing out then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "blobs/", typ: tar.TypeDir},
					{name: "blobs/up", typ: tar.TypeSymlink, link: strings.Repeat("../", 40) + strings.TrimPrefix(home, "/")},
					{name: "blobs/up/.profile", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "blobs/up",
		},
		{
			name: "directory replaced by a symlink then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "d/", typ: tar.TypeDir},
					{name: "d", typ: tar.TypeSymlink, link: home},
					{name: "d/.bash_login", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "d",
		},
		{
			name: "hardlink to a file of the home",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "h", typ: tar.TypeLink, link: filepath.Join(home, ".bashrc")},
					{name: "h", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "h",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := homeStandIn(t)
			before := treeSnapshot(t, home)
			archive := filepath.Join(t.TempDir(), "evil.tar")
			if err := os.WriteFile(archive, craftTar(t, tt.entries(home)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := myctr(t, "load", "-i", archive)
			if after := treeSnapshot(t, home); after != before {
				t.Errorf("load changed the home stand-in:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, strconv.Quote(tt.naming)) {
				t.Errorf("load: exit %d, stderr %q; want 125 and an Error naming the entry %q", code, errOut, tt.naming)
			}
		})
	}
}
