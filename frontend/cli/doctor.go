package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/doctor"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check what rootless containers need on this host, and say how to fix what is missing",
		Description: "Checks the subordinate id ranges, newuidmap/newgidmap, user namespaces, XDG_RUNTIME_DIR, /dev/net/tun, " +
			"pasta and slirp4netns, cgroups, the image store's space and file system (by mounting a tiny overlay in a user namespace), " +
			"and myctr-helper. Each check prints ok, warning or error, what it found and, for the others, a Hint with the fix. " +
			"Exits 0 when no check is an error (warnings allowed: they are features this host lacks, such as resource limits), 1 otherwise.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "json: a list of {\"check\",\"status\",\"message\",\"hint\"} objects"},
		},
		Action: func(ctx *cli.Context) error {
			format := ctx.String("format")
			if format != "" && format != "json" {
				return withCode(125, fmt.Errorf("--format %q: doctor prints a table, or json", format))
			}
			findings := doctor.Run(doctor.Options{Dirs: dirs(ctx)})
			if format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(findings); err != nil {
					return err
				}
			} else {
				w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
				for _, f := range findings {
					fmt.Fprintf(w, "%s\t%s\t%s\n", f.Status, f.Check, f.Message)
					if f.Hint != "" {
						fmt.Fprintf(w, "\t\tHint: %s\n", f.Hint)
					}
				}
				w.Flush()
			}
			if doctor.Failed(findings) {
				return withCode(1, nil)
			}
			return nil
		},
	}
}
