package nsexec

import (
	"os"
	"os/signal"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// IsPause reports whether args start the pause mode of myctr-init: the
// infra container of a pod (the pause image's entrypoint), which Podman
// runs as catatonit -P. The image holds myctr-init itself as /catatonit.
func IsPause(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch filepath.Base(args[0]) {
	case "catatonit":
		return len(args) == 2 && args[1] == "-P"
	case "pause":
		return len(args) == 1
	}
	return false
}

// Pause is the infra container's process: PID 1 of its namespaces, which
// it only holds. It reaps whatever ends in its PID namespace and exits 0 at
// SIGTERM or SIGINT (stop's signals; a PID 1 gets no signal it does not
// handle, so they are handled here), as catatonit -P does.
func Pause() int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGCHLD)
	for s := range sigs {
		if s != unix.SIGCHLD {
			return 0
		}
		for {
			pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}
