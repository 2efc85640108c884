package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "list a running container's published ports",
		ArgsUsage: "CONTAINER",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, fmt.Errorf("requires exactly one container"))
			}
			return each(ctx, func(s *container.Store, c *container.Container) error {
				for _, p := range c.State.Ports {
					fmt.Printf("%d/%s -> %s\n", p.ContainerPort, p.Protocol, p.HostAddr())
				}
				return nil
			})
		},
	}
}
