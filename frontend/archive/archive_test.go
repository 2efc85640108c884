package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry describes one tar entry for a test tarball.
type entry struct {
	name     string
	typ      byte
	body     string
	link     string
	mode     int64
	mtime    time.Time
	xattrs   map[string]string
	devMajor int64
}

func file(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) entry {
	return entry{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func hardlink(name, to string) entry {
	return entry{name: name, typ: tar.TypeLink, link: to, mode: 0o644}
}

func makeTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mtime := e.mtime
		if mtime.IsZero() {
			mtime = time.Unix(1_600_000_000, 0)
		}
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode,
			ModTime: mtime, Size: int64(len(e.body)), Devmajor: e.devMajor,
			Format: tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if len(e.xattrs) > 0 {
			hdr.PAXRecords = map[string]string{}
			for k, v := range e.xattrs {
				hdr.PAXRecords[paxXattr+k] = v
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("write body %s: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}

// sandbox returns base/dest and base/outside; outside holds one file,
// "keep", whose content is "orig".
func sandbox(t *testing.T) (base, dest, outside string) {
	t.Helper()
	base = t.TempDir()
	dest = filepath.Join(base, "dest")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{dest, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, dest, outside
}

// assertContained fails when anything appeared outside dest.
func assertContained(t *testing.T, base, outside string) {
	t.Helper()
	names := func(d string) []string {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatalf("read %s: %v", d, err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		sort.Strings(out)
		return out
	}
	if got := strings.Join(names(base), ","); got != "dest,outside" {
		t.Errorf("entries next to dest: %s, want dest,outside", got)
	}
	if got := strings.Join(names(outside), ","); got != "keep" {
		t.Errorf("entries in outside: %s, want keep", got)
	}
	b, err := os.ReadFile(filepath.Join(outside, "keep"))
	if err != nil || string(b) != "orig" {
		t.Errorf("outside/keep = %q, %v; want \"orig\"", b, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(outside, "keep"), &st); err == nil && st.Nlink != 1 {
		t.Errorf("outside/keep has %d links, want 1", st.Nlink)
	}
}

func TestUnpackHostile(t *testing.T) {
	marker := "myctr-archive-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	tests := []struct {
		name    string
		entries func(outside string) []entry
		wantErr error  // nil: must succeed, unless mayFail
		mayFail bool   // the kernel may refuse (whiteouts need Linux >= 5.8, xattrs support)
		inside  string // when set, a file that must exist under dest
	}{
		{
			name:    "dotdot",
			entries: func(string) []entry { return []entry{file("../x", "pwned")} },
			wantErr: ErrUnsafePath,
		},
		{
			name:    "dotdot into outside",
			entries: func(string) []entry { return []entry{file("a/../../outside/keep", "pwned")} },
			wantErr: ErrUnsafePath,
		},
		{
			name:    "absolute path",
			entries: func(string) []entry { return []entry{file("/etc/"+marker, "x")} },
			inside:  "etc/" + marker,
		},
		{
			name:    "absolute path to outside",
			entries: func(outside string) []entry { return []entry{file(filepath.Join(outside, "keep"), "pwned")} },
		},
		{
			name:    "symlink to root then file through it",
			entries: func(string) []entry { return []entry{symlink("s", "/"), file("s/"+marker, "x")} },
			inside:  marker,
		},
		{
			name: "absolute symlink to outside then file through it",
			entries: func(outside string) []entry {
				return []entry{symlink("s", outside), file("s/x", "pwned"), file("s/keep", "pwned")}
			},
		},
		{
			name: "relative symlink climbing then file through it",
			entries: func(string) []entry {
				return []entry{dir("d/"), symlink("d/a", "../../.."), file("d/a/x", "x"), file("d/a/outside/keep", "pwned")}
			},
			inside: "x",
		},
		{
			name:    "relative symlink to outside then file through it",
			entries: func(string) []entry { return []entry{symlink("a", "../outside"), file("a/keep", "pwned")} },
			inside:  "outside/keep",
		},
		{
			name:    "hardlink to outside",
			entries: func(string) []entry { return []entry{hardlink("h", "../outside/keep")} },
			wantErr: ErrUnsafePath,
		},
		{
			name:    "hardlink through symlink to outside",
			entries: func(string) []entry { return []entry{symlink("s", "../outside"), hardlink("h", "s/keep")} },
			wantErr: os.ErrNotExist,
		},
		{
			name: "directory replaced by symlink then write through",
			entries: func(outside string) []entry {
				return []entry{dir("d/"), file("d/f", "x"), symlink("d", "../outside"), file("d/keep", "pwned"), file("d/new", "x")}
			},
			inside: "outside/new",
		},
		{
			name: "symlink replaced by file is not written through",
			entries: func(string) []entry {
				return []entry{symlink("s", "../outside/keep"), file("s", "pwned")}
			},
			inside: "s",
		},
		{
			name: "whiteout through symlink",
			entries: func(string) []entry {
				return []entry{symlink("s", "../outside"), file("s/.wh.keep", "")}
			},
			mayFail: true,
		},
		{
			name: "opaque through symlink",
			entries: func(string) []entry {
				return []entry{symlink("s", "../outside"), file("s/.wh..wh..opq", "")}
			},
			mayFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, dest, outside := sandbox(t)
			err := Unpack(bytes.NewReader(makeTar(t, tt.entries(outside))), dest, Options{})
			switch {
			case tt.wantErr == nil && err != nil && !tt.mayFail:
				t.Fatalf("Unpack: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Unpack error = %v, want %v", err, tt.wantErr)
			}
			assertContained(t, base, outside)
			if _, err := os.Lstat("/" + marker); err == nil {
				t.Errorf("/%s was created on the host", marker)
			}
			if tt.inside != "" {
				if _, err := os.Lstat(filepath.Join(dest, tt.inside)); err != nil {
					t.Errorf("expected %s inside dest: %v", tt.inside, err)
				}
			}
		})
	}
}

func TestUnpackNormal(t *testing.T) {
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	tar1 := []entry{
		{name: "./", typ: tar.TypeDir, mode: 0o755, mtime: mtime},
		{name: "bin/", typ: tar.TypeDir, mode: 0o755, mtime: mtime},
		{name: "bin/tool", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o4755, mtime: mtime},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777, mtime: mtime},
		{name: "shared/", typ: tar.TypeDir, mode: 0o2775, mtime: mtime},
		{name: "etc/secret", typ: tar.TypeReg, body: "s", mode: 0o640, mtime: mtime},
		{name: "etc/link", typ: tar.TypeSymlink, link: "secret", mode: 0o777, mtime: mtime},
		{name: "etc/hard", typ: tar.TypeLink, link: "etc/secret"},
		{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600, mtime: mtime},
		{name: "a/../b", typ: tar.TypeReg, body: "b", mode: 0o644, mtime: mtime},
		{name: "x", typ: tar.TypeReg, body: "file first", mode: 0o644},
		{name: "x/", typ: tar.TypeDir, mode: 0o700, mtime: mtime},
		{name: "attr", typ: tar.TypeReg, body: "a", mode: 0o644, xattrs: map[string]string{"user.test": "v", "user.overlay.redirect": "/etc"}},
	}
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			_, dest, _ := sandbox(t)
			// An existing directory with content is merged into.
			if err := os.MkdirAll(filepath.Join(dest, "etc"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dest, "etc", "old"), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			data := makeTar(t, tar1)
			if compress {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(data)
				zw.Close()
				data = buf.Bytes()
			}
			var warnings []string
			warn := func(f string, a ...any) { warnings = append(warnings, f) }
			if err := Unpack(bytes.NewReader(data), dest, Options{Warn: warn}); err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			modes := map[string]os.FileMode{
				"bin/tool":   0o755 | os.ModeSetuid,
				"tmp":        0o777 | os.ModeDir | os.ModeSticky,
				"shared":     0o775 | os.ModeDir | os.ModeSetgid,
				"etc/secret": 0o640,
				"etc/link":   os.ModeSymlink | 0o777,
				"run/fifo":   os.ModeNamedPipe | 0o600,
				"x":          os.ModeDir | 0o700,
				"etc/old":    0o644,
				"b":          0o644,
			}
			for p, want := range modes {
				fi, err := os.Lstat(filepath.Join(dest, p))
				if err != nil {
					t.Errorf("lstat %s: %v", p, err)
					continue
				}
				if fi.Mode() != want {
					t.Errorf("%s mode = %v, want %v", p, fi.Mode(), want)
				}
			}
			for _, p := range []string{".", "bin", "bin/tool", "etc/link", "tmp"} {
				fi, err := os.Lstat(filepath.Join(dest, p))
				if err == nil && !fi.ModTime().Equal(mtime) {
					t.Errorf("%s mtime = %v, want %v", p, fi.ModTime(), mtime)
				}
			}
			if l, err := os.Readlink(filepath.Join(dest, "etc/link")); err != nil || l != "secret" {
				t.Errorf("readlink etc/link = %q, %v", l, err)
			}
			var a, b unix.Stat_t
			if err := unix.Lstat(filepath.Join(dest, "etc/secret"), &a); err != nil {
				t.Fatal(err)
			}
			if err := unix.Lstat(filepath.Join(dest, "etc/hard"), &b); err != nil {
				t.Fatal(err)
			}
			if a.Ino != b.Ino {
				t.Errorf("etc/hard is not a hardlink of etc/secret")
			}
			if _, err := os.Stat(filepath.Join(dest, "a")); err == nil {
				t.Errorf("a/../b created directory a")
			}
			buf := make([]byte, 16)
			if n, err := unix.Lgetxattr(filepath.Join(dest, "attr"), "user.test", buf); err == nil {
				if string(buf[:n]) != "v" {
					t.Errorf("user.test = %q", buf[:n])
				}
			} else if !errors.Is(err, unix.ENOTSUP) {
				t.Errorf("getxattr user.test: %v", err)
			}
			if _, err := unix.Lgetxattr(filepath.Join(dest, "attr"), "user.overlay.redirect", buf); err == nil {
				t.Errorf("overlay xattr from the tarball was applied")
			}
		})
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe")
	if err := unix.Mknod(probe, unix.S_IFCHR, 0); err != nil {
		t.Skipf("cannot create a 0/0 character device here (needs Linux >= 5.8 or CAP_MKNOD): %v", err)
	}
	_, dest, _ := sandbox(t)
	entries := []entry{
		file("d/gone", "x"),
		dir("d/sub/"),
		file("d/sub/f", "x"),
		file("d/.wh.gone", ""),
		file("d/.wh.sub", ""),
		file("d/.wh.never", ""),
		dir("o/"),
		file("o/.wh..wh..opq", ""),
	}
	if err := Unpack(bytes.NewReader(makeTar(t, entries)), dest, Options{}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	for _, p := range []string{"d/gone", "d/sub", "d/never"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dest, p), &st); err != nil {
			t.Errorf("lstat %s: %v", p, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s is not a 0/0 character device (mode %o rdev %d)", p, st.Mode, st.Rdev)
		}
	}
	for _, p := range []string{"d/.wh.gone", "o/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(dest, p)); err == nil {
			t.Errorf("%s was extracted as a file", p)
		}
	}
	buf := make([]byte, 8)
	n, uerr := unix.Lgetxattr(filepath.Join(dest, "o"), "user.overlay.opaque", buf)
	m, terr := unix.Lgetxattr(filepath.Join(dest, "o"), "trusted.overlay.opaque", buf[4:])
	if !(uerr == nil && string(buf[:n]) == "y") && !(terr == nil && string(buf[4:4+m]) == "y") {
		t.Errorf("o is not marked opaque: user: %v, trusted: %v", uerr, terr)
	}
	if uerr != nil && !errors.Is(uerr, unix.ENOTSUP) {
		t.Errorf("user.overlay.opaque: %v", uerr)
	}
}

func TestUnpackBadWhiteout(t *testing.T) {
	_, dest, _ := sandbox(t)
	err := Unpack(bytes.NewReader(makeTar(t, []entry{file("d/.wh.", "")})), dest, Options{})
	if !errors.Is(err, ErrBadWhiteout) {
		t.Fatalf("Unpack error = %v, want ErrBadWhiteout", err)
	}
}

func TestUnpackDeviceNode(t *testing.T) {
	_, dest, _ := sandbox(t)
	var warned []string
	warn := func(f string, a ...any) { warned = append(warned, f) }
	dev := entry{name: "dev/null", typ: tar.TypeChar, mode: 0o666, devMajor: 1}
	if err := Unpack(bytes.NewReader(makeTar(t, []entry{dev})), dest, Options{Warn: warn}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	_, err := os.Lstat(filepath.Join(dest, "dev/null"))
	switch {
	case err == nil && len(warned) == 0:
		// privileged: the node was made
	case err != nil && len(warned) == 1 && warned[0] == "skipping device node %s":
		// rootless: skipped with a warning
	default:
		t.Errorf("device node: lstat err %v, warnings %q", err, warned)
	}
}

func TestUnpackEmptyAndGarbage(t *testing.T) {
	_, dest, _ := sandbox(t)
	if err := Unpack(bytes.NewReader(nil), dest, Options{}); err != nil {
		t.Errorf("empty stream: %v", err)
	}
	if err := Unpack(strings.NewReader("\x1f\x8bnot gzip"), dest, Options{}); err == nil {
		t.Errorf("broken gzip stream: no error")
	}
	if err := Unpack(bytes.NewReader(nil), filepath.Join(dest, "missing"), Options{}); err == nil {
		t.Errorf("missing destination: no error")
	}
}
