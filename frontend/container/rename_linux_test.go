package container

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/events"
)

func TestRename(t *testing.T) {
	s, a := checkFixture(t)
	b := addContainer(t, s, "other")
	cases := []struct {
		name, to string
		want     error
		wantIn   string // in the error's words
	}{
		{"free name", "/renamed", nil, ""},
		{"its own name", "renamed", ErrInvalidName, "already"},
		{"another's name", "other", ErrNameInUse, b.ID},
		{"invalid", "bad/name", ErrInvalidName, "bad/name"},
		{"empty", "", ErrInvalidName, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Rename(a, tc.to)
			if !errors.Is(err, tc.want) || (err != nil && !strings.Contains(err.Error(), tc.wantIn)) {
				t.Fatalf("Rename(%q) = %v, want %v naming %q", tc.to, err, tc.want, tc.wantIn)
			}
		})
	}
	if a.Name != "renamed" {
		t.Errorf("the container's name is %q, want renamed", a.Name)
	}
	if c, err := s.Lookup("renamed"); err != nil || c.ID != a.ID {
		t.Errorf("Lookup(renamed) = %v, %v; want %s", c, err, a.ID)
	}
	if _, err := s.Lookup("ok"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup of the old name: %v, want ErrNotFound", err)
	}
	var got []events.Event
	if err := events.Read(context.Background(), s.Dirs.RunRoot, events.ReadOptions{}, func(e events.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != "rename" || got[0].Name != "renamed" || got[0].Attributes["oldName"] != "ok" {
		t.Errorf("events: %+v, want one rename of ok to renamed", got)
	}
}
