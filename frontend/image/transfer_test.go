package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// isolateEnv points every file Pull and Login read (auth files,
// registries.conf) into a fresh directory.
func isolateEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("CONTAINERS_REGISTRIES_CONF", filepath.Join(dir, "registries.conf"))
	t.Setenv("MYCTR_CONFIG_ROOT", filepath.Join(dir, "root")) // no host /etc/containers
	return dir
}

// testImage builds an image of one layer (rootfs with marker) for arch,
// with Docker media types or OCI ones.
func testImage(t *testing.T, marker, arch string, oci bool) ggcrv1.Image {
	t.Helper()
	tarball1 := rootfs(t, marker)
	opts := []tarball.LayerOption{}
	if oci {
		opts = append(opts, tarball.WithMediaType(types.OCILayer))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarball1)), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	base := empty.Image
	if oci {
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// startRegistry serves ggcr's in-memory registry on 127.0.0.1, wrapped
// by wrap when given, and returns its host:port.
func startRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img ggcrv1.Image, opts ...remote.Option) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func ids(t *testing.T, img ggcrv1.Image) (id string, manifest digest.Digest) {
	t.Helper()
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return c.Hex, digest.Digest(m.String())
}

func TestPullKeepsDigests(t *testing.T) {
	isolateEnv(t)
	host := startRegistry(t, nil)
	for _, oci := range []bool{false, true} {
		t.Run(map[bool]string{false: "docker", true: "oci"}[oci], func(t *testing.T) {
			root := t.TempDir()
			s := openStore(t, root)
			img := testImage(t, "pulled", runtime.GOARCH, oci)
			ref := host + "/test/app:1"
			push(t, ref, img)
			wantID, wantDigest := ids(t, img)

			var out bytes.Buffer
			got, err := s.Pull(context.Background(), ref, PullOptions{Progress: &out})
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if got.ID != wantID || got.Digest != wantDigest {
				t.Errorf("pulled ID %s digest %s, want %s %s", got.ID, got.Digest, wantID, wantDigest)
			}
			if len(got.Names) != 1 || got.Names[0] != ref {
				t.Errorf("names %v, want [%s]", got.Names, ref)
			}
			b, err := os.ReadFile(filepath.Join(got.LayerDirs[0], "etc", "hostname"))
			if err != nil || string(b) != "pulled\n" {
				t.Errorf("unpacked etc/hostname = %q, %v", b, err)
			}
			raw, _ := img.RawManifest()
			stored, err := os.ReadFile(filepath.Join(root, "blobs", "sha256", wantDigest.Encoded()))
			if err != nil || !bytes.Equal(raw, stored) {
				t.Errorf("stored manifest differs from the registry's (%v)", err)
			}
			if got.Config.Config.Cmd[0] != "/bin/sh" || got.Size != int64(len(rootfs(t, "pulled"))) {
				t.Errorf("config %+v size %d", got.Config.Config, got.Size)
			}
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			if !strings.Contains(out.String(), "Copying blob "+ld.String()+" done") {
				t.Errorf("progress:\n%s", out.String())
			}
			if ents := entries(t, filepath.Join(root, "tmp")); len(ents) != 0 {
				t.Errorf("tmp/ holds %v after a pull", ents)
			}

			// Again, and under a short name: nothing is fetched again.
			out.Reset()
			again, err := s.Pull(context.Background(), ref, PullOptions{Progress: &out})
			if err != nil || again.ID != got.ID {
				t.Fatalf("second Pull: %v, %v", again, err)
			}
			if !strings.Contains(out.String(), "skipped: already exists") {
				t.Errorf("second pull progress:\n%s", out.String())
			}
			if byShort, err := s.Lookup("test/app:1"); err != nil || byShort.ID != got.ID {
				t.Errorf("Lookup short name: %v, %v", byShort, err)
			}
		})
	}
}

func TestPullIndexPicksHostPlatform(t *testing.T) {
	isolateEnv(t)
	host := startRegistry(t, nil)
	other := "s390x"
	if runtime.GOARCH == other {
		other = "amd64"
	}
	mine := testImage(t, "mine", runtime.GOARCH, true)
	theirs := testImage(t, "theirs", other, true)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: theirs, Descriptor: ggcrv1.Descriptor{Platform: &ggcrv1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: mine, Descriptor: ggcrv1.Descriptor{Platform: &ggcrv1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	ref, err := name.ParseReference(host+"/multi:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	got, err := s.Pull(context.Background(), host+"/multi", PullOptions{})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	wantID, wantDigest := ids(t, mine)
	if got.ID != wantID || got.Digest != wantDigest {
		t.Errorf("pulled %s %s, want the %s image %s %s", got.ID, got.Digest, runtime.GOARCH, wantID, wantDigest)
	}
	if got.Names[0] != host+"/multi:latest" {
		t.Errorf("names %v", got.Names)
	}
}

// basicAuth wraps a registry in HTTP basic authentication.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestPullWithAuth(t *testing.T) {
	dir := isolateEnv(t)
	host := startRegistry(t, basicAuth("alice", "s3cret"))
	img := testImage(t, "auth", runtime.GOARCH, false)
	push(t, host+"/private:1", img, remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"}))
	s := openStore(t, t.TempDir())
	ctx := context.Background()

	if _, err := s.Pull(ctx, host+"/private:1", PullOptions{}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Pull without credentials: %v, want ErrUnauthorized", err)
	}
	if err := Login(ctx, host, "alice", "wrong", LoginOptions{}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Login with a wrong password: %v, want ErrUnauthorized", err)
	}
	authFile := filepath.Join(dir, "run", "containers", "auth.json")
	if _, err := os.Stat(authFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("auth file written after a refused login: %v", err)
	}
	if err := Login(ctx, "http://"+host+"/v2/", "alice", "s3cret", LoginOptions{}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	fi, err := os.Stat(authFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth file: %v, %v", fi, err)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string }
	}
	b, _ := os.ReadFile(authFile)
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auths[host].Auth != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Errorf("auth file %s (%v)", b, err)
	}
	got, err := s.Pull(ctx, host+"/private:1", PullOptions{})
	if err != nil {
		t.Fatalf("Pull after login: %v", err)
	}
	if want, _ := ids(t, img); got.ID != want {
		t.Errorf("ID %s, want %s", got.ID, want)
	}
	if err := Logout(host, ""); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := Logout(host, ""); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("second Logout: %v, want ErrNotLoggedIn", err)
	}

	// Docker's config.json is read too, after the containers auth file.
	docker := filepath.Join(dir, ".docker", "config.json")
	os.MkdirAll(filepath.Dir(docker), 0o700)
	os.WriteFile(docker, []byte(`{"auths":{"`+host+`":{"username":"alice","password":"s3cret"}}}`), 0o600)
	if _, _, err := s.Remove(host+"/private:1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, host+"/private:1", PullOptions{}); err != nil {
		t.Fatalf("Pull with ~/.docker/config.json: %v", err)
	}
}

func TestPullDigestMismatchStoresNothing(t *testing.T) {
	isolateEnv(t)
	img := testImage(t, "good", runtime.GOARCH, false)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	var corrupted sync.Once
	done := false
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				body[len(body)/2] ^= 0xff // same size, other content
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
				corrupted.Do(func() { done = true })
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	push(t, host+"/bad:1", img)
	root := t.TempDir()
	s := openStore(t, root)
	_, err := s.Pull(context.Background(), host+"/bad:1", PullOptions{})
	if !done {
		t.Fatal("the layer was never fetched")
	}
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Pull of a corrupted layer: %v, want ErrDigestMismatch", err)
	}
	for _, d := range []string{"blobs/sha256", "layers", "tmp"} {
		if ents := entries(t, filepath.Join(root, d)); len(ents) != 0 {
			t.Errorf("%s holds %v after a failed pull", d, ents)
		}
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List after a failed pull: %v, %v", list, err)
	}
}

func TestPullShortName(t *testing.T) {
	dir := isolateEnv(t)
	host := startRegistry(t, nil)
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.Pull(ctx, "app", PullOptions{}); !errors.Is(err, ErrNoSearchRegistries) {
		t.Fatalf("Pull of a short name without registries.conf: %v", err)
	}
	img := testImage(t, "short", runtime.GOARCH, false)
	push(t, host+"/app:latest", img)
	conf := "# test\nunqualified-search-registries = [\n  \"127.0.0.1:1\", # nobody there\n  '" + host + "',\n]\n[[registry]]\nlocation = \"x\"\n"
	os.WriteFile(filepath.Join(dir, "registries.conf"), []byte(conf), 0o644)
	got, err := s.Pull(ctx, "app", PullOptions{})
	if err != nil {
		t.Fatalf("Pull app: %v", err)
	}
	if got.Names[0] != host+"/app:latest" {
		t.Errorf("names %v", got.Names)
	}
}

func TestPlainHTTPAllowed(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1:5000": true, "127.1.2.3": true,
		"[::1]:5000": true, "::1": true, "10.0.0.1:5000": false, "192.168.1.1": false,
		"example.com": false, "localhost.example.com": false,
	} {
		if got := plainHTTPAllowed(host); got != want {
			t.Errorf("plainHTTPAllowed(%q) = %v", host, got)
		}
	}
	g := httpGuard{inner: http.DefaultTransport}
	req, _ := http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := g.RoundTrip(req); !errors.Is(err, ErrInsecureRegistry) {
		t.Errorf("plain HTTP to 10.1.2.3: %v, want ErrInsecureRegistry", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, format := range []string{FormatOCIArchive, FormatDockerArchive} {
		t.Run(format, func(t *testing.T) {
			src := openStore(t, t.TempDir())
			a := mustImport(t, src, rootfs(t, "a"), "a:1")
			if err := src.Tag("a:1", "quay.io/me/a:2"); err != nil {
				t.Fatal(err)
			}
			a, _ = src.Lookup(a.ID)
			b := mustImport(t, src, rootfs(t, "b"), "b")
			var buf bytes.Buffer
			if err := src.Save(&buf, []string{"a:1", "quay.io/me/a:2", "b"}, format); err != nil {
				t.Fatalf("Save: %v", err)
			}
			dstRoot := t.TempDir()
			dst := openStore(t, dstRoot)
			loaded, err := dst.Load(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(loaded) != 2 {
				t.Fatalf("loaded %d images", len(loaded))
			}
			marker := map[string]string{a.ID: "a\n", b.ID: "b\n"}
			for _, want := range []*Image{a, b} {
				got, err := dst.Lookup(want.ID)
				if err != nil {
					t.Fatalf("Lookup %s: %v", want.ID, err)
				}
				if len(got.Names) != len(want.Names) {
					t.Errorf("names %v, want %v", got.Names, want.Names)
				}
				for _, n := range want.Names {
					if got2, err := dst.Lookup(n); err != nil || got2.ID != want.ID {
						t.Errorf("Lookup(%s) = %v, %v", n, got2, err)
					}
				}
				if format == FormatOCIArchive && got.Digest != want.Digest {
					t.Errorf("manifest digest %s, want %s", got.Digest, want.Digest)
				}
				h, err := os.ReadFile(filepath.Join(got.LayerDirs[0], "etc", "hostname"))
				if err != nil || string(h) != marker[want.ID] {
					t.Errorf("unpacked layer: %q, %v", h, err)
				}
			}
			// Loading again changes nothing.
			if _, err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatalf("second Load: %v", err)
			}
			if list, _ := dst.List(); len(list) != 2 {
				t.Errorf("%d images after a second load", len(list))
			}
			if ents := entries(t, filepath.Join(dstRoot, "tmp")); len(ents) != 0 {
				t.Errorf("tmp/ holds %v after load", ents)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, err := s.Load(strings.NewReader("not a tar")); err == nil {
		t.Error("Load of garbage succeeded")
	}
	// An OCI archive whose layer was changed.
	src := openStore(t, t.TempDir())
	a := mustImport(t, src, rootfs(t, "a"), "a")
	var buf bytes.Buffer
	if err := src.Save(&buf, []string{"a"}, FormatOCIArchive); err != nil {
		t.Fatal(err)
	}
	layer := a.manifest.Layers[0].Digest.Encoded()
	bad := corruptTarMember(t, buf.Bytes(), "blobs/sha256/"+layer)
	if _, err := s.Load(bytes.NewReader(bad)); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Load of a corrupted layer: %v, want ErrDigestMismatch", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("images after failed loads: %v", list)
	}
}

func TestPrune(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	keep := mustImport(t, s, rootfs(t, "keep"), "keep")
	src := openStore(t, t.TempDir())
	d1 := mustImport(t, src, rootfs(t, "d1"), "d1")
	d2 := mustImport(t, src, rootfs(t, "d2"), "d2")
	// Unnamed images come from archives without names.
	for _, img := range []*Image{d1, d2} {
		var buf bytes.Buffer
		if err := src.Save(&buf, []string{img.ID}, FormatDockerArchive); err != nil {
			t.Fatal(err)
		}
		b := stripRepoTags(t, buf.Bytes())
		loaded, err := s.Load(bytes.NewReader(b))
		if err != nil || len(loaded) != 1 || len(loaded[0].Names) != 0 {
			t.Fatalf("Load unnamed: %+v, %v", loaded, err)
		}
	}
	gone, err := s.Prune(func(id string) bool { return id == d2.ID })
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if len(gone) != 1 || gone[0] != d1.ID {
		t.Errorf("Prune removed %v, want [%s]", gone, d1.ID)
	}
	list, _ := s.List()
	if len(list) != 2 {
		t.Errorf("left %d images, want keep and the used d2", len(list))
	}
	if _, err := s.Lookup(keep.ID); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(root, "blobs", "sha256", d1.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config of pruned image: %v", err)
	}
	if gone, err := s.Prune(nil); err != nil || len(gone) != 1 || gone[0] != d2.ID {
		t.Errorf("Prune(nil) = %v, %v", gone, err)
	}
}

// rewriteTar copies a tar, passing each member's content through f.
func rewriteTar(t *testing.T, in []byte, f func(name string, b []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(in))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		b = f(h.Name, b)
		h.Size = int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// corruptTarMember flips a byte in the middle of one member.
func corruptTarMember(t *testing.T, in []byte, member string) []byte {
	found := false
	out := rewriteTar(t, in, func(name string, b []byte) []byte {
		if name == member {
			found = true
			b = bytes.Clone(b)
			b[len(b)/2] ^= 0xff
		}
		return b
	})
	if !found {
		t.Fatalf("no %s in the archive", member)
	}
	return out
}

// stripRepoTags removes the names from a docker-archive's manifest.json.
func stripRepoTags(t *testing.T, in []byte) []byte {
	return rewriteTar(t, in, func(name string, b []byte) []byte {
		if name != "manifest.json" {
			return b
		}
		var m []map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, e := range m {
			delete(e, "RepoTags")
		}
		b, _ = json.Marshal(m)
		return b
	})
}

// TestSaveByIDHasNoNames: an image saved by its ID (or a prefix of it)
// loads without a name, as with Podman's and Docker's save; saved by a
// name, it has that name alone.
func TestSaveByIDHasNoNames(t *testing.T) {
	for _, format := range []string{FormatOCIArchive, FormatDockerArchive} {
		src := openStore(t, t.TempDir())
		a := mustImport(t, src, rootfs(t, "a"), "a:1")
		if err := src.Tag("a:1", "quay.io/me/a:2"); err != nil {
			t.Fatal(err)
		}
		for ref, want := range map[string][]string{
			a.ID:             nil,
			"sha256:" + a.ID: nil,
			a.ID[:12]:        nil,
			"quay.io/me/a:2": {"quay.io/me/a:2"},
		} {
			var buf bytes.Buffer
			if err := src.Save(&buf, []string{ref}, format); err != nil {
				t.Fatalf("%s: Save %s: %v", format, ref, err)
			}
			dst := openStore(t, t.TempDir())
			if _, err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatalf("%s: Load: %v", format, err)
			}
			got, err := dst.Lookup(a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Names, want) {
				t.Errorf("%s: saved as %s, loaded with names %v, want %v", format, ref, got.Names, want)
			}
		}
	}
}

// TestPruneUnused: dangling images no container uses go, with their
// sizes; with all, named unused ones too; what keep holds back stays.
func TestPruneUnused(t *testing.T) {
	s := openStore(t, t.TempDir())
	used := mustImport(t, s, rootfs(t, "used"), "used")
	other := mustImport(t, s, rootfs(t, "other"), "other")
	src := openStore(t, t.TempDir())
	var unnamed []*Image
	for _, n := range []string{"d1", "d2"} {
		img := mustImport(t, src, rootfs(t, n), n)
		var buf bytes.Buffer
		if err := src.Save(&buf, []string{img.ID}, FormatDockerArchive); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(bytes.NewReader(stripRepoTags(t, buf.Bytes()))); err != nil {
			t.Fatal(err)
		}
		unnamed = append(unnamed, img)
	}
	d1, d2 := unnamed[0], unnamed[1]
	inUse := func(id string) bool { return id == used.ID }
	keep := func(img *Image) bool { return img.ID == d2.ID } // as a filter would hold it back

	pruned, err := s.PruneUnused(false, inUse, keep)
	if err != nil || len(pruned) != 1 || pruned[0].ID != d1.ID || pruned[0].Size <= 0 || len(pruned[0].Untagged) != 0 {
		t.Fatalf("PruneUnused(dangling) = %+v, %v; want d1 %s with its size", pruned, err, d1.ID)
	}
	pruned, err = s.PruneUnused(true, inUse, keep)
	if err != nil || len(pruned) != 1 || pruned[0].ID != other.ID || len(pruned[0].Untagged) != 1 {
		t.Fatalf("PruneUnused(all) = %+v, %v; want other %s, untagged", pruned, err, other.ID)
	}
	list, _ := s.List()
	var left []string
	for _, img := range list {
		left = append(left, img.ID)
	}
	if len(left) != 2 || !slices.Contains(left, used.ID) || !slices.Contains(left, d2.ID) {
		t.Errorf("left %v, want the used image and the kept d2", left)
	}
}

// TestSaveUncompressed: with Uncompressed, an oci-archive's layers are
// plain tars named by their diff_ids, under a new manifest that names
// them so; the archive loads as the same image (its ID, its files).
func TestSaveUncompressed(t *testing.T) {
	src := openStore(t, t.TempDir())
	a := mustImport(t, src, rootfs(t, "a"), "a:1")
	if !hasCompressedLayer(a.manifest) {
		t.Fatalf("the test image's layers are not gzip: %+v", a.manifest.Layers)
	}
	var buf bytes.Buffer
	if err := src.SaveWith(&buf, []string{"a:1"}, FormatOCIArchive, SaveOptions{Uncompressed: true}); err != nil {
		t.Fatalf("SaveWith: %v", err)
	}
	blobs := map[string][]byte{}
	var index v1.Index
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if d, ok := strings.CutPrefix(h.Name, "blobs/sha256/"); ok && d != "" {
			if got := digest.FromBytes(b).Encoded(); got != d {
				t.Errorf("blob %s holds %s", d, got)
			}
			blobs[d] = b
		}
		if h.Name == "index.json" {
			if err := json.Unmarshal(b, &index); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Digest == a.Digest {
		t.Fatalf("index %+v: want one manifest, not the stored one (%s)", index.Manifests, a.Digest)
	}
	var m v1.Manifest
	if err := json.Unmarshal(blobs[index.Manifests[0].Digest.Encoded()], &m); err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Layers {
		b := blobs[l.Digest.Encoded()]
		if l.Digest != a.Config.RootFS.DiffIDs[i] || l.MediaType != v1.MediaTypeImageLayer || l.Size != int64(len(b)) {
			t.Errorf("layer %d: %+v (%d bytes), want the diff_id %s uncompressed", i, l, len(b), a.Config.RootFS.DiffIDs[i])
		}
		if _, err := tar.NewReader(bytes.NewReader(b)).Next(); err != nil {
			t.Errorf("layer %d is not a plain tar: %v", i, err)
		}
	}
	dst := openStore(t, t.TempDir())
	if _, err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := dst.Lookup("a:1")
	if err != nil || got.ID != a.ID {
		t.Fatalf("loaded %v, %v; want the image %s", got, err, a.ID)
	}
	if h, err := os.ReadFile(filepath.Join(got.LayerDirs[0], "etc", "hostname")); err != nil || string(h) != "a\n" {
		t.Errorf("unpacked layer: %q, %v", h, err)
	}
}

// TestPullMissingNamesSource: a registry without the image answers in
// Podman's (containers/image's) words, which name the image as its
// source, once, and still say it is not there.
func TestPullMissingNamesSource(t *testing.T) {
	isolateEnv(t)
	host := startRegistry(t, nil)
	s := openStore(t, t.TempDir())
	ref := host + "/test/nowhere:1"
	_, err := s.Pull(context.Background(), ref, PullOptions{})
	if err == nil {
		t.Fatal("Pull of an image the registry lacks succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "initializing source docker://"+ref+": ") || strings.Count(msg, ref) != 1 {
		t.Errorf("error %q, want it to begin with initializing source docker://%s: and name it once", msg, ref)
	}
	if !errors.Is(err, ErrNotInRegistry) {
		t.Errorf("error %v is not ErrNotInRegistry", err)
	}
}
