package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/network"
)

// errNamedNetwork is networkMode's word that the flag names a network
// (myctr network create), not a mode.
var errNamedNetwork = errors.New("a named network")

// networkMode splits --network MODE[:OPTIONS]; without the flag (or with
// Podman's "private") it takes
// the default: myctr.conf's network key, else containers.conf's netns
// (but private), else its default_rootless_network_cmd, else
// network.DefaultMode (pasta
// where a pasta without the known incoming-TCP bug is installed, else
// slirp4netns). A network's name comes back with errNamedNetwork.
func networkMode(flag string) (string, []string, error) {
	if flag == "private" {
		// Podman's word for a network namespace of its own, in the
		// default mode (slirp4netns or pasta, rootless).
		flag = ""
	}
	if flag == "" {
		c, err := config.Load(config.Path())
		if err != nil {
			return "", nil, hint(err, "fix or remove %s", config.Path())
		}
		flag = c.Network
	}
	if flag == "" {
		cc, err := containersConf()
		if err != nil {
			return "", nil, err
		}
		if flag = cc.Netns.Value; flag == "private" {
			flag = ""
		}
		if flag == "" {
			flag = cc.RootlessNetworkCmd.Value
		}
	}
	if flag == "" {
		m, err := network.DefaultMode()
		if err != nil {
			return "", nil, explain(err)
		}
		return m, nil, nil
	}
	mode, opts, _ := strings.Cut(flag, ":")
	switch mode {
	case "none", "host":
		if opts != "" {
			return "", nil, fmt.Errorf("--network %s takes no options", mode)
		}
		return mode, nil, nil
	case network.ModePasta, network.ModeSlirp4netns:
		var list []string
		if opts != "" {
			list = strings.Split(opts, ",")
		}
		return mode, list, nil
	case "container":
		// Checked and resolved to an id at create.
		if opts == "" {
			return "", nil, hint(errors.New("--network container: names no container"), "use --network container:NAME or container:ID of an existing container")
		}
		return container.NetContainerPrefix + opts, nil, nil
	case network.ModeBridge, defaultNetworkName:
		// podman, Podman's default network, is the helper's bridge here
		// as network inspect podman describes it (netdefault.go).
		if opts != "" {
			return "", nil, fmt.Errorf("--network %s takes no options", mode)
		}
		return network.ModeBridge, nil, nil
	}
	if names.Valid(mode) {
		// A named network's (NAME[:alias=A,ip=IP,interface_name=ethN],
		// options namedNetworks reads): Create checks that it is there.
		return mode, nil, errNamedNetwork
	}
	return "", nil, hint(fmt.Errorf("unknown network mode %q", mode), "use slirp4netns, pasta, bridge (or podman), none, host, container:NAME or the name of a network (myctr network ls)")
}

// networkFlags reads the --network flags of run, create and pod create:
// one mode (mode, its options), or the named networks (named: one flag or
// several, each NAME[:OPTIONS] or a list a,b), which aliases and ip apply
// to as namedNetworks says.
func networkFlags(given, aliases []string, ip string) (mode string, opts []string, named map[string]container.NetworkAttach, err error) {
	flags := networkLists(given)
	if len(flags) <= 1 {
		mode, opts, err = networkMode(strings.Join(flags, ""))
	}
	if len(flags) > 1 || errors.Is(err, errNamedNetwork) {
		named, err = namedNetworks(flags, aliases, ip)
		return "", nil, named, err
	}
	return mode, opts, nil, err
}

// networkLists splits each --network a,b (networks without options) into
// its networks, as Podman reads it (podman-compose 1.0.3 passes a
// service's networks so); a flag with MODE:OPTIONS keeps its commas.
func networkLists(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.Contains(f, ":") {
			out = append(out, f)
			continue
		}
		out = append(out, commaLists([]string{f})...)
	}
	return out
}

// commaLists is each of flags split at its commas.
func commaLists(flags []string) []string {
	var out []string
	for _, f := range flags {
		out = append(out, strings.Split(f, ",")...)
	}
	return out
}

// namedNetworks reads run's --network flags that name networks (myctr
// network create): each NAME or NAME:OPTIONS, with Podman's options
// alias=NAME (repeatable), ip=ADDR and interface_name=ethN. The container's
// interfaces follow the flags' order (eth0 for the first) unless named.
// --network-alias applies to every network, --ip only to a single one.
func namedNetworks(flags, aliases []string, ip string) (map[string]container.NetworkAttach, error) {
	out := map[string]container.NetworkAttach{}
	ifaces := map[string]string{}
	for i, f := range flags {
		name, opts, _ := strings.Cut(f, ":")
		if _, _, err := networkMode(name); !errors.Is(err, errNamedNetwork) {
			return nil, hint(fmt.Errorf("--network %s cannot be given with other --network flags", f), "several --network flags each name a network (myctr network create); other modes stand alone")
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--network %s is given twice", name)
		}
		a := container.NetworkAttach{Aliases: slices.Clone(aliases), IP: ip, Interface: fmt.Sprintf("eth%d", i)}
		if len(flags) > 1 && ip != "" {
			return nil, hint(errors.New("--ip with several networks: it would be the address on each"), "give each network its address: --network NAME:ip=ADDR")
		}
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(o, "=")
			switch {
			case o == "":
			case k == "alias" && names.Valid(v):
				a.Aliases = append(a.Aliases, v)
			case k == "ip" && v != "":
				a.IP = v
			case k == "interface_name" && netholder.InterfaceIndex(v) >= 0:
				a.Interface = v
			case k == "alias" || k == "ip" || k == "interface_name":
				return nil, fmt.Errorf("--network %s: invalid %s %q", name, k, v)
			default:
				return nil, hint(fmt.Errorf("--network %s: unknown option %q", name, k), "a named network takes alias=NAME, ip=ADDR and interface_name=ethN (eth0 to eth99)")
			}
		}
		if other, taken := ifaces[a.Interface]; taken {
			return nil, fmt.Errorf("--network %s: interface %s is %s's already", name, a.Interface, other)
		}
		ifaces[a.Interface] = name
		out[name] = a
	}
	return out, nil
}
