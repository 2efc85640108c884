package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/frontend/volume"
)

// infoHost is the host part of `myctr info`, with Podman's key names where
// Podman has the same fact.
type infoHost struct {
	Arch string `json:"arch"`
	// BuildahVersion is the version of the image builder (Podman's is
	// buildah's): myctr builds images itself.
	BuildahVersion string `json:"buildahVersion"`
	// Conmon is the program that watches a container (Podman's conmon):
	// myctr-monitor, or myctr itself where it is not installed.
	Conmon       infoTool         `json:"conmon"`
	CPUs         int              `json:"cpus"`
	Kernel       string           `json:"kernel"`
	Hostname     string           `json:"hostname"`
	Distribution infoDistribution `json:"distribution"`
	// IDMappings are the ids a container of the user's gets by default:
	// the user's own id as 0, then its subordinate range.
	IDMappings infoIDMappings `json:"idMappings"`
	MemFree    int64          `json:"memFree"`
	MemTotal   int64          `json:"memTotal"`
	SwapFree   int64          `json:"swapFree"`
	SwapTotal  int64          `json:"swapTotal"`
	OCIRuntime infoRuntime    `json:"ociRuntime"`
	OS         string         `json:"os"`
	// RemoteSocket is where `myctr system service` serves the API by
	// default, and whether something is there now.
	RemoteSocket    infoSocket   `json:"remoteSocket"`
	ServiceIsRemote bool         `json:"serviceIsRemote"`
	Security        infoSecurity `json:"security"`
	Slirp4netns     infoSlirp    `json:"slirp4netns"`
	Uptime          string       `json:"uptime"`
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
	Package string `json:"package"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

type infoTool struct {
	Package string `json:"package"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

// infoSlirp is the slirp4netns found in PATH ("" where there is none).
type infoSlirp struct {
	Executable string `json:"executable"`
	Package    string `json:"package"`
	Version    string `json:"version"`
}

type infoSocket struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
}

type infoIDMap struct {
	ContainerID uint32 `json:"container_id"`
	HostID      uint32 `json:"host_id"`
	Size        uint32 `json:"size"`
}

type infoIDMappings struct {
	GIDMap []infoIDMap `json:"gidmap"`
	UIDMap []infoIDMap `json:"uidmap"`
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
	// ConfigFile is myctr's own configuration file (Podman's is
	// storage.conf), whether or not it exists.
	ConfigFile      string            `json:"configFile"`
	ContainerStore  map[string]int    `json:"containerStore"`
	GraphDriverName string            `json:"graphDriverName"`
	GraphOptions    map[string]string `json:"graphOptions"`
	GraphRoot       string            `json:"graphRoot"`
	// GraphRootAllocated and GraphRootUsed are the bytes of the file
	// system under GraphRoot, and those in use.
	GraphRootAllocated uint64 `json:"graphRootAllocated"`
	GraphRootUsed      uint64 `json:"graphRootUsed"`
	// GraphStatus: the file system the store is on, as Podman's overlay
	// driver names it.
	GraphStatus map[string]string `json:"graphStatus"`
	ImageStore  map[string]int    `json:"imageStore"`
	RunRoot     string            `json:"runRoot"`
	VolumePath  string            `json:"volumePath"`
}

// infoPlugins are the drivers myctr has, by kind, as Podman lists its
// plugins.
type infoPlugins struct {
	Log     []string `json:"log"`
	Network []string `json:"network"`
	Volume  []string `json:"volume"`
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
	Plugins    infoPlugins       `json:"plugins"`
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
		Usage: "show how this host runs containers: cgroups, storage, registries, the configuration files read, version (YAML, as Podman's; --format json)",
		Flags: []cli.Flag{
			templateFlag[infoOut]("json, or a Go template, e.g. '{{.Host.CgroupSource}}' (default: YAML)", "f"),
		},
		Action: func(ctx *cli.Context) error {
			out, err := gatherInfo(ctx)
			if err != nil {
				return err
			}
			switch f := ctx.String("format"); f {
			case "", "yaml":
				return writeYAML(os.Stdout, out)
			case "json":
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			default:
				tmpl, err := parseFormat(f)
				if err != nil {
					return err
				}
				return writeFormat(os.Stdout, tmpl, out, "the fields are those of the JSON output (myctr info --format json), e.g. .Host.CgroupManager")
			}
		},
	}
}

// gatherInfo collects what `info` shows.
func gatherInfo(ctx *cli.Context) (*infoOut, error) {
	out := &infoOut{}
	h := &out.Host
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		h.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	h.Arch, h.OS, h.CPUs = runtime.GOARCH, runtime.GOOS, runtime.NumCPU()
	h.BuildahVersion = Version
	h.Hostname, _ = os.Hostname()
	h.Rootless = os.Geteuid() != 0
	d, err := cgroup.Detect(cgroup.HostEnv())
	if err != nil {
		return nil, err
	}
	h.CgroupsVersion, h.CgroupManager, h.CgroupControllers, h.CgroupSource = cgroupInfo(d)
	h.Distribution = osRelease()
	h.MemTotal, h.MemFree, h.SwapTotal, h.SwapFree = memInfo()
	h.Uptime = uptime()
	exe, _ := selfExe()
	h.OCIRuntime = infoRuntime{Name: "myctr", Path: exe, Version: Version}
	h.Conmon = infoTool{Path: exe, Version: "myctr version " + Version}
	if p := nsexec.Companion("myctr-monitor"); p != "" {
		h.Conmon = infoTool{Path: p, Version: "myctr-monitor version " + Version}
	}
	h.Slirp4netns = slirpInfo()
	if m, err := userns.Current(); err == nil {
		h.IDMappings = infoIDMappings{UIDMap: idMaps(m.UIDMappings()), GIDMap: idMaps(m.GIDMappings())}
	}
	if p, err := apiDefaultSocket(); err == nil {
		_, err := os.Stat(p)
		h.RemoteSocket = infoSocket{Path: p, Exists: err == nil}
	}
	h.Security = infoSecurity{Rootless: h.Rootless, SeccompEnabled: true, SeccompProfilePath: "(Docker's default profile, built in)"}
	h.EventLogger = events.BackendFile
	if !events.Enabled() {
		h.EventLogger = events.BackendNone
	}
	h.LogDriver = container.LogFile
	if cc, err := containersConf(); err == nil && cc.LogDriver.Set {
		h.LogDriver = cc.LogDriver.Value
	}
	h.NetworkBackend, _ = network.DefaultMode()

	st := &out.Store
	dd := dirs(ctx)
	st.ConfigFile = config.Path()
	st.GraphRoot, st.RunRoot = dd.Root, dd.RunRoot
	st.GraphDriverName, st.GraphOptions = container.DriverOverlay, map[string]string{}
	if dd.Driver != "" {
		st.GraphDriverName = dd.Driver
	}
	st.GraphStatus = map[string]string{}
	var fs unix.Statfs_t
	if err := unix.Statfs(dd.Root, &fs); err == nil {
		st.GraphStatus["Backing Filesystem"] = fsName(fs.Type)
		st.GraphRootAllocated = fs.Blocks * uint64(fs.Bsize)
		st.GraphRootUsed = (fs.Blocks - fs.Bfree) * uint64(fs.Bsize)
	}
	st.VolumePath = volume.DirIn(dd.Root)
	st.ContainerStore = map[string]int{"number": 0, "paused": 0, "running": 0, "stopped": 0}
	if s, err := container.OpenStore(dd); err == nil {
		if cs, err := s.List(); err == nil {
			for _, c := range cs {
				st.ContainerStore["number"]++
				switch {
				case c.Paused():
					st.ContainerStore["paused"]++
				case c.Running():
					st.ContainerStore["running"]++
				default:
					st.ContainerStore["stopped"]++
				}
			}
		}
	}
	st.ImageStore = map[string]int{"number": 0}
	if is, err := openImages(ctx); err == nil {
		if imgs, err := is.List(); err == nil {
			st.ImageStore["number"] = len(imgs)
		}
	}
	out.Plugins = infoPlugins{
		Log:     []string{container.LogFile, container.LogJournald, container.LogNone},
		Network: []string{network.ModePasta, network.ModeSlirp4netns, network.ModeBridge, "host", "none"},
		Volume:  []string{"local"},
	}
	if err := configInfo(out); err != nil {
		return nil, err
	}
	out.Version = map[string]string{"APIVersion": apiVersion, "Version": Version, "GoVersion": runtime.Version(),
		"Os": runtime.GOOS, "OsArch": runtime.GOOS + "/" + runtime.GOARCH}
	return out, nil
}

func idMaps(ms []specs.LinuxIDMapping) []infoIDMap {
	out := []infoIDMap{}
	for _, m := range ms {
		out = append(out, infoIDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}

// memInfo reads the host's memory and swap, in bytes, from /proc/meminfo.
func memInfo() (memTotal, memFree, swapTotal, swapFree int64) {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			memTotal = kb * 1024
		case "MemFree:":
			memFree = kb * 1024
		case "SwapTotal:":
			swapTotal = kb * 1024
		case "SwapFree:":
			swapFree = kb * 1024
		}
	}
	return
}

// uptime is the host's uptime as Podman writes it: "2h 3m 4.50s".
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return ""
	}
	h := int(secs / 3600)
	m := int(secs/60) % 60
	return fmt.Sprintf("%dh %dm %.2fs", h, m, secs-float64(h*3600+m*60))
}

// slirpInfo is the slirp4netns in PATH and what its --version says.
func slirpInfo() infoSlirp {
	p, err := exec.LookPath(network.ModeSlirp4netns)
	if err != nil {
		return infoSlirp{}
	}
	v, _ := exec.Command(p, "--version").Output()
	return infoSlirp{Executable: p, Version: strings.TrimSpace(string(v))}
}

// fsName names a file system type as Podman's storage does in its
// graphStatus ("Backing Filesystem").
func fsName(t int64) string {
	switch t {
	case unix.EXT4_SUPER_MAGIC:
		return "extfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case 0x2fc12fc1: // ZFS, which x/sys does not name
		return "zfs"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	}
	return fmt.Sprintf("%#x", t)
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
