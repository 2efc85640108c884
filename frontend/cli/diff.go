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
		Usage:     "list a container's changes to its image's files: A added, C changed, D deleted",
		ArgsUsage: "CONTAINER",
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
			format := ctx.String("format")
			if format != "" && format != "json" {
				return withCode(125, hint(fmt.Errorf("unknown --format %q", format), "give --format json, or no --format for lines"))
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, args[0])
			if err != nil {
				return err
			}
			changes, err := container.Changes(c)
			if err != nil {
				return withCode(125, err)
			}
			if format == "json" {
				return printChangesJSON(changes)
			}
			for _, ch := range changes {
				fmt.Println(ch)
			}
			return nil
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
