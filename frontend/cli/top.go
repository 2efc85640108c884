package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "show a running container's processes",
		ArgsUsage: "CONTAINER [DESCRIPTOR...]",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 {
				return withCode(125, fmt.Errorf("you must provide the name or ID of a running container"))
			}
			desc, err := container.TopDescriptors(ctx.Args().Slice()[1:])
			if err != nil {
				return withCode(125, err)
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ctx.Args().First())
			if err != nil {
				return err
			}
			rows, err := container.Top(c, desc)
			if err != nil {
				return withCode(125, err)
			}
			w := tabwriter.NewWriter(os.Stdout, 5, 1, 3, ' ', 0)
			for _, r := range rows {
				fmt.Fprintln(w, strings.Join(r, "\t"))
			}
			return w.Flush()
		},
	}
}
