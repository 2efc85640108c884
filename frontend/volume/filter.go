package volume

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/myctr/myctr/frontend/labels"
)

// Filter is a parsed filter list (`volume ls --filter`, the API's
// filters): values of one key are ORed, keys are ANDed, as in Podman.
type Filter map[string][]string

// ParseFilter reads KEY=VALUE filters, refusing a key not in allowed and
// a name= or until= value that does not parse.
func ParseFilter(list []string, allowed ...string) (Filter, error) {
	f := Filter{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return nil, fmt.Errorf("%q is an invalid volume filter", k)
		}
		if k == "name" {
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter name=%s: %w", v, err)
			}
		}
		if k == "until" {
			if _, err := ParseUntil(v); err != nil {
				return nil, err
			}
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// ParseUntil reads an until= filter value: a duration before now (10m)
// or a time (RFC 3339, a date, Unix seconds).
func ParseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	var sec int64
	if _, err := fmt.Sscanf(v, "%d", &sec); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("invalid filter until=%s: a duration (10m) or a time", v)
}

// Match says whether v passes the filter; inUse tells whether a container
// mounts it.
func (f Filter) Match(v *Volume, inUse bool) bool {
	for k, vals := range f {
		hit := false
		for _, want := range vals {
			switch k {
			case "name":
				hit = hit || regexp.MustCompile(want).MatchString(v.Name)
			case "driver":
				hit = hit || v.Driver == want
			case "scope":
				hit = hit || v.Scope == want
			case "label", "opt":
				m := v.Labels
				if k == "opt" {
					m = v.Options
				}
				hit = hit || labels.Match(m, want)
			case "label!":
				hit = hit || !labels.Match(v.Labels, want)
			case "dangling":
				d := want == "true" || want == "1"
				hit = hit || d != inUse
			case "anonymous":
				a := want == "true" || want == "1"
				hit = hit || a == v.Anonymous
			case "until":
				t, _ := ParseUntil(want)
				hit = hit || v.CreatedAt.Before(t)
			}
		}
		if !hit {
			return false
		}
	}
	return true
}
