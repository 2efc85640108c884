package volume

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kernelOptions are the Options a parsed -v or --mount may carry.
var kernelOptions = []string{"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
	"private", "rprivate", "shared", "rshared", "slave", "rslave"}

// checkMount is what every accepted mount must be: a known type, an
// absolute clean destination, a bind's absolute clean source, a volume's
// valid name (or none), known options, and not both ro and rw.
func checkMount(t *testing.T, arg string, m Mount) {
	t.Helper()
	if !filepath.IsAbs(m.Destination) || filepath.Clean(m.Destination) != m.Destination {
		t.Fatalf("%q: destination %q", arg, m.Destination)
	}
	switch m.Type {
	case TypeBind:
		if !filepath.IsAbs(m.Source) || filepath.Clean(m.Source) != m.Source {
			t.Fatalf("%q: bind source %q", arg, m.Source)
		}
	case TypeVolume:
		if m.Source != "" && ValidName(m.Source) != nil {
			t.Fatalf("%q: volume name %q", arg, m.Source)
		}
	case TypeTmpfs:
		if m.Source != "" {
			t.Fatalf("%q: tmpfs source %q", arg, m.Source)
		}
	default:
		t.Fatalf("%q: type %q", arg, m.Type)
	}
	rorw := 0
	for _, o := range m.Options {
		if o == "ro" || o == "rw" {
			rorw++
		}
		tmpfsOpt := m.Type == TypeTmpfs && (strings.HasPrefix(o, "size=") || strings.HasPrefix(o, "mode="))
		if !slices.Contains(kernelOptions, o) && !tmpfsOpt {
			t.Fatalf("%q: option %q", arg, o)
		}
	}
	if rorw > 1 {
		t.Fatalf("%q: options %q", arg, m.Options)
	}
}

// asMountFlag writes a bind or volume mount in --mount syntax, or ""
// when its paths hold the separators that syntax cannot quote.
func asMountFlag(m Mount) string {
	if strings.ContainsAny(m.Source+m.Destination, ",=") {
		return ""
	}
	parts := []string{"type=" + m.Type, "destination=" + m.Destination}
	if m.Source != "" {
		parts = append(parts, "source="+m.Source)
	}
	parts = append(parts, m.Options...)
	if m.Chown {
		parts = append(parts, "U=true")
	}
	if m.NoCopy {
		parts = append(parts, "nocopy")
	}
	return strings.Join(parts, ",")
}

// FuzzParseVolumeFlag parses a -v value. Refusals are ErrInvalidMount;
// an accepted mount is well formed (checkMount), and the same mount
// written in --mount syntax parses to the same mount.
func FuzzParseVolumeFlag(f *testing.F) {
	for _, s := range []string{
		"/data", "/h:/c", "/h:/c:ro,U", "./rel:/c:rw,z,Z", "name:/c:nocopy", "/c:ro", "/h:c", "/h:/c:ro,rw",
		"/h:/c:bogus", "::", "/h:/c:/x:y", "bad name:/c", "/h/../..:/c/../..", "/h:/c:rshared,noexec,nosuid,nodev",
		"/a,b:/c=d", "-x:/c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		m, err := ParseVolumeFlag(arg)
		if err != nil {
			if !errors.Is(err, ErrInvalidMount) {
				t.Fatalf("ParseVolumeFlag(%q): %v is not ErrInvalidMount", arg, err)
			}
			return
		}
		checkMount(t, arg, m)
		if s := asMountFlag(m); s != "" {
			again, err := ParseMountFlag(s)
			if err != nil || !again.Same(m) {
				t.Fatalf("-v %q = %+v; --mount %q = %+v, %v", arg, m, s, again, err)
			}
		}
	})
}

// FuzzParseMountFlag parses a --mount value. Refusals are
// ErrInvalidMount; an accepted mount is well formed (checkMount), and a
// bind or volume mount written back parses to the same mount.
func FuzzParseMountFlag(f *testing.F) {
	for _, s := range []string{
		"type=bind,source=/h,target=/c", "type=bind,src=/h,dst=/c,ro,U=true,bind-propagation=rslave",
		"type=volume,source=v,destination=/c,volume-nocopy", "type=volume,target=/c,readonly=false",
		"type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777", "type=tmpfs,source=x,target=/t",
		"type=bind,target=/c", "type=image,target=/c", "type=bind,source=/h,target=rel", "ro=maybe",
		"type=bind,source=/h,target=/c,ro,rw", "type=bind,source=/h,target=/c,bind-propagation=private,bind-propagation=bogus",
		"type=bind,source=/h,target=/c,relabel=shared,consistency=cached", "type=volume,source=../x,target=/c", ",,=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		m, err := ParseMountFlag(arg)
		if err != nil {
			if !errors.Is(err, ErrInvalidMount) {
				t.Fatalf("ParseMountFlag(%q): %v is not ErrInvalidMount", arg, err)
			}
			return
		}
		checkMount(t, arg, m)
		if m.Type == TypeTmpfs {
			return
		}
		if s := asMountFlag(m); s != "" {
			again, err := ParseMountFlag(s)
			if err != nil || !again.Same(m) {
				t.Fatalf("--mount %q = %+v; written back %q = %+v, %v", arg, m, s, again, err)
			}
		}
	})
}
