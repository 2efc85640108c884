package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/network"
)

// portCommand is Podman's port: a container's published ports as
// "80/tcp -> 0.0.0.0:8080", or with PRIVATE_PORT[/PROTO] the host address
// that one is published on; --all lists every running container's, each
// line after the container's short id.
func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "list a running container's published ports",
		ArgsUsage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "the published ports of every running container"},
		},
		Action: func(ctx *cli.Context) error {
			args := ctx.Args().Slice()
			var ref, want string
			switch {
			case ctx.Bool("all") && len(args) > 1:
				return withCode(125, errors.New("--all takes no container, and at most one PRIVATE_PORT[/PROTO]"))
			case ctx.Bool("all"):
				if len(args) == 1 {
					want = args[0]
				}
			case len(args) == 0:
				return withCode(125, errors.New("you must supply a running container name or id"))
			case len(args) > 2:
				return withCode(125, errors.New("`port` accepts at most 2 arguments"))
			default:
				ref = args[0]
				if len(args) == 2 {
					want = args[1]
				}
			}
			port, proto, err := parsePrivatePort(want)
			if err != nil {
				return withCode(125, err)
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			var ctrs []*container.Container
			if ref != "" {
				c, err := lookup(s, ref)
				if err != nil {
					return err
				}
				ctrs = append(ctrs, c)
			} else {
				list, err := s.List()
				if err != nil {
					return err
				}
				for _, c := range list {
					if c.Refresh(); c.Running() {
						ctrs = append(ctrs, c)
					}
				}
			}
			found := false
			for _, c := range ctrs {
				prefix := ""
				if ctx.Bool("all") {
					prefix = c.ID[:12] + "\t"
				}
				if want == "" {
					for _, p := range c.State.Ports {
						fmt.Printf("%s%d/%s -> %s\n", prefix, p.ContainerPort, p.Protocol, p.HostAddr())
					}
					continue
				}
				// --all: the containers that publish it.
				if m, ok := publishedPort(c.State.Ports, port, proto); ok {
					fmt.Printf("%s%s\n", prefix, m.HostAddr())
					found = true
				}
			}
			if want != "" && !found {
				// Podman's words.
				return withCode(125, fmt.Errorf("failed to find published port %q", want))
			}
			return nil
		},
	}
}

// parsePrivatePort reads port's PRIVATE_PORT[/PROTO] (tcp when no
// protocol is given); "" is no port.
func parsePrivatePort(s string) (uint16, string, error) {
	if s == "" {
		return 0, "", nil
	}
	num, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return 0, "", fmt.Errorf("port formats are port/protocol. '%s' is invalid", s)
	}
	return uint16(n), proto, nil
}

// publishedPort is the mapping of the container's port/proto, if it is
// published.
func publishedPort(ports []network.PortMapping, port uint16, proto string) (network.PortMapping, bool) {
	for _, p := range ports {
		if p.ContainerPort == port && p.Protocol == proto {
			return p, true
		}
	}
	return network.PortMapping{}, false
}
