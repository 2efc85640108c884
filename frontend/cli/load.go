package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/config"
)

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "add the images of a docker-archive or oci-archive",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "the archive to read (default: standard input)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr load -i FILE"))
			}
			var r io.Reader = os.Stdin
			if p := ctx.String("input"); p != "" && p != "-" {
				f, err := os.Open(p)
				if err != nil {
					return fmt.Errorf("open archive: %w", err)
				}
				defer f.Close()
				r = f
			} else if term.IsTerminal(int(os.Stdin.Fd())) {
				return withCode(125, hint(errors.New("no archive: standard input is a terminal"), "give a file: myctr load -i FILE"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			pol, err := config.LoadPolicy(config.HostEnv())
			if err != nil {
				return explainConfig(err)
			}
			scope := ""
			if p := ctx.String("input"); p != "" && p != "-" {
				scope, _ = filepath.Abs(p)
			}
			images, err := s.LoadChecked(r, func(transport string) error { return pol.Check(transport, scope) })
			if err != nil {
				return explainTransfer(err)
			}
			if ctx.Bool("quiet") {
				return nil
			}
			for _, img := range images {
				if len(img.Names) == 0 {
					fmt.Println("Loaded image: sha256:" + img.ID)
				}
				for _, n := range img.Names {
					fmt.Println("Loaded image: " + n)
				}
			}
			return nil
		},
	}
}
