package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// imageCommand groups the image verbs as Podman does: `image prune`,
// and `image ls` and `image rm` for images and rmi.
func imageCommand() *cli.Command {
	return group("image", "manage images", []*cli.Command{
		pruneImagesCommand(), renamed(imagesCommand(), "ls", "list"), renamed(rmiCommand(), "rm", "remove"),
		imageInspectCommand(), existsImageCommand(), tagCommand(), untagCommand(), pullCommand(), pushCommand(),
		saveCommand(), loadCommand(), renamed(importCommand(), "import"), renamed(buildCommand(), "build"),
		historyCommand(), searchCommand(), imageDiffCommand(),
	})
}

func pruneImagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove dangling images: those without a name that no container uses (-a: every image no container uses)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "also remove the named images no container uses"},
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (a duration or a time: the images made before it)"},
			// myctr never asks for confirmation; -f is accepted for Podman's scripts.
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation (myctr never asks)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr image prune"))
			}
			f, err := container.ParsePruneFilter(ctx.StringSlice("filter"))
			if err != nil {
				return withCode(125, err)
			}
			pruned, err := pruneImages(ctx, ctx.Bool("all"), f)
			for _, p := range pruned {
				fmt.Println(p.ID)
			}
			return err
		},
	}
}

// pruneImages removes what image prune removes (image.Store.PruneUnused):
// the dangling images no container uses, with all the named ones too,
// those f passes.
func pruneImages(ctx *cli.Context, all bool, f *container.PruneFilter) ([]image.Pruned, error) {
	s, err := openImages(ctx)
	if err != nil {
		return nil, err
	}
	_, ctrs, err := listContainers(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.Image] = true
	}
	return s.PruneUnused(all, func(id string) bool { return used[id] },
		func(img *image.Image) bool { return !f.MatchObject(img.Config.Config.Labels, img.Created) })
}
