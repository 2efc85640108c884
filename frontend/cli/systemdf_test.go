package cli

import (
	"testing"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/diskusage"
	"github.com/myctr/myctr/frontend/volume"
)

func TestDfSummaries(t *testing.T) {
	running := &container.Container{}
	running.State.Status = container.StatusRunning
	exited := &container.Container{}
	exited.State.Status = container.StatusExited
	u := &diskusage.Usage{
		Images: []diskusage.Image{{Size: 300, Containers: 2}, {Size: 100}},
		Containers: []diskusage.Container{
			{Container: running, RWSize: 10},
			{Container: exited, RWSize: 30},
		},
		Volumes: []diskusage.Volume{
			{Volume: &volume.Volume{Name: "a"}, Size: 5, Users: []string{"x", "y"}},
			{Volume: &volume.Volume{Name: "b"}, Size: 7},
		},
	}
	got := dfSummaries(u)
	want := []struct {
		typ                   string
		total, active         int
		size, reclaim         int64
		sizeText, reclaimText string
	}{
		{"Images", 2, 1, 400, 100, "400B", "100B (25%)"},
		{"Containers", 2, 1, 40, 30, "40B", "30B (75%)"},
		{"Local Volumes", 2, 2, 12, 7, "12B", "7B (58%)"},
	}
	for i, w := range want {
		g := got[i]
		if g.Type != w.typ || g.Total != w.total || g.Active != w.active || g.RawSize != w.size || g.RawReclaimable != w.reclaim {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
		if g.Size() != w.sizeText || g.Reclaimable() != w.reclaimText {
			t.Errorf("line %d prints %q %q, want %q %q", i, g.Size(), g.Reclaimable(), w.sizeText, w.reclaimText)
		}
	}
	if r := (dfSummary{}).Reclaimable(); r != "0B (0%)" {
		t.Errorf("empty Reclaimable = %q, want 0B (0%%)", r)
	}
}
