package container

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestPruneFilter(t *testing.T) {
	old := &Container{Created: time.Now().Add(-2 * time.Hour), Labels: map[string]string{"app": "web", "tier": "front"}}
	fresh := &Container{Created: time.Now()}
	cases := []struct {
		filters   []string
		old, new_ bool
	}{
		{nil, true, true},
		{[]string{"label=app=web"}, true, false},
		{[]string{"label=app"}, true, false},
		{[]string{"label=app=db"}, false, false},
		{[]string{"label!=app"}, false, true},
		{[]string{"label=app", "label=tier=front"}, true, false},
		{[]string{"until=1h"}, true, false},
		{[]string{"until=10m", "label!=tier"}, false, false},
	}
	for _, tc := range cases {
		f, err := ParsePruneFilter(tc.filters)
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		if f.Match(old) != tc.old || f.Match(fresh) != tc.new_ {
			t.Errorf("%v: old %v, new %v; want %v, %v", tc.filters, f.Match(old), f.Match(fresh), tc.old, tc.new_)
		}
		// An image is filtered by the same labels and creation time.
		if f.MatchObject(old.Labels, old.Created) != tc.old || f.MatchObject(nil, fresh.Created) != tc.new_ {
			t.Errorf("%v: MatchObject disagrees with Match", tc.filters)
		}
	}
	for _, bad := range [][]string{{"status=exited"}, {"label"}, {"until=soon"}} {
		if _, err := ParsePruneFilter(bad); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("%v: %v, want ErrInvalidFilter", bad, err)
		}
	}
}

func TestPrunable(t *testing.T) {
	s, stopped := checkFixture(t)
	running := addContainer(t, s, "running")
	start, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(running, func(c *Container) {
		c.State = State{Status: StatusRunning, Pid: os.Getpid(), PidStart: start}
	}); err != nil {
		t.Fatal(err)
	}
	step := addContainer(t, s, "step")
	if err := s.Update(step, func(c *Container) { c.BuildStep = true }); err != nil {
		t.Fatal(err)
	}
	list, err := s.Prunable(&PruneFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != stopped.ID {
		t.Fatalf("Prunable: %d containers, want the stopped one alone", len(list))
	}
	if removed, err := s.PruneOne(list[0]); !removed || err != nil {
		t.Fatalf("PruneOne: %v, %v", removed, err)
	}
	if _, err := s.Lookup(stopped.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the pruned container is still there: %v", err)
	}
	if removed, err := s.PruneOne(running); removed || err != nil {
		t.Errorf("PruneOne of a running container: %v, %v; want it kept without error", removed, err)
	}
}
