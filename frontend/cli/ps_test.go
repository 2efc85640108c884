package cli

import (
	"slices"
	"testing"
	"time"

	"github.com/myctr/myctr/frontend/container"
)

// TestPsFilterLabels: label= matches a key (any value) or key=value, and
// every label filter must hold, as in Podman; label!= excludes;
// network= matches a named network.
func TestPsFilterLabels(t *testing.T) {
	web := &container.Container{Name: "web", Labels: map[string]string{"app": "shop", "tier": "front", "empty": ""},
		Networks: map[string]container.NetworkAttach{"shopnet": {}}}
	db := &container.Container{Name: "db", Labels: map[string]string{"app": "shop", "tier": "back"}}
	bare := &container.Container{Name: "bare"}
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{[]string{"label=app"}, []string{"web", "db"}},
		{[]string{"label=app=shop"}, []string{"web", "db"}},
		{[]string{"label=app=sho"}, nil},
		{[]string{"label=app=shop", "label=tier=front"}, []string{"web"}},
		{[]string{"label=tier=front", "label=tier=back"}, nil}, // all must hold
		{[]string{"label=empty="}, []string{"web"}},
		{[]string{"label!=tier=front"}, []string{"db", "bare"}},
		{[]string{"label!=app"}, []string{"bare"}},
		{[]string{"network=shopnet"}, []string{"web"}},
		{[]string{"name=^d", "label=app"}, []string{"db"}},
	} {
		match, err := psFilter(tc.filters)
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		var got []string
		for _, c := range []*container.Container{web, db, bare} {
			if match(c) {
				got = append(got, c.Name)
			}
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("%v: %v, want %v", tc.filters, got, tc.want)
		}
	}
	if _, err := psFilter([]string{"labels=x"}); err == nil {
		t.Error("an unknown key was accepted")
	}
	// health=none: the containers with no check (a stopped one with a
	// check has no finding now, none of the others either).
	checked := &container.Container{Name: "checked", Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}},
		State: container.State{Status: container.StatusExited, Health: &container.HealthState{Status: container.HealthHealthy}}}
	for f, want := range map[string][]string{"health=none": {"web", "bare"}, "health=healthy": nil} {
		match, err := psFilter([]string{f})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range []*container.Container{web, checked, bare} {
			if match(c) {
				got = append(got, c.Name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", f, got, want)
		}
	}
	if _, err := psFilter([]string{"health=sick"}); err == nil {
		t.Error("health=sick was accepted")
	}
}

// TestStatusText: a container whose end time was lost never shows
// "106751 days ago", and -1 reads as unknown.
func TestStatusText(t *testing.T) {
	for _, tc := range []struct {
		st   container.State
		want string
	}{
		{container.State{Status: container.StatusExited, ExitCode: -1}, "Exited (unknown)"},
		{container.State{Status: container.StatusExited, ExitCode: 3}, "Exited (3)"},
		{container.State{Status: container.StatusExited, ExitCode: 3, FinishedAt: time.Now().Add(-2 * time.Minute)}, "Exited (3) 2 minutes ago"},
		{container.State{Status: container.StatusCreated}, "Created"},
	} {
		if got := statusText(&container.Container{State: tc.st}); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.want)
		}
	}
}
