package container

import (
	"maps"

	"github.com/myctr/myctr/frontend/events"
)

// event records what happened to c (create, start, died, stop, kill,
// remove) in the events log, as Podman's events show it: the image and
// name, the container's labels and its pod among the attributes. Best
// effort: a failure to record fails nothing. kv are more attributes, in
// pairs (health_status: healthy).
func (s *Store) event(c *Container, status string, exitCode *int, kv ...string) {
	attrs := map[string]string{"image": c.ImageName, "name": c.Name}
	maps.Copy(attrs, c.Labels)
	for i := 0; i+1 < len(kv); i += 2 {
		attrs[kv[i]] = kv[i+1]
	}
	if c.Pod != "" {
		attrs["podId"] = c.Pod
	}
	_ = events.Record(s.Dirs.RunRoot, events.Event{ID: c.ID, Image: c.ImageName, Name: c.Name, Status: status,
		Type: events.TypeContainer, ContainerExitCode: exitCode, Attributes: attrs})
}
