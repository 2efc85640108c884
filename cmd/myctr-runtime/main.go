// Command myctr-runtime is an OCI runtime with runc's command line, for
// the callers that drive runc: Podman's conmon (`podman --runtime`),
// containerd's runc shim (`ctr run --runc-binary`, a RuntimeClass's
// BinaryName) and the runtime-tools validation suite. It runs a bundle on
// the core `myctr run` uses (see frontend/ociruntime), and it runs the
// container's init stage itself: its own binary, re-executed.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/ociruntime"
	"github.com/myctr/myctr/frontend/security"
)

// version is what `--version` prints; the build sets it.
var version = "dev"

// global holds the flags that come before the command.
type global struct {
	root, log, logFormat string
	debug, systemdCgroup bool
	rootless             string
	logFile              *os.File
	exit                 int // the exit code of a failure, 1 unless set
}

// fail reports err as runc does (stderr, and the --log file in its
// format, which conmon and the containerd shim read), with the fix where
// it is known (a "Hint:" line on stderr, in the log's message) and exits
// 1 (or g.exit).
func (g *global) fail(err error) {
	msg := err.Error()
	fmt.Fprintln(os.Stderr, "Error: "+msg)
	var he *ociruntime.HintError
	if errors.As(err, &he) {
		fmt.Fprintln(os.Stderr, "Hint: "+he.Hint())
		msg += " (hint: " + he.Hint() + ")"
	}
	if g.logFile != nil {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		if g.logFormat == "json" {
			b, _ := json.Marshal(map[string]string{"level": "error", "msg": msg, "time": now})
			g.logFile.Write(append(b, '\n'))
		} else {
			fmt.Fprintf(g.logFile, "time=%q level=error msg=%q\n", now, msg)
		}
	}
	if g.exit != 0 {
		os.Exit(g.exit)
	}
	os.Exit(1)
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// commands maps each command to its function; args are what follows it.
var commands = map[string]func(g *global, rt *ociruntime.Runtime, args []string) error{
	"create": cmdCreate, "start": cmdStart, "run": cmdRun, "state": cmdState, "kill": cmdKill,
	"delete": cmdDelete, "list": cmdList, "ps": cmdPs, "spec": cmdSpec, "features": cmdFeatures,
	"exec": cmdExec, "pause": cmdPause, "resume": cmdResume, "update": cmdUpdate,
	"events": cmdUnsupported, "checkpoint": cmdUnsupported, "restore": cmdUnsupported,
}

func main() {
	nsexec.InitStageTable().Run() // the container's init: this binary again
	g := &global{}
	fs := newFlags("myctr-runtime")
	fs.StringVar(&g.root, "root", "", "state directory")
	fs.StringVar(&g.log, "log", "", "log file")
	fs.StringVar(&g.logFormat, "log-format", "text", "text or json")
	fs.BoolVar(&g.debug, "debug", false, "debug output")
	// Podman (cgroup_manager=systemd) and containerd's shim
	// (SystemdCgroup=true) pass it: the container's cgroup is a scope
	// that systemd makes, named by cgroupsPath as slice:prefix:name.
	fs.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "cgroups through systemd")
	fs.StringVar(&g.rootless, "rootless", "auto", "true, false or auto")
	fs.String("criu", "", "unused")
	showVersion := fs.Bool("version", false, "print the version")
	fs.BoolVar(showVersion, "v", false, "print the version")
	if err := fs.Parse(os.Args[1:]); err != nil {
		g.fail(err)
	}
	if g.log != "" {
		f, err := os.OpenFile(g.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			g.fail(fmt.Errorf("open the log file: %w", err))
		}
		g.logFile = f
	}
	if *showVersion {
		fmt.Printf("myctr-runtime version %s\nspec: %s\n", version, ociruntimeSpecVersion())
		return
	}
	if g.logFormat != "text" && g.logFormat != "json" {
		g.fail(fmt.Errorf("--log-format %q: use text or json", g.logFormat))
	}
	if fs.NArg() == 0 {
		g.fail(errors.New("no command given: create, start, run, state, kill, delete, list, ps, spec or features"))
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		g.fail(fmt.Errorf("unknown command %q", fs.Arg(0)))
	}
	root := g.root
	if root == "" {
		root = ociruntime.DefaultRoot()
	}
	if err := cmd(g, &ociruntime.Runtime{Root: root}, fs.Args()[1:]); errors.Is(err, errExit) {
		os.Exit(g.exit)
	} else if err != nil {
		g.fail(err)
	}
}

// errExit ends a command with g.exit and no message, once its deferred
// work (a terminal restored) is done: run's exit with its container's.
var errExit = errors.New("exit")

func ociruntimeSpecVersion() string { return ociruntime.Features().OCIVersionMax }

// oneID parses a command's flags and its single container id.
func oneID(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", fmt.Errorf("%s: expects one container id", fs.Name())
	}
	return fs.Arg(0), nil
}

func createFlags(name string) (*flag.FlagSet, *ociruntime.CreateOptions) {
	fs := newFlags(name)
	o := &ociruntime.CreateOptions{}
	fs.StringVar(&o.Bundle, "bundle", ".", "bundle directory")
	fs.StringVar(&o.Bundle, "b", ".", "bundle directory")
	fs.StringVar(&o.PidFile, "pid-file", "", "file for the init's pid")
	fs.StringVar(&o.ConsoleSocket, "console-socket", "", "socket for the terminal's master")
	fs.IntVar(&o.PreserveFDs, "preserve-fds", 0, "descriptors from 3 on to pass")
	fs.Bool("no-pivot", false, "unused: the root is always pivoted")
	fs.Bool("no-new-keyring", false, "unused: no session keyring is made")
	return fs, o
}

// withGlobal passes the global flags create needs on to its options.
func (g *global) withGlobal(o *ociruntime.CreateOptions) *ociruntime.CreateOptions {
	o.SystemdCgroup = g.systemdCgroup
	return o
}

func cmdCreate(g *global, rt *ociruntime.Runtime, args []string) error {
	fs, o := createFlags("create")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	_, err = rt.Create(id, *g.withGlobal(o))
	return err
}

func cmdStart(g *global, rt *ociruntime.Runtime, args []string) error {
	id, err := oneID(newFlags("start"), args)
	if err != nil {
		return err
	}
	return rt.Start(id)
}

// cmdRun is create, start and, unless detached, a wait for the container's
// process (forwarding signals to it) and a delete; it exits with the
// process's code.
func cmdRun(g *global, rt *ociruntime.Runtime, args []string) error {
	fs, o := createFlags("run")
	detach := fs.Bool("detach", false, "do not wait")
	fs.BoolVar(detach, "d", false, "do not wait")
	keep := fs.Bool("keep", false, "keep the state after the exit")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	// Every signal goes to the container's process, as runc's run
	// forwards them. Go registers them one at a time, each a round trip
	// to its signal thread (about 2 ms for all): done while the
	// container is created; one that comes meanwhile waits in sigs.
	sigs := make(chan os.Signal, 8)
	notified := make(chan struct{})
	if !*detach {
		go func() {
			signal.Notify(sigs)
			close(notified)
		}()
	}
	// Read once, here, for create too.
	if o.Spec, o.BundleDir, err = ociruntime.LoadBundle(o.Bundle); err != nil {
		return err
	}
	var cons *console
	if o.ConsoleSocket == "" && !*detach && o.Spec.Process.Terminal {
		if cons, err = newConsole(); err != nil {
			return err
		}
		o.ConsoleSocket = cons.path()
	}
	o.Run = true
	r, err := rt.Create(id, *g.withGlobal(o))
	if err != nil {
		return err
	}
	if cons != nil {
		restore, err := cons.relay()
		defer restore()
		if err != nil {
			rt.DeleteRecord(r, true)
			return err
		}
	}
	if !*detach {
		<-notified
		go func() {
			for s := range sigs {
				if s == unix.SIGCHLD || s == unix.SIGURG || s == unix.SIGPIPE {
					continue
				}
				unix.Kill(r.Pid, s.(unix.Signal))
			}
		}()
	}
	rt.Started(r)
	if *detach {
		return nil
	}
	code := ociruntime.Wait(r.Pid)
	if cons != nil {
		cons.waitOutput()
	}
	if !*keep {
		if err := rt.DeleteRecord(r, true); err != nil {
			return err
		}
	}
	g.exit = code
	return errExit
}

func cmdState(g *global, rt *ociruntime.Runtime, args []string) error {
	id, err := oneID(newFlags("state"), args)
	if err != nil {
		return err
	}
	r, err := rt.Load(id)
	if err != nil {
		return err
	}
	return printJSON(rt.State(r))
}

func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

func cmdKill(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("kill")
	all := fs.Bool("all", false, "every process of the container")
	fs.BoolVar(all, "a", false, "every process of the container")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return errors.New("kill: expects a container id and an optional signal")
	}
	sigName := "SIGTERM"
	if fs.NArg() == 2 {
		sigName = fs.Arg(1)
	}
	sig, err := nsexec.ParseSignal(sigName)
	if err != nil {
		return err
	}
	return rt.Kill(fs.Arg(0), sig, *all)
}

func cmdDelete(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("delete")
	force := fs.Bool("force", false, "kill a running container first")
	fs.BoolVar(force, "f", false, "kill a running container first")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	return rt.Delete(id, *force)
}

// listEntry is one container of `list --format json`, runc's fields.
type listEntry struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

func cmdList(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("list")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "table or json")
	quiet := fs.Bool("quiet", false, "ids only")
	fs.BoolVar(quiet, "q", false, "ids only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recs, err := rt.List()
	if err != nil {
		return err
	}
	entries := []listEntry{}
	for _, r := range recs {
		st := rt.State(r)
		entries = append(entries, listEntry{OCIVersion: st.Version, ID: r.ID, Pid: st.Pid, Status: string(st.Status),
			Bundle: r.Bundle, Rootfs: filepath.Join(r.Bundle, "rootfs"), Created: r.Created, Annotations: r.Annotations, Owner: r.Owner})
	}
	switch {
	case *quiet:
		for _, e := range entries {
			fmt.Println(e.ID)
		}
	case *format == "json":
		return printJSON(entries)
	case *format == "table":
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.Pid, e.Status, e.Bundle, e.Created.Format(time.RFC3339Nano), e.Owner)
		}
		return w.Flush()
	default:
		return fmt.Errorf("--format %q: use table or json", *format)
	}
	return nil
}

func cmdPs(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("ps")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return errors.New("ps: expects a container id")
	}
	pids, err := rt.Pids(fs.Arg(0))
	if err != nil {
		return err
	}
	if *format == "json" {
		if pids == nil {
			pids = []int{}
		}
		return printJSON(pids)
	}
	fmt.Println("PID")
	for _, p := range pids {
		fmt.Println(strconv.Itoa(p))
	}
	return nil
}

func cmdSpec(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("spec")
	bundle := fs.String("bundle", "", "where to write config.json")
	fs.StringVar(bundle, "b", "", "where to write config.json")
	rootless := fs.Bool("rootless", false, "a spec for a non-root user")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := filepath.Join(*bundle, "config.json")
	b, err := json.MarshalIndent(ociruntime.DefaultSpec(*rootless), "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("file %s exists: remove it first", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdFeatures(g *global, rt *ociruntime.Runtime, args []string) error {
	return printJSON(ociruntime.Features())
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdExec(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("exec")
	var o ociruntime.ExecOptions
	var env, caps stringList
	processFile := fs.String("process", "", "a JSON file of the process")
	fs.StringVar(processFile, "p", "", "a JSON file of the process")
	fs.BoolVar(&o.Detach, "detach", false, "do not wait")
	fs.BoolVar(&o.Detach, "d", false, "do not wait")
	fs.StringVar(&o.PidFile, "pid-file", "", "file for the process's pid")
	fs.StringVar(&o.ConsoleSocket, "console-socket", "", "socket for the terminal's master")
	tty := fs.Bool("tty", false, "a terminal")
	fs.BoolVar(tty, "t", false, "a terminal")
	cwd := fs.String("cwd", "", "working directory")
	user := fs.String("user", "", "UID[:GID]")
	fs.StringVar(user, "u", "", "UID[:GID]")
	fs.Var(&env, "env", "KEY=VALUE")
	fs.Var(&env, "e", "KEY=VALUE")
	fs.Var(&caps, "cap", "an extra capability")
	fs.Var(&caps, "c", "an extra capability")
	noNewPrivs := fs.Bool("no-new-privs", false, "set no_new_privs")
	fs.IntVar(&o.PreserveFDs, "preserve-fds", 0, "descriptors from 3 on to pass")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return errors.New("exec: expects a container id")
	}
	id := fs.Arg(0)
	if *processFile != "" {
		b, err := os.ReadFile(*processFile)
		if err != nil {
			return err
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("parse %s: %w", *processFile, err)
		}
		o.Process = &p
	} else {
		p, err := rt.ExecProcess(id, fs.Args()[1:], *tty, env, *cwd, *user)
		if err != nil {
			return err
		}
		o.Process = p
	}
	if len(caps) > 0 {
		// As runc: added to the bounding, effective and permitted sets.
		c := o.Process.Capabilities
		if c == nil {
			c = &specs.LinuxCapabilities{}
		}
		c = &specs.LinuxCapabilities{Bounding: slices.Clone(c.Bounding), Effective: slices.Clone(c.Effective),
			Permitted: slices.Clone(c.Permitted), Inheritable: c.Inheritable, Ambient: c.Ambient}
		for _, name := range caps {
			n, err := security.NormalizeCap(name)
			if err != nil || n == "ALL" {
				return fmt.Errorf("exec --cap %q: not a capability", name)
			}
			for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
				if !slices.Contains(*set, n) {
					*set = append(*set, n)
				}
			}
		}
		o.Process.Capabilities = c
	}
	if *noNewPrivs {
		o.Process.NoNewPrivileges = true
	}
	code, err := rt.Exec(id, o)
	if err != nil {
		// As runc: a process that could not be executed is 255, which
		// callers tell from the process's own codes by the message.
		g.exit = 255
		return fmt.Errorf("exec failed: %w", err)
	}
	os.Exit(code)
	return nil
}

func cmdUnsupported(g *global, rt *ociruntime.Runtime, args []string) error {
	return errors.New("events, checkpoint and restore are not supported by myctr-runtime")
}

func cmdPause(g *global, rt *ociruntime.Runtime, args []string) error {
	id, err := oneID(newFlags("pause"), args)
	if err != nil {
		return err
	}
	return rt.Pause(id)
}

func cmdResume(g *global, rt *ociruntime.Runtime, args []string) error {
	id, err := oneID(newFlags("resume"), args)
	if err != nil {
		return err
	}
	return rt.Resume(id)
}

// cmdUpdate is runc's update: --resources FILE ("-": stdin), a
// linux.resources document, or the flags for the common limits.
func cmdUpdate(g *global, rt *ociruntime.Runtime, args []string) error {
	fs := newFlags("update")
	file := fs.String("resources", "", "a JSON file of linux.resources, - for stdin")
	fs.StringVar(file, "r", "", "a JSON file of linux.resources, - for stdin")
	memory := fs.String("memory", "", "memory limit (bytes, or with k, m, g)")
	memSwap := fs.String("memory-swap", "", "memory plus swap limit")
	pids := fs.Int64("pids-limit", 0, "process limit")
	quota := fs.Int64("cpu-quota", 0, "CPU quota (µs per period)")
	period := fs.Uint64("cpu-period", 0, "CPU period (µs)")
	shares := fs.Uint64("cpu-shares", 0, "CPU weight, as shares")
	cpus := fs.String("cpuset-cpus", "", "CPUs allowed")
	id, err := oneID(fs, args)
	if err != nil {
		return err
	}
	res := &specs.LinuxResources{}
	if *file != "" {
		var b []byte
		if *file == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(*file)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, res); err != nil {
			return fmt.Errorf("parse --resources: %w", err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["memory"] || set["memory-swap"] {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		for _, m := range []struct {
			v   string
			dst **int64
		}{{*memory, &res.Memory.Limit}, {*memSwap, &res.Memory.Swap}} {
			if m.v == "" {
				continue
			}
			n, err := cgroup.ParseSize(m.v)
			if m.v == "-1" {
				n, err = -1, nil
			}
			if err != nil {
				return err
			}
			*m.dst = &n
		}
	}
	if set["pids-limit"] {
		res.Pids = &specs.LinuxPids{Limit: pids}
	}
	if set["cpu-quota"] || set["cpu-period"] || set["cpu-shares"] || set["cpuset-cpus"] {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		if set["cpu-quota"] {
			res.CPU.Quota = quota
		}
		if set["cpu-period"] {
			res.CPU.Period = period
		}
		if set["cpu-shares"] {
			res.CPU.Shares = shares
		}
		res.CPU.Cpus = *cpus
	}
	return rt.Update(id, res)
}
