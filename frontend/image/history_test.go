package image

import (
	"slices"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestHistory: the newest step first, with the image's id and names; a
// step that made a layer has the layer's size, an empty one none; a
// config without history gets a step per layer.
func TestHistory(t *testing.T) {
	s := openStore(t, t.TempDir())
	img := mustImport(t, s, rootfs(t, "h"), "localhost/h:1")
	layer, err := s.layerSize(img.Config.RootFS.DiffIDs[0])
	if err != nil || layer <= 0 {
		t.Fatalf("layer size %d, %v", layer, err)
	}
	h := s.History(img)
	if len(h) != 1 || h[0].ID != img.ID || h[0].CreatedBy != "myctr import" || h[0].Size != layer ||
		!slices.Equal(h[0].Tags, []string{"localhost/h:1"}) || h[0].Created.IsZero() {
		t.Errorf("History of an import: %+v", h)
	}
	img.Config.History = []v1.History{{CreatedBy: "ADD rootfs"}, {CreatedBy: "LABEL a=b", EmptyLayer: true}}
	h = s.History(img)
	if len(h) != 2 || h[0].CreatedBy != "LABEL a=b" || h[0].Size != 0 || h[0].ID != img.ID ||
		h[1].CreatedBy != "ADD rootfs" || h[1].Size != layer || h[1].ID != MissingID || h[1].Tags != nil {
		t.Errorf("History with an empty step: %+v", h)
	}
	img.Config.History = nil
	if h = s.History(img); len(h) != 1 || h[0].Size != layer || h[0].ID != img.ID {
		t.Errorf("History without history: %+v", h)
	}
}
