package container

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/labels"
	"github.com/myctr/myctr/frontend/volume"
)

// ErrInvalidFilter is a prune filter that is not one of Podman's for
// containers, or whose value does not parse.
var ErrInvalidFilter = errors.New("invalid filter")

// PruneFilter is container prune's --filter list (the API's filters):
// label=KEY[=VALUE] and label!=... must all hold, until=TIME keeps the
// containers made at or after TIME (the latest until counts). Podman's
// keys for container prune.
type PruneFilter struct {
	labels, notLabels []string
	until             time.Time
}

// ParsePruneFilter reads KEY=VALUE filters.
func ParsePruneFilter(list []string) (*PruneFilter, error) {
	f := &PruneFilter{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%w %q: KEY=VALUE", ErrInvalidFilter, kv)
		case k == "label":
			f.labels = append(f.labels, v)
		case k == "label!":
			f.notLabels = append(f.notLabels, v)
		case k == "until":
			t, err := volume.ParseUntil(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidFilter, err)
			}
			if t.After(f.until) {
				f.until = t
			}
		default:
			return nil, fmt.Errorf("%w %q: prune filters are label, label! and until", ErrInvalidFilter, k)
		}
	}
	return f, nil
}

// Match says whether c passes the filter.
func (f *PruneFilter) Match(c *Container) bool { return f.MatchObject(c.Labels, c.Created) }

// MatchObject says whether an object with these labels, made at created,
// passes the filter: image prune and system prune filter images with the
// same keys.
func (f *PruneFilter) MatchObject(l map[string]string, created time.Time) bool {
	for _, want := range f.labels {
		if !labels.Match(l, want) {
			return false
		}
	}
	for _, not := range f.notLabels {
		if labels.Match(l, not) {
			return false
		}
	}
	return f.until.IsZero() || created.Before(f.until)
}

// Prunable lists what container prune removes (Podman's and Docker's):
// every container that does not run (created or exited) and passes f,
// but a pod's infra container (it goes with its pod) and a build's step
// (its build removes it); newest first, so that a container's dependents
// (--network container:, made after it) go before it.
func (s *Store) Prunable(f *PruneFilter) ([]*Container, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		c.Refresh()
		if c.Running() || c.PodInfra || c.BuildStep || !f.Match(c) {
			continue
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// PruneOne removes c, one of Prunable's, as rm without --force does. A
// container that started since, or that a running container depends on,
// stays: removed is then false, and so is it for one already gone.
func (s *Store) PruneOne(c *Container) (removed bool, err error) {
	err = s.Remove(c, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrRunning), errors.Is(err, ErrHasDependents), errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}
