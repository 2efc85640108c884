package cli

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/events"
)

func tagCommand() *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "give an image more names",
		ArgsUsage: "IMAGE NEWNAME[:TAG]...",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 2 {
				return withCode(125, errors.New("requires an image and at least one new name: myctr tag IMAGE NEWNAME..."))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			args := ctx.Args().Slice()
			for _, n := range args[1:] {
				if err := s.Tag(args[0], n); err != nil {
					return explain(err)
				}
				if img, err := s.Lookup(n); err == nil {
					record(ctx, events.TypeImage, "tag", img.ID, n)
				}
			}
			return nil
		},
	}
}
