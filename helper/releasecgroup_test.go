package helper

import (
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// TestReleaseCgroup: ReleaseCgroup checks its arguments before it asks
// polkit for org.myctr.helper.cgroup (details: the container); releasing
// nothing succeeds; polkit's refusal names the action. ReleaseAll of a
// uid without cgroups asks for the network action alone, as before.
func TestReleaseCgroup(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	v := dbus.MakeVariant
	wantErr(t, "bad name", h.call("ReleaseCgroup", "../x", noOpts()).Err, protocol.ErrInvalidArgs, "../x")
	wantErr(t, "unknown option", h.call("ReleaseCgroup", "c1", map[string]dbus.Variant{"force": v(true)}).Err, protocol.ErrInvalidArgs, "force")
	if a := h.auth.snapshot(); len(a) != 0 {
		t.Errorf("polkit asked about refused calls: %+v", a)
	}
	if err := h.call("ReleaseCgroup", "c1", noOpts()).Err; err != nil {
		t.Errorf("releasing nothing: %v", err)
	}
	if a := h.auth.snapshot(); len(a) != 1 || a[0].action != protocol.ActionCgroup || a[0].details[protocol.DetailContainer] != "c1" {
		t.Errorf("polkit asked %+v, want %s for c1", a, protocol.ActionCgroup)
	}
	h.auth.setDeny(protocol.ActionCgroup, true)
	wantErr(t, "refused by polkit", h.call("ReleaseCgroup", "c1", noOpts()).Err, protocol.ErrNotAuthorized, protocol.ActionCgroup)
	h.auth.reset()
	var n uint32
	if err := h.call("ReleaseAll", noOpts()).Store(&n); err != nil || n != 0 {
		t.Errorf("ReleaseAll of nothing: %d, %v", n, err)
	}
	if got := h.auth.actions(); !slices.Equal(got, []string{protocol.ActionNetwork}) {
		t.Errorf("ReleaseAll of nothing asked polkit for %v, want %s alone", got, protocol.ActionNetwork)
	}
}
