package image

import (
	"encoding/json"
	"slices"
	"testing"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestNoteNames: a tag lands after the names the image has, and a name
// taken away stays in the history, as containers/storage keeps it.
func TestNoteNames(t *testing.T) {
	d := digest.FromString("m")
	named := func(n string) v1.Descriptor {
		return v1.Descriptor{Digest: d, Annotations: map[string]string{v1.AnnotationRefName: n}}
	}
	hist := func(idx v1.Index) []string {
		var h []string
		_ = json.Unmarshal([]byte(idx.Manifests[0].Annotations[annotationNamesHistory]), &h)
		return h
	}
	step := func(old v1.Index, names ...string) v1.Index {
		idx := v1.Index{}
		for _, n := range names {
			idx.Manifests = append(idx.Manifests, named(n))
		}
		noteNames(old, idx)
		return idx
	}
	i1 := step(v1.Index{}, "a")
	i2 := step(i1, "a", "t1")
	i3 := step(i2, "a")
	i4 := step(i3, "a", "t2")
	i5 := step(i4, "a")
	for _, c := range []struct {
		idx  v1.Index
		want []string
	}{
		{i1, []string{"a"}}, {i2, []string{"a", "t1"}}, {i3, []string{"a", "t1"}},
		{i4, []string{"a", "t2", "t1"}}, {i5, []string{"a", "t2", "t1"}},
	} {
		if got := hist(c.idx); !slices.Equal(got, c.want) {
			t.Errorf("history %v, want %v", got, c.want)
		}
	}
	// The name of each descriptor is kept beside the history.
	if i4.Manifests[1].Annotations[v1.AnnotationRefName] != "t2" {
		t.Errorf("annotations of a descriptor lost its name: %v", i4.Manifests[1].Annotations)
	}
}
