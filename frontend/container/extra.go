package container

// HostExtra are run's settings that Podman keeps with a container and
// that the monitor applies: --timeout and --runtime. They are fields of
// HostConfig (embedded: the same JSON object).
type HostExtra struct {
	// Timeout is --timeout: the seconds the container may run before it
	// is killed (SIGKILL), its exit code then -1, as Podman's; 0: none.
	Timeout uint `json:",omitempty"`
	// Runtime is --runtime as given: a copy of myctr itself (the only
	// runtime myctr has), kept for inspect's OCIRuntime.
	Runtime string `json:",omitempty"`
}

// RuntimeOf is the container's OCI runtime as inspect shows it: --runtime
// as given, else myctr.
func RuntimeOf(c *Container) string {
	if c.HostConfig.Runtime != "" {
		return c.HostConfig.Runtime
	}
	return "myctr"
}
