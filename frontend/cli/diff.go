package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "list a container's changes to its image's files (or an image's to its parent's): A added, C changed, D deleted",
		ArgsUsage: "CONTAINER|IMAGE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "json: {\"changed\": [...], \"added\": [...], \"deleted\": [...]}"},
			latestFlag(),
		},
		Action: func(ctx *cli.Context) error {
			args, err := withLatest(ctx)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return withCode(125, errors.New("requires exactly 1 argument: myctr diff [--format json] CONTAINER"))
			}
			if err := checkDiffFormat(ctx); err != nil {
				return err
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, args[0])
			if errors.Is(err, container.ErrNotFound) && !ctx.Bool("latest") {
				// As Podman's: an image of that name, against its parent.
				if changes, ierr := imageChanges(ctx, args[0]); ierr == nil {
					return printChanges(ctx, changes)
				}
			}
			if err != nil {
				return err
			}
			changes, err := container.Changes(c)
			if err != nil {
				return withCode(125, err)
			}
			return printChanges(ctx, changes)
		},
	}
}

// printChangesJSON prints Podman's JSON of a diff: the paths by kind, a
// kind with none left out.
func printChangesJSON(changes []container.Change) error {
	var body struct {
		Changed []string `json:"changed,omitempty"`
		Added   []string `json:"added,omitempty"`
		Deleted []string `json:"deleted,omitempty"`
	}
	for _, ch := range changes {
		switch ch.Kind {
		case container.ChangeAdd:
			body.Added = append(body.Added, ch.Path)
		case container.ChangeDelete:
			body.Deleted = append(body.Deleted, ch.Path)
		default:
			body.Changed = append(body.Changed, ch.Path)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(body)
}

// imageDiffCommand is `image diff IMAGE`: the changes of the image's top
// layer to the layers below it (its parent), as Podman's.
func imageDiffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "list an image's changes to its parent's files (its top layer's): A added, C changed, D deleted",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "json: {\"changed\": [...], \"added\": [...], \"deleted\": [...]}"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("image diff requires exactly one image (myctr compares an image with its parent)"))
			}
			if err := checkDiffFormat(ctx); err != nil {
				return err
			}
			changes, err := imageChanges(ctx, ctx.Args().First())
			if err != nil {
				return err
			}
			return printChanges(ctx, changes)
		},
	}
}

// imageChanges are the changes of image ref's top layer.
func imageChanges(ctx *cli.Context, ref string) ([]container.Change, error) {
	images, err := openImages(ctx)
	if err != nil {
		return nil, err
	}
	img, err := images.Lookup(ref)
	if err != nil {
		return nil, withCode(125, explain(err))
	}
	changes, err := container.LayerChanges(img.LayerDirs)
	if err != nil {
		return nil, withCode(125, err)
	}
	return changes, nil
}

func checkDiffFormat(ctx *cli.Context) error {
	if f := ctx.String("format"); f != "" && f != "json" {
		return withCode(125, hint(fmt.Errorf("unknown --format %q", f), "give --format json, or no --format for lines"))
	}
	return nil
}

// printChanges prints a diff: a line each ("A /path"), or --format json.
func printChanges(ctx *cli.Context, changes []container.Change) error {
	if ctx.String("format") == "json" {
		return printChangesJSON(changes)
	}
	for _, ch := range changes {
		fmt.Println(ch)
	}
	return nil
}
