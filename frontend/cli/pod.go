package cli

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/labels"
	"github.com/myctr/myctr/frontend/pod"
	"github.com/myctr/myctr/protocol/atomicfile"
)

func podCommand() *cli.Command {
	return group("pod", "manage pods: containers that share the network (and IPC, UTS) namespaces of an infra container", []*cli.Command{
		podCreateCommand(), podPsCommand(), podInspectCommand(), podStartCommand(), podStopCommand(),
		podRestartCommand(), podKillCommand(), podPauseCommand(), podUnpauseCommand(), podTopCommand(), podRmCommand(), podExistsCommand(), podPruneCommand(), podLogsCommand(),
	})
}

func openPods(ctx *cli.Context) (*pod.Store, error) {
	d := dirs(ctx)
	if err := d.Ensure(); err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, err
	}
	return pod.Open(d.Pods())
}

// openPodStores opens the pod store and the container store, which every
// pod command reads together.
func openPodStores(ctx *cli.Context) (*pod.Store, *container.Store, error) {
	ps, err := openPods(ctx)
	if err != nil {
		return nil, nil, err
	}
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ps, cs, nil
}

// podFound explains a pod that is not there.
func podFound(err error) error {
	if errors.Is(err, pod.ErrNoSuchPod) {
		return hint(err, "myctr pod ps lists your pods")
	}
	return err
}

// replacePod is pod create --replace: the pod named name, if there is one,
// is removed first, with its containers (running ones too), as Podman's.
func replacePod(ctx *cli.Context, name string) error {
	pods, cs, err := openPodStores(ctx)
	if err != nil {
		return err
	}
	p, err := pods.Lookup(name)
	switch {
	case errors.Is(err, pod.ErrNoSuchPod) || errors.Is(err, pod.ErrAmbiguous) || (err == nil && p.Name != name):
		return nil // none of that name (an id or its prefix is no name)
	case err != nil:
		return err
	}
	return removePod(pods, cs, p, true, nil)
}

// removeCreatedPod removes pod p, just made, and its infra container.
func removeCreatedPod(ctx *cli.Context, p *pod.Pod) error {
	pods, cs, err := openPodStores(ctx)
	if err != nil {
		return err
	}
	return removePod(pods, cs, p, true, nil)
}

func podCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a pod (prints its id)",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "the pod's name (default: a random one)"},
			&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port of the pod: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]"},
			&cli.BoolFlag{Name: "infra", Value: true, Usage: "make an infra container, whose namespaces the pod's containers share"},
			&cli.StringFlag{Name: "infra-image", Usage: "the infra container's image (default: the pause image, made locally from myctr-init)"},
			&cli.StringFlag{Name: "infra-name", Usage: "the infra container's name (default: the pod id's first 12 digits and -infra)"},
			&cli.StringFlag{Name: "share", Usage: "the namespaces the containers share: a list of ipc, net, uts (default ipc,net,uts), +LIST to add to the default, or none"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label KEY=VALUE"},
			&cli.StringFlag{Name: "hostname", Usage: "the pod's host name (shared UTS namespace; default: the pod's name)"},
			&cli.StringSliceFlag{Name: "network", Aliases: []string{"net"}, Usage: "the pod's network mode: slirp4netns[:OPTIONS], pasta[:OPTIONS], bridge, host, none, or named networks, one or more (as run's)"},
			&cli.StringSliceFlag{Name: "add-host", Usage: "add HOST:IP to the pod's /etc/hosts, which its containers share (as run's)"},
			&cli.StringSliceFlag{Name: "dns", Usage: "a DNS server of the pod's /etc/resolv.conf (as run's)"},
			&cli.StringSliceFlag{Name: "dns-search", Usage: "a DNS search domain of the pod's /etc/resolv.conf (as run's)"},
			&cli.StringSliceFlag{Name: "dns-option", Usage: "a resolv.conf option of the pod (as run's)"},
			dnsOptFlag,
			&cli.StringFlag{Name: "infra-command", Usage: "the command the infra container runs (default: the pause image's)"},
			&cli.StringFlag{Name: "pod-id-file", Usage: "write the pod's id to this file (it must not exist)"},
			&cli.BoolFlag{Name: "replace", Usage: "remove a pod of the same name first, with its containers"},
			&cli.StringFlag{Name: "exit-policy", Value: pod.ExitContinue, Usage: "what the pod does when its last container exits: continue (the infra goes on running) or stop (the infra is stopped)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 1 {
				return withCode(125, errors.New("pod create takes at most one argument: the pod's name"))
			}
			name := ctx.String("name")
			if ctx.NArg() == 1 {
				if name != "" && name != ctx.Args().First() {
					return withCode(125, errors.New("cannot specify a pod name both as --name and as an argument"))
				}
				name = ctx.Args().First()
			}
			ps := podSpec{
				Name: name, Ports: ctx.StringSlice("publish"), Infra: ctx.Bool("infra"),
				InfraImage: ctx.String("infra-image"), InfraName: ctx.String("infra-name"),
				Share: ctx.String("share"), ShareSet: isSet(ctx, "share"), Labels: keyValues(ctx.StringSlice("label")),
				Hostname: ctx.String("hostname"), Networks: ctx.StringSlice("network"), Command: os.Args,
				AddHosts: ctx.StringSlice("add-host"), InfraCommand: ctx.String("infra-command"),
			}
			ps.DNS, ps.DNSSearch, ps.DNSOptions = resolverFlags(ctx)
			var err error
			if ps.ExitPolicy, err = pod.ParseExitPolicy(ctx.String("exit-policy")); err != nil {
				// Podman's words, which scripts match.
				return withCode(125, fmt.Errorf("running pod create option: %w", err))
			}
			idFile := ctx.String("pod-id-file")
			if idFile != "" {
				if _, err := os.Lstat(idFile); err == nil {
					// Podman's words.
					return withCode(125, hint(fmt.Errorf("pod id file exists: %s", idFile), "ensure another pod is not using it, or delete it"))
				}
			}
			if ctx.Bool("replace") && ps.Name != "" {
				if err := replacePod(ctx, ps.Name); err != nil {
					return err
				}
			}
			p, err := createPod(ctx, ps)
			if err != nil {
				return err
			}
			if idFile != "" {
				if err := atomicfile.WriteFile(idFile, []byte(p.ID), 0o644); err != nil {
					if rerr := removeCreatedPod(ctx, p); rerr != nil {
						fmt.Fprintf(os.Stderr, "Warning: remove the pod whose id could not be written: %v\n", rerr)
					}
					return fmt.Errorf("write pod id file: %w", err)
				}
			}
			record(ctx, events.TypePod, "create", p.ID, p.Name)
			fmt.Println(p.ID)
			return nil
		},
	}
}

// podListEntry is a pod in `pod ps --format json`, in Podman's fields.
type podListEntry struct {
	Cgroup     string
	Containers []podListCtr
	Created    time.Time
	Id         string
	InfraId    string
	Name       string
	Namespace  string
	Networks   []string
	Status     string
	Labels     map[string]string
}

type podListCtr struct {
	Id     string
	Names  string
	Status string
}

// podRow is a pod for `pod ps --format TEMPLATE`, with Podman's field
// names (ID and Id, InfraID and InfraId, truncated unless --no-trunc).
type podRow struct {
	ID, Id, Name, Status, Created, InfraID, InfraId string
	NumberOfContainers                              int
	Labels                                          map[string]string
	Networks, Cgroup, Namespace                     string
	ContainerIds, ContainerNames, ContainerStatuses string
}

var podHeaders = map[string]string{
	"ID": "POD ID", "Id": "POD ID", "Name": "NAME", "Status": "STATUS", "Created": "CREATED",
	"InfraID": "INFRA ID", "InfraId": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS",
	"Labels": "LABELS", "Networks": "NETWORKS", "Cgroup": "CGROUP", "Namespace": "NAMESPACES",
	"ContainerIds": "IDS", "ContainerNames": "NAMES", "ContainerStatuses": "STATUS",
}

const podFields = "the fields are ID, Name, Status, Created, InfraID, NumberOfContainers, Labels, Networks, ContainerIds, ContainerNames and ContainerStatuses"

func short(id string, noTrunc bool) string {
	if noTrunc || len(id) < 12 {
		return id
	}
	return id[:12]
}

// podView is a pod with its containers and status, as listings show it.
type podView struct {
	p      *pod.Pod
	ctrs   []*container.Container
	status string
}

func (v podView) row(noTrunc bool) podRow {
	r := podRow{ID: short(v.p.ID, noTrunc), Name: v.p.Name, Status: v.status,
		Created: humanDuration(time.Since(v.p.Created)) + " ago", InfraID: short(v.p.InfraID, noTrunc),
		NumberOfContainers: len(v.ctrs), Labels: v.p.Labels}
	r.Id, r.InfraId = r.ID, r.InfraID
	var ids, names, sts []string
	for _, c := range v.ctrs {
		ids = append(ids, short(c.ID, noTrunc))
		names = append(names, c.Name)
		sts = append(sts, c.StatusWord())
	}
	r.ContainerIds, r.ContainerNames, r.ContainerStatuses = strings.Join(ids, ","), strings.Join(names, ","), strings.Join(sts, ",")
	return r
}

// podFilter is a parsed pod ps --filter: values of one key are ORed, keys
// are ANDed, as in Podman.
type podFilter map[string][]string

func parsePodFilter(list []string) (podFilter, error) {
	f := podFilter{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("invalid filter %q: KEY=VALUE", kv)
		}
		switch k {
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter name=%s: %w", v, err)
			}
		case "status":
			switch v {
			case "created", "running", "stopped", "exited", "degraded", "error", "paused", "dead":
			default:
				return nil, fmt.Errorf("%s is not a valid status", v)
			}
		case "label", "id", "ctr-names", "ctr-ids", "ctr-number":
		default:
			return nil, fmt.Errorf("%s is an invalid filter", k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func (f podFilter) match(v podView) bool {
	for k, vals := range f {
		hit := false
		for _, want := range vals {
			switch k {
			case "name":
				hit = hit || regexp.MustCompile(want).MatchString(v.p.Name)
			case "id":
				hit = hit || strings.HasPrefix(v.p.ID, want)
			case "status":
				hit = hit || strings.EqualFold(v.status, want)
			case "label":
				hit = hit || labels.Match(v.p.Labels, want)
			case "ctr-names", "ctr-ids":
				for _, c := range v.ctrs {
					hit = hit || (k == "ctr-names" && c.Name == want) || (k == "ctr-ids" && strings.HasPrefix(c.ID, want))
				}
			case "ctr-number":
				n, err := strconv.Atoi(want)
				hit = hit || (err == nil && n == len(v.ctrs))
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// podViews lists the pods with their containers.
func podViews(ctx *cli.Context) ([]podView, error) {
	ps, cs, err := openPodStores(ctx)
	if err != nil {
		return nil, err
	}
	pods, err := ps.List()
	if err != nil {
		return nil, err
	}
	var out []podView
	for _, p := range pods {
		ctrs, err := pod.Containers(cs, p)
		if err != nil {
			return nil, err
		}
		out = append(out, podView{p: p, ctrs: ctrs, status: pod.StatusOf(ctrs)})
	}
	return out, nil
}

func podPsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ps",
		Aliases: []string{"ls", "list"},
		Usage:   "list pods",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate ids"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
			templateFlag[podRow]("json, or a Go template over ID, Name, Status, Created, InfraID, NumberOfContainers, Labels, ContainerIds, ContainerNames, ContainerStatuses"),
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "only pods that match: name=REGEXP, id=PREFIX, label=KEY[=VALUE], status=created|running|degraded|paused|stopped|exited, ctr-names=NAME, ctr-ids=PREFIX, ctr-number=N"},
		},
		Action: func(ctx *cli.Context) error {
			f, err := parsePodFilter(ctx.StringSlice("filter"))
			if err != nil {
				return withCode(125, err)
			}
			views, err := podViews(ctx)
			if err != nil {
				return err
			}
			var shown []podView
			for i := len(views) - 1; i >= 0; i-- { // newest first, as Podman
				if f.match(views[i]) {
					shown = append(shown, views[i])
				}
			}
			noTrunc := ctx.Bool("no-trunc")
			if ctx.Bool("quiet") {
				for _, v := range shown {
					fmt.Println(short(v.p.ID, noTrunc))
				}
				return nil
			}
			switch format := ctx.String("format"); format {
			case "json":
				out := []podListEntry{}
				for _, v := range shown {
					e := podListEntry{Created: v.p.Created, Id: v.p.ID, InfraId: v.p.InfraID, Name: v.p.Name,
						Networks: []string{}, Status: v.status, Labels: v.p.Labels, Containers: []podListCtr{}}
					for _, c := range v.ctrs {
						e.Containers = append(e.Containers, podListCtr{Id: c.ID, Names: c.Name, Status: c.StatusWord()})
					}
					out = append(out, e)
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "    ")
				enc.SetEscapeHTML(false)
				return enc.Encode(out)
			case "", "table":
				format = "table {{.ID}}  {{.Name}}  {{.Status}}  {{.Created}}  {{.InfraID}}  {{.NumberOfContainers}}"
				fallthrough
			default:
				lf, err := parseListFormat(format)
				if err != nil {
					return err
				}
				lf.noHeading = ctx.Bool("noheading")
				var rows []any
				for _, v := range shown {
					rows = append(rows, v.row(noTrunc))
				}
				return lf.write(os.Stdout, podHeaders, rows, podFields)
			}
		},
	}
}

// podInspect is `pod inspect`'s output, in Podman 4.3's fields.
type podInspect struct {
	ID               string `json:"Id"` // {{.ID}} in templates, as Podman's
	Name             string
	Namespace        string
	Created          time.Time
	CreateCommand    []string
	ExitPolicy       string
	State            string
	Hostname         string
	Labels           map[string]string
	CreateCgroup     bool
	CreateInfra      bool
	InfraContainerID string          `json:"InfraContainerID,omitempty"`
	InfraConfig      *podInfraConfig `json:",omitempty"`
	SharedNamespaces []string
	NumContainers    int
	Containers       []podInspectCtr
}

type podInfraConfig struct {
	PortBindings   map[string][]portBinding
	HostNetwork    bool
	NetworkOptions map[string][]string `json:",omitempty"`
	InfraImage     string              `json:"infra_image,omitempty"`
}

type portBinding struct{ HostIp, HostPort string }

// podInspectCtr is a container of pod inspect, in Podman's fields: ID
// for templates ({{(index .Containers 0).ID}}), Id in JSON.
type podInspectCtr struct {
	ID          string `json:"Id"`
	Name, State string
}

func inspectPod(v podView, cs *container.Store) podInspect {
	out := podInspect{ID: v.p.ID, Name: v.p.Name, Created: v.p.Created, CreateCommand: v.p.CreateCommand,
		ExitPolicy: cmp.Or(v.p.ExitPolicy, pod.ExitContinue), State: v.status, Hostname: v.p.Hostname, Labels: v.p.Labels,
		CreateInfra: v.p.Infra, InfraContainerID: v.p.InfraID, SharedNamespaces: v.p.Share,
		NumContainers: len(v.ctrs), Containers: []podInspectCtr{}}
	if out.SharedNamespaces == nil {
		out.SharedNamespaces = []string{}
	}
	for _, c := range v.ctrs {
		out.Containers = append(out.Containers, podInspectCtr{ID: c.ID, Name: c.Name, State: c.StatusWord()})
		if c.PodInfra {
			ic := &podInfraConfig{PortBindings: map[string][]portBinding{}, HostNetwork: c.HostConfig.NetworkMode == "host", InfraImage: v.p.InfraImage}
			for _, pm := range c.HostConfig.PortBindings {
				k := fmt.Sprintf("%d/%s", pm.ContainerPort, pm.Protocol)
				hp := ""
				if pm.HostPort != 0 {
					hp = strconv.Itoa(int(pm.HostPort))
				}
				ic.PortBindings[k] = append(ic.PortBindings[k], portBinding{HostIp: pm.HostIP, HostPort: hp})
			}
			if len(c.HostConfig.NetworkOptions) > 0 {
				ic.NetworkOptions = map[string][]string{c.HostConfig.NetworkMode: c.HostConfig.NetworkOptions}
			}
			out.InfraConfig = ic
		}
	}
	return out
}

func podInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a pod's configuration and state",
		ArgsUsage: "POD...",
		Flags: []cli.Flag{
			templateFlag[podInspect]("json (the default) or a Go template such as '{{.InfraContainerID}}'", "f"),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("pod inspect needs at least one pod"))
			}
			ps, cs, err := openPodStores(ctx)
			if err != nil {
				return err
			}
			var out []podInspect
			for _, ref := range ctx.Args().Slice() {
				p, err := ps.Lookup(ref)
				if err != nil {
					return podFound(err)
				}
				ctrs, err := pod.Containers(cs, p)
				if err != nil {
					return err
				}
				out = append(out, inspectPod(podView{p: p, ctrs: ctrs, status: pod.StatusOf(ctrs)}, cs))
			}
			if f := ctx.String("format"); f != "" && f != "json" {
				t, err := parseFormat(f)
				if err != nil {
					return err
				}
				for _, o := range out {
					if err := writeFormat(os.Stdout, t, o, "see `myctr pod inspect POD` for the fields"); err != nil {
						return err
					}
				}
				return nil
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "     ")
			enc.SetEscapeHTML(false)
			if len(out) == 1 {
				return enc.Encode(out[0]) // Podman 4's: one pod, one object
			}
			return enc.Encode(out)
		},
	}
}

// eachPod runs f for each pod named (or every pod with --all), printing
// the pod's id after each success; a failure is printed and the last one
// returned, as Podman does. missing is the exit code of a pod that is not
// there (0: ignored).
func eachPod(ctx *cli.Context, missing int, f func(ps *pod.Store, cs *container.Store, p *pod.Pod) error) error {
	ps, cs, err := openPodStores(ctx)
	if err != nil {
		return err
	}
	var pods []*pod.Pod
	if ctx.Bool("all") {
		if ctx.NArg() > 0 {
			return withCode(125, errors.New("--all and pod names cannot be given together"))
		}
		if pods, err = ps.List(); err != nil {
			return err
		}
	} else if ctx.NArg() == 0 {
		return withCode(125, fmt.Errorf("pod %s needs at least one pod, or --all", ctx.Command.Name))
	}
	var failed error
	fail := func(err error) {
		if failed != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
		}
		failed = err
	}
	for _, ref := range ctx.Args().Slice() {
		p, err := ps.Lookup(ref)
		if err != nil {
			// pod rm --force implies --ignore, as Podman's.
			ignore := ctx.Bool("ignore") || ctx.Command.Name == "rm" && ctx.Bool("force")
			if errors.Is(err, pod.ErrNoSuchPod) && (missing == 0 || ignore) {
				continue
			}
			if errors.Is(err, pod.ErrNoSuchPod) {
				err = withCode(missing, podFound(err))
			}
			fail(err)
			continue
		}
		pods = append(pods, p)
	}
	for _, p := range pods {
		if err := f(ps, cs, p); err != nil {
			fail(explain(err))
			continue
		}
		status := ctx.Command.Name
		if status == "rm" {
			status = "remove"
		}
		record(ctx, events.TypePod, status, p.ID, p.Name)
		fmt.Println(p.ID)
	}
	return failed
}

func podStartCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start pods: the infra container, then the others",
		ArgsUsage: "POD...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "start every pod"}},
		Action: func(ctx *cli.Context) error {
			return eachPod(ctx, 125, func(_ *pod.Store, cs *container.Store, p *pod.Pod) error {
				return pod.Start(cs, p)
			})
		},
	}
}

func podStopTimeout(ctx *cli.Context) time.Duration {
	if !isSet(ctx, "time") {
		return -1 // each container's own
	}
	return time.Duration(ctx.Uint("time")) * time.Second
}

func podStopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop pods: the containers, then the infra container",
		ArgsUsage: "POD...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "stop every pod"},
			&cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "a pod that is not there is no error"},
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait after the stop signal before killing (default: each container's stop timeout)"},
		},
		Action: func(ctx *cli.Context) error {
			return eachPod(ctx, 125, func(_ *pod.Store, cs *container.Store, p *pod.Pod) error {
				return pod.Stop(cs, p, podStopTimeout(ctx))
			})
		},
	}
}

func podRestartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop and start pods",
		ArgsUsage: "POD...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "restart every pod"}},
		Action: func(ctx *cli.Context) error {
			return eachPod(ctx, 125, func(_ *pod.Store, cs *container.Store, p *pod.Pod) error {
				if err := pod.Stop(cs, p, -1); err != nil {
					return err
				}
				return pod.Start(cs, p)
			})
		},
	}
}

func podKillCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to the containers of pods",
		ArgsUsage: "POD...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal name or number"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every pod"},
		},
		Action: func(ctx *cli.Context) error {
			// The signal first, as Podman: a bad one fails before any
			// pod is looked up.
			sig, err := container.ParseSignal(ctx.String("signal"))
			if err != nil {
				return withCode(125, err)
			}
			return eachPod(ctx, 125, func(_ *pod.Store, cs *container.Store, p *pod.Pod) error {
				return pod.Kill(cs, p, sig)
			})
		},
	}
}

func podTopCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "show the processes of a pod's running containers",
		ArgsUsage: "POD [DESCRIPTOR...]",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 {
				return withCode(125, errors.New("you must provide the name or ID of a running pod"))
			}
			desc, err := container.TopDescriptors(ctx.Args().Slice()[1:])
			if err != nil {
				return withCode(125, err)
			}
			cs, p, err := podOfFirstArg(ctx)
			if err != nil {
				return err
			}
			rows, err := pod.Top(cs, p, desc)
			if err != nil {
				return withCode(125, explain(err))
			}
			w := tabwriter.NewWriter(os.Stdout, 5, 1, 3, ' ', 0)
			for _, r := range rows {
				fmt.Fprintln(w, strings.Join(r, "\t"))
			}
			return w.Flush()
		},
	}
}

func podPauseCommand() *cli.Command   { return podFreezeCommand("pause") }
func podUnpauseCommand() *cli.Command { return podFreezeCommand("unpause") }

// podFreezeCommand is pod pause or pod unpause (pod.Pause, pod.Unpause).
func podFreezeCommand(verb string) *cli.Command {
	usage, all, act := "freeze the running containers of pods", "pause every pod", pod.Pause
	if verb == "unpause" {
		usage, all, act = "let the paused containers of pods run again", "unpause every pod", pod.Unpause
	}
	return &cli.Command{
		Name:      verb,
		Usage:     usage,
		ArgsUsage: "POD...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: all}},
		Action: func(ctx *cli.Context) error {
			return eachPod(ctx, 125, func(_ *pod.Store, cs *container.Store, p *pod.Pod) error {
				return act(cs, p)
			})
		},
	}
}

// removePod removes a pod with its containers, releasing what each
// container's end could not; each (nil: nothing) is called with every
// removed container after that.
func removePod(ps *pod.Store, cs *container.Store, p *pod.Pod, force bool, each func(*container.Container)) error {
	return pod.Remove(ps, cs, p, force, func(c *container.Container) {
		if err := cs.ReleaseNetwork(c); err != nil {
			warnRelease(os.Stderr, err)
		}
		releaseCgroup(cs, c)
		if each != nil {
			each(c)
		}
	})
}

func podRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove pods and their containers",
		ArgsUsage: "POD...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "stop running containers first; a pod that is not there is no error"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every pod"},
			&cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "a pod that is not there is no error"},
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: -1, Usage: "with --force: seconds to wait after the stop signal before killing (default: kill at once)"},
		},
		Action: func(ctx *cli.Context) error {
			return eachPod(ctx, 1, func(ps *pod.Store, cs *container.Store, p *pod.Pod) error {
				if ctx.Bool("force") && ctx.Int("time") >= 0 {
					if err := pod.Stop(cs, p, time.Duration(ctx.Int("time"))*time.Second); err != nil {
						return err
					}
				}
				err := removePod(ps, cs, p, ctx.Bool("force"), nil)
				if errors.Is(err, pod.ErrHasMembers) {
					return hint(err, "stop the pod first (myctr pod stop %s), or use pod rm -f", p.Name)
				}
				return err
			})
		},
	}
}

func podExistsCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 when the pod exists, 1 when it does not",
		ArgsUsage: "POD",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("pod exists requires one pod"))
			}
			ps, err := openPods(ctx)
			if err != nil {
				return err
			}
			if _, err := ps.Lookup(ctx.Args().First()); errors.Is(err, pod.ErrNoSuchPod) {
				return withCode(1, nil)
			} else if err != nil {
				return err
			}
			return nil
		},
	}
}

func podPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove every pod none of whose containers runs",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation"}},
		Action: func(ctx *cli.Context) error {
			if !ctx.Bool("force") {
				fmt.Print("WARNING! This will remove all stopped/exited pods..\nAre you sure you want to continue? [y/N] ")
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			ids, err := prunePods(ctx)
			for _, id := range ids {
				fmt.Println(id)
			}
			return err
		},
	}
}

// prunePods removes every pod none of whose containers runs, as pod prune
// does, and returns their ids.
func prunePods(ctx *cli.Context) ([]string, error) {
	views, err := podViews(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := openPods(ctx)
	if err != nil {
		return nil, err
	}
	ps.Sweep()
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	var failed error
	for _, v := range views {
		if v.status == "Running" || v.status == "Degraded" {
			continue
		}
		if err := removePod(ps, cs, v.p, false, nil); err != nil {
			if failed != nil {
				fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
			}
			failed = explain(err)
			continue
		}
		record(ctx, events.TypePod, "remove", v.p.ID, v.p.Name)
		ids = append(ids, v.p.ID)
	}
	return ids, failed
}

// podLogsCommand is `pod logs POD`: the output of the pod's containers
// (its infra's aside) as logs of them all prints it (with several, each
// line after its container's id, or with --names its name), or of one of
// them (--container).
func podLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show the output of a pod's containers",
		ArgsUsage: "POD",
		Flags: append(logFlags(),
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "only this container of the pod (name or id)"},
			&cli.BoolFlag{Name: "names", Aliases: []string{"n"}, Usage: "prefix each line with its container's name rather than its id"},
		),
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("pod logs requires the name or id of one pod"))
			}
			o, err := logOptions(ctx)
			if err != nil {
				return err
			}
			cs, p, err := podOfFirstArg(ctx)
			if err != nil {
				return err
			}
			all, err := pod.Containers(cs, p)
			if err != nil {
				return err
			}
			var ctrs []*container.Container
			for _, c := range all {
				if c.PodInfra {
					continue
				}
				if ref := ctx.String("container"); ref != "" && c.Name != ref && !strings.HasPrefix(c.ID, ref) {
					continue
				}
				ctrs = append(ctrs, c)
			}
			if ref := ctx.String("container"); ref != "" && len(ctrs) != 1 {
				return withCode(125, fmt.Errorf("pod %s has no container %q (or more than one of that prefix)", p.Name, ref))
			}
			return cs.Logs(ctrs, o, os.Stdout, os.Stderr)
		},
	}
}

// podOfFirstArg is the pod the command's first argument names, and the
// container store.
func podOfFirstArg(ctx *cli.Context) (*container.Store, *pod.Pod, error) {
	ps, cs, err := openPodStores(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := ps.Lookup(ctx.Args().First())
	if err != nil {
		return nil, nil, withCode(125, podFound(err))
	}
	return cs, p, nil
}
