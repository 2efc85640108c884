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
			latestFlag(),
			&cli.UintFlag{Name: "time", Aliases: []string{"t", "timeout"}, Usage: "seconds to wait before killing (default: the container's --stop-timeout, else 10)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "stop every running container"},
			cidfileFlag, ignoreFlag,
		},
		Action: func(ctx *cli.Context) error {
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				timeout := container.StopTimeoutOf(c)
				if isSet(ctx, "time") {
					timeout = time.Duration(ctx.Uint("time")) * time.Second
				}
				if err := s.Stop(c, timeout); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
}
