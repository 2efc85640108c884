package cli

import (
	"encoding/json"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/network"
)

type inspectState struct {
	Status     string
	Running    bool
	Pid        int
	ConmonPid  int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

type inspectConfig struct {
	Hostname   string
	User       string
	Env        []string
	Cmd        []string
	Entrypoint []string
	WorkingDir string
	StopSignal string
	Tty        bool
	OpenStdin  bool
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
	Config          inspectConfig
	HostConfig      container.HostConfig
	GraphDriver     graphDriver
	OCIConfigPath   string
	LogPath         string
	NetworkSettings networkSettings
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
	return ns
}

type graphDriver struct {
	Name string
	Data map[string]string
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a container's configuration and state as JSON",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "a Go template applied to each container, e.g. '{{.State.Pid}}' or '{{json .NetworkSettings.Ports}}'"},
		},
		Action: func(ctx *cli.Context) error {
			var tmpl *template.Template
			if f := ctx.String("format"); f != "" && f != "json" {
				var err error
				if tmpl, err = parseFormat(f); err != nil {
					return err
				}
			}
			var out []inspectEntry
			err := each(ctx, func(s *container.Store, c *container.Container) error {
				spec, err := c.Spec()
				if err != nil {
					return err
				}
				p := spec.Process
				e := inspectEntry{
					Id: c.ID, Name: c.Name, Created: c.Created, Path: p.Args[0], Args: p.Args[1:],
					State: inspectState{Status: c.State.Status, Running: c.State.Status == container.StatusRunning,
						Pid: c.State.Pid, ConmonPid: c.State.MonitorPid, ExitCode: c.State.ExitCode,
						Error: c.State.Error, StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt},
					Image: c.Image, ImageName: c.ImageName,
					Config: inspectConfig{Hostname: spec.Hostname, Env: p.Env, Cmd: p.Args, WorkingDir: p.Cwd,
						User: userString(p.User.UID, p.User.GID), StopSignal: container.StopSignalOf(c).String(),
						Tty: p.Terminal, OpenStdin: c.HostConfig.Interactive},
					HostConfig: c.HostConfig,
					GraphDriver: graphDriver{Name: "overlay", Data: map[string]string{
						"LowerDir": strings.Join(c.Lower, ":"), "UpperDir": c.File("upper"),
						"WorkDir": c.File("work"), "MergedDir": c.RunFile("rootfs")}},
					OCIConfigPath:   c.File("config.json"),
					LogPath:         c.File("ctr.log"),
					NetworkSettings: settingsOf(c),
				}
				out = append(out, e)
				return nil
			})
			if tmpl != nil {
				for _, e := range out {
					if ferr := writeFormat(os.Stdout, tmpl, e, "the fields are those of the JSON output (myctr inspect CONTAINER)"); ferr != nil {
						return ferr
					}
				}
				return err
			}
			if len(out) > 0 {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "    ")
				enc.SetEscapeHTML(false)
				enc.Encode(out)
			}
			return err
		},
	}
}

func userString(uid, gid uint32) string {
	return strconv.FormatUint(uint64(uid), 10) + ":" + strconv.FormatUint(uint64(gid), 10)
}
