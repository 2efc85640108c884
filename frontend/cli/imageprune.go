package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

// imageCommand groups the image verbs as Podman does: `image prune`,
// and `image ls` and `image rm` for images and rmi.
func imageCommand() *cli.Command {
	return group("image", "manage images", []*cli.Command{
		pruneImagesCommand(), renamed(imagesCommand(), "ls", "list"), renamed(rmiCommand(), "rm", "remove"),
		imageInspectCommand(), existsImageCommand(), tagCommand(), untagCommand(), pullCommand(), pushCommand(),
		saveCommand(), loadCommand(), renamed(importCommand(), "import"), renamed(buildCommand(), "build"),
		historyCommand(), searchCommand(),
	})
}

func pruneImagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove dangling images: those without a name that no container uses",
		Flags: []cli.Flag{
			// myctr never asks for confirmation; -f is accepted for Podman's scripts.
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation (myctr never asks)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr image prune"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			_, ctrs, err := listContainers(ctx)
			if err != nil {
				return err
			}
			used := map[string]bool{}
			for _, c := range ctrs {
				used[c.Image] = true
			}
			ids, err := s.Prune(func(id string) bool { return used[id] })
			for _, id := range ids {
				fmt.Println(id)
			}
			return err
		},
	}
}
