//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// manifestIndex is what `manifest inspect` prints and a registry holds.
type manifestIndex struct {
	SchemaVersion int
	MediaType     string
	Manifests     []struct {
		MediaType string
		Digest    string
		Platform  struct {
			Architecture, OS, Variant string
			OSVersion                 string `json:"os.version"`
		}
		Annotations map[string]string
	}
}

func (m manifestIndex) digests() []string {
	var out []string
	for _, d := range m.Manifests {
		out = append(out, d.Digest)
	}
	return out
}

func inspectList(t *testing.T, ref string) manifestIndex {
	t.Helper()
	var m manifestIndex
	out := mustMyctr(t, "manifest", "inspect", ref)
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("manifest inspect %s: %v\n%s", ref, err, out)
	}
	return m
}

// TestManifestList makes a list of two images, one per platform, pushes
// it to a real registry, reads it back with skopeo and pulls it by its
// name; then builds one from the registry's images without pulling them.
func TestManifestList(t *testing.T) {
	reg := startRegistry(t, false)
	a := newImage(t, "it-manifest-a:1")
	ctxDir := buildContext(t, map[string]string{"Containerfile": "FROM it-manifest-a:1\nLABEL variant=b\n"})
	_, bID := mustBuild(t, "-t", "it-manifest-b:1", ctxDir)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", bID) })
	b := mustFindImage(t, bID)
	const list = "it-mlist:1"
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "manifest", "rm", "--ignore", list) })

	id := strings.TrimSpace(mustMyctr(t, "manifest", "create", list, "it-manifest-a:1"))
	if !isFullID(id) {
		t.Fatalf("manifest create printed %q, want the list's id", id)
	}
	if _, _, code := myctr(t, "manifest", "exists", list); code != 0 {
		t.Errorf("manifest exists %s: exit %d, want 0", list, code)
	}
	if _, _, code := myctr(t, "manifest", "exists", "it-no-such-list"); code != 1 {
		t.Errorf("manifest exists of no list: exit %d, want 1", code)
	}
	if got := strings.TrimSpace(mustMyctr(t, "manifest", "add", "--arch", "arm64", "--variant", "v8", "--annotation", "org.example.k=v", list, "it-manifest-b:1")); got != id {
		t.Errorf("manifest add printed %q, want the list's id %s", got, id)
	}
	m := inspectList(t, list)
	if m.SchemaVersion != 2 || !slices.Equal(m.digests(), []string{a.Digest, b.Digest}) {
		t.Fatalf("manifest inspect: %+v; want a and b", m)
	}
	if p := m.Manifests[0].Platform; p.OS != "linux" || p.Architecture != runtime.GOARCH {
		t.Errorf("a's platform %+v, want linux/%s from its config", p, runtime.GOARCH)
	}
	if p := m.Manifests[1].Platform; p.Architecture != "arm64" || p.Variant != "v8" || m.Manifests[1].Annotations["org.example.k"] != "v" {
		t.Errorf("b's entry %+v, want arm64/v8 and the annotation", m.Manifests[1])
	}
	mustMyctr(t, "manifest", "annotate", "--os-version", "1.0", list, b.Digest)
	if p := inspectList(t, list).Manifests[1].Platform; p.OSVersion != "1.0" || p.Architecture != "arm64" {
		t.Errorf("after annotate b's platform is %+v, want os.version 1.0 kept arm64", p)
	}
	// A list is no image: images lists the images as before (Podman's #8931).
	if out := mustMyctr(t, "images", "--format", "{{.ID}}", "--no-trunc"); !strings.Contains(out, a.Id) || strings.Contains(out, id) {
		t.Errorf("images with a list present printed %q", out)
	}

	dest := reg + "/it/multi:1"
	_, errOut, code := myctr(t, "manifest", "push", list, "docker://"+dest)
	if code != 0 {
		t.Fatalf("manifest push: exit %d: %s", code, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, err := exec.CommandContext(ctx, "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+dest).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw: %v", err)
	}
	var pushed manifestIndex
	if err := json.Unmarshal(raw, &pushed); err != nil || !slices.Equal(pushed.digests(), []string{a.Digest, b.Digest}) {
		t.Fatalf("the registry holds %s (%v); want a list of a and b", raw, err)
	}
	if remote := inspectList(t, dest); !slices.Equal(remote.digests(), pushed.digests()) {
		t.Errorf("manifest inspect of the registry's list: %v, want %v", remote.digests(), pushed.digests())
	}
	// Pulled by the list's name, this machine's platform gets a.
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", dest) })
	if got := lastLine(mustMyctr(t, "pull", "-q", dest)); got != a.Id {
		t.Errorf("pull of the list gave %s, want a (%s)", got, a.Id)
	}
	// --platform (or --arch, --variant) picks another entry: b, listed as
	// arm64/v8; this machine's platform gets a again.
	if got := lastLine(mustMyctr(t, "pull", "-q", "--platform", "linux/arm64/v8", dest)); got != b.Id {
		t.Errorf("pull --platform linux/arm64/v8 of the list gave %s, want b (%s)", got, b.Id)
	}
	if got := lastLine(mustMyctr(t, "pull", "-q", "--arch", runtime.GOARCH, dest)); got != a.Id {
		t.Errorf("pull --arch %s of the list gave %s, want a (%s)", runtime.GOARCH, got, a.Id)
	}
	if _, errOut, code := myctr(t, "pull", "--platform", "linux//x", dest); code != 125 || !strings.Contains(errOut, "invalid platform") {
		t.Errorf("pull --platform linux//x: exit %d, %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--platform", "linux/s390x", dest, "true"); code != 125 || !strings.Contains(errOut, "myctr runs images of this machine's platform") {
		t.Errorf("run --platform linux/s390x: exit %d, %q", code, errOut)
	}

	// A list from the registry's images: nothing is pulled, push copies
	// them from there.
	const list2 = "it-mlist:2"
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "manifest", "rm", "--ignore", list2) })
	mustMyctr(t, "manifest", "create", list2)
	mustMyctr(t, "manifest", "add", "--all", list2, "docker://"+dest)
	if got := inspectList(t, list2).digests(); !slices.Equal(got, []string{a.Digest, b.Digest}) {
		t.Errorf("manifest add --all of the registry's list: %v", got)
	}
	dest2 := reg + "/it/copied:1"
	if _, errOut, code := myctr(t, "manifest", "push", "--rm", list2, dest2); code != 0 {
		t.Fatalf("manifest push of registry members: exit %d: %s", code, errOut)
	}
	if _, _, code := myctr(t, "manifest", "exists", list2); code != 1 {
		t.Errorf("push --rm left the list (exists: exit %d)", code)
	}
	if got := inspectList(t, dest2).digests(); !slices.Equal(got, []string{a.Digest, b.Digest}) {
		t.Errorf("the copied list in the registry: %v", got)
	}

	mustMyctr(t, "manifest", "remove", list, b.Digest)
	if got := inspectList(t, list).digests(); !slices.Equal(got, []string{a.Digest}) {
		t.Errorf("after remove: %v, want a alone", got)
	}

	// Bad input: each an Error: and a Hint:, exit 125, nothing changed.
	for _, args := range [][]string{
		{"manifest", "create", list},
		{"manifest", "create", "it-manifest-a:1"},
		{"manifest", "remove", list, "sha256:" + strings.Repeat("0", 64)},
		{"manifest", "add", "it-no-such-list", "it-manifest-a:1"},
		{"manifest", "push", list}, // localhost/NAME: no registry
	} {
		if _, errOut, code := myctr(t, args...); code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, "Hint:") {
			t.Errorf("myctr %s: exit %d, %q; want 125 with Error: and Hint:", strings.Join(args, " "), code, errOut)
		}
	}
	if got := inspectList(t, list).digests(); !slices.Equal(got, []string{a.Digest}) {
		t.Errorf("after refused commands: %v, want a alone", got)
	}

	out := mustMyctr(t, "rmi", list)
	if !strings.Contains(out, "Untagged: localhost/"+list) || !strings.Contains(out, "Deleted: "+id) {
		t.Errorf("rmi of the list printed %q", out)
	}
	if _, _, code := myctr(t, "manifest", "exists", list); code != 1 {
		t.Errorf("rmi left the list (exists: exit %d)", code)
	}
	if _, ok := findImage(t, a.Id); !ok {
		t.Errorf("removing the list removed its image a")
	}
}
