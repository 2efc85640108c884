package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/nsexec"
)

func unshareCommand() *cli.Command {
	return &cli.Command{
		Name:      "unshare",
		Usage:     "run a command as root in the user namespace with your subordinate ids (to manage files containers created)",
		ArgsUsage: "[--] [COMMAND [ARG...]]",
		// Flags are parsed up to the first argument that is not one, so
		// --help is unshare's and `unshare -- --help` runs a program of
		// that name; no help subcommand, so `unshare help` runs one too.
		HideHelpCommand: true,
		Action: func(ctx *cli.Context) error {
			m, err := mapping()
			if err != nil {
				return err
			}
			args := ctx.Args().Slice()
			if len(args) == 0 {
				sh := os.Getenv("SHELL")
				if sh == "" {
					sh = "/bin/sh"
				}
				args = []string{sh}
			}
			u := &nsexec.UserNSCommand{Sub: "unshare", Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
			err = u.Run(m)
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return withCode(ee.ExitCode(), nil)
			}
			return explain(err)
		},
	}
}

func unshareExec(args []string) int {
	if len(args) == 0 {
		return 125
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 127
	}
	os.Setenv("MYCTR_UNSHARE", "1")
	err = syscall.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "Error: exec %s: %v\n", path, err)
	return 126
}
