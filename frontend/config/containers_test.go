package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLoadContainersMerge(t *testing.T) {
	dir := tree(t, map[string]string{
		"root/usr/share/containers/containers.conf": `[containers]
default_capabilities = ["CHOWN"]
init = true
log_driver = "journald"
seccomp_profile = "/p.json"

[engine]
events_logger = "journald"
`,
		"root/etc/containers/containers.conf":           "[containers]\ninit = false\npids_limit = 100\n",
		"root/etc/containers/containers.conf.d/20.conf": "[containers]\ndns_servers = [\"192.0.2.1\"]\ndns_searches = [\"example.com\"]\ndns_options = [\"ndots:2\"]\nbase_hosts_file = \"/etc/base-hosts\"\nhost_containers_internal_ip = \"192.0.2.9\"\n",
		"root/etc/containers/containers.conf.d/10.conf": "[network]\ndefault_rootless_network_cmd = \"pasta\"\n[engine]\nimage_default_transport = \"docker://\"\nimage_volume_mode = \"tmpfs\"\n",
		"home/.config/containers/containers.conf":       "[containers]\nenv = [\"A=1\", \"B=2\"]\nlog_driver = \"k8s-file\"\n\n[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n[secrets]\n",
	})
	c, err := LoadContainers(testEnv(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Files) != 5 {
		t.Errorf("files %v", c.Files)
	}
	if c.Init.Value || !strings.HasSuffix(c.Init.File, "etc/containers/containers.conf") || c.Init.Line != 2 {
		t.Errorf("init: the later file wins: %+v", c.Init)
	}
	if c.DNSServers.Value[0] != "192.0.2.1" || c.DNSSearches.Value[0] != "example.com" || c.DNSOptions.Value[0] != "ndots:2" ||
		c.BaseHostsFile.Value != "/etc/base-hosts" || c.HostInternalIP.Value != "192.0.2.9" || c.DNSServers.Line != 2 {
		t.Errorf("dns and hosts keys: %+v %+v %+v %+v %+v", c.DNSServers, c.DNSSearches, c.DNSOptions, c.BaseHostsFile, c.HostInternalIP)
	}
	if c.LogDriver.Value != "k8s-file" || c.PidsLimit.Value != 100 || c.ImageVolumeMode.Value != "tmpfs" || c.RootlessNetworkCmd.Value != "pasta" ||
		strings.Join(c.Env.Value, ",") != "A=1,B=2" || strings.Join(c.DefaultCapabilities.Value, ",") != "CHOWN" {
		t.Errorf("merged %+v", c)
	}
	var names []string
	for _, k := range c.Unsupported {
		names = append(names, k.Name)
	}
	if got := strings.Join(names, " "); got != "containers.seccomp_profile engine.events_logger engine.cgroup_manager" {
		t.Errorf("unsupported keys, once each (an empty table sets nothing): %s", got)
	}
	for _, k := range c.Unsupported {
		if k.Name == "engine.events_logger" && (!strings.HasSuffix(k.File, "home/.config/containers/containers.conf") || k.Line != 6) {
			t.Errorf("events_logger is reported where it was last set: %v", k)
		}
	}
}

// TestContainersOtherTables: keys in Podman's tables that myctr reads as
// they are (secrets, machine, engine.runtimes, ...) are listed as
// unsupported in the order of the file, with their lines; headers with
// nothing under them, as distribution files ship them, list nothing.
func TestContainersOtherTables(t *testing.T) {
	dir := tree(t, map[string]string{"containers.conf": `[containers]
seccomp_profile = "/p.json"
[secrets]
# driver = "file"
[secrets.opts]
[engine]
[engine.runtimes]
crun = ["/usr/bin/crun"]
[engine.volume_plugins]
[machine]
cpus = 2
"odd.key" = 1
[[farms.list]]
name = "a"
[podmansh]
`})
	c, err := LoadContainers(testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/containers.conf"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range c.Unsupported {
		got = append(got, fmt.Sprintf("%d:%s", k.Line, k.Name))
	}
	want := `2:containers.seccomp_profile 8:engine.runtimes.crun 11:machine.cpus 12:machine."odd.key" 13:farms.list`
	if strings.Join(got, " ") != want {
		t.Errorf("unsupported keys:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestContainersEventsLog: [engine] events_logfile_path and
// events_logfile_max_size, the size as Podman reads it (bytes, or a size
// with a unit).
func TestContainersEventsLog(t *testing.T) {
	for conf, want := range map[string]int64{
		"[engine]\nevents_logfile_path = \"/x/events.txt\"\nevents_logfile_max_size = 4750\n":   4750,
		"[engine]\nevents_logfile_path = \"/x/events.txt\"\nevents_logfile_max_size = \"1m\"\n": 1000000,
		"[engine]\nevents_logfile_path = \"/x/events.txt\"\nevents_logfile_max_size = 0\n":      0,
	} {
		dir := tree(t, map[string]string{"containers.conf": conf})
		c, err := LoadContainers(testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/containers.conf"}))
		if err != nil {
			t.Fatalf("%q: %v", conf, err)
		}
		if c.EventsLogfilePath.Value != "/x/events.txt" || c.EventsLogfilePath.Line != 2 || !c.EventsLogfileMaxSize.Set ||
			c.EventsLogfileMaxSize.Value != want || c.EventsLogfileMaxSize.Line != 3 || len(c.Unsupported) != 0 {
			t.Errorf("%q: %+v %+v %v", conf, c.EventsLogfilePath, c.EventsLogfileMaxSize, c.Unsupported)
		}
	}
}

func TestContainersBadInput(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"wrong type", "[containers]\ninit = \"yes\"\n", "containers.conf:2: containers.init: "},
		{"bad log driver", "[containers]\n\nlog_driver = \"passthrough\"\n", "containers.conf:3: [containers] log_driver \"passthrough\""},
		{"bad network cmd", "[network]\ndefault_rootless_network_cmd = \"vpnkit\"\n", "containers.conf:2: [network] default_rootless_network_cmd \"vpnkit\""},
		{"bad transport", "[engine]\nimage_default_transport = \"oci:\"\n", "containers.conf:2: [engine] image_default_transport"},
		{"bad image volume mode", "[engine]\nimage_volume_mode = \"copy\"\n", "containers.conf:2: [engine] image_volume_mode"},
		{"bad env", "[containers]\nenv = [\"NOEQUALS\"]\n", "containers.conf:2: [containers] env \"NOEQUALS\""},
		{"syntax", "[containers\n", "containers.conf:1: "},
		{"relative events log", "[engine]\nevents_logfile_path = \"events.txt\"\n", "containers.conf:2: [engine] events_logfile_path \"events.txt\": want an absolute path"},
		{"bad events log size", "[engine]\n\nevents_logfile_max_size = \"big\"\n", "containers.conf:3: [engine] events_logfile_max_size: \"big\""},
		{"negative events log size", "[engine]\nevents_logfile_max_size = -1\n", "containers.conf:2: [engine] events_logfile_max_size: -1"},
		{"relative base hosts file", "[containers]\nbase_hosts_file = \"hosts\"\n", "containers.conf:2: [containers] base_hosts_file \"hosts\": want an absolute path"},
		{"image base hosts file", "[containers]\nbase_hosts_file = \"image\"\n", "containers.conf:2: [containers] base_hosts_file \"image\": myctr does not"},
		{"bad internal ip", "[containers]\nhost_containers_internal_ip = \"10.0.0\"\n", "containers.conf:2: [containers] host_containers_internal_ip \"10.0.0\""},
		{"dns servers not a list", "[containers]\ndns_servers = \"1.1.1.1\"\n", "containers.conf:2: containers.dns_servers: "},
		{"bad netns", "[containers]\nnetns = \"ns:/run/netns/x\"\n", "containers.conf:2: [containers] netns \"ns:/run/netns/x\""},
		{"ulimits not a list", "[containers]\ndefault_ulimits = \"nofile=1\"\n", "containers.conf:2: containers.default_ulimits: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, map[string]string{"containers.conf": tt.conf})
			_, err := LoadContainers(testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/containers.conf"}))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	dir := t.TempDir()
	if _, err := LoadContainers(testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/missing.conf"})); err == nil {
		t.Errorf("a CONTAINERS_CONF that does not exist is an error")
	}
}

// TestContainersRunDefaults: [containers] keys that are defaults of run's
// flags (userns, tz, umask, shm_size, no_hosts, read_only, env_host,
// http_proxy, annotations, default_ulimits, netns) are read with
// their lines, for the errors that name them.
func TestContainersRunDefaults(t *testing.T) {
	dir := tree(t, map[string]string{"containers.conf": `[containers]
userns = "keep-id"
tz = "UTC"
umask = "0077"
shm_size = "1m"
no_hosts = true
read_only = true
env_host = true
http_proxy = false
annotations = ["a=1"]
default_ulimits = ["nofile=512:512"]
netns = "pasta:--ipv4-only"
`})
	c, err := LoadContainers(testEnv(dir, map[string]string{"CONTAINERS_CONF": dir + "/containers.conf"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Userns.Value != "keep-id" || c.Userns.Line != 2 || c.TZ.Value != "UTC" || c.TZ.Line != 3 || c.Umask.Value != "0077" ||
		c.ShmSize.Value != "1m" || c.ShmSize.Line != 5 || !c.NoHosts.Value || !c.ReadOnly.Value || c.ReadOnly.Line != 7 {
		t.Errorf("read: %+v %+v %+v %+v %+v %+v", c.Userns, c.TZ, c.Umask, c.ShmSize, c.NoHosts, c.ReadOnly)
	}
	if !c.EnvHost.Value || !c.HTTPProxy.Set || c.HTTPProxy.Value || c.Annotations.Value[0] != "a=1" || c.Ulimits.Value[0] != "nofile=512:512" || c.Ulimits.Line != 11 || c.Netns.Value != "pasta:--ipv4-only" {
		t.Errorf("read: %+v %+v %+v %+v %+v", c.EnvHost, c.HTTPProxy, c.Annotations, c.Ulimits, c.Netns)
	}
	if len(c.Unsupported) != 0 {
		t.Errorf("listed as unsupported: %v", c.Unsupported)
	}
}
