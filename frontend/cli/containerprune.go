package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// containerPruneCommand is Podman's `container prune`: every container
// that does not run goes (Store.Prunable, PruneOne), each id printed.
// Without --force it asks on stdin, as Podman does; with no answer to
// read (stdin at its end: a script, a pipe) it removes nothing and says
// -f is needed.
func containerPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove every container that does not run",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (a duration or a time: the containers made before it)"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, errors.New("container prune takes no arguments"))
			}
			f, err := container.ParsePruneFilter(ctx.StringSlice("filter"))
			if err != nil {
				return withCode(125, err)
			}
			if !ctx.Bool("force") {
				fmt.Println("WARNING! This will remove all non running containers.")
				fmt.Print("Are you sure you want to continue? [y/N] ")
				answer, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil && (!errors.Is(err, io.EOF) || answer == "") {
					fmt.Println()
					return withCode(125, hint(errors.New("no answer on standard input: nothing removed"),
						"pass -f (--force) to prune without asking"))
				}
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			list, err := s.Prunable(f)
			if err != nil {
				return err
			}
			var failed error
			for _, c := range list {
				removed, err := s.PruneOne(c)
				if err != nil {
					fmt.Fprintf(os.Stderr, "Error: %s: %v\n", c.ID, err)
					failed = withCode(125, errors.New("some containers could not be removed"))
					continue
				}
				if !removed {
					continue
				}
				if err := s.ReleaseNetwork(c); err != nil {
					warnRelease(os.Stderr, err)
				}
				releaseCgroup(s, c)
				fmt.Println(c.ID)
			}
			s.SweepRemoved()
			return failed
		},
	}
}
