package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadRegistriesMerge(t *testing.T) {
	dir := tree(t, map[string]string{
		"root/etc/containers/registries.conf": `unqualified-search-registries = ["sys.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "a.io"
location = "a-sys.io"

[[registry]]
location = "b.io"
blocked = true

[aliases]
"app" = "sys.io/app"
"gone" = "sys.io/gone"
`,
		"root/etc/containers/registries.conf.d/50-x.conf": `
[[registry]]
prefix = "a.io"
location = "a-dropin.io"
insecure = true
[[registry.mirror]]
location = "mirror.local:5000/a"

[aliases]
"gone" = ""
`,
		"home/.config/containers/registries.conf.d/90-user.conf": `unqualified-search-registries = ["user.io", "other.io"]
[aliases]
"app" = "user.io/app"
`,
		"home/.config/containers/short-name-aliases.conf": "[aliases]\n\"cached\" = \"user.io/cached\"\n",
	})
	r, err := LoadRegistries(testEnv(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Search, ","); got != "user.io,other.io" || !strings.HasSuffix(r.SearchFrom, "90-user.conf") {
		t.Errorf("search %s from %s: the last file that sets it wins", got, r.SearchFrom)
	}
	if r.ShortNameMode() != ShortNameEnforcing {
		t.Errorf("mode %q: kept from the main file", r.Mode)
	}
	if len(r.Registries) != 2 {
		t.Fatalf("registries %+v", r.Registries)
	}
	a := r.Find("a.io/x/y:1")
	if a.Location != "a-dropin.io" || !a.Insecure || len(a.Mirrors) != 1 || !strings.HasSuffix(a.File, "50-x.conf") || a.Line != 2 {
		t.Errorf("a.io is replaced by the drop-in's table: %+v", a)
	}
	if b := r.Find("b.io/x"); b == nil || !b.Blocked || b.Line != 8 {
		t.Errorf("b.io kept from the main file: %+v", b)
	}
	if r.Aliases["app"].Value != "user.io/app" || r.Aliases["cached"].Value != "user.io/cached" {
		t.Errorf("aliases %+v", r.Aliases)
	}
	if _, ok := r.Aliases["gone"]; ok {
		t.Errorf("an empty alias value removes the alias")
	}
	if len(r.Files) != 4 || !strings.HasSuffix(r.Files[3], "short-name-aliases.conf") {
		t.Errorf("files %v", r.Files)
	}
	if r.Find("c.io/x") != nil {
		t.Errorf("c.io matches nothing")
	}
}

func TestRegistriesBadInput(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"wrong type", "unqualified-search-registries = \"docker.io\"\n", "registries.conf:1: unqualified-search-registries: "},
		{"wrong type in table", "[[registry]]\nlocation = \"a.io\"\ninsecure = \"yes\"\n", "registries.conf:3: registry.insecure: "},
		{"unknown key", "\n[[registry]]\nlocation = \"a.io\"\nmirrors = []\n", "registries.conf:4: unknown key registry.mirrors"},
		{"unknown table", "[registry-mirrors]\nx = 1\n", "registries.conf:1: unknown key registry-mirrors"},
		{"duplicate prefix", "[[registry]]\nlocation = \"a.io\"\n\n[[registry]]\nprefix = \"a.io\"\nlocation = \"b.io\"\n", "registries.conf:4: [[registry]] prefix \"a.io\" is defined twice in this file (first on line 1)"},
		{"syntax", "unqualified-search-registries = [\"a\"\n", "registries.conf:1: "},
		{"bad mode", "\nshort-name-mode = \"strict\"\n", "registries.conf:2: short-name-mode \"strict\""},
		{"scheme", "[[registry]]\nlocation = \"http://a.io\"\n", "registries.conf:1: [[registry]]: prefix \"http://a.io\": no scheme"},
		{"no location", "[[registry]]\ninsecure = true\n", "registries.conf:1: [[registry]]: neither prefix nor location"},
		{"prefix without location", "[[registry]]\nprefix = \"a.io/x\"\nblocked = true\n", "registries.conf:1: [[registry]]: prefix \"a.io/x\" has no location"},
		{"bad wildcard", "[[registry]]\nprefix = \"*.a.io/x\"\n", "a wildcard prefix is *.domain"},
		{"bad pull-from-mirror", "[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"sometimes\"\n", "pull-from-mirror \"sometimes\""},
		{"bad search entry", "unqualified-search-registries = [\"a.io/x\"]\n", "\"a.io/x\" is not a registry host[:port]"},
		{"alias with tag", "[aliases]\n\"app:1\" = \"a.io/app\"\n", "registries.conf:2: [aliases] \"app:1\": an alias name has no tag or digest"},
		{"alias to short name", "[aliases]\n\"app\" = \"app\"\n", "the value must be a full name"},
		{"alias value with tag", "[aliases]\n\"app\" = \"a.io/app:1\"\n", "the value has no tag or digest"},
		{"v1", "[registries.search]\nregistries = [\"a.io\"]\n", "version 1 format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"registries.conf": tt.conf})
			_, err := LoadRegistries(testEnv(dir, map[string]string{"CONTAINERS_REGISTRIES_CONF": dir + "/registries.conf"}))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFindLongestPrefix(t *testing.T) {
	r := &Registries{Registries: []Registry{{Prefix: "q.io"}, {Prefix: "q.io/team"}, {Prefix: "q.io/team/app:1"}, {Prefix: "*.corp.io"}, {Prefix: "x.corp.io"}}}
	for name, want := range map[string]string{
		"q.io/other:1":    "q.io",
		"q.io/team/b:1":   "q.io/team",
		"q.io/teamb/c:1":  "q.io",
		"q.io/team/app:1": "q.io/team/app:1",
		"q.io/team/app:2": "q.io/team",
		"a.b.corp.io/x:1": "*.corp.io",
		"x.corp.io/x:1":   "x.corp.io",
		"corp.io/x:1":     "",
		"q.iox/a:1":       "",
	} {
		got := ""
		if reg := r.Find(name); reg != nil {
			got = reg.Prefix
		}
		if got != want {
			t.Errorf("Find(%s) = %q, want %q", name, got, want)
		}
	}
	reg := Registry{Prefix: "q.io/team"}
	if got := reg.Rewrite("q.io/team/app:1", "m.local/cache"); got != "m.local/cache/app:1" {
		t.Errorf("rewrite %s", got)
	}
}

func TestRecordAlias(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(dir, nil)
	if err := RecordAlias(e, "app", "b.io/app"); err != nil {
		t.Fatal(err)
	}
	if err := RecordAlias(e, "tool", "a.io/tool"); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRegistries(e)
	if err != nil {
		t.Fatal(err)
	}
	if r.Aliases["app"].Value != "b.io/app" || r.Aliases["tool"].Value != "a.io/tool" {
		t.Errorf("%+v", r.Aliases)
	}
}
