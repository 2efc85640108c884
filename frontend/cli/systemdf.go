package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/diskusage"
)

// dfSummary is one line of `system df`: a kind of object, how many there
// are, how many are in use, their bytes and the bytes removing the unused
// ones frees. Size and Reclaimable are the human forms; JSON has the bytes.
type dfSummary struct {
	Type           string
	Total          int
	Active         int
	RawSize        int64 `json:"Size"`
	RawReclaimable int64 `json:"Reclaimable"`
}

// Size is RawSize as Podman prints it ("2.141MB").
func (d dfSummary) Size() string { return units.HumanSize(float64(d.RawSize)) }

// Reclaimable is RawReclaimable with its share of RawSize: "2.141MB (100%)".
func (d dfSummary) Reclaimable() string {
	percent := 0
	if d.RawSize > 0 {
		percent = int(math.Round(float64(d.RawReclaimable) / float64(d.RawSize) * 100))
	}
	return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(d.RawReclaimable)), percent)
}

var dfSummaryHeaders = map[string]string{"Type": "TYPE", "Total": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

// dfSummaries folds the usage into the three lines, counted as Podman
// does: an image is active when a container uses it, a container when it
// runs, a volume once per container mounting it; what is not active is
// reclaimable.
func dfSummaries(u *diskusage.Usage) []dfSummary {
	img := dfSummary{Type: "Images", Total: len(u.Images)}
	for _, i := range u.Images {
		img.RawSize += i.Size
		if i.Containers > 0 {
			img.Active++
		} else {
			img.RawReclaimable += i.Size
		}
	}
	ctr := dfSummary{Type: "Containers", Total: len(u.Containers)}
	for _, c := range u.Containers {
		ctr.RawSize += c.RWSize
		if c.Container.State.Status == container.StatusRunning {
			ctr.Active++
		} else {
			ctr.RawReclaimable += c.RWSize
		}
	}
	vol := dfSummary{Type: "Local Volumes", Total: len(u.Volumes)}
	for _, v := range u.Volumes {
		vol.RawSize += v.Size
		vol.Active += len(v.Users)
		if len(v.Users) == 0 {
			vol.RawReclaimable += v.Size
		}
	}
	return []dfSummary{img, ctr, vol}
}

func systemDfCommand() *cli.Command {
	return &cli.Command{
		Name:      "df",
		Usage:     "show disk usage of images, containers and volumes",
		ArgsUsage: " ",
		Description: "One line each for images, containers and local volumes: how many, how many in use, their size and " +
			"what removing the unused ones would free. -v lists each image (its size, the part shared with other " +
			"images, the part only it holds, its containers), each container (its writable layer) and each volume.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show each image, container and volume"},
			templateFlag[dfSummary]("json, or a Go template over Type, Total, Active, Size, Reclaimable ('table ...' for a header)"),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr system df [-v] [--format TEMPLATE]"))
			}
			cs, err := openContainers(ctx)
			if err != nil {
				return err
			}
			is, err := openImages(ctx)
			if err != nil {
				return err
			}
			u, err := diskusage.Measure(cs, is)
			if err != nil {
				return err
			}
			if ctx.Bool("verbose") {
				return printDfVerbose(u)
			}
			format := ctx.String("format")
			rows := dfSummaries(u)
			switch format {
			case "json":
				return writeJSON(os.Stdout, rows, "    ")
			case "":
				format = "table {{.Type}} {{.Total}} {{.Active}} {{.Size}} {{.Reclaimable}}"
			}
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			anyRows := make([]any, len(rows))
			for i := range rows {
				anyRows[i] = rows[i]
			}
			return lf.write(os.Stdout, dfSummaryHeaders, anyRows, "the fields are Type, Total, Active, Size and Reclaimable")
		},
	}
}

// printDfVerbose writes -v's three tables, as Podman lays them out.
func printDfVerbose(u *diskusage.Usage) error {
	size := func(n int64) string { return units.HumanSize(float64(n)) }
	since := func(t time.Time) string { return units.HumanDuration(time.Since(t)) }
	var rows [][]string
	for _, i := range u.Images {
		names := i.Image.Names
		if len(names) == 0 {
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			if strings.Contains(n, "@") {
				continue // a name by digest is no row of its own
			}
			repo, tag := n, "<none>"
			if k := strings.LastIndex(n, ":"); k > strings.LastIndex(n, "/") {
				repo, tag = n[:k], n[k+1:]
			}
			rows = append(rows, []string{repo, tag, i.Image.ID[:12], since(i.Image.Created), size(i.Size),
				size(i.SharedSize), size(i.UniqueSize()), fmt.Sprint(i.Containers)})
		}
	}
	if err := dfTable(os.Stdout, "Images space usage:", []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, cu := range u.Containers {
		c := cu.Container
		rows = append(rows, []string{c.ID[:12], shortID(c.Image), strings.Join(c.Args, " "), fmt.Sprint(cu.Volumes),
			size(cu.RWSize), since(c.Created), c.State.Status, c.Name})
	}
	fmt.Println()
	if err := dfTable(os.Stdout, "Containers space usage:", []string{"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, v := range u.Volumes {
		rows = append(rows, []string{v.Volume.Name, fmt.Sprint(len(v.Users)), size(v.Size)})
	}
	fmt.Println()
	return dfTable(os.Stdout, "Local Volumes space usage:", []string{"VOLUME NAME", "LINKS", "SIZE"}, rows)
}

// shortID is an id's first 12 characters (all of a shorter one).
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// dfTable writes a title, a blank line, then header and rows in aligned
// columns.
func dfTable(w io.Writer, title string, header []string, rows [][]string) error {
	fmt.Fprintf(w, "%s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
