package cli

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/userns"
)

// runExtraFlags are more of run's and create's flags, as Podman spells
// them: --timeout, --preserve-fds, --runtime, --conmon-pidfile, --secret.
func runExtraFlags() []cli.Flag {
	return []cli.Flag{
		&cli.UintFlag{Name: "timeout", Usage: "kill the container (SIGKILL) after this many seconds; its exit code is then -1 (255 from run)"},
		&cli.UintFlag{Name: "preserve-fds", Usage: "pass descriptors 3 to 3+N-1 to the container's process (as socket activation passes its sockets, without LISTEN_* variables; directories are refused)"},
		&cli.StringFlag{Name: "runtime", Usage: "the OCI runtime: myctr runs containers itself, so only a copy of the myctr binary is taken (and shown by inspect as OCIRuntime)"},
		&cli.StringFlag{Name: "conmon-pidfile", Usage: "write the pid of the container's monitor (myctr's own, in place of Podman's conmon) to this file"},
		&cli.StringFlag{Name: "pidfile", Usage: "write the pid of the container's process (on the host) to this file at each start"},
		secretFlag(),
	}
}

// runOnlyFlags are run's flags that create has not.
func runOnlyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "rmi", Usage: "remove the image after the container, unless another container uses it (implies --rm; not with -d)"},
	}
}

// runExtraOptions reads runExtraFlags into o.
func runExtraOptions(ctx *cli.Context, o *container.CreateOptions) error {
	if f := ctx.StringSlice("runtime-flag"); len(f) > 0 {
		// Podman passes these to its runtime, which refuses a flag it
		// does not know when the container starts (126); myctr's own
		// runtime has none.
		return withCode(126, fmt.Errorf("myctr's runtime has no flag %q: it takes no --runtime-flag", f[0]))
	}
	o.HostExtra.Timeout = ctx.Uint("timeout")
	if rt := ctx.String("runtime"); rt != "" {
		if err := sameAsSelf(rt); err != nil {
			return withCode(125, fmt.Errorf("--runtime %s: %w", rt, err))
		}
		o.HostExtra.Runtime = rt
	}
	if ctx.Bool("rmi") {
		if ctx.Bool("detach") {
			return withCode(125, errors.New("the --rmi option does not work with --detach"))
		}
		o.Remove = true
	}
	return nil
}

// sameAsSelf checks that path is the myctr binary the user runs (a copy
// of it counts): myctr is its own runtime and runs no other. In a
// myctr-full that the lean myctr executed, that is the lean binary.
func sameAsSelf(path string) error {
	self := "/proc/self/exe"
	if callerExe != "" {
		self = callerExe
	}
	want, err := fileSum(self)
	if err != nil {
		return err
	}
	got, err := fileSum(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("myctr runs containers itself and takes no other runtime (only a copy of the myctr binary)")
	}
	return nil
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// takeFDs is the descriptors a container gets: socket activation's, or
// --preserve-fds's (not both).
func takeFDs(ctx *cli.Context) (container.Activation, error) {
	act, err := container.TakeActivation()
	if err != nil {
		return act, withCode(125, err)
	}
	n := ctx.Uint("preserve-fds")
	if n == 0 {
		return act, nil
	}
	if act.N > 0 {
		return act, withCode(125, errors.New("--preserve-fds cannot go with socket activation (LISTEN_FDS): both pass descriptors 3 and up"))
	}
	act, err = container.PreserveFDs(int(n))
	if err != nil {
		return act, withCode(125, err)
	}
	return act, nil
}

// writeMonitorPidfile is --conmon-pidfile: the pid of the process that
// watches the container (myctr's monitor).
func writeMonitorPidfile(ctx *cli.Context, pid int) error {
	path := ctx.String("conmon-pidfile")
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return withCode(125, fmt.Errorf("write --conmon-pidfile: %w", err))
	}
	return nil
}

// removeRunImage is --rmi: after the container is gone, its image goes
// too, unless another container uses it (then silently kept, as Podman).
func removeRunImage(ctx *cli.Context, id string) {
	if !ctx.Bool("rmi") {
		return
	}
	_, ctrs, err := listContainers(ctx)
	if err != nil {
		return
	}
	for _, c := range ctrs {
		if c.Image == id {
			return
		}
	}
	is, err := openImages(ctx)
	if err != nil {
		return
	}
	if _, _, err := is.Remove(id, true); err != nil && !errors.Is(err, image.ErrImageUnknown) {
		fmt.Fprintf(os.Stderr, "Warning: --rmi: %v\n", explain(err))
	}
}

// monitorPidOf is the pid of a detached container's monitor, from its
// record as the monitor wrote it.
func monitorPidOf(s *container.Store, c *container.Container) int {
	if cur, err := s.Lookup(c.ID); err == nil {
		return cur.State.MonitorPid
	}
	return 0
}

// latestFlag is Podman's --latest: the container made last.
func latestFlag() cli.Flag {
	return &cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "the container made last"}
}

// withLatest is the command's arguments, or with --latest (where the
// command has it) the id of the container made last, and no arguments
// allowed.
func withLatest(ctx *cli.Context) ([]string, error) {
	if !ctx.Bool("latest") {
		return ctx.Args().Slice(), nil
	}
	if ctx.NArg() > 0 {
		return nil, withCode(125, errors.New("--latest and containers cannot be used together"))
	}
	_, ctrs, err := listContainers(ctx)
	if err != nil {
		return nil, err
	}
	var last *container.Container
	for _, c := range ctrs {
		if last == nil || c.Created.After(last.Created) {
			last = c
		}
	}
	if last == nil {
		return nil, withCode(125, fmt.Errorf("no containers to %s: --latest found none", ctx.Command.Name))
	}
	return []string{last.ID}, nil
}

// hostPasswdLine is the /etc/passwd line of the host user named, or with
// the uid, name (--hostuser), as the host's user database has it.
func hostPasswdLine(name string) (string, error) {
	u, err := userns.LookupUser(name)
	if err != nil {
		return "", fmt.Errorf("--hostuser %s: %w", name, err)
	}
	for _, f := range []string{u.Username, u.Uid, u.Gid, u.Name, u.HomeDir} {
		if strings.ContainsAny(f, ":\n") {
			return "", fmt.Errorf("--hostuser %s: the host's entry has a field with ':' or a newline: %q", name, f)
		}
	}
	return strings.Join([]string{u.Username, "x", u.Uid, u.Gid, u.Name, u.HomeDir, "/bin/sh"}, ":"), nil
}
