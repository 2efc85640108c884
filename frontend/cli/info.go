package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/volume"
)

// infoHost is the host part of `myctr info`, with Podman's key names where
// Podman has the same fact.
type infoHost struct {
	Arch         string           `json:"arch"`
	Kernel       string           `json:"kernel"`
	Hostname     string           `json:"hostname"`
	Distribution infoDistribution `json:"distribution"`
	OCIRuntime   infoRuntime      `json:"ociRuntime"`
	Security     infoSecurity     `json:"security"`
	// EventLogger: where events are recorded: file (events/events.log in
	// the run root) or none (--events-backend=none).
	EventLogger string `json:"eventLogger"`
	LogDriver   string `json:"logDriver"` // run's default --log-driver
	// NetworkBackend is what gives a container its network by default
	// (Podman: netavark or cni): pasta or slirp4netns.
	NetworkBackend    string   `json:"networkBackend"`
	CgroupsVersion    string   `json:"cgroupVersion"`
	CgroupManager     string   `json:"cgroupManager"`
	CgroupControllers []string `json:"cgroupControllers"`
	// CgroupSource says where a new container's cgroup comes from, or why
	// there is none.
	CgroupSource string `json:"cgroupSource"`
	Rootless     bool   `json:"rootless"`
}

type infoDistribution struct {
	Distribution string `json:"distribution"`
	Version      string `json:"version"`
	Codename     string `json:"codename,omitempty"`
}

type infoRuntime struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

type infoSecurity struct {
	Rootless           bool   `json:"rootless"`
	SeccompEnabled     bool   `json:"seccompEnabled"`
	SeccompProfilePath string `json:"seccompProfilePath"`
	SELinuxEnabled     bool   `json:"selinuxEnabled"`
	AppArmorEnabled    bool   `json:"apparmorEnabled"`
}

// CgroupVersion is CgroupsVersion, by the name myctr gave it first.
func (h infoHost) CgroupVersion() string { return h.CgroupsVersion }

// osRelease reads the distribution's ID, VERSION_ID and VERSION_CODENAME
// from os-release, as Podman shows them.
func osRelease() infoDistribution {
	var d infoDistribution
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		b, _ = os.ReadFile("/usr/lib/os-release")
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.Distribution = v
		case "VERSION_ID":
			d.Version = v
		case "VERSION_CODENAME":
			d.Codename = v
		}
	}
	if d.Distribution == "" {
		d.Distribution = "unknown"
	}
	return d
}

// infoStore is Podman's "store": GraphDriverName is the driver asked for
// (overlay unless --storage-driver vfs), GraphOptions the driver's options
// (myctr's take none: always empty, as Podman's with --root alone),
// VolumePath the named volumes' directory.
type infoStore struct {
	GraphDriverName string            `json:"graphDriverName"`
	GraphOptions    map[string]string `json:"graphOptions"`
	GraphRoot       string            `json:"graphRoot"`
	RunRoot         string            `json:"runRoot"`
	VolumePath      string            `json:"volumePath"`
	ContainerStore  map[string]int    `json:"containerStore"`
}

// infoRegistries is what registries.conf makes of names (Podman's
// "registries" key, with more detail).
type infoRegistries struct {
	Search        []string          `json:"search"`
	ShortNameMode string            `json:"shortNameMode"`
	Registries    []infoRegistry    `json:"registries"`
	Aliases       map[string]string `json:"aliases"`
}

type infoRegistry struct {
	Prefix   string   `json:"prefix"`
	Location string   `json:"location,omitempty"`
	Insecure bool     `json:"insecure,omitempty"`
	Blocked  bool     `json:"blocked,omitempty"`
	Mirrors  []string `json:"mirrors,omitempty"`
	From     string   `json:"from"`
}

// infoConfig lists the configuration files read, in the order they were
// merged, and the keys they set that myctr does not act on.
type infoConfig struct {
	MyctrConf       string   `json:"myctrConf"`
	RegistriesFiles []string `json:"registriesFiles"`
	ContainersFiles []string `json:"containersFiles"`
	PolicyFile      string   `json:"policyFile"`
	Policy          []string `json:"policy"`
	UnsupportedKeys []string `json:"unsupportedKeys"`
}

type infoOut struct {
	Host       infoHost          `json:"host"`
	Store      infoStore         `json:"store"`
	Registries infoRegistries    `json:"registries"`
	Config     infoConfig        `json:"config"`
	Version    map[string]string `json:"version"`
}

// configInfo reads the configuration files as pull and run would.
func configInfo(out *infoOut) error {
	env := config.HostEnv()
	regs, err := config.LoadRegistries(env)
	if err != nil {
		return explainConfig(err)
	}
	cc, err := containersConf()
	if err != nil {
		return err
	}
	pol, err := config.LoadPolicy(env)
	if err != nil {
		return explainConfig(err)
	}
	c := &out.Config
	if p := config.Path(); p != "" {
		if _, err := os.Stat(p); err == nil {
			c.MyctrConf = p
		}
	}
	c.RegistriesFiles = append([]string{}, regs.Files...)
	c.ContainersFiles = append([]string{}, cc.Files...)
	c.PolicyFile, c.Policy = pol.File, pol.Summary()
	c.UnsupportedKeys = []string{}
	for _, k := range append(regs.Unsupported, cc.Unsupported...) {
		c.UnsupportedKeys = append(c.UnsupportedKeys, k.String())
	}
	r := &out.Registries
	r.Search = append([]string{}, regs.Search...)
	r.ShortNameMode = regs.ShortNameMode()
	r.Registries = []infoRegistry{}
	for _, reg := range regs.Registries {
		ir := infoRegistry{Prefix: reg.Prefix, Location: reg.Location, Insecure: reg.Insecure, Blocked: reg.Blocked, From: fmt.Sprintf("%s:%d", reg.File, reg.Line)}
		for _, m := range reg.Mirrors {
			ir.Mirrors = append(ir.Mirrors, m.Location)
		}
		r.Registries = append(r.Registries, ir)
	}
	r.Aliases = map[string]string{}
	for n, a := range regs.Aliases {
		r.Aliases[n] = a.Value
	}
	return nil
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "show how this host runs containers: cgroups, storage, registries, the configuration files read, version (JSON)",
		Flags: []cli.Flag{
			templateFlag[infoOut]("json (the default) or a Go template, e.g. '{{.Host.CgroupSource}}'", "f"),
		},
		Action: func(ctx *cli.Context) error {
			var out infoOut
			var uts unix.Utsname
			if err := unix.Uname(&uts); err == nil {
				out.Host.Kernel = unix.ByteSliceToString(uts.Release[:])
			}
			out.Host.Arch = runtime.GOARCH
			out.Host.Hostname, _ = os.Hostname()
			out.Host.Rootless = os.Geteuid() != 0
			d, err := cgroup.Detect(cgroup.HostEnv())
			if err != nil {
				return err
			}
			out.Host.CgroupsVersion, out.Host.CgroupManager, out.Host.CgroupControllers, out.Host.CgroupSource = cgroupInfo(d)
			out.Host.Distribution = osRelease()
			exe, _ := os.Executable()
			out.Host.OCIRuntime = infoRuntime{Name: "myctr", Path: exe, Version: Version}
			out.Host.Security = infoSecurity{Rootless: out.Host.Rootless, SeccompEnabled: true, SeccompProfilePath: "(Docker's default profile, built in)"}
			out.Host.EventLogger = events.BackendFile
			if !events.Enabled() {
				out.Host.EventLogger = events.BackendNone
			}
			out.Host.LogDriver = container.LogFile
			if cc, err := containersConf(); err == nil && cc.LogDriver.Set {
				out.Host.LogDriver = cc.LogDriver.Value
			}
			out.Host.NetworkBackend, _ = network.DefaultMode()
			dd := dirs(ctx)
			out.Store.GraphRoot, out.Store.RunRoot = dd.Root, dd.RunRoot
			out.Store.GraphDriverName, out.Store.GraphOptions = container.DriverOverlay, map[string]string{}
			if dd.Driver != "" {
				out.Store.GraphDriverName = dd.Driver
			}
			out.Store.VolumePath = volume.DirIn(dd.Root)
			out.Store.ContainerStore = map[string]int{"number": 0, "running": 0, "stopped": 0}
			if s, err := container.OpenStore(dd); err == nil {
				if cs, err := s.List(); err == nil {
					for _, c := range cs {
						out.Store.ContainerStore["number"]++
						if c.Running() {
							out.Store.ContainerStore["running"]++
						} else {
							out.Store.ContainerStore["stopped"]++
						}
					}
				}
			}
			if err := configInfo(&out); err != nil {
				return err
			}
			out.Version = map[string]string{"Version": Version, "GoVersion": runtime.Version(), "OsArch": runtime.GOOS + "/" + runtime.GOARCH}
			if f := ctx.String("format"); f != "" && f != "json" {
				tmpl, err := parseFormat(f)
				if err != nil {
					return err
				}
				return writeFormat(os.Stdout, tmpl, out, "the fields are those of the JSON output (myctr info), e.g. .Host.CgroupManager")
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

// cgroupInfo says what Detect found as `info` shows it.
func cgroupInfo(d *cgroup.Detection) (version, manager string, controllers []string, source string) {
	switch d.Layout {
	case cgroup.Unified:
		version = "v2"
	case cgroup.Hybrid:
		version = "v1 (hybrid with v2)"
	case cgroup.V1:
		version = "v1"
	default:
		version = "none"
	}
	controllers = []string{}
	if d.UserScope() {
		controllers = d.Delegated
		src := "a scope of your systemd user manager (" + d.Manager + ") per container, with the controllers " + strings.Join(d.Delegated, " ")
		if d.Helper {
			src += "; myctr-helper's scope for limits that need others"
		}
		return version, "systemd", controllers, src
	}
	if d.Layout == cgroup.Unified && d.Helper {
		return version, "helper", controllers, "myctr-helper: a cgroup per container (a scope of the system manager, or, where systemd is not PID 1, one the helper makes), handed to you (polkit action org.myctr.helper.cgroup)"
	}
	why := "this host's cgroups are " + d.Layout.String()
	switch {
	case d.Layout != cgroup.Unified:
	case d.Manager == "":
		why = "no systemd user manager runs for you"
	case !d.Bus:
		why = "your user manager's bus ($XDG_RUNTIME_DIR/bus) is not reachable"
	}
	return version, "none", controllers, "none: containers run in the caller's cgroup and resource flags are refused (" + why + ")"
}
