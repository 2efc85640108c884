package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// checkStore makes a store with two images: "a" and "b", one layer each.
func checkStore(t *testing.T) (*Store, *Image, *Image) {
	t.Helper()
	s := openStore(t, t.TempDir())
	a := mustImport(t, s, rootfs(t, "a"), "a")
	b := mustImport(t, s, rootfs(t, "b"), "b")
	return s, a, b
}

func mustCheck(t *testing.T, s *Store, o CheckOptions) *CheckReport {
	t.Helper()
	r, err := s.Check(o)
	if err != nil {
		t.Fatalf("Check(%+v): %v", o, err)
	}
	return r
}

// findingFor returns the findings whose object or problem mentions name.
func findingsFor(r *CheckReport, kind, name string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Kind == kind && (strings.Contains(f.Object, name) || strings.Contains(f.Problem, name)) {
			out = append(out, f)
		}
	}
	return out
}

func TestCheckWholeStore(t *testing.T) {
	s, a, _ := checkStore(t)
	for _, quick := range []bool{false, true} {
		r := mustCheck(t, s, CheckOptions{Quick: quick})
		if len(r.Findings) != 0 || !r.Whole() {
			t.Errorf("quick=%v: findings on a whole store: %+v", quick, r.Findings)
		}
		if !r.ImageIDs[a.ID] || len(r.ImageIDs) != 2 {
			t.Errorf("quick=%v: ImageIDs = %v, want both images", quick, r.ImageIDs)
		}
	}
}

func layerOf(img *Image) string { return img.LayerDirs[0] }

// damage is one kind of damage, what check must say about it, and whether
// a repair brings the image back (re-extraction) or removes it.
type damage struct {
	name    string
	do      func(t *testing.T, s *Store, img *Image)
	kind    string // the finding's kind
	object  func(img *Image) string
	problem string
	quick   bool // --quick sees it too
	keeps   bool // the repaired store still has the image
}

func imgName(img *Image) string { return img.Names[0] }
func layerShort(img *Image) string {
	return filepath.Base(layerOf(img))[:12]
}

var damages = []damage{
	{
		name: "layer dir removed",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.RemoveAll(layerOf(img)); err != nil {
				t.Fatal(err)
			}
		},
		kind: "layer", object: layerShort, problem: "directory is missing", quick: true, keeps: true,
	},
	{
		name: "file removed from a layer",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.Remove(filepath.Join(layerOf(img), "etc", "hostname")); err != nil {
				t.Fatal(err)
			}
		},
		kind: "layer", object: layerShort, problem: "/etc/hostname", keeps: true,
	},
	{
		name: "layer size record removed",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.Remove(layerOf(img) + ".size"); err != nil {
				t.Fatal(err)
			}
		},
		kind: "layer", object: layerShort, problem: "recorded size", quick: true, keeps: true,
	},
	{
		name: "layer blob corrupted",
		do: func(t *testing.T, s *Store, img *Image) {
			flipByte(t, s.blobPath(img.manifest.Layers[0].Digest))
		},
		kind: "image", object: imgName, problem: "does not match its digest",
	},
	{
		name: "config blob corrupted",
		do: func(t *testing.T, s *Store, img *Image) {
			flipByte(t, s.blobPath(img.manifest.Config.Digest))
		},
		kind: "image", object: imgName, problem: "does not match its digest",
	},
	{
		name: "manifest deleted",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.Remove(s.blobPath(img.Digest)); err != nil {
				t.Fatal(err)
			}
		},
		kind: "image", object: imgName, problem: "manifest blob", quick: true,
	},
	{
		name: "config truncated",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.Truncate(s.blobPath(img.manifest.Config.Digest), 10); err != nil {
				t.Fatal(err)
			}
		},
		kind: "image", object: imgName, problem: "config blob", quick: true,
	},
	{
		name: "layer blob deleted",
		do: func(t *testing.T, s *Store, img *Image) {
			if err := os.Remove(s.blobPath(img.manifest.Layers[0].Digest)); err != nil {
				t.Fatal(err)
			}
		},
		kind: "image", object: imgName, problem: "is missing", quick: true,
	},
}

// flipByte changes the last byte of a file.
func flipByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsAndRepairs(t *testing.T) {
	for _, d := range damages {
		for _, quick := range []bool{false, true} {
			if quick && !d.quick {
				continue
			}
			t.Run(d.name+map[bool]string{true: " quick"}[quick], func(t *testing.T) {
				s, a, b := checkStore(t)
				d.do(t, s, a)

				r := mustCheck(t, s, CheckOptions{Quick: quick})
				if got := findingsFor(r, d.kind, d.object(a)); len(got) == 0 {
					t.Fatalf("no %s finding naming %s; findings: %+v", d.kind, d.object(a), r.Findings)
				}
				said := false
				for _, f := range r.Findings {
					said = said || strings.Contains(f.Problem, d.problem)
				}
				if !said {
					t.Errorf("no finding says %q: %+v", d.problem, r.Findings)
				}
				if r.Whole() {
					t.Error("Whole() on a damaged store")
				}
				if len(findingsFor(r, "image", imgName(b))) != 0 || len(findingsFor(r, "layer", layerShort(b))) != 0 {
					t.Errorf("the whole image b is reported: %+v", r.Findings)
				}

				r = mustCheck(t, s, CheckOptions{Quick: quick, Repair: true})
				if !r.Whole() {
					t.Fatalf("repair left problems: %+v", r.Findings)
				}
				r = mustCheck(t, s, CheckOptions{})
				if len(r.Findings) != 0 {
					t.Fatalf("a check after the repair finds: %+v", r.Findings)
				}
				if got := r.ImageIDs[a.ID]; got != d.keeps {
					t.Errorf("after the repair, image a is there: %v, want %v", got, d.keeps)
				}
				if !r.ImageIDs[b.ID] {
					t.Error("the repair lost image b")
				}
				if _, err := s.Lookup("b"); err != nil {
					t.Errorf("Lookup(b) after repair: %v", err)
				}
				_, err := s.Lookup("a")
				if d.keeps {
					if err != nil {
						t.Fatalf("Lookup(a) after repair: %v", err)
					}
					got, err := os.ReadFile(filepath.Join(layerOf(a), "etc", "hostname"))
					if err != nil || string(got) != "a\n" {
						t.Errorf("re-extracted layer: /etc/hostname = %q, %v", got, err)
					}
					if sz, err := s.layerSize(a.Config.RootFS.DiffIDs[0]); err != nil || sz <= 0 {
						t.Errorf("re-extracted layer: size %d, %v", sz, err)
					}
				} else {
					if !errors.Is(err, ErrImageUnknown) {
						t.Errorf("Lookup(a) after its removal: %v, want ErrImageUnknown", err)
					}
					if _, err := os.Lstat(layerOf(a)); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("the removed image's layer is still there: %v", err)
					}
				}
			})
		}
	}
}

func TestCheckOrphansAndTemporaries(t *testing.T) {
	s, a, _ := checkStore(t)
	orphan := s.layerDir(strings.Repeat("ab", 32))
	if err := os.MkdirAll(filepath.Join(orphan, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan+".size", []byte("1536"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpBlob := filepath.Join(s.tmpDir(), "layer-123")
	partial := s.layerDir(".tmp-456")
	tmpIndex := filepath.Join(s.root, ".tmp-index.json-789")
	for _, p := range []string{tmpBlob, tmpIndex} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(partial, 0o700); err != nil {
		t.Fatal(err)
	}
	// A layer only a container or only the build cache uses is no orphan.
	ctrLayer := s.layerDir(strings.Repeat("cd", 32))
	cacheLayer := strings.Repeat("ef", 32)
	for _, d := range []string{ctrLayer, s.layerDir(cacheLayer)} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := CheckOptions{
		Containers: []LayerUser{{Name: "c1", Dirs: []string{ctrLayer, layerOf(a)}}},
		Cached:     []Layer{{DiffID: digest.NewDigestFromEncoded(digest.SHA256, cacheLayer)}},
	}

	r := mustCheck(t, s, o)
	if len(findingsFor(r, "layer", "abababababab")) != 1 {
		t.Errorf("orphaned layer not reported once: %+v", r.Findings)
	}
	for _, p := range []string{tmpBlob, partial, tmpIndex} {
		if len(findingsFor(r, "tmp", p)) != 1 {
			t.Errorf("leftover %s not reported: %+v", p, r.Findings)
		}
	}
	if len(r.Findings) != 4 {
		t.Errorf("want 4 findings (the container's and the cache's layers are used), got %+v", r.Findings)
	}

	o.Repair = true
	if r := mustCheck(t, s, o); !r.Whole() || len(r.Findings) != 4 {
		t.Fatalf("repair: %+v", r.Findings)
	}
	o.Repair = false
	if r := mustCheck(t, s, o); len(r.Findings) != 0 {
		t.Fatalf("after the repair: %+v", r.Findings)
	}
	for _, p := range []string{orphan, orphan + ".size", tmpBlob, partial, tmpIndex} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the repair: %v", p, err)
		}
	}
	for _, p := range []string{ctrLayer, s.layerDir(cacheLayer), layerOf(a)} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("repair removed %s, which is in use: %v", p, err)
		}
	}
}

func TestCheckRepairSparesRunningContainer(t *testing.T) {
	s, a, _ := checkStore(t)
	if err := os.Remove(filepath.Join(layerOf(a), "etc", "hostname")); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, s, CheckOptions{Repair: true, Containers: []LayerUser{{Name: "web", Running: true, Dirs: []string{layerOf(a)}}}})
	f := findingsFor(r, "layer", layerShort(a))
	if len(f) != 1 || f[0].Repaired || !strings.Contains(f[0].Action, "web") {
		t.Fatalf("want the layer left alone, naming the running container: %+v", r.Findings)
	}
	if _, err := os.Lstat(filepath.Join(layerOf(a), "etc")); err != nil {
		t.Errorf("the running container's layer was touched: %v", err)
	}
}

func TestCheckUnreadableIndex(t *testing.T) {
	s, a, _ := checkStore(t)
	if err := os.WriteFile(s.indexPath(), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustCheck(t, s, CheckOptions{Repair: true})
	if len(r.Findings) != 1 || r.Findings[0].Kind != "index" || r.Whole() {
		t.Fatalf("want one unrepaired index finding, got %+v", r.Findings)
	}
	// Nothing may look orphaned when the index cannot be read.
	if _, err := os.Lstat(layerOf(a)); err != nil {
		t.Errorf("a layer was deleted while the index was unreadable: %v", err)
	}
}

func TestVerifyLayers(t *testing.T) {
	s, a, _ := checkStore(t)
	if err := s.VerifyLayers(a); err != nil {
		t.Fatalf("VerifyLayers on a whole image: %v", err)
	}
	if err := os.RemoveAll(layerOf(a)); err != nil {
		t.Fatal(err)
	}
	err := s.VerifyLayers(a)
	if !errors.Is(err, ErrLayerMissing) || !strings.Contains(err.Error(), "localhost/a:latest") || !strings.Contains(err.Error(), layerShort(a)) {
		t.Fatalf("VerifyLayers = %v, want ErrLayerMissing naming the image and layer", err)
	}
}
