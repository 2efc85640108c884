package events

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidFilter is a filter key Filter does not know, or one without
// a value.
var ErrInvalidFilter = errors.New("invalid events filter")

// FilterKeys are the keys Filter takes (status= is event=).
var FilterKeys = []string{"type", "event", "container", "image", "pod", "volume", "label"}

// ParseFilters reads filters given as KEY=VALUE strings (`myctr events
// --filter`) into the values of each key.
func ParseFilters(filters []string) (map[string][]string, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			if slices.Contains(FilterKeys, k) || k == "status" {
				return nil, fmt.Errorf("%w %q: it has no value", ErrInvalidFilter, f)
			}
		}
		byKey[k] = append(byKey[k], v)
	}
	return byKey, nil
}

// Filter is the match of filters: the values of one key are
// alternatives, the keys must all match. Keys are FilterKeys (status= is
// event=); a container, pod, volume or image is named by its name or a
// prefix of its id; label=KEY or label=KEY=VALUE.
func Filter(byKey map[string][]string) (func(Event) bool, error) {
	keys := map[string][]string{}
	for k, vs := range byKey {
		if k == "status" {
			k = "event"
		}
		if !slices.Contains(FilterKeys, k) {
			return nil, fmt.Errorf("%w %q: the keys are %s", ErrInvalidFilter, k, strings.Join(FilterKeys, ", "))
		}
		for _, v := range vs {
			if v == "" {
				return nil, fmt.Errorf("%w %q: it has no value", ErrInvalidFilter, k+"=")
			}
		}
		keys[k] = append(keys[k], vs...)
	}
	named := func(e Event, typ, v string) bool {
		return e.Type == typ && (e.Name == v || (v != "" && strings.HasPrefix(e.ID, v)))
	}
	one := func(e Event, k, v string) bool {
		switch k {
		case "type":
			return e.Type == v
		case "event":
			return e.Status == v
		case "container", "pod", "volume":
			return named(e, k, v) || (k == "pod" && e.Type == TypeContainer && e.Attributes["podId"] != "" && strings.HasPrefix(e.Attributes["podId"], v))
		case "image":
			return named(e, TypeImage, v) || e.Image == v || e.Attributes["image"] == v
		case "label":
			lk, lv, hasValue := strings.Cut(v, "=")
			got, ok := e.Attributes[lk]
			return ok && (!hasValue || got == lv)
		}
		return false
	}
	return func(e Event) bool {
		for k, vs := range keys {
			if !slices.ContainsFunc(vs, func(v string) bool { return one(e, k, v) }) {
				return false
			}
		}
		return true
	}, nil
}
