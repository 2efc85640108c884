// Command myctr runs containers without root. The same binary is also the
// container's init, the exec stage, the monitor of detached containers and
// the worker that runs inside the user's user namespace: those internal
// stages are chosen by an environment variable that only myctr sets, before
// the command line is parsed.
package main

import (
	"os"

	"github.com/myctr/myctr/frontend/cli"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/netwatch"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

func main() {
	if nsexec.IsMiniInit() {
		os.Exit(nsexec.MiniInit(os.Args[2:]))
	}
	stage := os.Getenv(nsexec.EnvStage)
	nsexec.RunStage(stage)
	switch stage {
	case nsexec.StageUserNS:
		os.Exit(cli.UserNSMain())
	case nsexec.StageMonitor:
		os.Exit(container.MonitorMain(os.Args[1:]))
	case netwatch.Stage:
		os.Exit(netwatch.Main())
	case portfwd.Stage:
		os.Exit(portfwd.Main())
	case container.StageCopy:
		os.Exit(container.CopyMain(os.Args[1:]))
	case nsexec.StageReap:
		os.Exit(container.ReapMain(os.Args[1:]))
	}
	os.Exit(cli.Run(os.Args, os.Stderr))
}
