// Package cli is myctr's command line: one file per verb, flags in, one
// call into the packages that do the work, errors out as "Error:" and
// "Hint:" lines with Podman's exit codes. It holds no logic of its own.
package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/userns"
)

// Version is set by the linker.
var Version = "0.1.0-dev"

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error // nil: exit quietly with code
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode makes err exit with code.
func withCode(code int, err error) error { return &exitError{code, err} }

// hinted is an error with a line telling the user what to do.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func hint(err error, format string, args ...any) error {
	return &hinted{err, fmt.Sprintf(format, args...)}
}

// App builds the command line: every command.
func App() *cli.App { return newApp("") }

// newApp builds the command line with every command, or with the one
// top-level command named only (see appFor).
func newApp(only string) *cli.App {
	app := &cli.App{
		Name:                      "myctr",
		Usage:                     "manage pods, containers and images",
		Version:                   Version,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true,
		Flags:                     globalFlags(),
		Before: func(ctx *cli.Context) error {
			if err := setLogLevel(ctx); err != nil {
				return err
			}
			return setEventsBackend(ctx)
		},
		OnUsageError:   onUsageError(nil),
		Action:         rootAction,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, tc := range topLevel() {
		if only == "" || tc.is(only) {
			app.Commands = append(app.Commands, tc.make())
		}
	}
	if only == "" {
		app.Commands = append(app.Commands, completeCommands()...)
	}
	return app
}

// globalFlags are the flags before the command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Usage: "where images and containers are kept", EnvVars: []string{"MYCTR_ROOT"}},
		&cli.StringFlag{Name: "storage-driver", Usage: "overlay (myctr's store); vfs: the same store, for image commands only"},
		&cli.StringFlag{Name: "runroot", Usage: "where runtime state is kept", EnvVars: []string{"MYCTR_RUNROOT"}},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log lines to show on stderr: trace, debug, info, warn, error, fatal or panic"},
		&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "the same as --log-level=debug"},
		&cli.StringSliceFlag{Name: "runtime-flag", Usage: "a flag for the OCI runtime (Podman's): myctr's own runtime takes none, so a container refuses to run with one (exit 126)"},
		&cli.BoolFlag{Name: "noout", Usage: "print nothing on stdout (errors and warnings still go to stderr)"},
		// urfave/cli adds its help flag only where no command is
		// called help, and help is a command of ours.
		eventsBackendFlag,
		cli.HelpFlag,
	}
}

// topLevelCommand is a top-level command: the names a command line calls it
// by, and the function that builds it.
type topLevelCommand struct {
	name    string
	aliases []string
	make    func() *cli.Command
}

func (tc topLevelCommand) is(name string) bool {
	return name == tc.name || slices.Contains(tc.aliases, name)
}

// topLevel is every top-level command but the completion's hidden ones,
// in the order of the help (TestTopLevel checks the names against the
// commands built).
func topLevel() []topLevelCommand {
	return []topLevelCommand{
		{"run", nil, runCommand}, {"ps", []string{"list", "ls"}, psCommand}, {"inspect", nil, inspectCommand},
		{"logs", nil, logsCommand}, {"stop", nil, stopCommand}, {"kill", nil, killCommand}, {"rm", nil, rmCommand},
		{"start", nil, startCommand}, {"pause", nil, pauseCommand}, {"unpause", nil, unpauseCommand},
		{"restart", nil, restartCommand}, {"wait", nil, waitCommand}, {"exec", nil, execCommand},
		{"port", nil, portCommand}, {"top", nil, topCommand}, {"import", nil, importCommand},
		{"images", nil, imagesCommand}, {"rmi", nil, rmiCommand}, {"unshare", nil, unshareCommand},
		{"pull", nil, pullCommand}, {"push", nil, pushCommand}, {"save", nil, saveCommand}, {"load", nil, loadCommand},
		{"tag", nil, tagCommand}, {"login", nil, loginCommand}, {"logout", nil, logoutCommand},
		{"image", nil, imageCommand}, {"build", nil, buildCommand}, {"buildx", nil, buildxCommand},
		{"update", nil, updateCommand},
		{"info", nil, infoCommand}, {"stats", nil, statsCommand}, {"generate", nil, generateCommand},
		{"version", nil, versionCommand}, {"volume", nil, volumeCommand}, {"create", nil, createCommand},
		{"untag", nil, untagCommand}, {"container", nil, containerCommand}, {"cp", nil, cpCommand},
		{"export", nil, exportCommand}, {"diff", nil, diffCommand}, {"commit", nil, commitCommand},
		{"manifest", nil, manifestCommand}, {"doctor", nil, doctorCommand}, {"completion", nil, completionCommand},
		{"system", nil, systemCommand}, {"pod", nil, podCommand}, {"network", nil, networkCommand},
		{"secret", nil, secretCommand}, {"history", nil, historyCommand}, {"search", nil, searchCommand},
		{"events", nil, eventsCommand}, {"rename", nil, renameCommand}, {"attach", nil, attachCommand},
		{"healthcheck", nil, healthcheckCommand}, {"help", nil, helpCommand},
	}
}

// appFor is the App that runs args: where they call a top-level command
// after nothing but the global flags, one with that command alone (it
// parses, runs and explains that command exactly as the whole App does);
// else, for the help, the completion, no command or one that does not
// exist, the whole App. Building every command's flags took about 0.6 ms
// of each command's start (cli.App, as perf saw it), more than most of
// them run for.
func appFor(args []string) *cli.App {
	if name := calledCommand(args); name != "" {
		return newApp(name)
	}
	return App()
}

// calledCommand is the top-level command args call, when only known
// global flags (and their values) come before it and it is not help.
func calledCommand(args []string) string {
	name, _ := commandAt(args)
	return name
}

// commandAt is calledCommand and the index of its word in args.
func commandAt(args []string) (string, int) {
	flags := globalFlags()
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if a == "help" || !slices.ContainsFunc(topLevel(), func(tc topLevelCommand) bool { return tc.is(a) }) {
				return "", 0
			}
			return a, i
		}
		if a == "-" || a == "--" || !hasFlag(flags, a) || slices.Contains(cli.HelpFlag.Names(), strings.TrimLeft(a, "-")) {
			return "", 0
		}
		i += valueCount(flags, a)
	}
	return "", 0
}

// Run runs the command line and returns the process exit code.
func Run(args []string, stderr io.Writer) int {
	takeCaller()
	if lean && fullOnly(args) {
		return runFull(args, stderr)
	}
	if name, at := commandAt(args); name == "run" || name == "create" {
		if name == "run" {
			// Before anything else: see startEarly.
			startEarly(args[at+1:])
		}
		// containers.conf, which their options read first, decoded on
		// the other CPU while this one builds and parses the command
		// line: about 0.4 ms of TOML and its first use of reflection.
		// Nothing of the command line chooses the files, and whoever
		// asks first gets the same result (a OnceValues), error and all.
		go func() { _, _ = config.HostContainers() }()
	}
	return runApp(appFor(args), args, stderr)
}

// runApp runs args in app and returns the process exit code.
func runApp(app *cli.App, args []string, stderr io.Writer) int {
	err := run(app, args)
	if err == nil {
		return 0
	}
	code := 125
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	for _, h := range hints(err) {
		fmt.Fprintf(stderr, "Hint: %s\n", h)
	}
	if see, ok := seeHelp(err); ok {
		fmt.Fprintln(stderr, see)
	}
	return code
}

// run runs the command line args in app.
func run(app *cli.App, args []string) error {
	// Help names the program as it was called (a podman link to myctr
	// says podman, as scripts written for Podman read it).
	if len(args) > 0 {
		app.HelpName = filepath.Base(args[0])
	}
	app.OnUsageError = onUsageError(args)
	var each func([]*cli.Command)
	each = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = app.OnUsageError
			c.UseShortOptionHandling = true
			if c.Action != nil && len(c.Subcommands) == 0 && c.Name != "help" && !strings.HasPrefix(c.Name, "__") {
				c.Action = checkArgCount(c.ArgsUsage, c.Action)
			}
			each(c.Subcommands)
		}
	}
	each(app.Commands)
	skipFlagActions(app.Commands)
	return app.Run(interspersed(app, buildPullArgs(volumeArgs(args))))
}

// hints are the Hint lines of err: its own, or each distinct one of the
// errors it joins.
func hints(err error) []string {
	var m *multiError
	if errors.As(err, &m) {
		var out []string
		for _, e := range m.errs {
			for _, h := range hints(e) {
				if !slices.Contains(out, h) {
					out = append(out, h)
				}
			}
		}
		return out
	}
	var h *hinted
	if errors.As(err, &h) {
		return []string{h.hint}
	}
	return nil
}

// multiError is several errors of one command, worded as Podman's
// (hashicorp's multierror): "2 errors occurred:" and a line for each.
type multiError struct{ errs []error }

func (m *multiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors occurred:", len(m.errs))
	for _, e := range m.errs {
		b.WriteString("\n\t* " + e.Error())
	}
	return b.String()
}

func (m *multiError) Unwrap() []error { return m.errs }

// joinErrors is errs as one error: the error itself when there is one.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &multiError{errs}
}

func dirs(ctx *cli.Context) container.Dirs {
	d := container.DefaultDirs()
	// Relative to where myctr was called: the stages and the init, which
	// mount from these paths, run elsewhere.
	if r := ctx.String("root"); r != "" {
		d.Root = absolute(r)
	}
	if r := ctx.String("runroot"); r != "" {
		d.RunRoot = absolute(r)
	}
	d.Driver = ctx.String("storage-driver")
	return d
}

// absolute is p made absolute against the working directory (p itself
// when that cannot be read).
func absolute(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func openContainers(ctx *cli.Context) (*container.Store, error) {
	s, err := container.OpenStore(dirs(ctx))
	if err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, hint(err, "set XDG_DATA_HOME and XDG_RUNTIME_DIR to writable directories, or pass --root and --runroot")
	}
	return s, nil
}

// unsafeDirHint gives a state directory that another user made or could
// change (see container.Dirs.Ensure) its Hint, or returns nil.
func unsafeDirHint(err error) error {
	var ud *container.UnsafeDirError
	if errors.As(err, &ud) {
		return hint(err, "%s", ud.Hint)
	}
	return nil
}

func openImages(ctx *cli.Context) (*image.Store, error) {
	d := dirs(ctx)
	if err := d.Ensure(); err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, err
	}
	return image.Open(d.Storage(), usernsUnpacker{})
}

// mapping returns the user's id mapping, warning once when there is no
// subordinate range.
func mapping() (*userns.Mapping, error) {
	m, err := userns.Current()
	if err != nil {
		return nil, err
	}
	if !m.HasRange() && m.UID == 0 {
		fmt.Fprintln(os.Stderr, "Warning: this user namespace maps only uid 0, and so will the container")
	} else if !m.HasRange() {
		name := os.Getenv("USER")
		if name == "" {
			name = fmt.Sprint(m.UID)
		}
		fmt.Fprintf(os.Stderr, "Warning: no subordinate ids for %s in /etc/subuid and /etc/subgid: the container maps only uid 0\n", name)
		// A range no other user has, from the files as they are now.
		uids, _ := os.ReadFile("/etc/subuid")
		gids, _ := os.ReadFile("/etc/subgid")
		start := userns.FreeRange([][]byte{uids, gids}, 65536)
		r := fmt.Sprintf("%d-%d", start, start+65535)
		fmt.Fprintf(os.Stderr, "Hint: as root, run: usermod --add-subuids %s --add-subgids %s %s\n", r, r, name)
	}
	return m, nil
}

// explain adds a hint to the errors whose fix we know.
func explain(err error) error {
	var me *userns.MapperError
	// An error that knows its fix (a container's cgroup, say) before the
	// helper's network wording.
	var ch container.Hinter
	if errors.As(err, &ch) {
		return hint(err, "%s", ch.Hint())
	}
	if h := helperError(err); h != nil {
		return h
	}
	if h := network.Hint(err); h != "" {
		return hint(err, "%s", h)
	}
	if h := unsafeDirHint(err); h != nil {
		return h
	}
	switch {
	case errors.Is(err, userns.ErrNoMapper):
		return hint(err, "install newuidmap and newgidmap: apt-get install uidmap")
	case errors.As(err, &me):
		return hint(err, "%s must be setuid root (or carry cap_setuid/cap_setgid), and /etc/subuid and /etc/subgid must give your user a range", me.Tool)
	case errors.Is(err, image.ErrImageUnknown):
		// Podman's bare "Error: NAME: image not known", which scripts
		// match exactly: no hint.
		return err
	case errors.Is(err, container.ErrNotFound):
		return err // Podman's exact line, no hint (scripts match it)
	case errors.Is(err, container.ErrNoJournal):
		return hint(err, "use --log-driver k8s-file (the container's own log file), or run where systemd-journald runs")
	case errors.Is(err, container.ErrNoCommand):
		// Podman's wording, which scripts match on.
		err = &reworded{"no command or entrypoint provided, and no CMD or ENTRYPOINT from image", err}
		return hint(err, "give a command after the image name, or an image with CMD or ENTRYPOINT")
	case errors.Is(err, container.ErrNoInit):
		return hint(err, "install myctr and myctr-init together (make install), or run without --init")
	}
	return err
}

// listContainers opens the container store and lists every container (to
// see which images are in use).
func listContainers(ctx *cli.Context) (*container.Store, []*container.Container, error) {
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, nil, err
	}
	ctrs, err := cs.List()
	return cs, ctrs, err
}

// lookup finds one container by name or id prefix.
func lookup(s *container.Store, ref string) (*container.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, explain(err)
	}
	c.Refresh()
	return c, nil
}

// each runs f on every named container and reports every failure. The
// containers are the arguments and, for commands with --cidfile, the ids
// in those files; with --ignore, a container that does not exist (or a
// container id file that does not) is no error.
func each(ctx *cli.Context, f func(s *container.Store, c *container.Container) error) error {
	return eachRef(ctx, func(s *container.Store, c *container.Container, _ string) error { return f(s, c) })
}

// eachRef is each, with the container as the user named it: the argument,
// or its full id where it came from --all or a --cidfile. Podman prints
// that back ("raw input").
func eachRef(ctx *cli.Context, f func(s *container.Store, c *container.Container, ref string) error) error {
	rm := ctx.Command.Name == "rm" || ctx.Command.Name == "remove"
	// As Podman: rm -f of a container that is not there is no error.
	ignore := ctx.Bool("ignore") || (rm && ctx.Bool("force"))
	refs, err := withLatest(ctx)
	if err != nil {
		return err
	}
	fromFile := map[string]string{}
	for _, file := range ctx.StringSlice("cidfile") {
		id, err := readCidfile(file)
		if err != nil {
			if ignore && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		refs = append(refs, id)
		fromFile[id] = file
	}
	all := ctx.Bool("all") && slices.ContainsFunc(ctx.Command.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "all") })
	if all && len(refs) > 0 {
		if ctx.Command.Name == "start" {
			return withCode(125, errors.New("either start all containers or the container(s) provided in the arguments"))
		}
		return withCode(125, errors.New("--all and container names or ids cannot be given together"))
	}
	match, err := refFilter(ctx)
	if err != nil {
		return err
	}
	all = all || (match != nil && len(refs) == 0)
	if len(refs) == 0 && !all {
		if ignore && isSet(ctx, "cidfile") {
			return nil
		}
		return withCode(125, errors.New("requires at least one container name or id"))
	}
	s, err := openContainers(ctx)
	if err != nil {
		return err
	}
	if all {
		// --all (start, stop, kill, pause, unpause): every container it
		// applies to.
		list, err := s.List()
		if err != nil {
			return err
		}
		for _, c := range list {
			c.Refresh()
			var applies bool
			switch ctx.Command.Name {
			case "start":
				applies = !c.Running()
			case "pause":
				applies = c.Running() && !c.Paused()
			case "unpause":
				applies = c.Paused()
			default:
				applies = c.Running()
			}
			if applies {
				refs = append(refs, c.ID)
			}
		}
	}
	var failed error
	for _, ref := range refs {
		c, err := lookup(s, ref)
		if err == nil && match != nil && !match(c) {
			continue
		}
		if err == nil {
			err = f(s, c, ref)
		}
		// --ignore also covers a container removed while the command
		// acts on it (an --rm container that a stop ends).
		if ignore && errors.Is(err, container.ErrNotFound) {
			err = nil
		} else if rm && errors.Is(err, container.ErrNotFound) {
			err = withCode(1, err) // Podman's rm: 1 for no such container
		}
		if err == nil && ctx.Command.Name == "rm" && fromFile[ref] != "" {
			// The container is gone: so is what named it, and a unit's
			// next start may write it again.
			os.Remove(fromFile[ref])
		}
		if err != nil {
			if failed != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
			}
			failed = err
		}
	}
	return failed
}

// readCidfile reads a container id file (run --cidfile).
func readCidfile(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read container id file: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !container.ValidID(id) {
		return "", fmt.Errorf("container id file %s holds no container id", file)
	}
	return id, nil
}

// cidfileFlag and ignoreFlag are the flags of the commands a unit's
// ExecStop= and ExecStopPost= call (stop, rm, kill).
var (
	cidfileFlag = &cli.StringSliceFlag{Name: "cidfile", Usage: "read the container's id from this file (written by run --cidfile)"}
	ignoreFlag  = &cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "a container that does not exist is no error"}
)

// checkArgCount refuses, before action runs, --all with --latest, and more
// arguments than the command's synopsis (ArgsUsage) has room for, in
// Podman's (cobra's) words: "takes no arguments" for a command whose
// synopsis names none; "accepts N arg(s), received M", "accepts at most N
// arg(s)" or "accepts between N and M arg(s)" for one with a fixed number
// of them (no "..."). A word wholly in brackets ("[NAME]") is optional.
// Too few is each command's to say, since some take none with --all or
// --latest.
func checkArgCount(usage string, action cli.ActionFunc) cli.ActionFunc {
	words := strings.Fields(usage)
	open := strings.Contains(usage, "...")
	required := 0
	for _, w := range words {
		if !(strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]")) {
			required++
		}
	}
	return func(ctx *cli.Context) error {
		// Podman's words; a listing's --all and --latest are filters.
		if name := ctx.Command.Name; name != "ps" && name != "ls" && name != "list" && ctx.Bool("all") && ctx.Bool("latest") {
			return withCode(125, errors.New("--all and --latest cannot be used together"))
		}
		n := ctx.NArg()
		switch {
		case open || n <= len(words):
		case len(words) == 0:
			return withCode(125, fmt.Errorf("`%s` takes no arguments", ctx.Command.HelpName)) // Podman's words
		case required == len(words):
			return withCode(125, fmt.Errorf("accepts %d arg(s), received %d", len(words), n))
		case required == 0:
			return withCode(125, fmt.Errorf("accepts at most %d arg(s), received %d", len(words), n))
		default:
			return withCode(125, fmt.Errorf("accepts between %d and %d arg(s), received %d", required, len(words), n))
		}
		return action(ctx)
	}
}
