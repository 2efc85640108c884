package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
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
			&cli.BoolFlag{Name: "depend", Usage: "first remove the containers that depend on this one (--network container:), and theirs"},
			cidfileFlag, ignoreFlag,
		},
		Action: func(ctx *cli.Context) error {
			if ctx.Bool("all") {
				return removeAllContainers(ctx, ctx.Bool("force"), func(id string) { fmt.Println(id) })
			}
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				if ctx.Bool("force") && isSet(ctx, "time") && ctx.Int("time") >= 0 {
					if err := s.Stop(c, time.Duration(ctx.Int("time"))*time.Second); err != nil {
						return err
					}
				}
				if ctx.Bool("depend") && c.PodInfra {
					// Everything of its pod depends on it: the pod
					// goes, as with Podman's rm --depend.
					return removeInfraPod(ctx, s, c, ctx.Bool("force"), func(id string) { fmt.Println(id) })
				}
				if ctx.Bool("depend") {
					if err := removeDependents(ctx, s, c); err != nil {
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

// removeDependents removes, for rm --depend, the containers that depend on
// c, theirs first, printing each one's id as Podman does.
func removeDependents(ctx *cli.Context, s *container.Store, c *container.Container) error {
	deps, err := s.Dependents(c)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if err := removeDependents(ctx, s, d); err != nil {
			return err
		}
		if err := s.Remove(d, ctx.Bool("force")); err != nil {
			return err
		}
		if err := s.ReleaseNetwork(d); err != nil {
			warnRelease(os.Stderr, err)
		}
		releaseCgroup(s, d)
		removeAnonymous(ctx, s, d)
		fmt.Println(d.ID)
	}
	return nil
}

// removeInfraPod removes the pod of the infra container c (removePod: its
// members, running ones only with force, then the infra and the record),
// telling removed each removed container's id (rm prints them, as
// Podman's does).
func removeInfraPod(ctx *cli.Context, s *container.Store, c *container.Container, force bool, removed func(id string)) error {
	ps, err := openPods(ctx)
	if err != nil {
		return err
	}
	p, err := ps.Lookup(c.Pod)
	if err != nil {
		return podFound(err)
	}
	return removePod(ps, s, p, force, func(rc *container.Container) {
		removeAnonymous(ctx, s, rc)
		removed(rc.ID)
	})
}

// removeAllContainers is rm --all: every container (running ones with
// force), those others depend on after them, and each pod's infra with
// its pod; removed is told each id gone.
func removeAllContainers(ctx *cli.Context, force bool, removed func(id string)) error {
	s, err := openContainers(ctx)
	if err != nil {
		return err
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	var failed error
	var later, infras []*container.Container
	remove := func(c *container.Container, deferDeps bool) {
		if c.PodInfra {
			infras = append(infras, c) // with its pod, at the end
			return
		}
		if err := s.Remove(c, force); err != nil {
			if deferDeps && errors.Is(err, container.ErrHasDependents) {
				later = append(later, c)
			} else {
				failed = err
			}
			return
		}
		if err := s.ReleaseNetwork(c); err != nil {
			warnRelease(os.Stderr, err)
		}
		releaseCgroup(s, c)
		removeAnonymous(ctx, s, c)
		removed(c.ID)
	}
	for _, c := range all {
		remove(c, true)
	}
	// A container others depend on is older than they are:
	// tried again once they are gone, newest first.
	slices.Reverse(later)
	for _, c := range later {
		remove(c, false)
	}
	// An infra container goes with its pod, as Podman's rm
	// --all takes them.
	for _, c := range infras {
		if err := removeInfraPod(ctx, s, c, force, removed); err != nil {
			failed = err
		}
	}
	s.SweepRemoved()
	return failed
}
