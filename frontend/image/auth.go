//go:build !lean

package image

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// Registry credentials live in auth files of Docker's config.json format
// ({"auths": {"host": {"auth": base64("user:pass")}}}), which is also the
// format of Podman's containers/auth.json. We read them ourselves, in
// Podman's order, rather than through ggcr's default keychain, which reads
// only the first file it finds and prefers Docker's.

// AuthFile returns the file `myctr login` writes: $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else
// $XDG_CONFIG_HOME/containers/auth.json (~/.config when unset).
func AuthFile() (string, error) {
	if p := os.Getenv("REGISTRY_AUTH_FILE"); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "containers", "auth.json"), nil
	}
	dir, err := configHome()
	if err != nil {
		return "", fmt.Errorf("locate the auth file: %w", err)
	}
	return filepath.Join(dir, "containers", "auth.json"), nil
}

// authFiles lists the files credentials are read from, in order: the
// file login writes, ~/.config/containers/auth.json, then Docker's
// config.json ($DOCKER_CONFIG or ~/.docker).
func authFiles() []string {
	var files []string
	if f, err := AuthFile(); err == nil {
		files = append(files, f)
	}
	if os.Getenv("REGISTRY_AUTH_FILE") != "" {
		return files
	}
	if dir, err := configHome(); err == nil {
		files = append(files, filepath.Join(dir, "containers", "auth.json"))
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		files = append(files, filepath.Join(d, "config.json"))
	} else if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".docker", "config.json"))
	}
	return files
}

func configHome() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config"), nil
}

// authEntry is one registry's entry of an auth file.
type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

func (e authEntry) config() (authn.AuthConfig, error) {
	c := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken}
	if e.Auth != "" {
		b, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return c, fmt.Errorf("decode auth: %w", err)
		}
		user, pass, ok := strings.Cut(string(b), ":")
		if !ok {
			return c, errors.New("decode auth: no ':' between user and password")
		}
		c.Username, c.Password = user, pass
	}
	return c, nil
}

// readAuthFile returns the "auths" of an auth file and the whole file as
// raw JSON members (kept on rewrite). A missing file is empty.
func readAuthFile(path string) (map[string]authEntry, map[string]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]authEntry{}, map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read auth file: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, nil, fmt.Errorf("parse auth file %s: %w", path, err)
	}
	if all == nil {
		all = map[string]json.RawMessage{}
	}
	auths := map[string]authEntry{}
	if raw, ok := all["auths"]; ok {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return nil, nil, fmt.Errorf("parse auth file %s: auths: %w", path, err)
		}
	}
	if auths == nil {
		auths = map[string]authEntry{}
	}
	return auths, all, nil
}

// authKeys returns the keys under which an auth file may hold the
// credentials of repository repo ("host[:port]/path") on registry host:
// the most specific first (Podman allows per-namespace entries), and
// Docker Hub's historical key for docker.io.
func authKeys(host, repo string) []string {
	var keys []string
	for r := repo; strings.Contains(r, "/"); r = r[:strings.LastIndex(r, "/")] {
		keys = append(keys, r)
	}
	hosts := []string{host}
	if isDockerHub(host) {
		hosts = []string{"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"}
	}
	for _, h := range hosts {
		keys = append(keys, h, "https://"+h, "http://"+h, "https://"+h+"/v1/", "https://"+h+"/v2/")
	}
	return keys
}

func isDockerHub(host string) bool {
	return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io"
}

// lookupAuth finds credentials for repo on host in the auth files, the
// first file with an entry winning. ok is false when there are none.
func lookupAuth(files []string, host, repo string) (c authn.AuthConfig, ok bool, err error) {
	for _, f := range files {
		auths, _, err := readAuthFile(f)
		if err != nil {
			return c, false, err
		}
		for _, k := range authKeys(host, repo) {
			e, found := auths[k]
			if !found {
				continue
			}
			c, err := e.config()
			if err != nil {
				return c, false, fmt.Errorf("%s: entry %s: %w", f, k, err)
			}
			return c, true, nil
		}
	}
	return c, false, nil
}

// fileKeychain is an authn.Keychain over the auth files.
type fileKeychain struct{ files []string }

func (k fileKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	repo := host
	if s := r.String(); strings.HasPrefix(s, host+"/") {
		repo = s
		if i := strings.IndexAny(repo, "@"); i >= 0 {
			repo = repo[:i]
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
	}
	c, ok, err := lookupAuth(k.files, host, repo)
	if err != nil {
		return nil, err
	}
	if !ok {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(c), nil
}

// givenKeychain answers auth for host, and asks next for any other
// registry.
type givenKeychain struct {
	host string
	auth authn.AuthConfig
	next authn.Keychain
}

func (k givenKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host || (isDockerHub(k.host) && isDockerHub(r.RegistryStr())) {
		return authn.FromConfig(k.auth), nil
	}
	return k.next.Resolve(r)
}

// saveAuth records user and password for registry in the auth file,
// creating it with mode 0600 (its directory 0700); other members of the
// file are kept.
func saveAuth(path, registry, user, password string) error {
	auths, all, err := readAuthFile(path)
	if err != nil {
		return err
	}
	auths[registry] = authEntry{Auth: base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	return writeAuthFile(path, auths, all)
}

// removeAuth deletes registry's entry; ErrNotLoggedIn when there is none.
func removeAuth(path, registry string) error {
	auths, all, err := readAuthFile(path)
	if err != nil {
		return err
	}
	found := false
	for _, k := range authKeys(registry, registry) {
		if _, ok := auths[k]; ok {
			delete(auths, k)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%s in %s: %w", registry, path, ErrNotLoggedIn)
	}
	return writeAuthFile(path, auths, all)
}

func writeAuthFile(path string, auths map[string]authEntry, all map[string]json.RawMessage) error {
	raw, err := json.Marshal(auths)
	if err != nil {
		return fmt.Errorf("encode auth file: %w", err)
	}
	all["auths"] = raw
	b, err := json.MarshalIndent(all, "", "\t")
	if err != nil {
		return fmt.Errorf("encode auth file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create auth file directory: %w", err)
	}
	// atomicfile makes its temporary 0600: credentials never sit in a
	// file others can read, not even for a moment.
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write auth file: %w", err)
	}
	return nil
}
