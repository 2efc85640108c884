// Package cgroup is myctr's view of cgroup v2 resource limits: the run
// flags as Podman spells and parses them (Resources), their OCI form
// (linux.resources) and the cgroup v2 files they become, and where a
// container's cgroup could come from on this host (Detect). It never
// creates, changes or writes a cgroup.
package cgroup
