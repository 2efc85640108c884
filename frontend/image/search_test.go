package image

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/config"
)

func TestSearchTerm(t *testing.T) {
	for _, tc := range []struct{ in, reg, term string }{
		{"127.0.0.1:5000/libpod/testimage", "127.0.0.1:5000", "libpod/testimage"},
		{"quay.io/podman", "quay.io", "podman"},
		{"localhost/x", "localhost", "x"},
		{"localhost:5000/", "localhost:5000", ""},
		{"library/alpine", "", "library/alpine"},
		{"alpine", "", "alpine"},
	} {
		if reg, term := SearchTerm(tc.in); reg != tc.reg || term != tc.term {
			t.Errorf("SearchTerm(%q) = %q, %q; want %q, %q", tc.in, reg, term, tc.reg, tc.term)
		}
	}
}

// registryAPI serves /v2/, a catalog (when repos is not nil) and the
// tags of every repository (not sorted), as a registry does.
func registryAPI(repos []string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/":
			w.Write([]byte("{}"))
		case r.URL.Path == "/v2/_catalog" && repos != nil:
			w.Write([]byte(`{"repositories":["` + strings.Join(repos, `","`) + `"]}`))
		case strings.HasSuffix(r.URL.Path, "/tags/list"):
			name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list")
			w.Write([]byte(`{"name":"` + name + `","tags":["latest","2","1"]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"code":"NOT_FOUND","message":"not found"}]}`))
		}
	}))
}

// TestSearch: the catalog's repositories whose names hold the term, up
// to the limit, as REGISTRY/NAME; the tags of one with ListTags, sorted; a
// registry without a catalog is ErrNoCatalog.
func TestSearch(t *testing.T) {
	srv := registryAPI([]string{"other/bb", "libpod/testimage", "libpod/other"})
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	regs := &config.Registries{}
	names := func(rs []SearchResult) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name+":"+r.Tag)
		}
		return out
	}
	ctx := context.Background()
	for _, tc := range []struct {
		term  string
		o     SearchOptions
		want  []string
		index string
	}{
		{term: host + "/libpod", want: []string{host + "/libpod/other:", host + "/libpod/testimage:"}},
		{term: host + "/", o: SearchOptions{Limit: 2}, want: []string{host + "/libpod/other:", host + "/libpod/testimage:"}},
		{term: host + "/bb", want: []string{host + "/other/bb:"}},
		{term: host + "/libpod/testimage:20220615"},
		{term: host + "/libpod/testimage", o: SearchOptions{ListTags: true, Limit: 2}, want: []string{host + "/libpod/testimage:1", host + "/libpod/testimage:2"}},
	} {
		tc.o.Registries = regs
		got, err := Search(ctx, tc.term, tc.o)
		if err != nil || !slices.Equal(names(got), tc.want) {
			t.Errorf("Search(%q, %+v) = %q, %v; want %q", tc.term, tc.o, names(got), err, tc.want)
		}
		for _, r := range got {
			if r.Index != host {
				t.Errorf("Search(%q): index %q, want %q", tc.term, r.Index, host)
			}
		}
	}
	if _, err := Search(ctx, host+"/x:1", SearchOptions{ListTags: true, Registries: regs}); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("ListTags of a tagged name: %v, want ErrInvalidRef", err)
	}
	if _, err := Search(ctx, "x", SearchOptions{Registries: regs}); !errors.Is(err, ErrNoSearchRegistries) {
		t.Errorf("a term without a registry and no search registries: %v", err)
	}
	bare := registryAPI(nil)
	defer bare.Close()
	_, err := Search(ctx, strings.TrimPrefix(bare.URL, "http://")+"/x", SearchOptions{Registries: regs})
	if !errors.Is(err, ErrNoCatalog) {
		t.Errorf("a registry without a catalog: %v, want ErrNoCatalog", err)
	}
	// Both registries searched; the results of the one that answered
	// come back with the other's error.
	regs.Search = []string{host, strings.TrimPrefix(bare.URL, "http://")}
	got, err := Search(ctx, "testimage", SearchOptions{Registries: regs})
	if !errors.Is(err, ErrNoCatalog) || !slices.Equal(names(got), []string{host + "/libpod/testimage:"}) {
		t.Errorf("two search registries: %q, %v", names(got), err)
	}
}
