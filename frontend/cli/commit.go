//go:build !lean

package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/build"
)

// commitCommand is `commit CONTAINER [IMAGE]`: a new image of the
// container's changes on top of its image, as Podman's commit.
func commitCommand() *cli.Command {
	return &cli.Command{
		Name:      "commit",
		Usage:     "make an image of a container's changes to its image",
		ArgsUsage: "CONTAINER [IMAGE]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the new image's id"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "the comment of the new layer's history entry"},
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: "the image's author"},
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "a Containerfile instruction applied to the image config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR"},
			// myctr reads the upper directory of a running container as
			// it is; -p is accepted for Podman's scripts (its default is
			// false too).
			&cli.BoolFlag{Name: "pause", Aliases: []string{"p"}, Usage: "accepted for Podman's scripts: the container is not paused"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "oci", Usage: "the manifest format: oci or docker"},
			&cli.StringFlag{Name: "iidfile", Usage: "write the new image's id to this file"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 || ctx.NArg() > 2 {
				return withCode(125, errors.New("requires a container and at most one image name: myctr commit CONTAINER [IMAGE]"))
			}
			cs, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(cs, ctx.Args().First())
			if err != nil {
				return err
			}
			images, err := openImages(ctx)
			if err != nil {
				return err
			}
			m, err := mapping()
			if err != nil {
				return err
			}
			b := &build.Builder{Images: images, Containers: cs, Mapping: m, Differ: usernsUnpacker{}}
			img, err := b.Commit(c, build.CommitOptions{
				Name:    ctx.Args().Get(1),
				Message: ctx.String("message"),
				Author:  ctx.String("author"),
				Changes: ctx.StringSlice("change"),
				Format:  ctx.String("format"),
			})
			if err != nil {
				return withCode(125, explain(err))
			}
			if f := ctx.String("iidfile"); f != "" {
				if err := os.WriteFile(f, []byte("sha256:"+img.ID), 0o644); err != nil {
					return withCode(125, fmt.Errorf("write --iidfile: %w", err))
				}
			}
			fmt.Println(img.ID)
			return nil
		},
	}
}
