package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree writes files (path relative to dir: content) and returns dir.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testEnv is an Env below dir: root/ for the system, home/.config for
// the user, and vars for the environment.
func testEnv(dir string, vars map[string]string) Env {
	return Env{Root: filepath.Join(dir, "root"), ConfigHome: filepath.Join(dir, "home/.config"),
		Getenv: func(k string) string { return vars[k] }}
}

func rel(dir string, files []string) string {
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimPrefix(f, dir+"/"))
	}
	return strings.Join(out, " ")
}

func TestRegistriesFiles(t *testing.T) {
	all := map[string]string{
		"root/etc/containers/registries.conf":               "",
		"root/etc/containers/registries.conf.d/b.conf":      "",
		"root/etc/containers/registries.conf.d/a.conf":      "",
		"root/etc/containers/registries.conf.d/skip.txt":    "",
		"root/etc/containers/registries.conf.d/d.conf/x":    "",
		"home/.config/containers/registries.conf.d/z.conf":  "",
		"home/.config/containers/registries.conf.d/10.conf": "",
		"env.conf": "",
	}
	dir := tree(t, all)
	sys := "root/etc/containers/registries.conf root/etc/containers/registries.conf.d/a.conf root/etc/containers/registries.conf.d/b.conf home/.config/containers/registries.conf.d/10.conf home/.config/containers/registries.conf.d/z.conf"
	if got := rel(dir, testEnv(dir, nil).RegistriesFiles()); got != sys {
		t.Errorf("system, then drop-ins:\n got %s\nwant %s", got, sys)
	}
	env := "env.conf root/etc/containers/registries.conf.d/a.conf root/etc/containers/registries.conf.d/b.conf home/.config/containers/registries.conf.d/10.conf home/.config/containers/registries.conf.d/z.conf"
	for _, v := range []string{"CONTAINERS_REGISTRIES_CONF", "REGISTRIES_CONFIG_PATH"} {
		if got := rel(dir, testEnv(dir, map[string]string{v: filepath.Join(dir, "env.conf")}).RegistriesFiles()); got != env {
			t.Errorf("%s:\n got %s\nwant %s", v, got, env)
		}
	}
	os.WriteFile(filepath.Join(dir, "home/.config/containers/registries.conf"), nil, 0o644)
	user := "home/.config/containers/registries.conf home/.config/containers/registries.conf.d/10.conf home/.config/containers/registries.conf.d/z.conf"
	if got := rel(dir, testEnv(dir, nil).RegistriesFiles()); got != user {
		t.Errorf("the user's file replaces the system's and its drop-ins:\n got %s\nwant %s", got, user)
	}
}

func TestContainersFiles(t *testing.T) {
	dir := tree(t, map[string]string{
		"root/usr/share/containers/containers.conf":        "",
		"root/etc/containers/containers.conf":              "",
		"root/etc/containers/containers.conf.d/2.conf":     "",
		"root/etc/containers/containers.conf.d/1.conf":     "",
		"home/.config/containers/containers.conf":          "",
		"home/.config/containers/containers.conf.d/a.conf": "",
	})
	want := "root/usr/share/containers/containers.conf root/etc/containers/containers.conf root/etc/containers/containers.conf.d/1.conf root/etc/containers/containers.conf.d/2.conf home/.config/containers/containers.conf home/.config/containers/containers.conf.d/a.conf"
	if got := rel(dir, testEnv(dir, nil).ContainersFiles()); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	got := rel(dir, testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/only.conf", "CONTAINERS_CONF_OVERRIDE": dir + "/last.conf"}).ContainersFiles())
	if got != "only.conf last.conf" {
		t.Errorf("CONTAINERS_CONF alone, then the override: %s", got)
	}
	got = rel(dir, testEnv(dir, map[string]string{"CONTAINERS_CONF_OVERRIDE": dir + "/last.conf"}).ContainersFiles())
	if got != want+" last.conf" {
		t.Errorf("the override comes last: %s", got)
	}
}

func TestPolicyFile(t *testing.T) {
	dir := tree(t, map[string]string{"root/etc/containers/policy.json": "{}"})
	e := testEnv(dir, nil)
	if got := e.PolicyFile(); got != filepath.Join(dir, "root/etc/containers/policy.json") {
		t.Errorf("system: %s", got)
	}
	os.MkdirAll(filepath.Join(dir, "home/.config/containers"), 0o755)
	os.WriteFile(filepath.Join(dir, "home/.config/containers/policy.json"), []byte("{}"), 0o644)
	if got := e.PolicyFile(); got != filepath.Join(dir, "home/.config/containers/policy.json") {
		t.Errorf("the user's first: %s", got)
	}
	if got := testEnv(t.TempDir(), nil).PolicyFile(); got != "" {
		t.Errorf("none: %q", got)
	}
}
