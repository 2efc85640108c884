package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"text/template"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
)

// statsRow is one container's line of `stats`, with Podman's template
// field names.
type statsRow struct {
	ID            string
	Name          string
	CPUPerc       string
	AVGCPU        string
	CPU           string // CPU time
	MemUsage      string
	MemUsageBytes string
	MemPerc       string
	NetIO         string
	BlockIO       string
	PIDs          string
	UpTime        string
}

// statsJSON is a row under Podman's JSON keys.
type statsJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CPUTime    string `json:"cpu_time"`
	CPUPercent string `json:"cpu_percent"`
	AvgCPU     string `json:"avg_cpu"`
	MemUsage   string `json:"mem_usage"`
	MemPercent string `json:"mem_percent"`
	NetIO      string `json:"net_io"`
	BlockIO    string `json:"block_io"`
	PIDs       string `json:"pids"`
}

const statsFields = "the fields are ID, Name, CPUPerc, AVGCPU, CPU, MemUsage, MemUsageBytes, MemPerc, NetIO, BlockIO, PIDs and UpTime"

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show the resource use of containers (from their own cgroups), refreshed in place",
		ArgsUsage: "[CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "all containers, not only running ones"},
			&cli.BoolFlag{Name: "no-stream", Usage: "one sample, then exit"},
			&cli.BoolFlag{Name: "no-reset", Usage: "do not clear the terminal between samples"},
			templateFlag[statsRow]("table (default), json, or a Go template: " + statsFields),
			&cli.IntFlag{Name: "interval", Aliases: []string{"i"}, Value: 5, Usage: "seconds between samples"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.Int("interval") < 1 {
				return withCode(125, fmt.Errorf("invalid --interval %d: at least 1 second", ctx.Int("interval")))
			}
			var tmpl *template.Template
			switch f := ctx.String("format"); f {
			case "", "table", "json":
			default:
				var err error
				if tmpl, err = parseFormat(f); err != nil {
					return err
				}
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			prev := map[string]*cgroup.Sample{}
			tty := term.IsTerminal(int(os.Stdout.Fd()))
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
			defer signal.Stop(sigs)
			for {
				cs, err := statsContainers(ctx, s)
				if err != nil {
					return err
				}
				rows := make([]statsRow, 0, len(cs))
				next := map[string]*cgroup.Sample{}
				for _, c := range cs {
					row, cur, err := statsOf(c, prev[c.ID])
					if err != nil {
						return explain(err)
					}
					if cur != nil {
						next[c.ID] = cur
					}
					rows = append(rows, row)
				}
				prev = next
				if tty && !ctx.Bool("no-stream") && !ctx.Bool("no-reset") {
					fmt.Print("\033[2J\033[H")
				}
				if err := writeStats(os.Stdout, ctx.String("format"), tmpl, rows); err != nil {
					return err
				}
				if ctx.Bool("no-stream") {
					return nil
				}
				select {
				case <-sigs:
					return nil
				case <-time.After(time.Duration(ctx.Int("interval")) * time.Second):
				}
			}
		},
	}
}

// statsContainers are the containers named, or the running ones (all of
// them with -a).
func statsContainers(ctx *cli.Context, s *container.Store) ([]*container.Container, error) {
	if ctx.NArg() > 0 {
		var out []*container.Container
		for _, ref := range ctx.Args().Slice() {
			c, err := lookup(s, ref)
			if err != nil {
				return nil, err
			}
			c.Refresh()
			out = append(out, c)
		}
		return out, nil
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []*container.Container
	for _, c := range all {
		c.Refresh()
		if ctx.Bool("all") || c.Running() {
			out = append(out, c)
		}
	}
	return out, nil
}

// errNoStats is a running container whose use cannot be measured.
var errNoStats = errors.New("stats need the container's own cgroup")

// statsOf samples a container: a stopped one shows no use; a running one
// without a cgroup of its own is an error.
func statsOf(c *container.Container, prev *cgroup.Sample) (statsRow, *cgroup.Sample, error) {
	row := statsRow{ID: c.ID[:12], Name: c.Name, CPUPerc: "--", AVGCPU: "--", CPU: "--", MemUsage: "-- / --",
		MemUsageBytes: "-- / --", MemPerc: "--", NetIO: "-- / --", BlockIO: "-- / --", PIDs: "--", UpTime: "--"}
	if !c.Running() {
		return row, nil, nil
	}
	p := c.State.Cgroup
	if p == nil {
		why := "no systemd user manager could make one where it was created"
		if c.HostConfig.Cgroups == "disabled" {
			why = "it runs with --cgroups=disabled"
		}
		return row, nil, hint(fmt.Errorf("%w: %s has none (%s)", errNoStats, c.Name, why),
			"containers get their own cgroup on cgroup v2 with a systemd user manager (myctr info shows where they come from); start them again there")
	}
	cur, err := cgroup.ReadSample(p.Dir(), "/proc", c.State.Pid)
	if err != nil {
		return row, nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	row.CPUPerc = fmt.Sprintf("%.2f%%", cgroup.CPUPercent(prev, cur, c.State.StartedAt))
	row.AVGCPU = fmt.Sprintf("%.2f%%", cgroup.CPUPercent(nil, cur, c.State.StartedAt))
	row.CPU = (time.Duration(cur.CPUUsec) * time.Microsecond).String()
	row.MemUsage = humanSize(cur.MemUsage) + " / " + humanSize(cur.MemLimit)
	row.MemUsageBytes = units.BytesSize(float64(cur.MemUsage)) + " / " + units.BytesSize(float64(cur.MemLimit))
	if cur.MemLimit > 0 {
		row.MemPerc = fmt.Sprintf("%.2f%%", float64(cur.MemUsage)/float64(cur.MemLimit)*100)
	}
	if cur.HasNet {
		row.NetIO = humanSize(cur.NetRx) + " / " + humanSize(cur.NetTx)
	}
	if cur.HasIO {
		row.BlockIO = humanSize(cur.BlkRead) + " / " + humanSize(cur.BlkWrite)
	}
	row.PIDs = fmt.Sprint(cur.PIDs)
	row.UpTime = time.Since(c.State.StartedAt).Round(time.Second).String()
	return row, cur, nil
}

// humanSize is a size as Podman's stats print it (decimal units, three
// significant digits: "1.11MB").
func humanSize(n uint64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

func writeStats(w io.Writer, format string, tmpl *template.Template, rows []statsRow) error {
	switch {
	case format == "json":
		out := make([]statsJSON, 0, len(rows))
		for _, r := range rows {
			out = append(out, statsJSON{ID: r.ID, Name: r.Name, CPUTime: r.CPU, CPUPercent: r.CPUPerc, AvgCPU: r.AVGCPU,
				MemUsage: r.MemUsage, MemPercent: r.MemPerc, NetIO: r.NetIO, BlockIO: r.BlockIO, PIDs: r.PIDs})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	case tmpl != nil:
		for _, r := range rows {
			if err := writeFormat(w, tmpl, r, statsFields); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET IO\tBLOCK IO\tPIDS\tCPU TIME\tAVG CPU %")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs, r.CPU, r.AVGCPU)
	}
	return tw.Flush()
}
