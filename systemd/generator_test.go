package systemd

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGenerate(t *testing.T) {
	root := t.TempDir()
	first, second := filepath.Join(root, "first"), filepath.Join(root, "second")
	out := filepath.Join(root, "out")
	write(t, filepath.Join(first, "web.container"), "[Container]\nImage=first\n[Install]\nWantedBy=default.target\n")
	write(t, filepath.Join(second, "web.container"), "[Container]\nImage=second\n")
	write(t, filepath.Join(second, "db.container"), "[Container]\nImage=db\n[Install]\nRequiredBy=web.service\n")
	write(t, filepath.Join(first, "bad.container"), "[Container]\nImage=bb\nNoSuchKey=1\n")
	write(t, filepath.Join(second, "worse.container"), "Image=bb\n")
	write(t, filepath.Join(first, "notes.txt"), "not a container file")
	write(t, filepath.Join(first, ".hidden.container"), "junk")

	rep, err := Generate(GenerateOptions{
		Dirs:      []string{first, filepath.Join(root, "missing"), second},
		OutputDir: out,
		Binary:    testBinary,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"db.service", "web.service"}; !reflect.DeepEqual(rep.Units, want) {
		t.Errorf("units %q, want %q", rep.Units, want)
	}
	var msgs []string
	for _, e := range rep.Errors {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		filepath.Join(first, "bad.container") + ":3: unknown key NoSuchKey= in [Container]",
		filepath.Join(second, "worse.container") + ":1: Image= is outside any [section]",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("errors\n%q\nwant\n%q", msgs, want)
	}

	web, err := os.ReadFile(filepath.Join(out, "web.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(web), "--log-driver=journald first\n") || strings.Contains(string(web), "second") {
		t.Errorf("web.service is not the first directory's:\n%s", web)
	}
	for link, target := range map[string]string{
		"default.target.wants/web.service": "../web.service",
		"web.service.requires/db.service":  "../db.service",
	} {
		got, err := os.Readlink(filepath.Join(out, link))
		if err != nil || got != target {
			t.Errorf("link %s -> %q (%v), want %q", link, got, err, target)
		}
	}
	for _, n := range []string{"bad.service", "worse.service", ".hidden.service"} {
		if _, err := os.Lstat(filepath.Join(out, n)); err == nil {
			t.Errorf("%s was written", n)
		}
	}

	// Run again over the same output (daemon-reload does): links and
	// files are replaced, not errors.
	rep, err = Generate(GenerateOptions{Dirs: []string{first, second}, OutputDir: out, Binary: testBinary})
	if err != nil || len(rep.Units) != 2 || len(rep.Errors) != 2 {
		t.Errorf("second run: %+v, %v", rep, err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 4 {
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		t.Errorf("output holds %q, want the two units and two link dirs (no temporary files)", n)
	}
}

func TestGenerateDryRun(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.container"), "[Container]\nImage=bb\n[Install]\nWantedBy=default.target\n")
	var buf bytes.Buffer
	rep, err := Generate(GenerateOptions{Dirs: []string{dir}, Binary: testBinary, DryRun: &buf})
	if err != nil || len(rep.Units) != 1 {
		t.Fatalf("%+v, %v", rep, err)
	}
	got := buf.String()
	if !strings.HasPrefix(got, "---a.service---\n# Automatically generated") ||
		!strings.HasSuffix(got, "# link default.target.wants/a.service -> ../a.service\n") {
		t.Errorf("dry run printed:\n%s", got)
	}
}

func TestGenerateNoOutputDir(t *testing.T) {
	if _, err := Generate(GenerateOptions{}); err == nil {
		t.Error("no output directory and no dry run was accepted")
	}
	f := filepath.Join(t.TempDir(), "file")
	write(t, f, "")
	if _, err := Generate(GenerateOptions{OutputDir: filepath.Join(f, "sub")}); err == nil {
		t.Error("an output directory that cannot be made was accepted")
	}
}

func TestSearchDirs(t *testing.T) {
	env := func(vars map[string]string, podman bool) SearchEnv {
		return SearchEnv{
			Getenv:        func(k string) string { return vars[k] },
			UID:           1000,
			Home:          func(uid int) string { return "/home/pw" },
			PodmanQuadlet: podman,
		}
	}
	for _, tc := range []struct {
		name   string
		user   bool
		vars   map[string]string
		podman bool
		want   []string
	}{
		{"system", false, nil, false, []string{"/etc/myctr/systemd", "/usr/share/myctr/systemd",
			"/etc/containers/systemd", "/usr/share/containers/systemd"}},
		{"system with Podman's quadlet", false, nil, true, []string{"/etc/myctr/systemd", "/usr/share/myctr/systemd"}},
		{"user, XDG_CONFIG_HOME", true, map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, false, []string{
			"/x/myctr/systemd", "/etc/myctr/systemd/users/1000", "/etc/myctr/systemd/users",
			"/x/containers/systemd", "/etc/containers/systemd/users/1000", "/etc/containers/systemd/users"}},
		{"user, HOME", true, map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "relative"}, false, []string{
			"/h/.config/myctr/systemd", "/etc/myctr/systemd/users/1000", "/etc/myctr/systemd/users",
			"/h/.config/containers/systemd", "/etc/containers/systemd/users/1000", "/etc/containers/systemd/users"}},
		{"user, passwd", true, nil, false, []string{
			"/home/pw/.config/myctr/systemd", "/etc/myctr/systemd/users/1000", "/etc/myctr/systemd/users",
			"/home/pw/.config/containers/systemd", "/etc/containers/systemd/users/1000", "/etc/containers/systemd/users"}},
		{"user with Podman's quadlet", true, map[string]string{"HOME": "/h"}, true, []string{
			"/h/.config/myctr/systemd", "/etc/myctr/systemd/users/1000", "/etc/myctr/systemd/users"}},
		{"override", true, map[string]string{DirsEnv: "/a::/b", "HOME": "/h"}, true, []string{"/a", "/b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SearchDirs(tc.user, env(tc.vars, tc.podman)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMyctrBinary(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == BinaryEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct{ env, exe, want string }{
		{"/opt/myctr", "/usr/local/libexec/myctr/myctr-generator", "/opt/myctr"},
		{"", "/usr/local/libexec/myctr/myctr-generator", "/usr/local/bin/myctr"},
		{"", "/usr/libexec/myctr/myctr-generator", "/usr/bin/myctr"},
		{"", "/src/myctr/bin/myctr-generator", "/usr/bin/myctr"},
		{"", "", "/usr/bin/myctr"},
	} {
		if got := MyctrBinary(env(tc.env), tc.exe); got != tc.want {
			t.Errorf("MyctrBinary(%q, %q) = %q, want %q", tc.env, tc.exe, got, tc.want)
		}
	}
}
