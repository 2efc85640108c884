// Command myctr-init is the small program myctr starts for the stages that
// run inside a container's namespaces: the container's init, the exec stage
// and the signal stage (see frontend/nsexec), the watcher and the port
// forwarder of a rootless network (frontend/netwatch, frontend/portfwd),
// the init of a container run with --init (the init's own sealed copy of
// this binary, as /run/myctr-init), a pod's infra container (the pause
// image holds this binary as /catatonit; `catatonit -P` sleeps until
// SIGTERM, see nsexec.Pause), and the deletion of an --rm
// container's directory. It links only what those
// stages need, so each container start pays for a small Go runtime rather
// than the whole CLI's. myctr falls back to running these stages itself
// when myctr-init is not installed beside it.
package main

import (
	"os"

	"github.com/myctr/myctr/frontend/netwatch"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

// stages is every internal stage myctr-init runs (nsexec.InitStages).
func stages() nsexec.Table {
	t := nsexec.InitStageTable()
	t[nsexec.StageReap] = nsexec.Reap(nil) // hands over to myctr for the user namespace
	t[nsexec.StageNetWatch] = netwatch.Main
	t[nsexec.StageNetForward] = portfwd.Main
	return t
}

func main() {
	if nsexec.IsPause(os.Args) {
		os.Exit(nsexec.Pause()) // a pod's infra container (the pause image)
	}
	stages().Run()
	os.Stderr.WriteString("Error: myctr-init is started by myctr, not by hand\n")
	os.Exit(nsexec.ExitSetup)
}
