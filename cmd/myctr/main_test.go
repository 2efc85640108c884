package main

import (
	"slices"
	"testing"

	"github.com/myctr/myctr/frontend/nsexec"
)

// TestStages: myctr runs every stage, those of myctr-init too (it is
// their fallback when myctr-init is not installed), and no other.
func TestStages(t *testing.T) {
	want := append(slices.Clone(nsexec.InitStages), nsexec.MainStages...)
	slices.Sort(want)
	if got := stages().Names(); !slices.Equal(got, want) {
		t.Errorf("myctr's stages = %v, want %v", got, want)
	}
	for name, run := range stages() {
		if run == nil {
			t.Errorf("stage %q has no function", name)
		}
	}
}
