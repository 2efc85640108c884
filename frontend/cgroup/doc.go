// Package cgroup is myctr's view of cgroup v2 resource limits: the run
// flags as Podman spells and parses them (Resources), their OCI form
// (linux.resources) and the cgroup v2 files they become (V2Files); where a
// container's cgroup comes from on this host (Detect, Choose, CheckSplit);
// the container's cgroup itself: a scope of the user's systemd manager
// (StartUserScope), or below the cgroup myctr runs in (StartSplit), split
// into the container's leaf with its limits written (Setup); the
// transient scopes of the system's or a user's manager that both
// StartUserScope and myctr-runtime's --systemd-cgroup ask for
// (StartScope, StopScope, SetScopeLimits); the OOM watch
// on memory.events; and the readings of `stats` (ReadSample). It writes
// only in cgroups delegated to its caller; the helper's scopes are made
// by myctr-helper.
package cgroup
