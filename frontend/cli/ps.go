package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/labels"
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
	Pod        string // the pod's id, or ""
	PodName    string
	Labels     map[string]string
	Ports      []psPort
	Networks   []string // the named networks it is on
	Mounts     []string // the destinations of its mounts
}

// psPort is a published port in ps --format json, as Podman writes it.
type psPort struct {
	HostIP        string `json:"host_ip"`
	ContainerPort uint16 `json:"container_port"`
	HostPort      uint16 `json:"host_port"`
	Range         int    `json:"range"`
	Protocol      string `json:"protocol"`
}

// psRow is one container for `ps --format TEMPLATE`, with Podman's field
// names and plain strings.
type psRow struct {
	ID, Names, Image, Command, Created, Status, State, Ports string
	Pid                                                      int
	Pod, PodName                                             string
	Labels                                                   map[string]string
	Networks                                                 string
}

// psHeaders are the column headers of `ps --format "table ..."`.
var psHeaders = upperHeaders([]string{"ID", "Names", "Image", "Command", "Created", "Status", "State", "Ports", "Pid", "Pod", "PodName", "Labels", "Networks"},
	map[string]string{"ID": "CONTAINER ID", "Pod": "POD ID"})

func psRowOf(c *container.Container, noTrunc bool) psRow {
	r := psRow{ID: c.ID, Names: c.Name, Image: c.ImageName, Created: humanDuration(time.Since(c.Created)) + " ago",
		Status: statusText(c), State: psState(c), Pid: c.State.Pid}
	if !noTrunc {
		r.ID = c.ID[:12]
	}
	r.Command = strings.Join(c.ProcessArgs(), " ")
	var ports []string
	for _, p := range c.State.Ports {
		ports = append(ports, fmt.Sprintf("%s->%d/%s", p.HostAddr(), p.ContainerPort, p.Protocol))
	}
	r.Ports = strings.Join(ports, ", ")
	r.Labels = c.Labels
	r.Networks = strings.Join(c.NamedNetworks(), ",")
	return r
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

// psState is the container's state as ps shows and filters it: its
// status, or "paused" (Podman's).
func psState(c *container.Container) string {
	if c.Paused() {
		return container.StatusPaused
	}
	return c.State.Status
}

func statusText(c *container.Container) string {
	if c.Paused() {
		return "Paused" // Podman's, as Docker's
	}
	switch c.State.Status {
	case container.StatusRunning:
		up := "Up " + humanDuration(time.Since(c.State.StartedAt))
		if h := c.HealthStatus(); h != "" {
			up += " (" + h + ")" // Podman's and Docker's
		}
		return up
	case container.StatusExited:
		if c.State.FinishedAt.IsZero() {
			// Its monitor was lost before the end: no time to tell, and
			// -1 is no exit code.
			if c.State.ExitCode == -1 {
				return "Exited (unknown)"
			}
			return fmt.Sprintf("Exited (%d)", c.State.ExitCode)
		}
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
			templateFlag[psRow]("json for machine output, or a Go template over ID, Names, Image, Command, Created, Status, State, Ports, Pid, Pod, PodName, Labels, Networks (e.g. '{{.Names}}\\t{{.Status}}')"),
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate ids"},
			// Podman lists Buildah's containers with it; myctr's store
			// holds only myctr's own, so it changes nothing.
			&cli.BoolFlag{Name: "external", Usage: "also containers of other tools in the store (myctr's store holds only its own)"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "only containers that match: " + filterKeys + " (several of one key: any; of different keys: all); a status filter implies --all"},
			&cli.StringFlag{Name: "sort", Usage: "order by command, created, id, image, names, runningfor or status (default: newest first)"},
			&cli.BoolFlag{Name: "pod", Aliases: []string{"p"}, Usage: "show the pod of each container (its id and name)"},
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
			filters, podRefs := splitPodFilter(ctx.StringSlice("filter"))
			match, err := psFilter(filters)
			if err != nil {
				return withCode(125, err)
			}
			pods := podNames(ctx)
			inPod := podMatch(pods, podRefs)
			rowOf := func(c *container.Container) psRow {
				r := psRowOf(c, ctx.Bool("no-trunc"))
				r.Pod, r.PodName = short(c.Pod, ctx.Bool("no-trunc")), pods[c.Pod]
				return r
			}
			var shown []*container.Container
			for _, c := range all {
				c.Refresh()
				if (ctx.Bool("all") || statusFilter(filters) || c.State.Status == container.StatusRunning) && match(c) && inPod(c) {
					shown = append(shown, c)
				}
			}
			if err := psSort(shown, ctx.String("sort")); err != nil {
				return withCode(125, err)
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
					cmd := c.ProcessArgs()
					e := psEntry{Id: c.ID, Names: []string{c.Name}, Image: c.ImageName, ImageID: c.Image,
						Command: cmd, Created: c.Created, CreatedAt: c.Created.Format(time.RFC3339),
						State: psState(c), Status: statusText(c), ExitCode: c.State.ExitCode,
						Exited: c.State.Status == container.StatusExited, Pid: c.State.Pid,
						AutoRemove: c.HostConfig.AutoRemove, Pod: c.Pod, PodName: pods[c.Pod],
						Labels: c.Labels, Ports: []psPort{}, Networks: c.NamedNetworks()}
					for _, p := range c.State.Ports {
						e.Ports = append(e.Ports, psPort{HostIP: p.HostIP, ContainerPort: p.ContainerPort, HostPort: p.HostPort, Range: 1, Protocol: p.Protocol})
					}
					for _, m := range c.Mounts {
						e.Mounts = append(e.Mounts, m.Destination)
					}
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
				f, err := parseListFormat(ctx.String("format"))
				if err != nil {
					return err
				}
				f.noHeading = ctx.Bool("noheading")
				var rows []any
				for _, c := range shown {
					rows = append(rows, rowOf(c))
				}
				return f.write(os.Stdout, psHeaders, rows, "the fields are ID, Names, Image, Command, Created, Status, State, Ports, Pid, Pod, PodName, Labels and Networks")
			}
			// One write for the table, not one per cell.
			bw := bufio.NewWriter(os.Stdout)
			w := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
			if !ctx.Bool("noheading") {
				fmt.Fprint(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
				if ctx.Bool("pod") {
					fmt.Fprint(w, "\tPOD ID\tPODNAME")
				}
				fmt.Fprintln(w)
			}
			for _, c := range shown {
				r := rowOf(c)
				if len(r.Command) > 20 {
					r.Command = r.Command[:17] + "..."
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s", r.ID, r.Image, r.Command, r.Created, r.Status, r.Ports, r.Names)
				if ctx.Bool("pod") {
					fmt.Fprintf(w, "\t%s\t%s", r.Pod, r.PodName)
				}
				fmt.Fprintln(w)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
}

// filterKeys says what --filter of ps and start takes.
const filterKeys = "name=REGEXP, id=PREFIX, label=KEY[=VALUE], label!=KEY[=VALUE], status=created|running|paused|exited|stopped, ancestor=IMAGE, exited=CODE, network=NAME, restart-policy=none|no|on-failure|always|unless-stopped, health=starting|healthy|unhealthy|none"

// healthFilterValues are the values of --filter health=, as Docker's and
// Podman's.
var healthFilterValues = []string{container.HealthStarting, container.HealthHealthy, container.HealthUnhealthy, "none"}

// healthOf is c's health as the health filter reads it: its check's
// finding while it runs, "none" for a container without a check.
func healthOf(c *container.Container) string {
	if c.Healthcheck == nil {
		return "none"
	}
	return c.HealthStatus()
}

// statusFilter says whether filters hold a status filter, which, as in
// Podman (and Docker), lists stopped containers without --all.
func statusFilter(filters []string) bool {
	return slices.ContainsFunc(filters, func(f string) bool { return strings.HasPrefix(f, "status=") })
}

// psFilter makes the --filter test of ps and start: values of one key
// are alternatives, keys must all match.
func psFilter(filters []string) (func(*container.Container) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid filter %q: want KEY=VALUE", f)
		}
		switch k {
		case "name", "id", "ancestor", "exited", "label", "label!", "network":
		case "status":
			switch v {
			case "stopped":
				v = container.StatusExited // as Podman: one state to us
			case container.StatusCreated, container.StatusRunning, container.StatusPaused, container.StatusExited:
			case "unknown":
				v = "" // no container of myctr's is
			default:
				return nil, fmt.Errorf("invalid filter %q: want a status of created, running, paused, exited or stopped", f)
			}
		case "restart-policy":
			if _, ok := container.RestartPolicyNames[v]; !ok {
				return nil, fmt.Errorf("%s invalid restart policy", v) // Podman's words
			}
		case "health":
			if !slices.Contains(healthFilterValues, v) {
				return nil, fmt.Errorf("invalid filter %q: want a health of starting, healthy, unhealthy or none", f)
			}
		default:
			return nil, fmt.Errorf("invalid filter %q: myctr filters by %s", f, filterKeys)
		}
		if k == "name" {
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter %q: %w", f, err)
			}
		}
		byKey[k] = append(byKey[k], v)
	}
	one := func(c *container.Container, k, v string) bool {
		switch k {
		case "name":
			return regexp.MustCompile(v).MatchString(c.Name)
		case "id":
			return strings.HasPrefix(c.ID, v)
		case "restart-policy":
			return c.HostConfig.RestartPolicy.Name == container.RestartPolicyNames[v]
		case "status":
			return psState(c) == v
		case "health":
			return healthOf(c) == v
		case "ancestor":
			return c.ImageName == v || strings.HasPrefix(c.Image, strings.TrimPrefix(v, "sha256:")) ||
				strings.TrimSuffix(strings.TrimPrefix(c.ImageName, "localhost/"), ":latest") == strings.TrimSuffix(v, ":latest")
		case "exited":
			return c.State.Status == container.StatusExited && strconv.Itoa(c.State.ExitCode) == v
		case "label":
			return labels.Match(c.Labels, v)
		case "label!":
			return !labels.Match(c.Labels, v)
		case "network":
			_, on := c.Networks[v]
			return on || c.HostConfig.NetworkMode == v
		}
		return false
	}
	return func(c *container.Container) bool {
		for k, vs := range byKey {
			match := func(v string) bool { return one(c, k, v) }
			if k == "label" || k == "label!" {
				// As Podman: every label filter must hold.
				if slices.ContainsFunc(vs, func(v string) bool { return !match(v) }) {
					return false
				}
				continue
			}
			if !slices.ContainsFunc(vs, match) {
				return false
			}
		}
		return true
	}, nil
}

// psSort orders ps's containers by key: by default newest first; by
// created or runningfor oldest (the earliest start) first, as Podman.
func psSort(cs []*container.Container, key string) error {
	var less func(a, b *container.Container) int
	switch key {
	case "":
		less = func(a, b *container.Container) int { return b.Created.Compare(a.Created) }
	case "created":
		less = func(a, b *container.Container) int { return a.Created.Compare(b.Created) }
	case "runningfor":
		less = func(a, b *container.Container) int { return a.State.StartedAt.Compare(b.State.StartedAt) }
	case "id":
		less = func(a, b *container.Container) int { return strings.Compare(a.ID, b.ID) }
	case "names":
		less = func(a, b *container.Container) int { return strings.Compare(a.Name, b.Name) }
	case "image":
		less = func(a, b *container.Container) int { return strings.Compare(a.ImageName, b.ImageName) }
	case "status":
		less = func(a, b *container.Container) int { return strings.Compare(psState(a), psState(b)) }
	case "command":
		cmd := func(c *container.Container) string { return strings.Join(c.ProcessArgs(), " ") }
		less = func(a, b *container.Container) int { return strings.Compare(cmd(a), cmd(b)) }
	default:
		return fmt.Errorf("invalid --sort %q: want command, created, id, image, names, runningfor or status", key)
	}
	slices.SortStableFunc(cs, less)
	return nil
}
