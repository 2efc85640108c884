package image

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseRef parses an image reference. A refusal is ErrInvalidRef;
// an accepted reference has a registry, a repository of at most 255
// characters, a tag or a digest, and its normal form is a fixed point:
// it parses to the same reference, qualified.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"busybox", "busybox:1", "quay.io/a/b", "a/b", "docker.io/alpine", "localhost:5000/x:y",
		"x@sha256:" + strings.Repeat("a", 64), "x:t@sha256:" + strings.Repeat("b", 64), strings.Repeat("c", 64),
		"UPPER", "a//b", "a:", ":t", "@", "a@sha256:short", "[::1]:5000/x", "registry:5000", "a/b/c/d:" + strings.Repeat("t", 129),
		"docker.io/library/busybox:latest", "-a", "a__b", "a---b", "a._b", "localhost",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("parseRef(%q): %v is not ErrInvalidRef", s, err)
			}
			return
		}
		if r.domain == "" || r.path == "" || len(r.repo()) > 255 || (r.tag == "" && r.digest == "") {
			t.Fatalf("parseRef(%q) = %+v", s, r)
		}
		n := r.String()
		r2, err := parseRef(n)
		if err != nil {
			t.Fatalf("parseRef(%q) = %q, which does not parse: %v", s, n, err)
		}
		if r2.String() != n || r2.domain != r.domain || r2.path != r.path || r2.tag != r.tag || r2.digest != r.digest || !r2.qualified {
			t.Fatalf("parseRef(%q) = %q (%+v), which parses to %+v", s, n, r, r2)
		}
	})
}
