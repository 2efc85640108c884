package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/network"
)

// errNamedNetwork is networkMode's word that the flag names a network
// (myctr network create), not a mode.
var errNamedNetwork = errors.New("a named network")

// networkMode splits --network MODE[:OPTIONS]; without the flag it takes
// the default: myctr.conf's network key, else containers.conf's
// default_rootless_network_cmd, else network.DefaultMode (pasta
// where a pasta without the known incoming-TCP bug is installed, else
// slirp4netns). A network's name comes back with errNamedNetwork.
func networkMode(flag string) (string, []string, error) {
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
		flag = cc.RootlessNetworkCmd.Value
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
	case network.ModeBridge:
		if opts != "" {
			return "", nil, fmt.Errorf("--network %s takes no options", mode)
		}
		return mode, nil, nil
	}
	if opts == "" && names.Valid(mode) {
		// A named network's: Create checks that it is there.
		return mode, nil, errNamedNetwork
	}
	return "", nil, hint(fmt.Errorf("unknown network mode %q", mode), "use slirp4netns, pasta, bridge, none, host, container:NAME or the name of a network (myctr network ls)")
}

// exposedPorts turns an image's ExposedPorts ("80/tcp") into mappings on
// free host ports, for -P.
func exposedPorts(exposed map[string]struct{}) ([]network.PortMapping, error) {
	var out []network.PortMapping
	for p := range exposed {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
			return nil, fmt.Errorf("image exposes an invalid port %q", p)
		}
		out = append(out, network.PortMapping{ContainerPort: uint16(n), Protocol: proto})
	}
	return out, nil
}
