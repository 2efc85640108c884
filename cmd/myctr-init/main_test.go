package main

import (
	"slices"
	"testing"

	"github.com/myctr/myctr/frontend/nsexec"
)

// TestStages: myctr-init runs exactly the stages myctr starts from it
// (nsexec.Binary, nsexec.StageBinary).
func TestStages(t *testing.T) {
	want := slices.Sorted(slices.Values(nsexec.InitStages))
	if got := stages().Names(); !slices.Equal(got, want) {
		t.Errorf("myctr-init's stages = %v, want %v", got, want)
	}
	for name, run := range stages() {
		if run == nil {
			t.Errorf("stage %q has no function", name)
		}
	}
}
