package container

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseTmpfs parses a --tmpfs value. A refusal is ErrInvalidVolume;
// an accepted mount is a tmpfs at an absolute clean path whose options
// start with Podman's defaults and keep the user's in order.
func FuzzParseTmpfs(f *testing.F) {
	for _, s := range []string{"/t", "/t:size=1m,mode=1777", "/t:noexec", "t", "/t/../..:", ":", "/a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		m, err := ParseTmpfs(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidVolume) {
				t.Fatalf("ParseTmpfs(%q): %v is not ErrInvalidVolume", v, err)
			}
			return
		}
		if m.Type != "tmpfs" || !filepath.IsAbs(m.Destination) || filepath.Clean(m.Destination) != m.Destination {
			t.Fatalf("ParseTmpfs(%q) = %+v", v, m)
		}
		if !slices.Equal(m.Options[:3], []string{"rw", "nosuid", "nodev"}) {
			t.Fatalf("ParseTmpfs(%q): options %q", v, m.Options)
		}
		if _, opts, _ := strings.Cut(v, ":"); opts != "" && strings.Join(m.Options[3:], ",") != opts {
			t.Fatalf("ParseTmpfs(%q): options %q", v, m.Options)
		}
	})
}

// FuzzResolveUser resolves a -u value against an image whose
// /etc/passwd and /etc/group are the fuzzer's. A refusal is
// ErrInvalidUser; numeric ids are taken as they are written, names only
// from the files, and supplementary groups only for a named user without
// a group.
func FuzzResolveUser(f *testing.F) {
	passwd := "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:/sbin/nologin\nweb:x:1000:1000::/home/web:/bin/sh\n# comment\nshort:x:5\n"
	group := "root:x:0:\nwheel:x:10:web,root\nweb:x:1000:\nstaff:x:50:web\n"
	for _, u := range []string{"", "0", "web", "web:wheel", "1000:10", "nobody", "web:nogroup", ":", "a:b:c", "4294967295", "4294967296", "web:", ":0", "bin:x"} {
		f.Add(u, []byte(passwd), []byte(group))
	}
	f.Add("x", []byte("x:x:notanumber:0::/:/bin/sh\n"), []byte("g:x:1:x,x,x\n"))
	f.Fuzz(func(t *testing.T, u string, passwd, group []byte) {
		layer := t.TempDir()
		etc := filepath.Join(layer, "etc")
		if err := os.Mkdir(etc, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, "passwd"), passwd, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, "group"), group, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := resolveUser(u, []string{layer})
		if err != nil {
			if !errors.Is(err, ErrInvalidUser) {
				t.Fatalf("resolveUser(%q): %v is not ErrInvalidUser", u, err)
			}
			return
		}
		if u == "" {
			u = "0"
		}
		name, grp, hasGroup := strings.Cut(u, ":")
		if n, err := strconv.ParseUint(name, 10, 32); err == nil && uint64(got.UID) != n {
			t.Fatalf("resolveUser(%q): uid %d", u, got.UID)
		} else if err != nil && !strings.Contains(string(passwd), name+":") {
			t.Fatalf("resolveUser(%q): the name %q is not in passwd, yet uid %d", u, name, got.UID)
		}
		if hasGroup {
			if n, err := strconv.ParseUint(grp, 10, 32); err == nil && uint64(got.GID) != n {
				t.Fatalf("resolveUser(%q): gid %d", u, got.GID)
			} else if err != nil && !strings.Contains(string(group), grp+":") {
				t.Fatalf("resolveUser(%q): the group %q is not in group, yet gid %d", u, grp, got.GID)
			}
			if len(got.AdditionalGids) > 0 {
				t.Fatalf("resolveUser(%q): supplementary groups %v with an explicit group", u, got.AdditionalGids)
			}
		}
		for _, g := range got.AdditionalGids {
			if g == got.GID {
				t.Fatalf("resolveUser(%q): the primary group %d also supplementary", u, g)
			}
		}
	})
}
