package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
)

// The hand-over to myctr-monitor. A detached container's monitor is this
// program while it starts the container (the whole of its logic: the
// spec, the network, the cgroup, the record), and then, for the
// container's life, the small static myctr-monitor (cmd/myctr-monitor),
// which this process executes in its place: the same pid and start time
// (which the record names), the init still its child. myctr-monitor keeps
// the output in the log, passes SIGTERM on as the stop signal, enforces
// --timeout and watches the OOM count; when the init has exited and the
// output is drained, it executes this binary's monitor-exit stage
// (MonitorExitMain), which ends the run as the monitor always did (the
// network, the cgroup, the exit's record, --rm, a restart, and then the
// hand-over again).
//
// A container whose output goes to the journal, or that has
// --sdnotify=container (a proxy of its notify socket), stays with this
// program, as does every container when myctr-monitor is not installed.

// monitorBinary is myctr-monitor beside the running executable or in
// ../libexec/myctr, "" when there is none.
var monitorBinary = sync.OnceValue(func() string { return nsexec.Companion("myctr-monitor") })

// canHandOff says whether myctr-monitor can take c's run r over.
func (r *running) canHandOff(c *Container) bool {
	return r.notify == nil && (r.log == nil || r.log.journal == nil) && c.HostConfig.LogDriver != LogJournald && monitorBinary() != ""
}

// await waits for r, c's run, to end and returns its exit code: here, or,
// when r was left for myctr-monitor, there, and then this function never
// returns (the process is myctr-monitor, and then the monitor-exit
// stage). A hand-over that fails pumps the output here after all.
func (s *Store) await(c *Container, r *running, terminated *atomic.Bool) int {
	if r.handoff {
		err := s.handOff(c, r, terminated)
		// Still here: not handed over.
		fmt.Fprintf(os.Stderr, "myctr monitor: hand over to myctr-monitor: %v\n", err)
		r.handoff = false
		if r.cg != nil && r.oom == nil {
			r.oom = cgroup.WatchOOM(r.cg.Dir())
		}
		r.startPumps(&Attach{LogOnly: true}, r.out, r.err)
	}
	return r.wait()
}

// handOff executes myctr-monitor with r's descriptors; it returns only
// when that fails. A SIGTERM that comes until then is this process's to
// pass on (the monitor's handler signals the container and sets
// terminated, read as late as may be); from the exec until myctr-monitor
// catches it, it has its default action.
func (s *Store) handOff(c *Container, r *running, terminated *atomic.Bool) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	oom := ""
	if r.cg != nil && r.oom != nil {
		oom = filepath.Join(r.cg.Dir(), "memory.events")
	}
	// The count so far stays ours should the hand-over fail; from now on
	// myctr-monitor reads it.
	r.oomKilled = r.oom.Stop(false) || r.oomKilled
	r.oom = nil
	out, errOut, logFD := r.out, r.err, -1
	if r.pty != nil {
		out, errOut = r.pty, nil
	}
	path, max := "", int64(0)
	if r.log != nil && r.log.f != nil {
		logFD, path, max = int(r.log.f.Fd()), r.log.path, r.log.maxSize
	}
	fd := func(f *os.File) int {
		if f == nil {
			return -1
		}
		return int(f.Fd())
	}
	keep := []int{r.pidfd, fd(out), fd(errOut), logFD}
	for _, k := range keep {
		if k < 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(k), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("keep descriptor %d: %w", k, err)
		}
	}
	term := "0"
	if terminated.Load() {
		term = "1"
	}
	argv := []string{"myctr-monitor",
		"pid=" + strconv.Itoa(r.proc.Pid), "pidfd=" + strconv.Itoa(r.pidfd),
		"out=" + strconv.Itoa(fd(out)), "err=" + strconv.Itoa(fd(errOut)),
		"log=" + strconv.Itoa(logFD), "path=" + path, "max=" + strconv.FormatInt(max, 10),
		"stop=" + strconv.Itoa(int(StopSignalOf(c))), "timeout=" + strconv.FormatInt(r.timeout.Milliseconds(), 10),
		"oom=" + oom, "term=" + term, "hc=" + strconv.FormatInt(healthEvery(c).Milliseconds(), 10),
		"--", exe, s.Dirs.Root, s.Dirs.RunRoot, c.ID}
	err = syscall.Exec(monitorBinary(), argv, monitorExitEnv())
	for _, k := range keep {
		if k >= 0 {
			unix.FcntlInt(uintptr(k), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
	return err
}

// MonitorExitMain is the monitor-exit stage: myctr-monitor executes it
// when the container it watched has ended, with the monitor's arguments
// (ROOT RUNROOT ID) and the outcome (CODE OOM TIMEDOUT TERMINATED, the
// flags 0 or 1). It ends the run as the monitor does after its wait, and
// exits with the container's exit code.
func MonitorExitMain(args []string) int {
	os.Unsetenv(nsexec.EnvStage)
	terms := monitorSignals()
	if len(args) != 7 {
		fmt.Fprintln(os.Stderr, "myctr monitor-exit: bad arguments")
		return nsexec.ExitSetup
	}
	code, err := strconv.Atoi(args[3])
	if err != nil {
		code = nsexec.ExitSetup
	}
	s, c, m, err := openMonitored(args)
	if err != nil {
		// Removed meanwhile (rm -f), or the store is gone: nothing of it
		// is left to record.
		return code
	}
	if c.BuildStep {
		// Its build is gone (myctr-monitor killed the step when it saw
		// it go): nobody is left to make its layer.
		if err := s.remove(c, true, false, os.Getpid()); err != nil {
			fmt.Fprintf(os.Stderr, "myctr monitor-exit: remove build step %.12s: %v\n", c.ID, err)
		}
		return code
	}
	r := &running{id: c.ID, net: s.resumeNet(c, m), pidfd: -1, oomKilled: args[4] == "1", cg: c.State.Cgroup}
	var cur atomic.Pointer[running]
	var terminated atomic.Bool
	cur.Store(r)
	terminated.Store(args[6] == "1")
	go func() {
		for range terms {
			terminated.Store(true)
			cur.Load().signal(StopSignalOf(c))
		}
	}()
	return s.afterExit(c, m, r, r.end(code), &cur, &terminated)
}

// resumeNet is c's network driver as its start left it, for the end of
// its run in another process than the one that started it: what the
// driver releases at the end is in the record.
func (s *Store) resumeNet(c *Container, m *userns.Mapping) netDriver {
	d := s.newNetDriver(c, m)
	if b, ok := d.(*bridgeNet); ok && c.State.Bridge != nil {
		b.bridge = &network.Bridge{Bridge: c.State.Bridge.Bridge}
		b.member = b.network != ""
	}
	return d
}
