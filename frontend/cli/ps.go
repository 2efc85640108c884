package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// psEntry is one container in `ps --format json`, named as Podman names them.
type psEntry struct {
	Id         string
	Names      []string
	Image      string
	ImageID    string
	Command    []string
	Created    time.Time
	CreatedAt  string
	State      string
	Status     string
	ExitCode   int
	Exited     bool
	Pid        int
	StartedAt  int64
	ExitedAt   int64
	AutoRemove bool
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "Less than a second"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func statusText(c *container.Container) string {
	switch c.State.Status {
	case container.StatusRunning:
		return "Up " + humanDuration(time.Since(c.State.StartedAt))
	case container.StatusExited:
		return fmt.Sprintf("Exited (%d) %s ago", c.State.ExitCode, humanDuration(time.Since(c.State.FinishedAt)))
	}
	return "Created"
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:    "ps",
		Aliases: []string{"list", "ls"},
		Usage:   "list containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers, not only running ones"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
			&cli.StringFlag{Name: "format", Usage: "json for machine output"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate ids"},
		},
		Action: func(ctx *cli.Context) error {
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			s.SweepRemoved()
			all, err := s.List()
			if err != nil {
				return err
			}
			var shown []*container.Container
			for _, c := range all {
				c.Refresh()
				if ctx.Bool("all") || c.State.Status == container.StatusRunning {
					shown = append(shown, c)
				}
			}
			if ctx.Bool("quiet") {
				for _, c := range shown {
					if ctx.Bool("no-trunc") {
						fmt.Println(c.ID)
					} else {
						fmt.Println(c.ID[:12])
					}
				}
				return nil
			}
			switch ctx.String("format") {
			case "json":
				out := []psEntry{}
				for _, c := range shown {
					spec, _ := c.Spec()
					var cmd []string
					if spec != nil {
						cmd = spec.Process.Args
					}
					e := psEntry{Id: c.ID, Names: []string{c.Name}, Image: c.ImageName, ImageID: c.Image,
						Command: cmd, Created: c.Created, CreatedAt: c.Created.Format(time.RFC3339),
						State: c.State.Status, Status: statusText(c), ExitCode: c.State.ExitCode,
						Exited: c.State.Status == container.StatusExited, Pid: c.State.Pid,
						AutoRemove: c.HostConfig.AutoRemove}
					if !c.State.StartedAt.IsZero() {
						e.StartedAt = c.State.StartedAt.Unix()
					}
					if !c.State.FinishedAt.IsZero() {
						e.ExitedAt = c.State.FinishedAt.Unix()
					}
					out = append(out, e)
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(out)
			case "", "table":
			default:
				return fmt.Errorf("unsupported --format %q (want json)", ctx.String("format"))
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tNAMES")
			for _, c := range shown {
				spec, _ := c.Spec()
				cmd := ""
				if spec != nil {
					cmd = strings.Join(spec.Process.Args, " ")
				}
				if len(cmd) > 20 {
					cmd = cmd[:17] + "..."
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s ago\t%s\t%s\n", c.ID[:12], c.ImageName, cmd,
					humanDuration(time.Since(c.Created)), statusText(c), c.Name)
			}
			return w.Flush()
		},
	}
}
