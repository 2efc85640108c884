package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			latestFlag(),
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal name or number"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every running container"},
		},
		Action: func(ctx *cli.Context) error {
			sig, err := container.ParseSignal(ctx.String("signal"))
			if err != nil {
				return withCode(125, err)
			}
			return eachRef(ctx, func(s *container.Store, c *container.Container, ref string) error {
				if err := s.Signal(c, sig); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
}
