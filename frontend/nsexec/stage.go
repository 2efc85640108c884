package nsexec

import (
	"fmt"
	"os"
	"slices"
)

// Stages of the re-executed binary: the values of _MYCTR_STAGE. Every
// stage a binary can be asked for is in that binary's Table, and the
// tests of cmd/myctr and cmd/myctr-init check it against the lists below.
const (
	StageInit    = "init"
	StageExec    = "exec"
	StageSignal  = "signal"
	StageUserNS  = "userns"
	StageMonitor = "monitor"
	// StageMonitorExit is what myctr-monitor executes when the container
	// it watched has ended: the end of the monitor's work.
	StageMonitorExit = "monitor-exit"
	// StageHealth is what myctr-monitor executes every --health-interval:
	// one run of the container's healthcheck.
	StageHealth     = "health"
	StageReap       = "reap"
	StageCopy       = "cp"
	StageNetWatch   = "network-watch"
	StageNetForward = "network-forward"
	StageNetHolder  = "network-holder"
	// StagePull is myctr-full's alone: a pull for the lean myctr, which
	// links no registry client.
	StagePull = "pull"
)

// InitStages are the stages started from Binary() or StageBinary(): the
// small myctr-init runs them, and so does myctr itself, which is what
// Binary() falls back to when myctr-init is not installed.
var InitStages = []string{StageInit, StageExec, StageSignal, StageReap, StageNetWatch, StageNetForward}

// MainStages are the stages started from /proc/self/exe of the main
// binary only: they need code (the CLI's user-namespace work, the
// monitor, the copy worker, the named networks' holder) that myctr-init
// does not link; the pull stage is started from myctr-full.
var MainStages = []string{StageUserNS, StageMonitor, StageMonitorExit, StageHealth, StageCopy, StageNetHolder, StagePull}

// Table maps each stage a binary runs to the function that runs it; the
// function returns the process's exit code. It is the one place where a
// binary chooses its stage, as moby's reexec registry is.
type Table map[string]func() int

// Run runs the stage _MYCTR_STAGE names, or run --init's PID 1 (which is
// started with no environment at all), and exits with its code. It
// returns only when the process is no stage, for the binary's own main
// to run. A stage this binary does not have is an error: a mismatch of
// myctr and myctr-init must not fall through to the CLI.
func (t Table) Run() {
	if IsMiniInit() {
		os.Exit(MiniInit(os.Args[2:]))
	}
	name := os.Getenv(EnvStage)
	if name == "" {
		return
	}
	if !constructorRan {
		fmt.Fprintf(os.Stderr, "Error: %s runs the stage %q without the C constructor that makes its namespaces (built without cgo and without frontend/nsexec/preinit)\nHint: build it with make\n", os.Args[0], name)
		os.Exit(ExitSetup)
	}
	run, ok := t[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "Error: %s has no internal stage %q\nHint: install myctr and myctr-init from the same build (make install)\n", os.Args[0], name)
		os.Exit(ExitSetup)
	}
	os.Exit(run())
}

// Names lists the table's stages, sorted.
func (t Table) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// InitStageTable is the part of a table that both binaries share: the
// stages that run inside a container's namespaces, which nsexec itself
// implements. The reap stage (see Reap), the network stages and the main
// binary's own are added by each binary's main.
func InitStageTable() Table {
	return Table{
		StageInit:   func() int { Init(); return ExitSetup },
		StageExec:   func() int { Exec(); return ExitSetup },
		StageSignal: Signal,
	}
}
