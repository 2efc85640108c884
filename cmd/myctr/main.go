// Command myctr runs containers without root. The same binary is also the
// container's init, the exec stage, the monitor of detached containers and
// the worker that runs inside the user's user namespace: those internal
// stages are chosen by an environment variable that only myctr sets, before
// the command line is parsed (see stages).
package main

import (
	"os"

	"github.com/myctr/myctr/frontend/cli"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/netwatch"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/portfwd"
)

// eventSettings are containers.conf's for the events log.
func eventSettings() (events.Settings, error) {
	c, err := config.HostContainers()
	if err != nil {
		return events.Settings{}, err
	}
	return events.Settings{Path: c.EventsLogfilePath.Value, MaxSize: c.EventsLogfileMaxSize.Value, MaxSizeSet: c.EventsLogfileMaxSize.Set}, nil
}

// stages is every internal stage myctr runs: those it shares with
// myctr-init (it is their fallback when myctr-init is not installed) and
// those only it has (nsexec.MainStages).
func stages() nsexec.Table {
	t := nsexec.InitStageTable()
	t[nsexec.StageReap] = nsexec.Reap(nsexec.RemoveTree)
	t[nsexec.StageNetWatch] = netwatch.Main
	t[nsexec.StageNetForward] = portfwd.Main
	t[nsexec.StageUserNS] = cli.UserNSMain
	t[nsexec.StageMonitor] = func() int { return container.MonitorMain(os.Args[1:]) }
	t[nsexec.StageMonitorExit] = func() int { return container.MonitorExitMain(os.Args[1:]) }
	t[nsexec.StageHealth] = func() int { return container.HealthMain(os.Args[1:]) }
	t[nsexec.StageCopy] = func() int { return container.CopyMain(os.Args[1:]) }
	t[nsexec.StageNetHolder] = netholder.Main
	cli.AddStages(t) // myctr-full's pull stage
	return t
}

func main() {
	// Before any stage or command records an event.
	events.Configure(eventSettings)
	stages().Run()
	os.Exit(cli.Run(os.Args, os.Stderr))
}
