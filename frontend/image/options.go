package image

// What a pull is asked to do, and the platforms it picks from: the part
// of pulling that the lean myctr (frontend/cli's lean.go) links too. The
// registry client itself (pull.go, push.go, search.go, manifest.go,
// registry.go, auth.go: go-containerregistry's remote, net/http, TLS) is
// built only into myctr-full; the lean myctr pulls through it.

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/myctr/myctr/frontend/config"
)

// PullOptions tune Pull.
type PullOptions struct {
	// SkipTLSVerify is --tls-verify=false: certificates go unchecked and
	// plain HTTP is allowed for any registry. Without it, plain HTTP is
	// used only for registries on this machine.
	SkipTLSVerify bool
	// Progress, when set, receives what Pull does: a line per blob, or
	// a redrawn progress line per blob when it is a terminal.
	Progress io.Writer
	// Registries is the merged registries.conf; nil reads the host's
	// (config.HostEnv).
	Registries *config.Registries
	// Policy is policy.json; nil reads the host's.
	Policy *config.Policy
	// Env is where a short-name alias chosen at the prompt is recorded;
	// nil is config.HostEnv.
	Env *config.Env
	// Choose, when set (on a terminal), asks the user which of names
	// (full names for the short name) to pull; it returns an index.
	Choose func(short string, names []string) (int, error)
	// Auth, when set, are credentials the caller holds (a Docker API
	// client's X-Registry-Auth) for the registry of the image named:
	// they are used there in place of the auth files'.
	Auth *authn.AuthConfig
	// Platform, when set, is the platform to pick from a multi-platform
	// index (pull --platform); nil is the host's.
	Platform *ggcrv1.Platform
}

// platform is the platform o picks from an index: its own, or the host's.
func (o PullOptions) platform() ggcrv1.Platform {
	if o.Platform != nil {
		return *o.Platform
	}
	return hostPlatform()
}

// ErrBadPlatform is a --platform (--os, --arch, --variant) that names no
// platform.
var ErrBadPlatform = errors.New("invalid platform")

// ParsePlatform reads OS[/ARCH[/VARIANT]] as Docker and Podman take it,
// with the --os, --arch and --variant flags over its parts; the parts
// left out are the host's (no variant unless given). "" and no flags is
// nil: the host's.
func ParsePlatform(s, goos, arch, variant string) (*ggcrv1.Platform, error) {
	if s == "" && goos == "" && arch == "" && variant == "" {
		return nil, nil
	}
	host := hostPlatform()
	p := ggcrv1.Platform{OS: host.OS, Architecture: host.Architecture}
	if s != "" {
		parts := strings.Split(s, "/")
		if len(parts) > 3 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("%w %q: want OS[/ARCH[/VARIANT]], such as linux/amd64", ErrBadPlatform, s)
		}
		p.OS = parts[0]
		if len(parts) > 1 {
			p.Architecture = parts[1]
		}
		if len(parts) > 2 {
			p.Variant = parts[2]
		}
	}
	if goos != "" {
		p.OS = goos
	}
	if arch != "" {
		p.Architecture = arch
	}
	if variant != "" {
		p.Variant = variant
	}
	// Go's and the kernel's names for the same machines.
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "aarch64":
		p.Architecture = "arm64"
	}
	return &p, nil
}

// IsHostPlatform reports whether p (nil: the host's) is a platform this
// machine runs natively: linux and GOARCH (any variant of it).
func IsHostPlatform(p *ggcrv1.Platform) bool {
	return p == nil || (p.OS == "linux" && p.Architecture == runtime.GOARCH)
}

// hostPlatform is the platform Pull picks from a multi-platform index.
func hostPlatform() ggcrv1.Platform {
	p := ggcrv1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}
