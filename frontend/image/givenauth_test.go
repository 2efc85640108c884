package image

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// staticKeychain answers every registry with one authenticator.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// TestGivenKeychain: credentials a caller gives are sent to the image's
// registry (Docker Hub under any of its names) and to no other, which
// gets the auth files' answer.
func TestGivenKeychain(t *testing.T) {
	given := authn.AuthConfig{Username: "u", Password: "p"}
	files := authn.FromConfig(authn.AuthConfig{Username: "from-files"})
	for _, tc := range []struct {
		host, ref, want string
	}{
		{"reg.example:5000", "reg.example:5000/a/b:1", "u"},
		{"reg.example:5000", "mirror.example/a/b:1", "from-files"},
		{"reg.example:5000", "reg.example/a/b:1", "from-files"},
		{"docker.io", "index.docker.io/library/busybox:1", "u"},
	} {
		o := PullOptions{Auth: &given}
		k := o.keychain(conn{keys: staticKeychain{files}}, tc.host)
		ref, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if c.Username != tc.want {
			t.Errorf("%s for given credentials of %s: user %q, want %q", tc.ref, tc.host, c.Username, tc.want)
		}
	}
	if k := (PullOptions{}).keychain(conn{keys: staticKeychain{files}}, "x"); k != (staticKeychain{files}) {
		t.Errorf("without given credentials the keychain is %T, want the auth files'", k)
	}
}
