package image

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
)

// defaultDomain is where names without a registry live: images made
// locally (import, build, tag).
const defaultDomain = "localhost"

// The patterns compile on first use: every process of the myctr binary
// (the container's init among them) would otherwise pay for them at start.
var (
	domainRE    = lazyRE(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$`)
	componentRE = lazyRE(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagRE       = lazyRE(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	hex64RE     = lazyRE(`^[a-f0-9]{64}$`)
)

func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// reference is a parsed image reference: domain/path[:tag][@digest].
type reference struct {
	domain string
	path   string
	tag    string
	digest digest.Digest
	// qualified tells whether the user wrote the domain.
	qualified bool
}

// repo returns domain/path.
func (r reference) repo() string { return r.domain + "/" + r.path }

func (r reference) String() string {
	s := r.repo()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest.String()
	}
	return s
}

// parseRef parses and normalizes ref: a missing domain becomes
// "localhost", a missing tag (without digest) becomes "latest", and
// docker.io single-component names gain "library/".
func parseRef(ref string) (reference, error) {
	bad := func(why string) (reference, error) {
		return reference{}, fmt.Errorf("%q: %s: %w", ref, why, ErrInvalidRef)
	}
	var r reference
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		d, err := digest.Parse(name[i+1:])
		if err != nil {
			return bad("bad digest")
		}
		r.digest = d
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		r.tag = name[i+1:]
		name = name[:i]
		if !tagRE().MatchString(r.tag) {
			return bad("bad tag")
		}
	}
	if name == "" {
		return bad("empty name")
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == defaultDomain) {
		if !domainRE().MatchString(parts[0]) {
			return bad("bad registry name")
		}
		r.domain, r.qualified = parts[0], true
		parts = parts[1:]
	} else {
		r.domain = defaultDomain
	}
	for _, p := range parts {
		if !componentRE().MatchString(p) {
			return bad("repository names must be lowercase letters, digits and separators")
		}
	}
	r.path = strings.Join(parts, "/")
	if !r.qualified && hex64RE().MatchString(r.path) {
		return bad("a 64-character hex string is an image ID, not a name")
	}
	if r.domain == "docker.io" && len(parts) == 1 {
		r.path = "library/" + r.path
	}
	if len(r.repo()) > 255 {
		return bad("name longer than 255 characters")
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	return r, nil
}

// NormalizeRef returns the full form of an image reference:
// "busybox" → "localhost/busybox:latest", "busybox:1" →
// "localhost/busybox:1", "quay.io/a/b" → "quay.io/a/b:latest",
// "a/b" → "localhost/a/b:latest"; a digest ("x@sha256:…") is kept and no
// tag is added. Invalid references give ErrInvalidRef.
func NormalizeRef(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}
