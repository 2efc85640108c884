package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/seccomp"
)

// compatFlags are run's and create's flags that Podman users type and
// that map onto what myctr has: --privileged (rootless meaning), --tz,
// and --kernel-memory, which Podman itself only warns about.
func compatFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "privileged", Usage: "every capability the container's user namespace allows, no seccomp filter, no masked or read-only /proc and /sys paths, and the host's devices you may open (rootless Podman's meaning: nothing beyond your own rights on the host)"},
		&cli.StringFlag{Name: "tz", Usage: "the container's time zone: a zone of the host's /usr/share/zoneinfo (Europe/Paris, MST7MDT), or local (the host's /etc/localtime); bound on /etc/localtime"},
		&cli.StringSliceFlag{Name: "attach", Aliases: []string{"a"}, Usage: "the streams to attach (stdin, stdout, stderr; default all): the others go to the container's log alone; with neither stdout nor stderr, the container's id is printed"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "ignored, as by Podman (cgroups no longer have a kernel memory limit)", Hidden: true},
	}
}

// compatOptions reads compatFlags into o.
func compatOptions(ctx *cli.Context, o *container.CreateOptions) error {
	if isSet(ctx, "kernel-memory") {
		// Podman's words, which scripts match.
		fmt.Fprintln(os.Stderr, "Warning: The --kernel-memory flag is no longer supported. This flag is a noop.")
	}
	if ctx.Bool("privileged") {
		o.Privileged = true
		if o.Seccomp == "" {
			o.Seccomp = seccomp.Unconfined
		}
	}
	cc, err := containersConf()
	if err != nil {
		return err
	}
	if tz, from := confFlag(ctx, "tz", cc.TZ); tz != "" {
		if _, err := container.ZoneFile(tz); err != nil {
			return withCode(125, confError(from, "tz", err))
		}
		o.Timezone = tz
	}
	return nil
}

// attachStreams applies run --attach to a: the streams it does not name
// reach the log alone, stdin only with -i; with neither stdout nor
// stderr attached, the container's id is printed (as Podman).
func attachStreams(ctx *cli.Context, a *container.Attach, id string) error {
	if !isSet(ctx, "attach") {
		return nil
	}
	want := map[string]bool{}
	for _, v := range ctx.StringSlice("attach") {
		switch v = strings.ToLower(v); v {
		case "stdin", "stdout", "stderr":
			want[v] = true
		default:
			return withCode(125, fmt.Errorf("invalid stream %q for --attach - must be one of stdin, stdout, or stderr: invalid argument", v))
		}
	}
	a.NoStdout, a.NoStderr = !want["stdout"], !want["stderr"]
	if !want["stdin"] {
		a.Stdin = nil
	}
	if a.NoStdout && a.NoStderr {
		fmt.Println(id)
	}
	return nil
}
