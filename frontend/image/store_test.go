package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// rootfs returns a small root filesystem tarball whose /etc/hostname
// holds marker.
func rootfs(t *testing.T, marker string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1_600_000_000, 0)
	write := func(h *tar.Header, body string) {
		h.ModTime = mt
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	write(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	write(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	write(&tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644}, marker+"\n")
	write(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"}, "")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openStore(t *testing.T, root string) *Store {
	t.Helper()
	s, err := Open(root, InProcessUnpacker(false))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustImport(t *testing.T, s *Store, tarball []byte, ref string) *Image {
	t.Helper()
	img, err := s.Import(bytes.NewReader(tarball), ref, ImportOptions{Cmd: []string{"/bin/sh"}})
	if err != nil {
		t.Fatalf("Import %s: %v", ref, err)
	}
	return img
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// checkLayout verifies that the store is a valid OCI layout: oci-layout,
// index.json parsing as a v1.Index whose manifests exist, and every blob's
// sha256 matching its name.
func checkLayout(t *testing.T, root string) v1.Index {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "oci-layout"))
	if err != nil {
		t.Fatal(err)
	}
	var layout v1.ImageLayout
	if err := json.Unmarshal(b, &layout); err != nil || layout.Version != v1.ImageLayoutVersion {
		t.Errorf("oci-layout = %s (%v)", b, err)
	}
	b, err = os.ReadFile(filepath.Join(root, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("index.json does not parse: %v\n%s", err, b)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != v1.MediaTypeImageIndex {
		t.Errorf("index.json: schemaVersion %d mediaType %q", idx.SchemaVersion, idx.MediaType)
	}
	for _, m := range idx.Manifests {
		// A dangling image is listed once, without a name.
		if m.MediaType != v1.MediaTypeImageManifest {
			t.Errorf("index entry %+v: bad media type", m)
		}
		fi, err := os.Stat(filepath.Join(root, "blobs", "sha256", m.Digest.Encoded()))
		if err != nil || fi.Size() != m.Size {
			t.Errorf("manifest blob %s: %v (size %v, want %d)", m.Digest, err, fi, m.Size)
		}
	}
	blobs := filepath.Join(root, "blobs", "sha256")
	for _, name := range entries(t, blobs) {
		b, err := os.ReadFile(filepath.Join(blobs, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != name {
			t.Errorf("blob %s has sha256 %x", name, sum)
		}
	}
	return idx
}

func TestImportSharesLayer(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	tarball := rootfs(t, "one")
	a := mustImport(t, s, tarball, "busybox")
	b := mustImport(t, s, tarball, "other:1")

	if len(a.LayerDirs) != 1 || a.LayerDirs[0] != b.LayerDirs[0] {
		t.Fatalf("layer dirs differ: %v %v", a.LayerDirs, b.LayerDirs)
	}
	if !filepath.IsAbs(a.LayerDirs[0]) {
		t.Errorf("layer dir %s is not absolute", a.LayerDirs[0])
	}
	got, err := os.ReadFile(filepath.Join(a.LayerDirs[0], "etc", "hostname"))
	if err != nil || string(got) != "one\n" {
		t.Errorf("unpacked etc/hostname = %q, %v", got, err)
	}
	if a.Size != int64(len(tarball)) {
		t.Errorf("Size = %d, want %d", a.Size, len(tarball))
	}
	if len(a.ID) != 64 || a.Names[0] != "localhost/busybox:latest" || b.Names[0] != "localhost/other:1" {
		t.Errorf("a = %s %v, b = %s %v", a.ID, a.Names, b.ID, b.Names)
	}
	if a.Config.Architecture != runtime.GOARCH || a.Config.OS != runtime.GOOS {
		t.Errorf("platform %s/%s", a.Config.OS, a.Config.Architecture)
	}
	if len(a.Config.History) != 1 || a.Config.History[0].CreatedBy != "myctr import" {
		t.Errorf("history %+v", a.Config.History)
	}
	if got := a.Config.Config.Cmd; len(got) != 1 || got[0] != "/bin/sh" {
		t.Errorf("Cmd = %v", got)
	}
	if a.Created.IsZero() {
		t.Errorf("Created is zero")
	}
	// One layer blob, two configs, two manifests; one layer directory.
	if n := len(entries(t, filepath.Join(root, "blobs", "sha256"))); n != 5 {
		t.Errorf("%d blobs, want 5", n)
	}
	// The tarball has a "./" entry: its mode is recorded beside the size.
	if got := entries(t, filepath.Join(root, "layers")); len(got) != 3 {
		t.Errorf("layers/ holds %v, want one layer, its size and its root's mode", got)
	}
	idx := checkLayout(t, root)
	if len(idx.Manifests) != 2 {
		t.Errorf("index lists %d manifests, want 2", len(idx.Manifests))
	}
	images, err := s.List()
	if err != nil || len(images) != 2 {
		t.Fatalf("List = %d images, %v", len(images), err)
	}
}

func TestImportGzip(t *testing.T) {
	s := openStore(t, t.TempDir())
	plain := rootfs(t, "gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(plain)
	zw.Close()
	a := mustImport(t, s, buf.Bytes(), "gz")
	b := mustImport(t, s, plain, "plain")
	if a.Config.RootFS.DiffIDs[0] != b.Config.RootFS.DiffIDs[0] {
		t.Errorf("gzip and plain imports of one tarball have different diff_ids")
	}
}

func TestLookupForms(t *testing.T) {
	s := openStore(t, t.TempDir())
	img := mustImport(t, s, rootfs(t, "x"), "busybox")
	pulled := mustImport(t, s, rootfs(t, "y"), "docker.io/library/alpine:3")
	tests := []struct {
		ref  string
		want string // image ID, or "" for an error
		err  error
	}{
		{ref: "busybox", want: img.ID},
		{ref: "busybox:latest", want: img.ID},
		{ref: "localhost/busybox", want: img.ID},
		{ref: "localhost/busybox:latest", want: img.ID},
		{ref: "localhost/busybox@" + img.Digest.String(), want: img.ID},
		{ref: img.ID, want: img.ID},
		{ref: "sha256:" + img.ID, want: img.ID},
		{ref: img.ID[:12], want: img.ID},
		{ref: "alpine:3", want: pulled.ID},
		{ref: "library/alpine:3", want: pulled.ID},
		{ref: "docker.io/alpine:3", want: pulled.ID},
		{ref: "busybox:2", err: ErrImageUnknown},
		{ref: "alpine", err: ErrImageUnknown},
		{ref: "quay.io/busybox", err: ErrImageUnknown},
		{ref: strings.Repeat("0", 64), err: ErrImageUnknown},
		{ref: "Busybox", err: ErrInvalidRef},
		{ref: "busy box", err: ErrInvalidRef},
	}
	if img.ID[:3] != pulled.ID[:3] {
		tests = append(tests, struct {
			ref  string
			want string
			err  error
		}{ref: img.ID[:3], want: img.ID})
	}
	for _, tt := range tests {
		got, err := s.Lookup(tt.ref)
		switch {
		case tt.err != nil:
			if !errors.Is(err, tt.err) {
				t.Errorf("Lookup(%q) error = %v, want %v", tt.ref, err, tt.err)
			}
		case err != nil:
			t.Errorf("Lookup(%q): %v", tt.ref, err)
		case got.ID != tt.want:
			t.Errorf("Lookup(%q) = %s, want %s", tt.ref, got.ID, tt.want)
		}
	}
}

func TestResolveAmbiguous(t *testing.T) {
	images := []Image{
		{ID: "abc1" + strings.Repeat("0", 60), Digest: digest.Digest("sha256:" + strings.Repeat("1", 64)), Names: []string{"docker.io/library/app:latest"}},
		{ID: "abc2" + strings.Repeat("0", 60), Digest: digest.Digest("sha256:" + strings.Repeat("2", 64)), Names: []string{"quay.io/me/app:latest"}},
	}
	tests := []struct {
		ref  string
		want string
		err  error
	}{
		{ref: "abc", err: ErrAmbiguous},
		{ref: "sha256:abc", err: ErrAmbiguous},
		{ref: "app", err: ErrAmbiguous},
		{ref: "abc1", want: images[0].ID},
		{ref: "sha256:abc2", want: images[1].ID},
		{ref: "ab", err: ErrImageUnknown},
		{ref: "me/app", want: images[1].ID},
	}
	for _, tt := range tests {
		img, _, err := resolve(images, tt.ref)
		switch {
		case tt.err != nil:
			if !errors.Is(err, tt.err) {
				t.Errorf("resolve(%q) error = %v, want %v", tt.ref, err, tt.err)
			}
		case err != nil:
			t.Errorf("resolve(%q): %v", tt.ref, err)
		case img.ID != tt.want:
			t.Errorf("resolve(%q) = %s, want %s", tt.ref, img.ID, tt.want)
		}
	}
}

func TestRemove(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	tarball := rootfs(t, "rm")
	img := mustImport(t, s, tarball, "a")
	if err := s.Tag("a", "b:2"); err != nil {
		t.Fatalf("Tag: %v", err)
	}
	other := mustImport(t, s, tarball, "c") // shares the layer
	lone := mustImport(t, s, rootfs(t, "lone"), "d")

	got, err := s.Lookup("b:2")
	if err != nil || got.ID != img.ID || len(got.Names) != 2 {
		t.Fatalf("after Tag: %+v, %v", got, err)
	}
	if _, _, err := s.Remove(img.ID, false); !errors.Is(err, ErrMultipleNames) {
		t.Errorf("Remove by ID of an image with two names: %v, want ErrMultipleNames", err)
	}
	names, id, err := s.Remove("a", false)
	if err != nil || id != "" || len(names) != 1 || names[0] != "localhost/a:latest" {
		t.Errorf("Remove(a) = %v %q %v", names, id, err)
	}
	if got, err := s.Lookup(img.ID); err != nil || len(got.Names) != 1 {
		t.Errorf("image lost its other name: %+v, %v", got, err)
	}
	names, id, err = s.Remove(img.ID, false)
	if err != nil || id != img.ID || len(names) != 1 || names[0] != "localhost/b:2" {
		t.Errorf("Remove(ID) = %v %q %v", names, id, err)
	}
	if _, err := s.Lookup(img.ID); !errors.Is(err, ErrImageUnknown) {
		t.Errorf("Lookup removed image: %v", err)
	}
	blob := func(d string) string { return filepath.Join(root, "blobs", "sha256", d) }
	if _, err := os.Stat(blob(img.Digest.Encoded())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest blob of removed image: %v", err)
	}
	if _, err := os.Stat(blob(img.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config blob of removed image: %v", err)
	}
	if _, err := os.Stat(other.LayerDirs[0]); err != nil {
		t.Errorf("shared layer removed while c uses it: %v", err)
	}
	if _, _, err := s.Remove("c", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other.LayerDirs[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("layer dir kept after its last image went: %v", err)
	}
	if _, _, err := s.Remove("nothing", false); !errors.Is(err, ErrImageUnknown) {
		t.Errorf("Remove(nothing) = %v", err)
	}
	if _, _, err := s.Remove("d", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lone.LayerDirs[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("layer of d kept after d went: %v", err)
	}
	if got := entries(t, filepath.Join(root, "blobs", "sha256")); len(got) != 0 {
		t.Errorf("blobs left after removing every image: %v", got)
	}
	if got := entries(t, filepath.Join(root, "layers")); len(got) != 0 {
		t.Errorf("layers left after removing every image: %v", got)
	}
	checkLayout(t, root)
}

func TestReimportMovesName(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	old := mustImport(t, s, rootfs(t, "old"), "app")
	kept := mustImport(t, s, rootfs(t, "kept"), "kept")
	if err := s.Tag("kept", "app2"); err != nil {
		t.Fatal(err)
	}
	repl := mustImport(t, s, rootfs(t, "new"), "app")
	mustImport(t, s, rootfs(t, "newer"), "app2")

	if got, err := s.Lookup("app"); err != nil || got.ID != repl.ID {
		t.Fatalf("app = %v, %v; want %s", got, err, repl.ID)
	}
	// As Podman: the image the name moved from stays, dangling (a
	// container may run on it), with its names history, until pruned.
	got, err := s.Lookup(old.ID)
	if err != nil || len(got.Names) != 0 || len(got.NamesHistory) != 1 || got.NamesHistory[0] != "localhost/app:latest" {
		t.Fatalf("old image: %+v, %v; want it dangling with its history", got, err)
	}
	if _, err := os.Stat(old.LayerDirs[0]); err != nil {
		t.Errorf("old image's layer gone: %v", err)
	}
	if got, err := s.Lookup(kept.ID); err != nil || len(got.Names) != 1 || got.Names[0] != "localhost/kept:latest" {
		t.Errorf("image that kept a name: %+v, %v", got, err)
	}
	idx := checkLayout(t, root)
	dangling := 0
	for _, m := range idx.Manifests {
		if m.Annotations[v1.AnnotationRefName] == "" {
			dangling++
		}
	}
	if dangling != 1 {
		t.Errorf("%d dangling entries, want the old app's alone", dangling)
	}
	// Naming it again takes it out of the dangling list.
	if err := s.Tag(old.ID, "back"); err != nil {
		t.Fatal(err)
	}
	idx = checkLayout(t, root)
	for _, m := range idx.Manifests {
		if m.Digest == got.Digest && m.Annotations[v1.AnnotationRefName] == "" {
			t.Errorf("a named image is still listed as dangling")
		}
	}
	if _, _, err := s.Remove("back", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.LayerDirs[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old image's layer still there after rmi: %v", err)
	}
}

// TestMovedNamePruned: a dangling image left by a moved name goes with
// Prune, unless a container uses it.
func TestMovedNamePruned(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	old := mustImport(t, s, rootfs(t, "old"), "app")
	mustImport(t, s, rootfs(t, "new"), "app")
	if gone, err := s.Prune(func(id string) bool { return id == old.ID }); err != nil || len(gone) != 0 {
		t.Fatalf("prune of an image in use removed %v (%v)", gone, err)
	}
	gone, err := s.Prune(func(string) bool { return false })
	if err != nil || len(gone) != 1 {
		t.Fatalf("prune removed %v (%v), want the old image", gone, err)
	}
	if _, err := s.Lookup(old.ID); !errors.Is(err, ErrImageUnknown) {
		t.Errorf("old image still there after prune: %v", err)
	}
	checkLayout(t, root)
}

func TestImportFailureLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, failingUnpacker{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(bytes.NewReader(rootfs(t, "x")), "x", ImportOptions{}); err == nil {
		t.Fatal("Import with a failing unpacker succeeded")
	}
	for _, d := range []string{"blobs/sha256", "layers", "tmp"} {
		if got := entries(t, filepath.Join(root, d)); len(got) != 0 {
			t.Errorf("%s holds %v after a failed import", d, got)
		}
	}
	if images, err := s.List(); err != nil || len(images) != 0 {
		t.Errorf("List = %v, %v", images, err)
	}
	if _, err := s.Import(bytes.NewReader(nil), "empty", ImportOptions{}); err == nil {
		t.Errorf("Import of an empty tarball succeeded")
	}
	if got := entries(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Errorf("tmp holds %v after a failed import", got)
	}
	if _, err := s.Import(bytes.NewReader(nil), "Bad Name", ImportOptions{}); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("Import with a bad name: %v", err)
	}
}

// failingUnpacker writes part of a layer, then fails.
type failingUnpacker struct{}

func (failingUnpacker) Unpack(blobPath, mediaType, dest string) (*os.FileMode, error) {
	if err := os.WriteFile(filepath.Join(dest, "half"), nil, 0o644); err != nil {
		return nil, err
	}
	return nil, errors.New("unpack failed on purpose")
}

func TestOpenRemovesStale(t *testing.T) {
	root := t.TempDir()
	openStore(t, root)
	stale := []string{filepath.Join(root, "layers", ".tmp-123", "etc"), filepath.Join(root, "tmp", "layer-1")}
	for _, p := range stale {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	openStore(t, root)
	for _, d := range []string{"layers", "tmp"} {
		if got := entries(t, filepath.Join(root, d)); len(got) != 0 {
			t.Errorf("%s holds %v after Open", d, got)
		}
	}
}

func TestConcurrentImports(t *testing.T) {
	root := t.TempDir()
	shared := rootfs(t, "shared")
	fresh := rootfs(t, "fresh")
	// Images to remove while the imports run: their layer is the one the
	// imports use, so a collection racing an import would lose it.
	setup := openStore(t, root)
	for i := 0; i < 5; i++ {
		mustImport(t, setup, shared, fmt.Sprintf("old%d", i))
	}

	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := Open(root, InProcessUnpacker(false))
			if err != nil {
				errs <- err
				return
			}
			tarball := shared // in the store already
			switch i % 3 {
			case 1:
				tarball = rootfs(t, fmt.Sprint("own", i))
			case 2:
				tarball = fresh // new, imported by several at once
			}
			if _, err := s.Import(bytes.NewReader(tarball), fmt.Sprintf("img%d", i), ImportOptions{}); err != nil {
				errs <- fmt.Errorf("import %d: %w", i, err)
			}
		}(i)
	}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := Open(root, InProcessUnpacker(false))
			if err != nil {
				errs <- err
				return
			}
			if _, _, err := s.Remove(fmt.Sprintf("old%d", i), false); err != nil {
				errs <- fmt.Errorf("remove %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	idx := checkLayout(t, root)
	if len(idx.Manifests) != n {
		t.Errorf("index lists %d manifests, want %d", len(idx.Manifests), n)
	}
	s := openStore(t, root)
	images, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != n {
		t.Errorf("List = %d images, want %d", len(images), n)
	}
	for _, img := range images {
		for _, d := range img.LayerDirs {
			if _, err := os.Stat(filepath.Join(d, "etc", "hostname")); err != nil {
				t.Errorf("image %v: layer %s: %v", img.Names, d, err)
			}
		}
	}
	if got := entries(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Errorf("tmp holds %v", got)
	}
}

func TestNormalizeRef(t *testing.T) {
	dgst := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in, want string
	}{
		{"busybox", "localhost/busybox:latest"},
		{"busybox:1", "localhost/busybox:1"},
		{"busybox:1.36.1-musl", "localhost/busybox:1.36.1-musl"},
		{"quay.io/a/b", "quay.io/a/b:latest"},
		{"quay.io/a/b:v2", "quay.io/a/b:v2"},
		{"a/b", "localhost/a/b:latest"},
		{"localhost/busybox", "localhost/busybox:latest"},
		{"localhost:5000/x", "localhost:5000/x:latest"},
		{"Registry.Example.com:443/x/y:T", "Registry.Example.com:443/x/y:T"},
		{"docker.io/alpine", "docker.io/library/alpine:latest"},
		{"my_app-1.x__y", "localhost/my_app-1.x__y:latest"},
		{"x@" + dgst, "localhost/x@" + dgst},
		{"x:1@" + dgst, "localhost/x:1@" + dgst},
		{"quay.io/x@" + dgst, "quay.io/x@" + dgst},
		{"", ""},
		{"Busybox", ""},
		{"a/B", ""},
		{"busy box", ""},
		{"busybox:", ""},
		{"busybox:-x", ""},
		{"busybox:" + strings.Repeat("t", 129), ""},
		{"a//b", ""},
		{"/a", ""},
		{"a/", ""},
		{"x@sha256:short", ""},
		{"-a", ""},
		{"a..b", ""},
		{strings.Repeat("ab", 32), ""},
		{"bad_domain.com/x", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeRef(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidRef) {
				t.Errorf("NormalizeRef(%q) = %q, %v; want ErrInvalidRef", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
