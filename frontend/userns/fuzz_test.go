package userns

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseMode parses a --userns value: refusals are ErrInvalidMode or
// ErrModeUnsupported; an accepted keep-id's uid= and gid= are the
// numbers written.
func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"", "private", "host", "keep-id", "keep-id:uid=1000,gid=1000", "keep-id:uid=", "keep-id:uid=4294967296",
		"keep-id:gid=1,gid=2", "nomap", "auto", "auto:size=10", "ns:/proc/1/ns/user", "container:x", "host:x", "keep-id:,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidMode) && !errors.Is(err, ErrModeUnsupported) {
				t.Fatalf("ParseMode(%q): %v", s, err)
			}
			return
		}
		switch m.Kind {
		case ModePrivate, ModeHost, ModeNoMap:
			if m.UID != nil || m.GID != nil {
				t.Fatalf("ParseMode(%q) = %+v", s, m)
			}
		case ModeKeepID:
			// The last uid= and gid= written win.
			var uid, gid *uint32
			if _, opts, _ := strings.Cut(s, ":"); opts != "" {
				for _, o := range strings.Split(opts, ",") {
					k, v, _ := strings.Cut(o, "=")
					n, err := strconv.ParseUint(v, 10, 32)
					if err != nil {
						t.Fatalf("ParseMode(%q) accepted %q", s, o)
					}
					id := uint32(n)
					if k == "uid" {
						uid = &id
					} else {
						gid = &id
					}
				}
			}
			if !same(uid, m.UID) || !same(gid, m.GID) {
				t.Fatalf("ParseMode(%q) = %+v", s, m)
			}
		default:
			t.Fatalf("ParseMode(%q): kind %q", s, m.Kind)
		}
	})
}

func same(a, b *uint32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
