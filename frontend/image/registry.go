//go:build !lean

package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/myctr/myctr/frontend/config"
)

// plainHTTPAllowed reports whether a registry host (host[:port]) may be
// spoken to without TLS: only the local machine ("localhost",
// 127.0.0.0/8, ::1). Anything else needs TLS unless the user turns
// verification off.
func plainHTTPAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// conn is how to reach one registry: name options for ggcr, the HTTP
// transport and the credentials.
type conn struct {
	nameOpts []name.Option
	tr       http.RoundTripper
	keys     authn.Keychain
}

// newConn prepares the connection to registry host. With skipTLSVerify,
// certificates are not checked and plain HTTP is allowed, as with
// Podman's --tls-verify=false.
func newConn(host string, skipTLSVerify bool) conn {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if skipTLSVerify {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	}
	c := conn{tr: httpGuard{inner: base, insecure: skipTLSVerify}, keys: fileKeychain{files: authFiles()}}
	// name.Insecure makes ggcr try plain HTTP after HTTPS. ggcr would do
	// so on its own for private (RFC 1918) addresses too: the guard
	// refuses those requests, so only HTTPS can succeed there.
	if skipTLSVerify || plainHTTPAllowed(host) {
		c.nameOpts = []name.Option{name.Insecure}
	}
	return c
}

// httpGuard refuses plain HTTP requests to hosts that must use TLS.
type httpGuard struct {
	inner    http.RoundTripper
	insecure bool
}

func (g httpGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure && !plainHTTPAllowed(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing plain HTTP to %s: %w", req.URL.Host, ErrInsecureRegistry)
	}
	return g.inner.RoundTrip(req)
}

// registryHost turns what a user types after `login` (a host, or a URL
// such as https://host/v2/) into host[:port]; docker.io stays docker.io.
func registryHost(s string) (string, error) {
	h := s
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h, _, _ = strings.Cut(h, "/")
	if h == "" {
		return "", fmt.Errorf("registry %q: %w", s, ErrInvalidRef)
	}
	if !domainRE().MatchString(h) {
		hostOnly := h
		if hh, _, err := net.SplitHostPort(h); err == nil {
			hostOnly = hh
		}
		if net.ParseIP(strings.Trim(hostOnly, "[]")) == nil {
			return "", fmt.Errorf("registry %q: %w", s, ErrInvalidRef)
		}
	}
	if h == "index.docker.io" || h == "registry-1.docker.io" {
		h = "docker.io"
	}
	return h, nil
}

// LoginOptions tune Login.
type LoginOptions struct {
	SkipTLSVerify bool   // --tls-verify=false
	AuthFile      string // default AuthFile()
	// CheckOnly checks the credentials and records nothing: the Docker
	// API's /auth, whose client keeps them itself.
	CheckOnly bool
}

// Login checks user and password against the registry's /v2/ endpoint
// (getting a token first where the registry asks for one) and, when the
// registry accepts them, records them in the auth file (mode 0600).
// Refused credentials give ErrUnauthorized. A registry that
// registries.conf marks insecure is spoken to as with SkipTLSVerify.
func Login(ctx context.Context, registry, user, password string, o LoginOptions) error {
	host, err := registryHost(registry)
	if err != nil {
		return err
	}
	if user == "" || password == "" {
		return errors.New("login: a user name and a password are needed")
	}
	insecure := o.SkipTLSVerify
	if !insecure {
		// registries.conf's insecure = true for the host, as for pulls.
		regs, err := config.LoadRegistries(config.HostEnv())
		if err != nil {
			return err
		}
		if r := regs.Find(host); r != nil && r.Insecure {
			insecure = true
		}
	}
	c := newConn(host, insecure)
	reg, err := name.NewRegistry(host, c.nameOpts...)
	if err != nil {
		return fmt.Errorf("registry %s: %w", host, ErrInvalidRef)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	tr, err := transport.NewWithContext(ctx, reg, auth, c.tr, nil)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", host, classify(err))
	}
	// The transport picked the scheme by pinging; the URL's is replaced.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", host, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("log in to %s: %s: %w", host, resp.Status, ErrUnauthorized)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("log in to %s: GET /v2/: %s", host, resp.Status)
	}
	if o.CheckOnly {
		return nil
	}
	path := o.AuthFile
	if path == "" {
		if path, err = AuthFile(); err != nil {
			return err
		}
	}
	if err := saveAuth(path, host, user, password); err != nil {
		return fmt.Errorf("log in to %s: %w", host, err)
	}
	return nil
}

// Logout removes the registry's credentials from the auth file (default
// AuthFile()); ErrNotLoggedIn when there were none.
func Logout(registry, authFile string) error {
	host, err := registryHost(registry)
	if err != nil {
		return err
	}
	if authFile == "" {
		if authFile, err = AuthFile(); err != nil {
			return err
		}
	}
	return removeAuth(authFile, host)
}

// classify wraps the registry errors a caller may want to tell apart.
func classify(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotInRegistry, err)
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%w: %w", ErrUnauthorized, err)
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("%w: %w", ErrNotInRegistry, err)
			}
		}
	}
	return err
}
