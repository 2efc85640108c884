package netstore

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/labels"
)

// Filter is a parsed --filter list of network ls and network prune:
// values of one key are ORed, except label's and label!'s, which must all
// hold; keys are ANDed. Podman's rules.
type Filter struct {
	keys  map[string][]string
	names map[string]*regexp.Regexp
	until time.Time
}

// The keys each command takes (Podman 4.3's).
var (
	ListFilterKeys  = []string{"name", "id", "driver", "label", "label!", "until", "dangling"}
	PruneFilterKeys = []string{"label", "label!", "until"}
)

// ParseFilter reads KEY=VALUE filters; allowed are the keys the command
// takes. now is the time an until=DURATION counts back from.
func ParseFilter(list []string, allowed []string, now time.Time) (*Filter, error) {
	f := &Filter{keys: map[string][]string{}, names: map[string]*regexp.Regexp{}}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("invalid filter %q: KEY=VALUE: %w", kv, ErrInvalidArg)
		}
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("invalid filter %q (%s): %w", k, strings.Join(allowed, ", "), ErrInvalidArg)
		}
		switch k {
		case "name":
			re, err := regexp.Compile(v)
			if err != nil {
				return nil, fmt.Errorf("invalid filter name=%s: %v: %w", v, err, ErrInvalidArg)
			}
			f.names[v] = re
		case "driver":
			if v != DriverBridge && v != DriverHelper {
				return nil, fmt.Errorf("invalid filter driver=%s: myctr's networks are bridge or bridge-helper: %w", v, ErrInvalidArg)
			}
		case "dangling":
			if _, err := strconv.ParseBool(v); err != nil {
				// Podman's words.
				return nil, fmt.Errorf("invalid dangling filter value %q: %w", v, ErrInvalidArg)
			}
		case "until":
			t, err := parseUntil(v, now)
			if err != nil {
				return nil, err
			}
			if f.until.IsZero() || t.After(f.until) {
				f.until = t
			}
		}
		f.keys[k] = append(f.keys[k], v)
	}
	return f, nil
}

// parseUntil reads until=: a Go duration back from now, a Unix time in
// seconds, or a date and time.
func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid filter until=%s: a duration (10m), a Unix time or a date: %w", v, ErrInvalidArg)
}

// Match says whether n passes the filter; inUse tells whether a container
// is on it (for dangling).
func (f *Filter) Match(n *Network, inUse bool) bool {
	for k, vals := range f.keys {
		if k == "label" || k == "label!" {
			for _, want := range vals {
				if labels.Match(n.Labels, want) != (k == "label") {
					return false
				}
			}
			continue
		}
		hit := false
		for _, want := range vals {
			switch k {
			case "name":
				hit = hit || f.names[want].MatchString(n.Name)
			case "id":
				hit = hit || strings.HasPrefix(n.ID, want)
			case "driver":
				hit = hit || n.Driver == want
			case "until":
				hit = hit || n.Created.Before(f.until)
			case "dangling":
				d, _ := strconv.ParseBool(want)
				hit = hit || d != inUse
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// Needs says whether the filter has key k (dangling: the caller must know
// which networks are in use).
func (f *Filter) Needs(k string) bool { return len(f.keys[k]) > 0 }
