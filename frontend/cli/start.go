package cli

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start stopped containers again, in the background",
		ArgsUsage: "CONTAINER...",
		Action: func(ctx *cli.Context) error {
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if c.Running() {
					fmt.Println(c.Name)
					return nil
				}
				if err := s.StartDetached(c); err != nil {
					return startFailure(err)
				}
				fmt.Println(c.Name)
				return nil
			})
		},
	}
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop and start containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing"},
		},
		Action: func(ctx *cli.Context) error {
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if err := s.Stop(c, time.Duration(ctx.Uint("time"))*time.Second); err != nil {
					return err
				}
				if err := s.StartDetached(c); err != nil {
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
		Usage:     "wait for containers to exit and print their exit codes",
		ArgsUsage: "CONTAINER...",
		Action: func(ctx *cli.Context) error {
			return each(ctx, func(s *container.Store, c *container.Container) error {
				code, err := s.Wait(c)
				if err != nil {
					return err
				}
				fmt.Println(code)
				return nil
			})
		},
	}
}
