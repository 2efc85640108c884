//go:build !lean

package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/myctr/myctr/frontend/config"
)

// SearchOptions tune Search.
type SearchOptions struct {
	// Limit is the most results per registry; 0 is Podman's 25.
	Limit int
	// ListTags lists the tags of the one repository the term names.
	ListTags bool
	// SkipTLSVerify is --tls-verify=false, as for Pull.
	SkipTLSVerify bool
	// Registries is the merged registries.conf; nil reads the host's.
	Registries *config.Registries
}

// SearchResult is one repository (or, with ListTags, one tag) found, in
// the fields of Podman's `search --format`. A catalog gives names only:
// no description, stars or official and automated marks.
type SearchResult struct {
	Index       string // the registry
	Name        string // REGISTRY/REPOSITORY
	Description string
	Stars       int
	Official    string
	Automated   string
	Tag         string // with ListTags
}

// DefaultSearchLimit is Podman's limit of results per registry.
const DefaultSearchLimit = 25

// SearchTerm splits what the user searches for into the registry it
// names ("" for none) and the term: "127.0.0.1:5000/libpod/testimage"
// is the registry 127.0.0.1:5000 and the term libpod/testimage.
func SearchTerm(s string) (registry, term string) {
	first, rest, ok := strings.Cut(s, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "", s
}

// Search looks for term in the catalogs of the registries it names, else
// of registries.conf's unqualified-search-registries: every repository
// whose name holds term, up to the limit per registry, sorted by name. A
// registry that cannot be searched is an error; when others answered,
// their results come back with it.
func Search(ctx context.Context, term string, o SearchOptions) ([]SearchResult, error) {
	if o.Registries == nil {
		regs, err := config.LoadRegistries(config.HostEnv())
		if err != nil {
			return nil, err
		}
		o.Registries = regs
	}
	if o.Limit <= 0 {
		o.Limit = DefaultSearchLimit
	}
	reg, term := SearchTerm(term)
	registries := []string{reg}
	if reg == "" {
		registries = o.Registries.Search
		if len(registries) == 0 {
			return nil, fmt.Errorf("search %q: %w", term, ErrNoSearchRegistries)
		}
	}
	if o.ListTags {
		if reg == "" {
			return nil, fmt.Errorf("%w: --list-tags needs a full repository name, REGISTRY/REPOSITORY (not %q)", ErrInvalidRef, term)
		}
		return listTags(ctx, reg, term, o)
	}
	var out []SearchResult
	var errs []error
	for _, r := range registries {
		found, err := searchRegistry(ctx, r, term, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, found...)
	}
	return out, errors.Join(errs...)
}

// remoteFor is the registry r and the options to speak to it with.
func remoteFor(ctx context.Context, r string, o SearchOptions) (name.Registry, []remote.Option, error) {
	insecure := o.SkipTLSVerify
	if c := o.Registries.Find(r); c != nil && c.Insecure {
		insecure = true
	}
	c := newConn(r, insecure)
	reg, err := name.NewRegistry(r, c.nameOpts...)
	if err != nil {
		return name.Registry{}, nil, fmt.Errorf("registry %q: %w: %w", r, ErrInvalidRef, err)
	}
	return reg, []remote.Option{remote.WithContext(ctx), remote.WithTransport(c.tr), remote.WithAuthFromKeychain(c.keys)}, nil
}

func searchRegistry(ctx context.Context, r, term string, o SearchOptions) ([]SearchResult, error) {
	reg, opts, err := remoteFor(ctx, r, o)
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusMethodNotAllowed) {
			return nil, fmt.Errorf("search %s: %w (GET /v2/_catalog: %d)", reg.RegistryStr(), ErrNoCatalog, te.StatusCode)
		}
		return nil, fmt.Errorf("search %s: %w", reg.RegistryStr(), classify(err))
	}
	sort.Strings(repos)
	var out []SearchResult
	for _, repo := range repos {
		if len(out) == o.Limit {
			break
		}
		if strings.Contains(repo, term) {
			out = append(out, SearchResult{Index: r, Name: r + "/" + repo})
		}
	}
	return out, nil
}

func listTags(ctx context.Context, r, repo string, o SearchOptions) ([]SearchResult, error) {
	if repo == "" || strings.ContainsAny(repo, ":@") {
		return nil, fmt.Errorf("%w: --list-tags needs a repository without a tag or digest (not %q)", ErrInvalidRef, r+"/"+repo)
	}
	reg, opts, err := remoteFor(ctx, r, o)
	if err != nil {
		return nil, err
	}
	nrepo, err := name.NewRepository(r+"/"+repo, name.WithDefaultRegistry(reg.RegistryStr()))
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w: %w", r+"/"+repo, ErrInvalidRef, err)
	}
	nrepo.Registry = reg
	tags, err := remote.List(nrepo, opts...)
	if err != nil {
		return nil, fmt.Errorf("list the tags of %s/%s: %w", r, repo, classify(err))
	}
	sort.Strings(tags) // a registry lists them in its own order
	var out []SearchResult
	for _, t := range tags {
		if len(out) == o.Limit {
			break
		}
		out = append(out, SearchResult{Index: r, Name: r + "/" + repo, Tag: t})
	}
	return out, nil
}
