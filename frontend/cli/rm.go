package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/protocol"
)

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			latestFlag(),
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill a running container first"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every container"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "also remove the container's anonymous volumes (those no other container mounts)"},
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Usage: "with --force: send the stop signal first and wait this many seconds before killing (default: kill at once)"},
			cidfileFlag, ignoreFlag,
		},
		Action: func(ctx *cli.Context) error {
			if ctx.Bool("all") {
				s, err := openContainers(ctx)
				if err != nil {
					return err
				}
				all, err := s.List()
				if err != nil {
					return err
				}
				var failed error
				for _, c := range all {
					if err := s.Remove(c, ctx.Bool("force")); err != nil {
						failed = err
						continue
					}
					if err := s.ReleaseNetwork(c); err != nil {
						warnRelease(os.Stderr, err)
					}
					releaseCgroup(s, c)
					removeAnonymous(ctx, s, c)
					fmt.Println(c.ID)
				}
				s.SweepRemoved()
				return failed
			}
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				if ctx.Bool("force") && ctx.IsSet("time") && ctx.Int("time") >= 0 {
					if err := s.Stop(c, time.Duration(ctx.Int("time"))*time.Second); err != nil {
						return err
					}
				}
				if err := s.Remove(c, ctx.Bool("force")); err != nil {
					if errors.Is(err, container.ErrRunning) {
						return withCode(2, err) // Podman's rm: 2 for a running container
					}
					return err
				}
				if err := s.ReleaseNetwork(c); err != nil {
					warnRelease(os.Stderr, err)
				}
				releaseCgroup(s, c)
				removeAnonymous(ctx, s, c)
				fmt.Println(ref) // as Podman: the container as named
				return nil
			})
		},
	}
}

// releaseCgroup asks myctr-helper to release the cgroup it may still hold
// for a removed container (its end could not): a failure is a warning, a
// refusal by polkit is said nowhere (the helper's reaper removes the
// cgroup once it is empty).
func releaseCgroup(s *container.Store, c *container.Container) {
	if err := s.ReleaseCgroup(c); err != nil && !errors.Is(err, protocol.ErrNotAuthorized) {
		fmt.Fprintf(os.Stderr, "Warning: release the container's cgroup: %v\n", err)
	}
}

// removeAnonymous removes a removed container's anonymous volumes, with
// --volumes; a failure is a warning (the container is gone).
func removeAnonymous(ctx *cli.Context, s *container.Store, c *container.Container) {
	if !ctx.Bool("volumes") {
		return
	}
	if err := s.RemoveAnonymousVolumes(c); err != nil {
		fmt.Fprintf(os.Stderr, "Warning: remove the volumes of %s: %v\n", c.Name, err)
	}
}
