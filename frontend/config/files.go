package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Env says where configuration files are looked for. HostEnv is the
// real one; tests make their own.
type Env struct {
	// Root stands in for "/" in the system's paths (/etc/containers,
	// /usr/share/containers): $MYCTR_CONFIG_ROOT, else "/". It lets a
	// test (or a user trying a configuration) give myctr a whole set of
	// system files without writing to /etc.
	Root string
	// ConfigHome is $XDG_CONFIG_HOME, else ~/.config; "" when there is
	// no home directory (then only system files are read).
	ConfigHome string
	// Getenv reads Podman's variables (CONTAINERS_REGISTRIES_CONF,
	// REGISTRIES_CONFIG_PATH, CONTAINERS_CONF, CONTAINERS_CONF_OVERRIDE).
	Getenv func(string) string
}

// HostEnv is the Env of this process.
func HostEnv() Env {
	e := Env{Root: os.Getenv("MYCTR_CONFIG_ROOT"), Getenv: os.Getenv}
	if e.Root == "" {
		e.Root = "/"
	}
	e.ConfigHome = os.Getenv("XDG_CONFIG_HOME")
	if e.ConfigHome == "" {
		if home, err := os.UserHomeDir(); err == nil {
			e.ConfigHome = filepath.Join(home, ".config")
		}
	}
	return e
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// sys is a system path below Root.
func (e Env) sys(p string) string { return filepath.Join(e.Root, p) }

// user is a path below ConfigHome/containers, or "" without a home.
func (e Env) user(name string) string {
	if e.ConfigHome == "" {
		return ""
	}
	return filepath.Join(e.ConfigHome, "containers", name)
}

func exists(p string) bool {
	if p == "" {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// dropIns lists dir's *.conf files in lexical order; subdirectories and
// other files are passed over, and a missing dir is no error.
func dropIns(dir string) []string {
	if dir == "" {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, en := range ents {
		if en.IsDir() || !strings.HasSuffix(en.Name(), ".conf") {
			continue
		}
		out = append(out, filepath.Join(dir, en.Name()))
	}
	sort.Strings(out)
	return out
}

// RegistriesFiles lists the registries.conf files that are read, in
// order, each overriding what came before (containers-registries.conf(5)
// and containers-registries.conf.d(5)):
//
//   - the main file: $CONTAINERS_REGISTRIES_CONF (or the older
//     $REGISTRIES_CONFIG_PATH) when set; else the user's
//     $XDG_CONFIG_HOME/containers/registries.conf when it exists, which
//     then replaces the system's /etc/containers/registries.conf;
//   - the drop-ins, *.conf in lexical order: /etc/containers/registries.conf.d
//     (not when the user's own main file is used), then the user's
//     registries.conf.d.
//
// Only files that exist are listed.
func (e Env) RegistriesFiles() []string {
	var main string
	userMain := false
	switch {
	case e.getenv("CONTAINERS_REGISTRIES_CONF") != "":
		main = e.getenv("CONTAINERS_REGISTRIES_CONF")
	case e.getenv("REGISTRIES_CONFIG_PATH") != "":
		main = e.getenv("REGISTRIES_CONFIG_PATH")
	case exists(e.user("registries.conf")):
		main, userMain = e.user("registries.conf"), true
	default:
		main = e.sys("etc/containers/registries.conf")
	}
	var files []string
	if exists(main) {
		files = append(files, main)
	}
	if !userMain {
		files = append(files, dropIns(e.sys("etc/containers/registries.conf.d"))...)
	}
	if d := e.user("registries.conf.d"); d != "" {
		files = append(files, dropIns(d)...)
	}
	return files
}

// AliasCache is the user's file of short-name aliases chosen at a prompt
// ($XDG_CONFIG_HOME/containers/short-name-aliases.conf); its aliases win
// over those of every registries.conf.
func (e Env) AliasCache() string { return e.user("short-name-aliases.conf") }

// ContainersFiles lists the containers.conf files that are read, in
// order, each overriding the keys it sets (containers.conf(5)):
// $CONTAINERS_CONF alone when set; else /usr/share/containers/containers.conf,
// /etc/containers/containers.conf, /etc/containers/containers.conf.d/*.conf,
// $XDG_CONFIG_HOME/containers/containers.conf and its containers.conf.d/*.conf.
// $CONTAINERS_CONF_OVERRIDE comes last in either case. Only files that
// exist are listed, except the ones the variables name: a variable that
// names a missing file is the caller's error to report.
func (e Env) ContainersFiles() []string {
	var files []string
	if p := e.getenv("CONTAINERS_CONF"); p != "" {
		files = append(files, p)
	} else {
		for _, p := range []string{e.sys("usr/share/containers/containers.conf"), e.sys("etc/containers/containers.conf")} {
			if exists(p) {
				files = append(files, p)
			}
		}
		files = append(files, dropIns(e.sys("etc/containers/containers.conf.d"))...)
		if p := e.user("containers.conf"); exists(p) {
			files = append(files, p)
		}
		if p := e.user("containers.conf"); p != "" {
			files = append(files, dropIns(p+".d")...)
		}
	}
	if p := e.getenv("CONTAINERS_CONF_OVERRIDE"); p != "" {
		files = append(files, p)
	}
	return files
}

// PolicyFile is the policy.json in force: the user's
// $XDG_CONFIG_HOME/containers/policy.json when it exists, else
// /etc/containers/policy.json; "" when neither exists.
func (e Env) PolicyFile() string {
	for _, p := range []string{e.user("policy.json"), e.sys("etc/containers/policy.json")} {
		if exists(p) {
			return p
		}
	}
	return ""
}
