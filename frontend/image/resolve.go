package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/myctr/myctr/frontend/config"
)

// candidate is one full name a pull tries, and how it came about.
type candidate struct {
	name string
	// short is the short name without tag or digest, when name came
	// from a prompt: a successful pull records it as an alias.
	short string
}

// resolveRef returns the full names to try for ref, as Podman resolves
// short names (containers-registries.conf(5)): a full name is itself; a
// short name's alias (the user's cache of chosen aliases first, then the
// registries.conf files) is the only candidate; otherwise the
// unqualified-search-registries, according to short-name-mode: one
// registry is used as it is; with several, enforcing and permissive ask
// on a terminal (o.Choose), enforcing fails without one, and permissive
// and disabled try them all in order.
func resolveRef(ref string, regs *config.Registries, o PullOptions) ([]candidate, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if r.qualified {
		return []candidate{{name: r.String()}}, nil
	}
	suffix := ""
	if r.tag != "" {
		suffix += ":" + r.tag
	}
	if r.digest != "" {
		suffix += "@" + r.digest.String()
	}
	// Aliases are keyed by the name as written (no docker.io "library/").
	short := strings.TrimPrefix(r.path, "library/")
	if a, ok := regs.Aliases[short]; ok {
		c, err := parseRef(a.Value + suffix)
		if err != nil {
			return nil, fmt.Errorf("alias %s = %q (%s:%d): %w", short, a.Value, a.File, a.Line, err)
		}
		return []candidate{{name: c.String()}}, nil
	}
	if len(regs.Search) == 0 {
		where := "no registries.conf lists unqualified-search-registries"
		if regs.SearchFrom != "" {
			where = regs.SearchFrom + " lists no unqualified-search-registries"
		}
		return nil, fmt.Errorf("short name %q: no alias, and %s: %w", short, where, ErrNoSearchRegistries)
	}
	var all []candidate
	for _, reg := range regs.Search {
		c, err := parseRef(reg + "/" + r.path + suffix)
		if err != nil || !c.qualified {
			return nil, fmt.Errorf("unqualified-search-registries entry %q (%s): %w", reg, regs.SearchFrom, ErrInvalidRef)
		}
		all = append(all, candidate{name: c.String()})
	}
	mode := regs.ShortNameMode()
	if len(all) == 1 || mode == config.ShortNameDisabled {
		return all, nil
	}
	if o.Choose != nil {
		var names []string
		for _, c := range all {
			names = append(names, c.name)
		}
		i, err := o.Choose(short, names)
		if err != nil {
			return nil, err
		}
		pick := all[i]
		pick.short = short
		return []candidate{pick}, nil
	}
	if mode == config.ShortNameEnforcing {
		from := regs.ModeFrom
		return nil, fmt.Errorf("short name %q: short-name-mode is enforcing (%s), %d unqualified-search-registries could serve it (%s), and standard input and output are not a terminal to ask which: %w",
			short, from, len(regs.Search), strings.Join(regs.Search, ", "), ErrShortNameAmbiguous)
	}
	return all, nil
}

// endpoint is one place to fetch an image from.
type endpoint struct {
	ref      string // the physical name
	insecure bool   // plain HTTP and unverified TLS allowed
	mirror   bool
}

// endpoints returns where to fetch name from, in order: the mirrors of
// its [[registry]] that serve this kind of pull (by tag or by digest),
// then the registry's location (or name itself). A blocked registry is an
// error naming the file.
func endpoints(name string, regs *config.Registries, skipTLSVerify bool) ([]endpoint, error) {
	reg := regs.Find(name)
	if reg == nil {
		return []endpoint{{ref: name, insecure: skipTLSVerify}}, nil
	}
	if reg.Blocked {
		return nil, fmt.Errorf("%s: [[registry]] prefix %q in %s:%d has blocked = true: %w", name, reg.Prefix, reg.File, reg.Line, ErrBlocked)
	}
	byDigest := strings.Contains(name, "@")
	var out []endpoint
	for _, m := range reg.Mirrors {
		switch {
		case reg.MirrorByDigestOnly && !byDigest,
			m.PullFromMirror == "digest-only" && !byDigest,
			m.PullFromMirror == "tag-only" && byDigest:
			continue
		}
		out = append(out, endpoint{ref: reg.Rewrite(name, m.Location), insecure: m.Insecure || skipTLSVerify, mirror: true})
	}
	return append(out, endpoint{ref: reg.Rewrite(name, reg.Location), insecure: reg.Insecure || skipTLSVerify}), nil
}

// joinErrs reports every failed endpoint, as one error that still
// answers errors.Is for each.
func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// CreatedName is the image's name as a container is made with it
// (Podman's ImageName): the name of the image that ref spells, short or
// without a tag, else its first name (ref an id), else ref.
func CreatedName(ref string, names []string) string {
	for _, n := range names {
		for _, want := range []string{ref, ref + ":latest"} {
			if n == want || strings.HasSuffix(n, "/"+want) {
				return n
			}
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return ref
}
