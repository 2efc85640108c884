package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/pelletier/go-toml/v2"
)

// Short-name modes (short-name-mode in registries.conf).
const (
	ShortNameEnforcing  = "enforcing"
	ShortNamePermissive = "permissive"
	ShortNameDisabled   = "disabled"
)

// Registries is what the registries.conf files say, merged.
type Registries struct {
	Files []string // read, in order (the alias cache last, when it exists)

	Search     []string // unqualified-search-registries
	SearchFrom string   // the file that set it ("" when none did)
	Mode       string   // short-name-mode; "" is permissive, as Podman's
	ModeFrom   string
	Registries []Registry // [[registry]], in the order they were first defined
	Aliases    map[string]Alias
	// Unsupported lists keys of the files that myctr reads but does not
	// act on (credential-helpers, say); they are not errors.
	Unsupported []Key
}

// Registry is one [[registry]] table.
type Registry struct {
	Prefix   string // "host[:port][/path...]" or "*.domain"
	Location string // where the prefix's images are; "" for a wildcard without one
	Insecure bool
	Blocked  bool
	// MirrorByDigestOnly is mirror-by-digest-only: mirrors serve digest
	// pulls only.
	MirrorByDigestOnly bool
	Mirrors            []Mirror
	File               string
	Line               int
}

// Mirror is one [[registry.mirror]] table.
type Mirror struct {
	Location       string
	Insecure       bool
	PullFromMirror string // all (or ""), digest-only, tag-only
}

// Alias is a short name's full name and the file that said so.
type Alias struct {
	Value string
	File  string
	Line  int
}

type mirrorTOML struct {
	Location       string `toml:"location"`
	Insecure       bool   `toml:"insecure"`
	PullFromMirror string `toml:"pull-from-mirror"`
}

type registryTOML struct {
	Prefix             string       `toml:"prefix"`
	Location           string       `toml:"location"`
	Insecure           bool         `toml:"insecure"`
	Blocked            bool         `toml:"blocked"`
	MirrorByDigestOnly bool         `toml:"mirror-by-digest-only"`
	Mirror             []mirrorTOML `toml:"mirror"`
}

type registriesTOML struct {
	Search            *[]string         `toml:"unqualified-search-registries"`
	Mode              *string           `toml:"short-name-mode"`
	CredentialHelpers *[]string         `toml:"credential-helpers"`
	Registry          []registryTOML    `toml:"registry"`
	Aliases           map[string]string `toml:"aliases"`
	// Version 1's tables, recognized to be refused with a clear word.
	V1 map[string]any `toml:"registries"`
}

var (
	hostRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$`)
	})
	pathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`) })
	tagRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })
)

// LoadRegistries reads and merges e's registries.conf files and the
// user's alias cache. A later file's top-level keys replace the earlier
// ones; its [[registry]] tables replace those with the same prefix and
// add the others; its aliases replace (and an empty value removes)
// those of the same name. Bad input is an error naming the file and line.
func LoadRegistries(e Env) (*Registries, error) {
	r := &Registries{Aliases: map[string]Alias{}}
	for _, f := range e.RegistriesFiles() {
		if err := r.merge(f, false); err != nil {
			return nil, err
		}
	}
	if c := e.AliasCache(); exists(c) {
		if err := r.merge(c, true); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registries) merge(path string, cache bool) error {
	var t registriesTOML
	unknown, data, err := decodeFile(path, &t)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		k := unknown[0]
		return &FileError{File: path, Line: k.Line, Msg: fmt.Sprintf("unknown key %s", k.Name)}
	}
	r.Files = append(r.Files, path)
	bad := func(line int, format string, args ...any) error {
		return &FileError{File: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if t.V1 != nil {
		return bad(lineOf(data, "", 0, "registries"), "the version 1 format ([registries.search], [registries.insecure], [registries.block]) is not supported: use unqualified-search-registries and [[registry]] tables (version 2)")
	}
	if cache && (t.Search != nil || t.Mode != nil || t.Registry != nil || t.CredentialHelpers != nil) {
		return bad(0, "the short-name alias cache holds only an [aliases] table")
	}
	if t.Search != nil {
		for _, s := range *t.Search {
			if !hostRE().MatchString(s) {
				return bad(lineOf(data, "", 0, "unqualified-search-registries"), "unqualified-search-registries: %q is not a registry host[:port]", s)
			}
		}
		r.Search, r.SearchFrom = *t.Search, path
	}
	if t.Mode != nil {
		switch *t.Mode {
		case "", ShortNameEnforcing, ShortNamePermissive, ShortNameDisabled:
		default:
			return bad(lineOf(data, "", 0, "short-name-mode"), "short-name-mode %q: want enforcing, permissive or disabled", *t.Mode)
		}
		r.Mode, r.ModeFrom = *t.Mode, path
	}
	if t.CredentialHelpers != nil {
		r.Unsupported = append(r.Unsupported, Key{File: path, Line: lineOf(data, "", 0, "credential-helpers"), Name: "credential-helpers"})
	}
	seen := map[string]int{}
	for i, rt := range t.Registry {
		line := lineOf(data, "registry", i+1, "")
		reg, err := checkRegistry(rt)
		if err != nil {
			return bad(line, "[[registry]]: %v", err)
		}
		reg.File, reg.Line = path, line
		if first, ok := seen[reg.Prefix]; ok {
			return bad(line, "[[registry]] prefix %q is defined twice in this file (first on line %d)", reg.Prefix, first)
		}
		seen[reg.Prefix] = line
		replaced := false
		for j := range r.Registries {
			if r.Registries[j].Prefix == reg.Prefix {
				r.Registries[j], replaced = reg, true
			}
		}
		if !replaced {
			r.Registries = append(r.Registries, reg)
		}
	}
	names := make([]string, 0, len(t.Aliases))
	for n := range t.Aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := t.Aliases[n]
		line := lineOf(data, "aliases", 0, n)
		if err := checkAlias(n, v); err != nil {
			return bad(line, "[aliases] %v", err)
		}
		if v == "" {
			delete(r.Aliases, n)
			continue
		}
		r.Aliases[n] = Alias{Value: v, File: path, Line: line}
	}
	return nil
}

// checkRegistry validates one [[registry]] table and fills in the prefix.
func checkRegistry(rt registryTOML) (Registry, error) {
	reg := Registry{Prefix: rt.Prefix, Location: strings.TrimSuffix(rt.Location, "/"), Insecure: rt.Insecure,
		Blocked: rt.Blocked, MirrorByDigestOnly: rt.MirrorByDigestOnly}
	if reg.Prefix == "" {
		reg.Prefix = reg.Location
	}
	if reg.Prefix == "" {
		return reg, fmt.Errorf("neither prefix nor location is set")
	}
	if rt.Prefix != "" && reg.Location == "" && !strings.HasPrefix(rt.Prefix, "*.") {
		// As Podman's: only a wildcard prefix may go without a location.
		return reg, fmt.Errorf("prefix %q has no location (only a *.domain prefix may leave it out)", rt.Prefix)
	}
	if strings.HasPrefix(reg.Prefix, "*.") {
		if !hostRE().MatchString(reg.Prefix[2:]) || strings.Contains(reg.Prefix, ":") {
			return reg, fmt.Errorf("prefix %q: a wildcard prefix is *.domain, with nothing after the domain", reg.Prefix)
		}
	} else if err := checkLocation(reg.Prefix); err != nil {
		return reg, fmt.Errorf("prefix %q: %v", reg.Prefix, err)
	}
	if reg.Location != "" {
		if err := checkLocation(reg.Location); err != nil {
			return reg, fmt.Errorf("location %q: %v", reg.Location, err)
		}
	}
	for _, m := range rt.Mirror {
		loc := strings.TrimSuffix(m.Location, "/")
		if err := checkLocation(loc); err != nil {
			return reg, fmt.Errorf("mirror location %q: %v", m.Location, err)
		}
		switch m.PullFromMirror {
		case "", "all", "digest-only", "tag-only":
		default:
			return reg, fmt.Errorf("mirror %s: pull-from-mirror %q: want all, digest-only or tag-only", loc, m.PullFromMirror)
		}
		if rt.MirrorByDigestOnly && m.PullFromMirror != "" && m.PullFromMirror != "all" {
			return reg, fmt.Errorf("mirror %s: pull-from-mirror cannot go with the registry's mirror-by-digest-only", loc)
		}
		reg.Mirrors = append(reg.Mirrors, Mirror{Location: loc, Insecure: m.Insecure, PullFromMirror: m.PullFromMirror})
	}
	return reg, nil
}

// checkLocation accepts host[:port][/path...] with an optional :tag or
// @digest on the last part, as a prefix or location may have.
func checkLocation(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if strings.Contains(s, "://") {
		return fmt.Errorf("no scheme: write host[:port][/path] (insecure = true allows plain HTTP)")
	}
	name := s
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	if !hostRE().MatchString(parts[0]) {
		return fmt.Errorf("%q is not a host[:port]", parts[0])
	}
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			if n, tag, ok := strings.Cut(p, ":"); ok {
				if !tagRE().MatchString(tag) {
					return fmt.Errorf("bad tag %q", tag)
				}
				p = n
			}
		}
		if !pathRE().MatchString(p) {
			return fmt.Errorf("bad repository part %q", p)
		}
	}
	return nil
}

// checkAlias checks an [aliases] entry: a short name without tag or
// digest, and a full name without either (or "" to remove the alias).
func checkAlias(name, value string) error {
	if strings.ContainsAny(name, ":@") {
		return fmt.Errorf("%q: an alias name has no tag or digest", name)
	}
	first, _, found := strings.Cut(name, "/")
	if found && (strings.Contains(first, ".") || first == "localhost") || !pathRE().MatchString(strings.ReplaceAll(name, "/", "_")) {
		return fmt.Errorf("%q: an alias name is a short name (no registry, lowercase)", name)
	}
	if value == "" {
		return nil
	}
	host, rest, ok := strings.Cut(value, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") || rest == "" {
		return fmt.Errorf("%s = %q: the value must be a full name, registry/repository", name, value)
	}
	if strings.Contains(value, "@") || strings.Contains(rest, ":") {
		return fmt.Errorf("%s = %q: the value has no tag or digest", name, value)
	}
	return checkLocation(value)
}

// Find returns the [[registry]] whose prefix matches name (a full image
// name, host/path[:tag][@digest]) the longest, or nil.
func (r *Registries) Find(name string) *Registry {
	var best *Registry
	bestLen := -1
	for i := range r.Registries {
		reg := &r.Registries[i]
		n := matchLen(reg.Prefix, name)
		if n > bestLen {
			best, bestLen = reg, n
		}
	}
	if bestLen < 0 {
		return nil
	}
	return best
}

// matchLen is how much of name prefix matches, or -1. A plain prefix
// matches at a separator ("/", ":" or "@") or the end; "*.domain" matches
// any host below domain (ranked after every plain prefix of that host).
func matchLen(prefix, name string) int {
	if strings.HasPrefix(prefix, "*.") {
		host, _, _ := strings.Cut(name, "/")
		h := host
		if i := strings.LastIndex(h, ":"); i >= 0 {
			h = h[:i]
		}
		if strings.HasSuffix(h, prefix[1:]) {
			return len(prefix) - 2 // "*." matches no characters of its own
		}
		return -1
	}
	if !strings.HasPrefix(name, prefix) {
		return -1
	}
	if len(name) == len(prefix) {
		return len(prefix)
	}
	switch name[len(prefix)] {
	case '/', ':', '@':
		return len(prefix)
	}
	return -1
}

// Rewrite returns name with reg's prefix replaced by location (a
// mirror's, or the registry's own). A wildcard prefix replaces the host.
func (reg *Registry) Rewrite(name, location string) string {
	if location == "" {
		return name
	}
	if strings.HasPrefix(reg.Prefix, "*.") {
		_, rest, _ := strings.Cut(name, "/")
		return location + "/" + rest
	}
	return location + name[len(reg.Prefix):]
}

// ShortNameMode is the mode in force (permissive when unset).
func (r *Registries) ShortNameMode() string {
	if r.Mode == "" {
		return ShortNamePermissive
	}
	return r.Mode
}

// RecordAlias adds name = value to the user's alias cache (e's
// AliasCache), keeping what it holds: the choice made at a prompt is not
// asked again.
func RecordAlias(e Env, name, value string) error {
	path := e.AliasCache()
	if path == "" {
		return fmt.Errorf("record alias %s: no home directory", name)
	}
	var t struct {
		Aliases map[string]string `toml:"aliases"`
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := toml.Unmarshal(b, &t); err != nil {
			return &FileError{File: path, Msg: err.Error()}
		}
	}
	if t.Aliases == nil {
		t.Aliases = map[string]string{}
	}
	t.Aliases[name] = value
	b, err := toml.Marshal(t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("record alias %s: %w", name, err)
	}
	if err := atomicfile.WriteFile(path, append([]byte("# Short-name aliases chosen at myctr's prompt.\n"), b...), 0o600); err != nil {
		return fmt.Errorf("record alias %s: %w", name, err)
	}
	return nil
}
