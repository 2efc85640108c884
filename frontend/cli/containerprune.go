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
	"github.com/myctr/myctr/frontend/diskusage"
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
				if yes, err := confirmPrune("WARNING! This will remove all non running containers.\n"); !yes {
					return err
				}
			}
			ids, _, err := pruneContainers(ctx, f)
			for _, id := range ids {
				fmt.Println(id)
			}
			return err
		},
	}
}

// pruneContainers removes the containers container prune removes
// (Store.Prunable, PruneOne) and returns their ids and the bytes their
// writable layers held; a container that cannot be removed is named on
// stderr and the others still go.
func pruneContainers(ctx *cli.Context, f *container.PruneFilter) (ids []string, reclaimed int64, err error) {
	s, err := openContainers(ctx)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.Prunable(f)
	if err != nil {
		return nil, 0, err
	}
	var failed error
	for _, c := range list {
		size := diskusage.TreeSize(c.File("upper"))
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
		ids = append(ids, c.ID)
		reclaimed += size
	}
	s.SweepRemoved()
	return ids, reclaimed, failed
}

// confirmPrune prints a prune's warning and Podman's question, and says
// whether the answer on stdin is yes. With no answer to read (stdin at
// its end: a script, a pipe) it is an error that names -f, so that a
// script does not take "nothing removed" for success.
func confirmPrune(warning string) (bool, error) {
	fmt.Print(warning)
	fmt.Print("Are you sure you want to continue? [y/N] ")
	answer, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || answer == "") {
		fmt.Println()
		return false, withCode(125, hint(errors.New("no answer on standard input: nothing removed"),
			"pass -f (--force) to prune without asking"))
	}
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes", nil
}
