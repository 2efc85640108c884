package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/docker/go-units"
)

// Setting is a value a containers.conf file set, with where it was set
// (for errors about it).
type Setting[T any] struct {
	Value T
	Set   bool
	File  string
	Line  int
}

func (s Setting[T]) String() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Containers is what the containers.conf files say that myctr acts on,
// merged: a later file's key replaces an earlier one's.
type Containers struct {
	Files []string // read, in order

	// [containers]
	DefaultCapabilities Setting[[]string] // the capability set before --cap-add/--cap-drop
	Env                 Setting[[]string] // below the image's ENV and -e
	DefaultSysctls      Setting[[]string] // below --sysctl
	DNSServers          Setting[[]string] // dns_servers: before --dns
	DNSSearches         Setting[[]string] // dns_searches: before --dns-search
	DNSOptions          Setting[[]string] // dns_options: before --dns-option
	BaseHostsFile       Setting[string]   // base_hosts_file: /etc/hosts's base, "" the host's, "none" nothing
	HostInternalIP      Setting[string]   // host_containers_internal_ip: host.containers.internal's address
	Init                Setting[bool]     // default of --init
	LogDriver           Setting[string]   // default of --log-driver
	PidsLimit           Setting[int64]    // default of --pids-limit
	Userns              Setting[string]   // userns: default of --userns, checked where a container takes it
	TZ                  Setting[string]   // tz: default of --tz
	Umask               Setting[string]   // umask: default of --umask
	ShmSize             Setting[string]   // shm_size: default of --shm-size
	NoHosts             Setting[bool]     // no_hosts: default of --no-hosts
	ReadOnly            Setting[bool]     // read_only: default of --read-only
	EnvHost             Setting[bool]     // env_host: default of --env-host
	HTTPProxy           Setting[bool]     // http_proxy: default of --http-proxy
	Annotations         Setting[[]string] // annotations: below --annotation
	Ulimits             Setting[[]string] // ulimits: below --ulimit, a type the flag names being the flag's
	Netns               Setting[string]   // netns: default of --network, after myctr.conf's network
	// [network]
	RootlessNetworkCmd Setting[string] // default_rootless_network_cmd: slirp4netns or pasta
	// [engine]
	ImageDefaultTransport Setting[string] // only docker:// is supported
	ImageVolumeMode       Setting[string] // default of --image-volume: bind, tmpfs or ignore
	EventsLogfilePath     Setting[string] // the events log, in place of the run root's
	EventsLogfileMaxSize  Setting[int64]  // the events log's size past which its older half goes; 0: no limit
	InfraImage            Setting[string] // infra_image: a pod's infra image, in place of the pause image
	InfraCommand          Setting[string] // infra_command: the command of a pod's infra container

	// Unsupported lists, once each, the keys the files set that myctr
	// does not act on (the last file that set each).
	Unsupported []Key
}

type containersTOML struct {
	Containers struct {
		DefaultCapabilities *[]string `toml:"default_capabilities"`
		DefaultSysctls      *[]string `toml:"default_sysctls"`
		DNSServers          *[]string `toml:"dns_servers"`
		DNSSearches         *[]string `toml:"dns_searches"`
		DNSOptions          *[]string `toml:"dns_options"`
		BaseHostsFile       *string   `toml:"base_hosts_file"`
		HostInternalIP      *string   `toml:"host_containers_internal_ip"`
		Env                 *[]string `toml:"env"`
		Init                *bool     `toml:"init"`
		LogDriver           *string   `toml:"log_driver"`
		PidsLimit           *int64    `toml:"pids_limit"`
		Userns              *string   `toml:"userns"`
		TZ                  *string   `toml:"tz"`
		Umask               *string   `toml:"umask"`
		ShmSize             *string   `toml:"shm_size"`
		NoHosts             *bool     `toml:"no_hosts"`
		ReadOnly            *bool     `toml:"read_only"`
		EnvHost             *bool     `toml:"env_host"`
		HTTPProxy           *bool     `toml:"http_proxy"`
		Annotations         *[]string `toml:"annotations"`
		Ulimits             *[]string `toml:"default_ulimits"`
		Netns               *string   `toml:"netns"`
	} `toml:"containers"`
	Network struct {
		RootlessNetworkCmd *string `toml:"default_rootless_network_cmd"`
	} `toml:"network"`
	Engine struct {
		ImageDefaultTransport *string `toml:"image_default_transport"`
		ImageVolumeMode       *string `toml:"image_volume_mode"`
		EventsLogfilePath     *string `toml:"events_logfile_path"`
		EventsLogfileMaxSize  any     `toml:"events_logfile_max_size"` // bytes, or a size such as "1m"
		InfraImage            *string `toml:"infra_image"`
		InfraCommand          *string `toml:"infra_command"`

		Runtimes            map[string]any `toml:"runtimes"`
		VolumePlugins       map[string]any `toml:"volume_plugins"`
		ServiceDestinations map[string]any `toml:"service_destinations"`
	} `toml:"engine"`

	// Podman's tables that myctr does not act on, decoded as they are:
	// their keys are listed as unsupported by walking them (otherTables).
	// Left to the strict decoder's unknown-key errors, the headers alone,
	// which distribution files carry with every key commented out, cost
	// each run --rm 85 page faults (each error copies the file's lines).
	Secrets  map[string]any `toml:"secrets"`
	Machine  map[string]any `toml:"machine"`
	Farms    map[string]any `toml:"farms"`
	Podmansh map[string]any `toml:"podmansh"`
}

// logfileSize reads events_logfile_max_size as Podman does: a number of
// bytes, or a size with a unit ("1m" is 1000000 bytes).
func logfileSize(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return 0, fmt.Errorf("%d: want a size in bytes, 0 for no limit", v)
		}
		return v, nil
	case string:
		n, err := units.FromHumanSize(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a size such as 1m, or a number of bytes", v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%v: want a size such as \"1m\", or a number of bytes", v)
}

// otherTables is the keys set in the tables of t that myctr reads as they
// are, by dotted name.
func (t *containersTOML) otherTables(file string, data []byte) []Key {
	var out []Key
	for _, tb := range []struct {
		path []string
		m    map[string]any
	}{
		{[]string{"engine", "runtimes"}, t.Engine.Runtimes}, {[]string{"engine", "volume_plugins"}, t.Engine.VolumePlugins},
		{[]string{"engine", "service_destinations"}, t.Engine.ServiceDestinations},
		{[]string{"secrets"}, t.Secrets}, {[]string{"machine"}, t.Machine}, {[]string{"farms"}, t.Farms}, {[]string{"podmansh"}, t.Podmansh},
	} {
		out = append(out, tableKeys(file, data, tb.path, tb.m)...)
	}
	return out
}

// HostContainers is LoadContainers(HostEnv()), read once per process:
// the CLI's defaults and the events log's settings share it.
var HostContainers = sync.OnceValues(func() (*Containers, error) { return LoadContainers(HostEnv()) })

// LoadContainers reads and merges e's containers.conf files. Keys myctr
// does not act on are collected in Unsupported, not refused (the same
// files serve Podman); a value of the wrong type, a syntax error or a
// value myctr cannot honour is an error naming the file and line.
func LoadContainers(e Env) (*Containers, error) {
	c := &Containers{}
	unsupported := map[string]Key{}
	var order []string
	for _, f := range e.ContainersFiles() {
		if _, err := os.Stat(f); err != nil {
			return nil, &FileError{File: f, Msg: "cannot be read: " + err.Error()}
		}
		var t containersTOML
		unknown, data, err := decodeFile(f, &t)
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, f)
		unknown = append(unknown, t.otherTables(f, data)...)
		slices.SortStableFunc(unknown, func(a, b Key) int { return a.Line - b.Line })
		for _, k := range unknown {
			if _, ok := unsupported[k.Name]; !ok {
				order = append(order, k.Name)
			}
			unsupported[k.Name] = k
		}
		if err := c.apply(f, data, &t); err != nil {
			return nil, err
		}
	}
	for _, n := range order {
		c.Unsupported = append(c.Unsupported, unsupported[n])
	}
	return c, nil
}

func set[T any](s *Setting[T], v *T, file string, data []byte, table, key string) {
	if v != nil {
		*s = Setting[T]{Value: *v, Set: true, File: file, Line: lineOf(data, table, 0, key)}
	}
}

func (c *Containers) apply(f string, data []byte, t *containersTOML) error {
	set(&c.DefaultCapabilities, t.Containers.DefaultCapabilities, f, data, "containers", "default_capabilities")
	set(&c.DefaultSysctls, t.Containers.DefaultSysctls, f, data, "containers", "default_sysctls")
	set(&c.DNSServers, t.Containers.DNSServers, f, data, "containers", "dns_servers")
	set(&c.DNSSearches, t.Containers.DNSSearches, f, data, "containers", "dns_searches")
	set(&c.DNSOptions, t.Containers.DNSOptions, f, data, "containers", "dns_options")
	set(&c.BaseHostsFile, t.Containers.BaseHostsFile, f, data, "containers", "base_hosts_file")
	set(&c.HostInternalIP, t.Containers.HostInternalIP, f, data, "containers", "host_containers_internal_ip")
	set(&c.Env, t.Containers.Env, f, data, "containers", "env")
	set(&c.Init, t.Containers.Init, f, data, "containers", "init")
	set(&c.LogDriver, t.Containers.LogDriver, f, data, "containers", "log_driver")
	set(&c.PidsLimit, t.Containers.PidsLimit, f, data, "containers", "pids_limit")
	set(&c.Userns, t.Containers.Userns, f, data, "containers", "userns")
	set(&c.TZ, t.Containers.TZ, f, data, "containers", "tz")
	set(&c.Umask, t.Containers.Umask, f, data, "containers", "umask")
	set(&c.ShmSize, t.Containers.ShmSize, f, data, "containers", "shm_size")
	set(&c.NoHosts, t.Containers.NoHosts, f, data, "containers", "no_hosts")
	set(&c.ReadOnly, t.Containers.ReadOnly, f, data, "containers", "read_only")
	set(&c.EnvHost, t.Containers.EnvHost, f, data, "containers", "env_host")
	set(&c.HTTPProxy, t.Containers.HTTPProxy, f, data, "containers", "http_proxy")
	set(&c.Annotations, t.Containers.Annotations, f, data, "containers", "annotations")
	set(&c.Ulimits, t.Containers.Ulimits, f, data, "containers", "default_ulimits")
	set(&c.Netns, t.Containers.Netns, f, data, "containers", "netns")
	set(&c.RootlessNetworkCmd, t.Network.RootlessNetworkCmd, f, data, "network", "default_rootless_network_cmd")
	set(&c.ImageDefaultTransport, t.Engine.ImageDefaultTransport, f, data, "engine", "image_default_transport")
	set(&c.ImageVolumeMode, t.Engine.ImageVolumeMode, f, data, "engine", "image_volume_mode")
	set(&c.EventsLogfilePath, t.Engine.EventsLogfilePath, f, data, "engine", "events_logfile_path")
	set(&c.InfraImage, t.Engine.InfraImage, f, data, "engine", "infra_image")
	set(&c.InfraCommand, t.Engine.InfraCommand, f, data, "engine", "infra_command")
	if v := t.Engine.EventsLogfileMaxSize; v != nil {
		line := lineOf(data, "engine", 0, "events_logfile_max_size")
		n, err := logfileSize(v)
		if err != nil {
			return &FileError{File: f, Line: line, Msg: "[engine] events_logfile_max_size: " + err.Error()}
		}
		c.EventsLogfileMaxSize = Setting[int64]{Value: n, Set: true, File: f, Line: line}
	}
	bad := func(at Setting[string], format string, args ...any) error {
		return &FileError{File: at.File, Line: at.Line, Msg: fmt.Sprintf(format, args...)}
	}
	where := func(file string, line int) Setting[string] { return Setting[string]{File: file, Line: line} }
	if s := c.LogDriver; s.Set && s.File == f {
		switch s.Value {
		case "k8s-file", "journald", "none":
		default:
			return bad(s, "[containers] log_driver %q: myctr supports k8s-file, journald and none", s.Value)
		}
	}
	if s := c.Netns; s.Set && s.File == f {
		switch mode, _, _ := strings.Cut(s.Value, ":"); mode {
		case "private", "host", "none", "slirp4netns", "pasta", "bridge":
		default:
			return bad(s, "[containers] netns %q: want private, host, none, slirp4netns[:OPTIONS], pasta[:OPTIONS] or bridge", s.Value)
		}
	}
	if s := c.RootlessNetworkCmd; s.Set && s.File == f && s.Value != "slirp4netns" && s.Value != "pasta" {
		return bad(s, "[network] default_rootless_network_cmd %q: want slirp4netns or pasta", s.Value)
	}
	if s := c.ImageDefaultTransport; s.Set && s.File == f && s.Value != "docker://" {
		return bad(s, "[engine] image_default_transport %q: myctr pulls from registries only (docker://)", s.Value)
	}
	if s := c.ImageVolumeMode; s.Set && s.File == f && s.Value != "bind" && s.Value != "tmpfs" && s.Value != "ignore" {
		return bad(s, "[engine] image_volume_mode %q: want bind, tmpfs or ignore", s.Value)
	}
	if s := c.EventsLogfilePath; s.Set && s.File == f && !filepath.IsAbs(s.Value) {
		return bad(s, "[engine] events_logfile_path %q: want an absolute path", s.Value)
	}
	if s := c.PidsLimit; s.Set && s.File == f && s.Value < 0 && s.Value != -1 {
		return bad(where(s.File, s.Line), "[containers] pids_limit %d: want a number of processes, 0 or -1 for none", s.Value)
	}
	if s := c.BaseHostsFile; s.Set && s.File == f {
		switch {
		case s.Value == "image":
			return bad(s, "[containers] base_hosts_file \"image\": myctr does not start /etc/hosts from the image's (run --no-hosts keeps the image's file)")
		case s.Value != "" && s.Value != "none" && !filepath.IsAbs(s.Value):
			return bad(s, "[containers] base_hosts_file %q: want an absolute path, \"none\", or \"\" for the host's /etc/hosts", s.Value)
		}
	}
	if s := c.HostInternalIP; s.Set && s.File == f && s.Value != "" {
		if a, err := netip.ParseAddr(s.Value); err != nil || a.Zone() != "" {
			return bad(s, "[containers] host_containers_internal_ip %q: want an IP address", s.Value)
		}
	}
	if s := c.Env; s.Set && s.File == f {
		for _, kv := range s.Value {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return bad(where(s.File, s.Line), "[containers] env %q: want KEY=VALUE", kv)
			}
		}
	}
	return nil
}
