package cli

import (
	"errors"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/protocol/atomicfile"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a container's root filesystem as a tar archive",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the archive to write (default: standard output)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly 1 argument: myctr export [-o FILE] CONTAINER"))
			}
			out := ctx.String("output")
			if (out == "" || out == "-") && term.IsTerminal(int(os.Stdout.Fd())) {
				return withCode(125, hint(errors.New("refusing to export to terminal"), "give a file: myctr export -o FILE CONTAINER, or redirect the output"))
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ctx.Args().First())
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				err = s.Export(c, os.Stdout)
			} else {
				// Written beside the file and renamed: out never holds
				// half an archive.
				err = atomicfile.Write(out, 0o644, func(w io.Writer) error { return s.Export(c, w) })
			}
			if err != nil {
				return withCode(125, err)
			}
			return nil
		},
	}
}
