package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/config"
)

func regsFrom(t *testing.T, conf string) *config.Registries {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "registries.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := config.Env{Root: filepath.Join(dir, "root"), Getenv: func(k string) string {
		if k == "CONTAINERS_REGISTRIES_CONF" {
			return p
		}
		return ""
	}}
	r, err := config.LoadRegistries(env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveRef(t *testing.T) {
	two := "unqualified-search-registries = [\"a.io\", \"b.io\"]\n"
	tests := []struct {
		name, conf, ref string
		want            string
		err             error
	}{
		{"qualified", two, "c.io/x", "c.io/x:latest", nil},
		{"alias", two + "[aliases]\n\"app\" = \"q.io/team/app\"\n", "app:2", "q.io/team/app:2", nil},
		{"alias library", "[aliases]\n\"bb\" = \"docker.io/library/busybox\"\n", "bb", "docker.io/library/busybox:latest", nil},
		{"one registry", "unqualified-search-registries = [\"a.io\"]\nshort-name-mode=\"enforcing\"\n", "x", "a.io/x:latest", nil},
		{"permissive tries all", two, "x", "a.io/x:latest b.io/x:latest", nil},
		{"disabled tries all", two + "short-name-mode = \"disabled\"\n", "x", "a.io/x:latest b.io/x:latest", nil},
		{"enforcing without terminal", two + "short-name-mode = \"enforcing\"\n", "x", "", ErrShortNameAmbiguous},
		{"enforcing asks", two + "short-name-mode = \"enforcing\"\n", "x@sha256:" + strings.Repeat("a", 64), "b.io/x@sha256:" + strings.Repeat("a", 64), nil},
		{"permissive asks", two, "x", "b.io/x:latest", nil},
		{"none", "", "x", "", ErrNoSearchRegistries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o PullOptions
			if strings.Contains(tt.name, "asks") {
				o.Choose = func(short string, names []string) (int, error) { return 1, nil }
			}
			got, err := resolveRef(tt.ref, regsFrom(t, tt.conf), o)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.name)
			}
			if strings.Join(names, " ") != tt.want {
				t.Errorf("got %v, want %s", names, tt.want)
			}
			if strings.Contains(tt.name, "asks") && got[0].short != "x" {
				t.Errorf("a prompted choice is recorded as an alias: short = %q", got[0].short)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	conf := `
[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
[[registry.mirror]]
location = "m0.local/mirror-for-foo"
[[registry.mirror]]
location = "m1.local/foo"
insecure = true
pull-from-mirror = "digest-only"

[[registry]]
location = "example.com"
insecure = true

[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "cache.local:5000"

[[registry]]
location = "bad.example"
blocked = true
`
	regs := regsFrom(t, conf)
	dig := "@sha256:" + strings.Repeat("b", 64)
	tests := []struct{ name, want string }{
		{"example.com/foo/img:1", "m0.local/mirror-for-foo/img:1 internal.example.net/bar/img:1"},
		{"example.com/foo/img" + dig, "m0.local/mirror-for-foo/img" + dig + " m1.local/foo/img" + dig + "(insecure) internal.example.net/bar/img" + dig},
		{"example.com/other:1", "example.com/other:1(insecure)"},
		{"example.com/foobar:1", "example.com/foobar:1(insecure)"},
		{"a.b.corp.example/x:1", "cache.local:5000/x:1 a.b.corp.example/x:1"},
		{"elsewhere.io/x:1", "elsewhere.io/x:1"},
	}
	for _, tt := range tests {
		eps, err := endpoints(tt.name, regs, false)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, e := range eps {
			s := e.ref
			if e.insecure {
				s += "(insecure)"
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, got, tt.want)
		}
	}
	if _, err := endpoints("bad.example/x:1", regs, false); !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "registries.conf:") {
		t.Errorf("blocked: %v", err)
	}
}
