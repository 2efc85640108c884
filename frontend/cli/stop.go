package cli

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop containers: the stop signal, then SIGKILL after the timeout",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing"},
		},
		Action: func(ctx *cli.Context) error {
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if err := s.Stop(c, time.Duration(ctx.Uint("time"))*time.Second); err != nil {
					return err
				}
				fmt.Println(ctx.Args().Get(0))
				return nil
			})
		},
	}
}
