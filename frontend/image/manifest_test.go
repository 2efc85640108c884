package image

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestManifestListLocal: a list of store images, kept apart from them:
// names are unique across images and lists, members carry the platform of
// their config unless told otherwise, and removing the list or an image
// leaves the other.
func TestManifestListLocal(t *testing.T) {
	s := openStore(t, t.TempDir())
	a := mustImport(t, s, rootfs(t, "a"), "a:1")
	b := mustImport(t, s, rootfs(t, "b"), "b:1")

	l, err := s.CreateList("list:1")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "localhost/list:1" || len(l.ID) != 64 {
		t.Fatalf("CreateList = %+v", l)
	}
	for _, name := range []string{"list:1", "a:1"} {
		if _, err := s.CreateList(name); !errors.Is(err, ErrNameInUse) {
			t.Errorf("CreateList(%s) again: %v, want ErrNameInUse", name, err)
		}
	}
	ctx := context.Background()
	if _, err := s.AddToList(ctx, "list:1", "a:1", false, MemberOptions{}, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToList(ctx, l.ID[:12], "containers-storage:b:1", false, MemberOptions{Arch: "arm64", Annotations: map[string]string{"k": "v"}}, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToList(ctx, "list:1", "containers-storage:nosuch", false, MemberOptions{}, PullOptions{}); !errors.Is(err, ErrImageUnknown) {
		t.Errorf("adding a missing store image: %v, want ErrImageUnknown", err)
	}
	got, err := s.LookupList("list:1")
	if err != nil {
		t.Fatal(err)
	}
	m := got.Index.Manifests
	if len(m) != 2 || m[0].Digest != a.Digest || m[1].Digest != b.Digest {
		t.Fatalf("members %+v, want a then b", m)
	}
	if m[0].Platform == nil || m[0].Platform.OS != a.Config.OS || m[0].Platform.Architecture != a.Config.Architecture {
		t.Errorf("a's platform %+v, want its config's %s/%s", m[0].Platform, a.Config.OS, a.Config.Architecture)
	}
	if m[1].Platform.Architecture != "arm64" || m[1].Annotations["k"] != "v" {
		t.Errorf("b's entry %+v, want arm64 and k=v", m[1])
	}
	// Adding a member again replaces it.
	if _, err := s.AddToList(ctx, "list:1", "a:1", false, MemberOptions{Variant: "x"}, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LookupList("list:1")
	if len(got.Index.Manifests) != 2 || got.Index.Manifests[1].Platform.Variant != "x" {
		t.Errorf("after adding a again: %+v", got.Index.Manifests)
	}
	b2, err := ListJSON(got, "")
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.Index
	if err := json.Unmarshal(b2, &idx); err != nil || idx.SchemaVersion != 2 || idx.MediaType != v1.MediaTypeImageIndex {
		t.Errorf("ListJSON = %s (%v)", b2, err)
	}
	if _, err := s.RemoveMember("list:1", digest.FromString("nothing")); !errors.Is(err, ErrNotInList) {
		t.Errorf("RemoveMember of a digest not there: %v", err)
	}
	if _, err := s.AnnotateMember("list:1", b.Digest, MemberOptions{OSVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	// Removing an image leaves the list; removing the list leaves images.
	if _, _, err := s.Remove("b:1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupList("list:1"); err != nil {
		t.Errorf("the list went with an image: %v", err)
	}
	if _, err := s.RemoveList("list:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupList("list:1"); !errors.Is(err, ErrListUnknown) {
		t.Errorf("list still there: %v", err)
	}
	if _, err := s.Lookup("a:1"); err != nil {
		t.Errorf("a went with the list: %v", err)
	}
	// The images' index never saw a list.
	checkLayout(t, s.Root())
}
