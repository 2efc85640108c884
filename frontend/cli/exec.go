package cli

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command in a running container",
		ArgsUsage: "CONTAINER COMMAND [ARG...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user[:group]"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 2 {
				return withCode(125, errors.New("requires a container and a command: myctr exec CONTAINER COMMAND..."))
			}
			env, err := envFromArgs(ctx)
			if err != nil {
				return err
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ctx.Args().First())
			if err != nil {
				return err
			}
			o := &container.ExecOptions{Args: ctx.Args().Slice()[1:], Env: env, Workdir: ctx.String("workdir"),
				User: ctx.String("user"), Tty: ctx.Bool("tty"), Interactive: ctx.Bool("interactive"),
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
			code, err := s.Exec(c, o)
			if err != nil {
				return withCode(code, explain(err))
			}
			if code != 0 {
				return withCode(code, nil)
			}
			return nil
		},
	}
}
