package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/netstore"
)

// systemPruneCommand is Podman's `system prune`: the prunes of each kind
// (container, pod, image, network and, with --volumes, volume prune) in
// one go, through the same functions those verbs call. Pods and
// containers go first, so that the images, networks and volumes they
// held are unused by the time those are pruned.
func systemPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove stopped containers and pods, dangling images, unused networks (and with --volumes unused volumes)",
		Description: "Removes every container that does not run, every pod none of whose containers runs, the images " +
			"without a name that no container uses (-a: every image no container uses), the named networks no container " +
			"is on and, with --volumes, the volumes no container uses; prints what went under a heading per kind, then " +
			"the space reclaimed. --filter label=, label!= and until= select the containers, images, networks and volumes " +
			"(a --filter leaves pods alone). Without -f it asks first, and with no answer on stdin it removes nothing.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every image no container uses, not only the dangling ones"},
			&cli.BoolFlag{Name: "volumes", Usage: "also remove the volumes no container uses"},
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (a duration or a time)"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, errors.New("system prune takes no arguments (select with --filter)"))
			}
			// Every kind's filter is read first: a bad one removes nothing.
			filters := ctx.StringSlice("filter")
			cf, err := container.ParsePruneFilter(filters)
			if err != nil {
				return withCode(125, err)
			}
			nf, err := netstore.ParseFilter(filters, netstore.PruneFilterKeys, time.Now())
			if err != nil {
				return withCode(125, err)
			}
			vf, err := parseVolumeFilter(filters, "label", "label!", "until")
			if err != nil {
				return err
			}
			if !ctx.Bool("force") {
				if yes, err := confirmPrune(systemPruneWarning(ctx.Bool("all"), ctx.Bool("volumes"))); !yes {
					return err
				}
			}
			var failed []error
			var reclaimed int64
			// Pods have no labels or filter of their own: a --filter
			// leaves them (Podman 4.3 removes every stopped pod, with the
			// containers in it, whatever the filter says).
			var pods []string
			if len(filters) == 0 {
				pods, err = prunePods(ctx)
				failed = append(failed, err)
			}
			ctrs, size, err := pruneContainers(ctx, cf)
			failed = append(failed, err)
			reclaimed += size
			var vols []string
			if ctx.Bool("volumes") {
				store, names, err := prunableVolumes(ctx, vf)
				if err == nil {
					vols, size, err = removeVolumes(ctx, store, names)
					reclaimed += size
				}
				failed = append(failed, err)
			}
			pruned, err := pruneImages(ctx, ctx.Bool("all"), cf)
			failed = append(failed, err)
			var imgs []string
			for _, p := range pruned {
				imgs = append(imgs, p.ID)
				reclaimed += p.Size
			}
			nets, err := pruneNetworks(ctx, nf)
			failed = append(failed, err)

			// Podman's order and headings; a kind with nothing removed
			// has no heading.
			for _, kind := range []struct {
				heading string
				gone    []string
			}{{"Deleted Containers", ctrs}, {"Deleted Pods", pods}, {"Deleted Volumes", vols}, {"Deleted Images", imgs}, {"Deleted Networks", nets}} {
				if len(kind.gone) == 0 {
					continue
				}
				fmt.Println(kind.heading)
				for _, g := range kind.gone {
					fmt.Println(g)
				}
			}
			fmt.Printf("Total reclaimed space: %s\n", units.HumanSize(float64(reclaimed)))
			return reportFailures(failed)
		},
	}
}

// systemPruneWarning is Podman's question's preamble: what will go.
func systemPruneWarning(all, volumes bool) string {
	vol := ""
	if volumes {
		vol = "\n\t- all volumes not used by at least one container"
	}
	if all {
		return "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container" + vol +
			"\n\t- all images without at least one container associated with them\n\t- all build cache\n\n"
	}
	return "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container" + vol +
		"\n\t- all dangling images\n\t- all dangling build cache\n\n"
}

// reportFailures prints all but the last of the kinds' errors on stderr
// and returns the last, which becomes the command's Error: line.
func reportFailures(errs []error) error {
	var last error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if last != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", last)
		}
		last = err
	}
	return last
}

// systemResetCommand is `system reset`: every container (running ones
// killed), pod, volume, image and named network goes, as with Podman's;
// secrets and the configuration files stay. Without -f it asks first.
func systemResetCommand() *cli.Command {
	return &cli.Command{
		Name:  "reset",
		Usage: "remove every container, pod, volume, image and named network",
		Description: "Removes every container (a running one is killed first), every pod, every volume, every image and " +
			"every named network, as Podman's system reset does; secrets and configuration files stay. Without -f it asks " +
			"first, and with no answer on stdin it removes nothing.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
		},
		Action: func(ctx *cli.Context) error {
			if !ctx.Bool("force") {
				// Podman's words.
				warning := "WARNING! This will remove:\n - all containers\n - all pods\n - all images\n - all networks\n - all build cache\n - all volumes\n"
				if yes, err := confirmPrune(warning); !yes {
					return err
				}
			}
			var failed []error
			failed = append(failed, removeAllContainers(ctx, true, func(string) {}))
			_, err := prunePods(ctx)
			failed = append(failed, err)
			store, names, err := prunableVolumes(ctx, nil)
			if err == nil {
				_, _, err = removeVolumes(ctx, store, names)
			}
			failed = append(failed, err)
			cf, _ := container.ParsePruneFilter(nil)
			_, err = pruneImages(ctx, true, cf)
			failed = append(failed, err)
			nf, err := netstore.ParseFilter(nil, netstore.PruneFilterKeys, time.Now())
			if err == nil {
				_, err = pruneNetworks(ctx, nf)
			}
			failed = append(failed, err)
			return reportFailures(failed)
		},
	}
}
