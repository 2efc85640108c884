package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// renameCommand is Podman's rename: a container, running or not, gets a
// new name; a name another container has is an error naming it.
func renameCommand() *cli.Command {
	return &cli.Command{
		Name:      "rename",
		Usage:     "give a container a new name",
		ArgsUsage: "CONTAINER NEWNAME",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("requires exactly 2 arguments: CONTAINER NEWNAME"))
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ctx.Args().Get(0))
			if err != nil {
				return err
			}
			warnings, err := s.Rename(c, ctx.Args().Get(1))
			if errors.Is(err, container.ErrNameInUse) {
				return hint(err, "choose another name, or remove that container (myctr rm) first")
			}
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "Warning:", w)
			}
			return nil
		},
	}
}
