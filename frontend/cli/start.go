package cli

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/systemd"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start stopped containers again, in the background",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			latestFlag(),
			&cli.StringFlag{Name: "sdnotify", Usage: "under a Type=notify systemd unit: conmon, container or ignore (default: the container's --sdnotify)"},
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "stay attached: the container's output here, and its exit code as ours (one container)"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "with --attach, our stdin is the container's"},
			&cli.BoolFlag{Name: "all", Usage: "start every container that is not running"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "only the containers that match: " + filterKeys},
		},
		Action: func(ctx *cli.Context) error {
			act, err := container.TakeActivation()
			if err != nil {
				return withCode(125, err)
			}
			if ctx.Bool("attach") {
				return startAttached(ctx, act)
			}
			mode := ""
			if isSet(ctx, "sdnotify") {
				if mode, err = systemd.ParseNotifyMode(ctx.String("sdnotify")); err != nil {
					return err
				}
			}
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				if err := container.RefusePaused(c, "start"); err != nil {
					return withCode(125, err)
				}
				if c.Running() {
					fmt.Println(ref)
					return nil
				}
				if mode != "" && mode != c.HostConfig.SdNotify {
					if err := s.Update(c, func(c *container.Container) { c.HostConfig.SdNotify = mode }); err != nil {
						return err
					}
				}
				if err := s.StartDetached(c, act); err != nil {
					// Podman's start: 125 whatever the cause (run and
					// start --attach give 126 and 127).
					return withCode(125, explain(err))
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
}

// startAttached starts one stopped container in the foreground, as run
// without -d does: its output here, our stdin with -i, its exit code.
func startAttached(ctx *cli.Context, act container.Activation) error {
	s, c, err := oneContainer(ctx, "you cannot start and attach multiple containers at once")
	if err != nil {
		return err
	}
	if err := container.RefusePaused(c, "start"); err != nil {
		return withCode(125, err)
	}
	if c.Running() {
		// As Podman's: a running container is attached to.
		return attachTo(ctx, s, c, true)
	}
	m, err := mapping()
	if err != nil {
		return err
	}
	out := guardStdout()
	a := &container.Attach{Stdout: out, Stderr: os.Stderr, Activation: act}
	if ctx.Bool("interactive") {
		a.Stdin = os.Stdin
	}
	code, err := s.RunAttached(c, m, a)
	if err != nil {
		return startFailure(err)
	}
	if err := out.failed(); err != nil {
		return err
	}
	if code != 0 {
		return withCode(code, nil)
	}
	return nil
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop and start containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			latestFlag(),
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing"},
		},
		Action: func(ctx *cli.Context) error {
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if err := s.Stop(c, time.Duration(ctx.Uint("time"))*time.Second); err != nil {
					return err
				}
				if err := s.StartDetached(c, container.Activation{}); err != nil {
					return startFailure(err)
				}
				fmt.Println(c.ID)
				return nil
			})
		},
	}
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait for containers to exit (or meet a --condition) and print their exit codes",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "condition", Usage: "the state to wait for: exited or stopped (the default), configured or created, running, paused, healthy or unhealthy (the healthcheck's finding); several: any of them (-1 is printed for a state)"},
			&cli.StringFlag{Name: "interval", Aliases: []string{"i"}, Usage: "how often to look at the container: a duration, or milliseconds (default 50ms)"},
		},
		Action: func(ctx *cli.Context) error {
			w, err := container.ParseWaitConditions(ctx.StringSlice("condition"))
			if err != nil {
				return withCode(125, err)
			}
			var interval time.Duration
			if v := ctx.String("interval"); v != "" {
				if interval, err = waitInterval(v); err != nil {
					return withCode(125, err)
				}
			}
			return each(ctx, func(s *container.Store, c *container.Container) error {
				code, err := s.WaitFor(c, w, interval)
				if err != nil {
					return err
				}
				fmt.Println(code)
				return nil
			})
		},
	}
}

// waitInterval reads wait's --interval as Podman does: a duration, or a
// number of milliseconds.
func waitInterval(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		var err2 error
		if d, err2 = time.ParseDuration(v + "ms"); err2 != nil {
			return 0, fmt.Errorf("--interval: %w", err)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("--interval %s: want a positive duration", v)
	}
	return d, nil
}

// refFilter is the --filter of a command that acts on containers (start):
// nil when there is none.
func refFilter(ctx *cli.Context) (func(*container.Container) bool, error) {
	filters := ctx.StringSlice("filter")
	if len(filters) == 0 || !slices.ContainsFunc(ctx.Command.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "filter") }) {
		return nil, nil
	}
	match, err := psFilter(filters)
	if err != nil {
		return nil, withCode(125, err)
	}
	return match, nil
}
