package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// pauseCommand and unpauseCommand freeze and thaw containers (their own
// cgroup's freezer), printing each as given, as Podman does.
func pauseCommand() *cli.Command   { return freezeCommand("pause") }
func unpauseCommand() *cli.Command { return freezeCommand("unpause") }

func freezeCommand(verb string) *cli.Command {
	usage, all := "freeze every process of running containers", "pause every running container"
	if verb == "unpause" {
		usage, all = "let paused containers run again", "unpause every paused container"
	}
	return &cli.Command{
		Name:      verb,
		Usage:     usage,
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			latestFlag(),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: all},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "only the containers that match: " + filterKeys},
			cidfileFlag,
		},
		Action: func(ctx *cli.Context) error {
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				act := s.Pause
				if verb == "unpause" {
					act = s.Unpause
				}
				if err := act(c); err != nil {
					return withCode(125, explain(err))
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
}
