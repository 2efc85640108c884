package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
)

func updateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change the resource limits of a container (in its cgroup when it runs, and for its next start)",
		ArgsUsage: "CONTAINER",
		Flags:     resourceFlags(),
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return errors.New("requires exactly one container: myctr update [FLAGS] CONTAINER")
			}
			var given []cgroup.FlagValue
			for _, f := range cgroup.Flags {
				if !isSet(ctx, f.Name) {
					continue
				}
				vals := ctx.StringSlice(f.Name)
				if !f.Multi {
					vals = []string{ctx.String(f.Name)}
				}
				for _, v := range vals {
					given = append(given, cgroup.FlagValue{Flag: f.Name, Value: v})
				}
			}
			if len(given) == 0 {
				return hint(errors.New("no limit to change"), "give at least one resource flag, e.g. myctr update --memory 256m %s", ctx.Args().First())
			}
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if err := s.UpdateResources(c, given); err != nil {
					return explain(err)
				}
				fmt.Println(c.ID)
				return nil
			})
		},
	}
}
