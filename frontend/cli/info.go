package cli

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/container"
)

// infoHost is the host part of `myctr info`, with Podman's key names where
// Podman has the same fact.
type infoHost struct {
	Arch              string   `json:"arch"`
	Kernel            string   `json:"kernel"`
	Hostname          string   `json:"hostname"`
	CgroupVersion     string   `json:"cgroupVersion"`
	CgroupManager     string   `json:"cgroupManager"`
	CgroupControllers []string `json:"cgroupControllers"`
	// CgroupSource says where a new container's cgroup comes from, or why
	// there is none.
	CgroupSource string `json:"cgroupSource"`
	Rootless     bool   `json:"rootless"`
}

type infoStore struct {
	GraphRoot      string         `json:"graphRoot"`
	RunRoot        string         `json:"runRoot"`
	ContainerStore map[string]int `json:"containerStore"`
}

type infoOut struct {
	Host    infoHost          `json:"host"`
	Store   infoStore         `json:"store"`
	Version map[string]string `json:"version"`
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "show how this host runs containers: cgroups, storage, version (JSON)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "json (the default) or a Go template, e.g. '{{.Host.CgroupSource}}'"},
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
			out.Host.CgroupVersion, out.Host.CgroupManager, out.Host.CgroupControllers, out.Host.CgroupSource = cgroupInfo(d)
			dd := dirs(ctx)
			out.Store.GraphRoot, out.Store.RunRoot = dd.Root, dd.RunRoot
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
