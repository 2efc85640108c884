package container

import (
	"slices"
	"strings"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
)

// An early start. What the init stage's C constructor does before the
// init asks for its configuration (the namespaces, newuidmap and
// newgidmap, PID 1's clone and the start of its Go runtime) depends on
// two things only: the namespaces the container gets and its id maps.
// For a foreground run whose arguments leave both at what they are for
// nearly every container, the CLI starts the stage (through
// myctr-monitor, as any foreground run) first thing, before it parses
// them (cli's startEarly), and reads the image and makes the container's
// record, spec and directories while the stage runs: the stage's work is
// then no longer on the critical path. launch
// takes the stage over only when what it would have started is exactly
// what runs, the namespaces' and maps' environment compared whole;
// otherwise (a guess the container's spec proves wrong, a start that
// needs what an early start lacks) the stage is abandoned and the
// container started as always. A stage that no container takes over
// learns nothing of it: its monitor kills it when the CLI closes the
// control socket (or ends), and it ends itself when the sync socket
// closes.

// EarlyInit is an init stage started before its container exists.
type EarlyInit struct {
	ready chan struct{} // closed once start has returned
	env   []string      // the stage's namespaces and maps, as started
	conn  *nsexec.Conn  // our end of the sync socket; nil when none started
	fg    *fgMonitor
	ip    *initProc
}

// StartEarly starts the init stage of a foreground run that a will
// attach, its namespaces those named in unshare (as nsexec's EnvInitNS
// lists them) and its id maps those mapping returns (for the
// container's --userns already), on another goroutine: the caller goes
// on meanwhile, on the other CPU. It is nil when a's run could not go
// through myctr-monitor or would need what an early start does not give
// (stdin, a terminal, sockets of socket activation); a failure to start
// leaves a stage that launch does not take (the run then starts as
// always).
func StartEarly(unshare []string, mapping func() (*userns.Mapping, error), a *Attach) *EarlyInit {
	if a.Stdin != nil || a.Activation.N > 0 || a.LogOnly || a.NoStdout || a.NoStderr || a.EndWithCaller || monitorBinary() == "" {
		return nil
	}
	fg, err := newFgMonitor(a)
	if err != nil || fg == nil {
		return nil
	}
	e := &EarlyInit{ready: make(chan struct{}), fg: fg}
	go func() {
		defer close(e.ready)
		m, err := mapping()
		var uid, gid []string
		if err == nil {
			uid, gid, err = m.Mappers()
		}
		if err == nil {
			e.env = append([]string{nsexec.EnvInitNS + "=" + strings.Join(unshare, ",")}, nsexec.MapperEnv(uid, gid)...)
		}
		if err != nil || !e.start() {
			fg.ctl.Close()
			fg.peer.Close()
		}
	}()
	// No runtime.Gosched() here to run it at once: the command then
	// waited for it, and the run was no sooner (interleaved, two CPUs).
	return e
}

// start starts e's monitor and stage; false when it could not.
func (e *EarlyInit) start() bool {
	parent, child, err := nsexec.NewPair()
	if err != nil {
		return false
	}
	defer child.Close()
	stage, err := nsexec.StageBinary()
	if err != nil {
		parent.Close()
		return false
	}
	defer stage.Close()
	cmd, ip := stageCommand(stage, Activation{}, e.env, child, nil)
	theirs, err := ip.outputPipes(cmd)
	if err == nil {
		err = e.fg.wrap(cmd, nil, nil, nil, stage, ip.outR, ip.errR)
	}
	if err == nil {
		e.fg.cmd = cmd
		err = cmd.Start()
	}
	// The output pipes are the monitor's to read: none of them ours.
	for _, f := range append(theirs, e.fg.peer, ip.outR, ip.errR) {
		if f != nil {
			f.Close()
		}
	}
	ip.outR, ip.errR = nil, nil
	if err != nil {
		parent.Close()
		return false
	}
	e.conn, e.ip = parent, ip
	return true
}

// Abandon ends e, which no container took over: its monitor kills the
// stage and exits. Abandoning nil, or e twice, does nothing.
//
// The stage is ended once it has made its init (its first message) or
// ended, not before: a monitor killed between its fork and the stage's
// execve would leave a stage that goes on to make namespaces and run
// newuidmap beside the container's own start, and whose processes end
// only later, away from us. The wait is short: the stage has usually
// made its init by the time its container is made.
func (e *EarlyInit) Abandon() {
	if e == nil {
		return
	}
	<-e.ready
	if e.conn == nil {
		return
	}
	e.conn.Await(abandonWait)
	e.conn.Close()
	e.conn = nil
	e.ip.stop(e.fg)
}

// abandonWait bounds, in milliseconds, the wait of Abandon for a stage
// that is stuck (a newuidmap that does not return, say).
const abandonWait = 2000

// takeEarly hands a's early start to the launch of c with plan p, when it
// is what that launch would start (the same namespaces and maps, through
// myctr-monitor, without a terminal, stdin, sockets or namespaces to
// join), and abandons it otherwise. On success r has the monitor, and
// the monitor c's own arguments.
func (s *Store) takeEarly(c *Container, m *userns.Mapping, p *launchPlan, r *running, a *Attach) (*EarlyInit, *nsexec.Conn, error) {
	e := a.Early
	a.Early = nil
	if e == nil {
		return nil, nil, nil
	}
	<-e.ready
	if e.conn == nil {
		return nil, nil, nil
	}
	ok := a.foreground && r.canHandOff(c) && !p.spec.Process.Terminal && a.Stdin == nil && a.Activation.N == 0 &&
		p.join == nil && c.HostConfig.CgroupManager != cgroup.SourceSplit
	if ok {
		env, err := stageEnv(p, m)
		ok = err == nil && slices.Equal(env, e.env)
	}
	if !ok {
		e.Abandon()
		return nil, nil, nil
	}
	conn := e.conn
	e.conn = nil
	r.fg = e.fg
	if err := r.fg.adopt(s, c, r); err != nil {
		conn.Close()
		e.ip.stop(e.fg)
		return nil, nil, err
	}
	return e, conn, nil
}
