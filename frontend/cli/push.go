//go:build !lean

package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/events"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "copy an image to a registry, or to a directory (dir:PATH)",
		ArgsUsage: "IMAGE [DESTINATION]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (plain HTTP is used for registries on this machine either way)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress"},
			&cli.StringFlag{Name: "digestfile", Usage: "write the pushed manifest's digest to this file"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 || ctx.NArg() > 2 {
				return withCode(125, errors.New("requires an image and at most one destination: myctr push IMAGE [REGISTRY/NAME[:TAG]|dir:PATH]"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			o, c, stop := transfer(ctx)
			defer stop()
			d, err := s.Push(c, ctx.Args().Get(0), ctx.Args().Get(1), o)
			if err != nil {
				return withCode(125, explainTransfer(err))
			}
			// As Podman's: the image's ID, and where it went.
			dest := ctx.Args().Get(1)
			if dest == "" {
				dest = ctx.Args().Get(0)
			}
			if img, err := s.Lookup(ctx.Args().Get(0)); err == nil {
				record(ctx, events.TypeImage, "push", img.ID, dest)
			}
			if f := ctx.String("digestfile"); f != "" {
				if err := os.WriteFile(f, []byte(d), 0o644); err != nil {
					return fmt.Errorf("write digest file: %w", err)
				}
			}
			return nil
		},
	}
}
