package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/network"
)

type inspectState struct {
	Status     string
	Running    bool
	Paused     bool
	Pid        int
	ConmonPid  int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// OOMKilled: the OOM killer killed a process of the container in
	// its last run (from its cgroup's memory.events).
	OOMKilled bool
	// CgroupPath is a running container's cgroup (below the cgroup v2
	// root), made by CgroupManager.
	CgroupPath    string `json:",omitempty"`
	CgroupManager string `json:",omitempty"`
	CgroupUnit    string `json:",omitempty"`
	// Health is the healthcheck's findings (Docker's name), Healthcheck
	// the same (Podman 4's name).
	Health      *container.HealthState `json:",omitempty"`
	Healthcheck *container.HealthState `json:",omitempty"`
}

// inspectHostConfig is the container's HostConfig with the limits also
// under Podman's names.
type inspectHostConfig struct {
	container.HostConfig
	Memory            int64
	MemoryReservation int64
	MemorySwap        int64
	NanoCpus          int64
	CpuShares         uint64
	CpuQuota          int64
	CpuPeriod         uint64
	CpusetCpus        string
	CpusetMems        string
	PidsLimit         int64
	BlkioWeight       uint16
	OomScoreAdj       int
	// LogConfig is Podman's: the driver, the k8s-file log's path, the
	// tag, and --log-opt max-size as Podman prints it ("0B": none).
	LogConfig struct {
		Type   string
		Config map[string]string
		Path   string
		Tag    string
		Size   string
	}
	// SecurityOpt is the --security-opt values, as Podman lists them
	// ([] when none).
	SecurityOpt []string
}

func hostConfigOf(c *container.Container) inspectHostConfig {
	h := inspectHostConfig{HostConfig: c.HostConfig, SecurityOpt: c.HostConfig.SecurityOpt}
	if h.SecurityOpt == nil {
		h.SecurityOpt = []string{}
	}
	h.LogConfig.Type = c.HostConfig.LogDriver
	if h.LogConfig.Type == "" {
		h.LogConfig.Type = container.LogFile
	}
	if h.LogConfig.Type == container.LogFile {
		h.LogConfig.Path = c.LogPath()
	}
	h.LogConfig.Size = units.HumanSize(0)
	if o := c.HostConfig.LogOpts; o != nil {
		h.LogConfig.Tag = o.Tag
		h.LogConfig.Config = o.Other
		h.LogConfig.Size = units.HumanSize(float64(o.MaxSize))
	}
	if a := c.HostConfig.OOMScoreAdj; a != nil {
		h.OomScoreAdj = *a
	}
	r := c.HostConfig.Resources
	if r == nil {
		return h
	}
	h.Memory, h.MemoryReservation = r.Memory, r.MemoryReservation
	if r.MemorySwap != nil {
		h.MemorySwap = *r.MemorySwap
	}
	h.CpuShares, h.CpuQuota, h.CpuPeriod = r.CPUShares, r.CPUQuota, r.CPUPeriod
	if r.CPUQuota > 0 {
		period := r.CPUPeriod
		if period == 0 {
			period = 100000
		}
		h.NanoCpus = r.CPUQuota * 1e9 / int64(period)
	}
	h.CpusetCpus, h.CpusetMems = r.CpusetCPUs, r.CpusetMems
	if r.PidsLimit != nil {
		h.PidsLimit = *r.PidsLimit
	}
	h.BlkioWeight = r.BlkioWeight
	return h
}

type inspectConfig struct {
	Hostname string
	User     string
	Env      []string
	Cmd      []string
	// Entrypoint is a string, its words joined by spaces, as Podman 4's.
	Entrypoint string
	WorkingDir string
	StopSignal string
	Tty        bool
	OpenStdin  bool
	// Annotations are the spec's: io.podman.annotations.seccomp names
	// the seccomp profile a container was given (a file, or
	// "unconfined"), as in Podman; the default profile has none.
	Annotations map[string]string `json:",omitempty"`
	// Labels are the image's and run --label's (Podman's field).
	Labels map[string]string
	// Healthcheck is the container's check (durations in nanoseconds, as
	// Docker's), HealthcheckOnFailureAction --health-on-failure.
	Healthcheck                *container.HealthConfig `json:",omitempty"`
	HealthcheckOnFailureAction string                  `json:",omitempty"`
}

type inspectEntry struct {
	Id              string
	Name            string
	Created         time.Time
	Path            string
	Args            []string
	State           inspectState
	Image           string
	ImageName       string
	ImageDigest     string
	Pod             string // the pod's id, or ""
	OCIRuntime      string
	Config          inspectConfig
	HostConfig      inspectHostConfig
	GraphDriver     graphDriver
	Mounts          []container.MountPoint
	OCIConfigPath   string
	LogPath         string
	NetworkSettings networkSettings
	// RestartCount is how often the restart policy restarted it.
	RestartCount uint
}

type networkSettings struct {
	Ports            []network.PortMapping
	NetworkPid       int `json:",omitempty"`
	PortForwarderPid int `json:",omitempty"`
	// A bridged container's, while it runs: the host bridge, its address
	// (IPAddress/IPPrefixLen), the gateway and its interface's MTU.
	Bridge      string `json:",omitempty"`
	IPAddress   string `json:",omitempty"`
	IPPrefixLen int    `json:",omitempty"`
	Gateway     string `json:",omitempty"`
	MTU         uint32 `json:",omitempty"`
	// Networks are a container's named networks, by name (Podman's
	// field), with its address there while it runs.
	Networks map[string]endpointSettings `json:",omitempty"`
}

// endpointSettings is a container on one named network (Podman's
// NetworkSettings.Networks[NAME], the fields myctr has).
type endpointSettings struct {
	NetworkID           string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	Aliases             []string
}

// settingsOf is the NetworkSettings of c.
func settingsOf(c *container.Container) networkSettings {
	ns := networkSettings{Ports: c.State.Ports, NetworkPid: c.State.NetworkPid, PortForwarderPid: c.State.PortForwarderPid}
	if b := c.State.Bridge; b != nil && c.State.Status == container.StatusRunning {
		ns.Bridge, ns.Gateway, ns.MTU = b.Bridge, b.Gateway, b.MTU
		if p, err := netip.ParsePrefix(b.Address); err == nil {
			ns.IPAddress, ns.IPPrefixLen = p.Addr().String(), p.Bits()
		}
	}
	for _, name := range c.NamedNetworks() {
		if ns.Networks == nil {
			ns.Networks = map[string]endpointSettings{}
		}
		e := endpointSettings{NetworkID: name, Aliases: c.Networks[name].Aliases}
		if b := c.State.Networks[name]; b != nil && c.State.Status == container.StatusRunning {
			if p, err := netip.ParsePrefix(b.Address); err == nil {
				e.IPAddress, e.IPPrefixLen, e.Gateway = p.Addr().String(), p.Bits(), b.Gateway
				if p6, err := netip.ParsePrefix(b.Address6); err == nil {
					e.GlobalIPv6Address, e.GlobalIPv6PrefixLen, e.IPv6Gateway = p6.Addr().String(), p6.Bits(), b.Gateway6
				}
				if ns.IPAddress == "" {
					ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MTU = e.IPAddress, e.IPPrefixLen, b.Gateway, b.MTU
				}
			}
		}
		ns.Networks[name] = e
	}
	return ns
}

type graphDriver struct {
	Name string
	Data map[string]string
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show the configuration and state of containers or images as JSON",
		ArgsUsage: "CONTAINER|IMAGE...",
		Flags: []cli.Flag{
			// A container or an image: no one type's fields to offer.
			&formatFlag{StringFlag: &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "a Go template applied to each object, e.g. '{{.State.Pid}}' or '{{json .NetworkSettings.Ports}}'"}},
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Value: "all", Usage: "what the names are: container, image, or all (a container first, then an image)"},
			latestFlag(),
		},
		Action: func(ctx *cli.Context) error { return inspectObjects(ctx, ctx.String("type")) },
	}
}

// imageInspectCommand is `image inspect`.
func imageInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show the configuration of images as JSON",
		ArgsUsage: "IMAGE...",
		Flags: []cli.Flag{
			templateFlag[imageInspect]("a Go template applied to each image, e.g. '{{.Id}}' or '{{json .Config.Env}}'", "f"),
		},
		Action: func(ctx *cli.Context) error { return inspectObjects(ctx, "image") },
	}
}

// inspectObjects prints each named object of kind typ ("container",
// "image", or "all": a container of that name, else an image) as JSON or
// through --format. An unknown name is an error after the others.
func inspectObjects(ctx *cli.Context, typ string) error {
	switch typ {
	case "container", "image", "all":
	default:
		return withCode(125, fmt.Errorf("invalid --type %q: want container, image or all", typ))
	}
	refs, err := withLatest(ctx)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return withCode(125, errors.New("requires at least one name or id"))
	}
	var tmpl *template.Template
	if f := ctx.String("format"); f != "" && f != "json" {
		// As Podman: {{.ID}} is the Id field.
		f = idField().ReplaceAllString(f, ".Id$1")
		var err error
		if tmpl, err = parseFormat(f); err != nil {
			return err
		}
	}
	var cs *container.Store
	var is *image.Store
	var out []any
	var failed error
	fail := func(err error) {
		if failed != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
		}
		failed = err
	}
	for _, ref := range refs {
		if typ != "image" {
			if cs == nil {
				var err error
				if cs, err = openContainers(ctx); err != nil {
					return err
				}
			}
			c, err := lookup(cs, ref)
			if err == nil {
				e, err := containerInspectOf(c)
				if err != nil {
					fail(err)
				} else {
					out = append(out, e)
				}
				continue
			}
			if !errors.Is(err, container.ErrNotFound) || typ == "container" {
				fail(err)
				continue
			}
		}
		if is == nil {
			var err error
			if is, err = openImages(ctx); err != nil {
				return err
			}
		}
		img, err := is.Lookup(ref)
		switch {
		case err == nil:
			hc, err := is.ImageHealthcheck(img)
			if err != nil {
				fail(err)
				continue
			}
			out = append(out, imageInspectOf(img, hc))
		case errors.Is(err, image.ErrImageUnknown) && typ == "all":
			fail(fmt.Errorf("no such object: %q", ref))
		default:
			fail(err)
		}
	}
	if tmpl != nil {
		for _, e := range out {
			if ferr := writeFormat(os.Stdout, tmpl, e, "the fields are those of the JSON output (myctr inspect NAME)"); ferr != nil {
				return ferr
			}
		}
		return failed
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if out == nil {
		out = []any{}
	}
	enc.Encode(out)
	return failed
}

// idField finds a template's .ID field (not .IDs or .IDFoo).
var idField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.ID([^A-Za-z0-9_]|$)`) })

// containerInspectOf is `inspect` of a container.
func containerInspectOf(c *container.Container) (inspectEntry, error) {
	spec, err := c.Spec()
	if err != nil {
		return inspectEntry{}, err
	}
	p := spec.Process
	ep, cmd := c.ConfigCmd()
	if ep == nil && cmd == nil {
		cmd = p.Args
	}
	e := inspectEntry{
		Id: c.ID, Name: c.Name, Created: c.Created, Path: p.Args[0], Args: p.Args[1:],
		// Podman's: a paused container is not Running, but Paused.
		State: inspectState{Status: c.StatusWord(), Running: c.State.Status == container.StatusRunning && !c.Paused(),
			Paused: c.Paused(),
			Pid:    c.State.Pid, ConmonPid: c.State.MonitorPid, ExitCode: c.State.ExitCode,
			Error: c.State.Error, StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt,
			OOMKilled: c.State.OOMKilled, Health: c.State.Health, Healthcheck: c.State.Health},
		Image: c.Image, ImageName: c.ImageName, ImageDigest: c.ImageDigest, Pod: c.Pod, OCIRuntime: container.RuntimeOf(c),
		Config: inspectConfig{Hostname: spec.Hostname, Env: p.Env, Cmd: cmd, Entrypoint: strings.Join(ep, " "), WorkingDir: p.Cwd,
			User: userString(p.User.UID, p.User.GID), StopSignal: container.StopSignalOf(c).String(),
			Tty: p.Terminal, OpenStdin: c.HostConfig.Interactive, Annotations: spec.Annotations,
			Labels: c.Labels, Healthcheck: c.Healthcheck, HealthcheckOnFailureAction: c.HealthOnFailure},
		HostConfig: hostConfigOf(c),
		GraphDriver: graphDriver{Name: "overlay", Data: map[string]string{
			"LowerDir": strings.Join(c.Lower, ":"), "UpperDir": c.File("upper"),
			"WorkDir": c.File("work"), "MergedDir": c.RunFile("rootfs")}},
		Mounts:          append([]container.MountPoint{}, c.Mounts...),
		OCIConfigPath:   c.File("config.json"),
		LogPath:         c.LogPath(),
		NetworkSettings: settingsOf(c),
		RestartCount:    c.RestartCount,
	}
	if cg := c.State.Cgroup; cg != nil {
		e.State.CgroupPath, e.State.CgroupManager, e.State.CgroupUnit = cg.Path, cg.Manager, cg.Unit
	}
	return e, nil
}

func userString(uid, gid uint32) string {
	return strconv.FormatUint(uint64(uid), 10) + ":" + strconv.FormatUint(uint64(gid), 10)
}
