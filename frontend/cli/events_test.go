package cli

import (
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/events"
)

// TestEventLine: Podman's plain line, image and name first, then the
// other attributes (labels, the exit code) in order.
func TestEventLine(t *testing.T) {
	code := 3
	tm := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		e    events.Event
		want string
	}{
		{events.Event{Time: tm, Type: events.TypeContainer, Status: "died", ID: "abc", Name: "web", Image: "bb:1",
			Attributes: map[string]string{"a": "1", "zz": "2"}, ContainerExitCode: &code},
			"2026-01-02 03:04:05.000000006 +0000 UTC container died abc (image=bb:1, name=web, a=1, containerExitCode=3, zz=2)"},
		{events.Event{Time: tm, Type: events.TypeImage, Status: "pull", ID: "def", Name: "bb:1"},
			"2026-01-02 03:04:05.000000006 +0000 UTC image pull def bb:1"},
		{events.Event{Time: tm, Type: events.TypeImage, Status: "loadfromarchive", Name: "/tmp/a.tar"},
			"2026-01-02 03:04:05.000000006 +0000 UTC image loadfromarchive  /tmp/a.tar"},
		{events.Event{Time: tm, Type: events.TypeVolume, Status: "create", ID: "v1"},
			"2026-01-02 03:04:05.000000006 +0000 UTC volume create v1"},
	} {
		if got := eventLine(tc.e); got != tc.want {
			t.Errorf("eventLine:\n got %s\nwant %s", got, tc.want)
		}
	}
}
