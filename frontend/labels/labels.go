// Package labels is the one rule by which every --filter label= of
// myctr's lists matches: containers, images, pods, networks and volumes,
// as Podman's filters do.
package labels

import "strings"

// Match reports whether set holds the filter's label: "KEY" matches the
// key with any value, "KEY=VALUE" (VALUE may be empty) that key with that
// value.
func Match(set map[string]string, filter string) bool {
	k, v, withValue := strings.Cut(filter, "=")
	have, ok := set[k]
	return ok && (!withValue || have == v)
}
