package cli

import (
	"fmt"
	"net"
	"strconv"

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
					host := p.HostIP
					if host == "" {
						host = "0.0.0.0"
					}
					fmt.Printf("%d/%s -> %s\n", p.ContainerPort, p.Protocol, net.JoinHostPort(host, strconv.Itoa(int(p.HostPort))))
				}
				return nil
			})
		},
	}
}
