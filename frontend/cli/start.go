package cli

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/systemd"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start stopped containers again, in the background",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "sdnotify", Usage: "under a Type=notify systemd unit: conmon, container or ignore (default: the container's --sdnotify)"},
		},
		Action: func(ctx *cli.Context) error {
			act, err := container.TakeActivation()
			if err != nil {
				return withCode(125, err)
			}
			mode := ""
			if ctx.IsSet("sdnotify") {
				if mode, err = systemd.ParseNotifyMode(ctx.String("sdnotify")); err != nil {
					return err
				}
			}
			return each(ctx, func(s *container.Store, c *container.Container) error {
				if c.Running() {
					fmt.Println(c.Name)
					return nil
				}
				if mode != "" && mode != c.HostConfig.SdNotify {
					if err := s.Update(c, func(c *container.Container) { c.HostConfig.SdNotify = mode }); err != nil {
						return err
					}
				}
				if err := s.StartDetached(c, act); err != nil {
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
				if err := s.StartDetached(c, container.Activation{}); err != nil {
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
