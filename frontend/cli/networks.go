package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/names"
	"github.com/myctr/myctr/frontend/netstore"
	"github.com/myctr/myctr/frontend/userns"
)

// The `network` commands: named networks' records (frontend/netstore).
// `--network`'s own parsing is in network.go.

func networkCommand() *cli.Command {
	return group("network", "manage named networks", []*cli.Command{
		networkCreateCommand(), networkLsCommand(), networkInspectCommand(), networkRmCommand(),
		networkPruneCommand(), networkExistsCommand(), networkAttachCommand("connect"), networkAttachCommand("disconnect"),
	})
}

func openNetworks(ctx *cli.Context) (*netstore.Store, error) {
	d := dirs(ctx)
	if err := d.Ensure(); err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, err
	}
	return netstore.Open(d.Root)
}

// netUsers is the container store as netstore.Users: the containers whose
// record names the network.
type netUsers struct{ s *container.Store }

func (u netUsers) on(network string) ([]*container.Container, error) {
	return u.s.OnNetwork(network)
}

func (u netUsers) NetworkUsers(network string) ([]string, error) {
	return u.s.NetworkUsers(network)
}

// networkCreateHint gives create's errors the fix.
func networkCreateHint(err error, name string) error {
	switch {
	case errors.Is(err, netstore.ErrExists):
		return hint(err, "choose another name, remove that network first (myctr network rm %s), or add --ignore to keep it", name)
	case errors.Is(err, netstore.ErrReservedName):
		return hint(err, "choose another name: none, host, bridge, private, slirp4netns, pasta, container, ns, default and podman mean something else to --network")
	case errors.Is(err, netstore.ErrSubnetUsed):
		return hint(err, "choose a --subnet that overlaps no other network (myctr network ls --format '{{.Name}} {{range .Subnets}}{{.Subnet}}{{end}}' shows theirs), or leave --subnet out for a free one")
	case errors.Is(err, netstore.ErrNoFreeSubnet):
		return hint(err, "remove the networks no container uses (myctr network prune), or give a --subnet outside %s", netstore.DefaultPool)
	case errors.Is(err, netstore.ErrHelperSettings):
		return hint(err, "leave the flag out (the helper's configuration, /etc/myctr/helper.conf, sets them), or use --driver bridge")
	case errors.Is(err, netstore.ErrInvalidArg):
		return hint(err, "a name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*; --subnet is an IPv4 network address in CIDR notation, /8 to /30 (such as 10.90.0.0/24), or an IPv6 one, /48 to /120 (such as fd10:2f::/64); each --gateway a host address inside the --subnet in its place; --opt takes mtu=68..65535")
	}
	return err
}

func networkCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a named network (prints its name)",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: netstore.DriverBridge, Usage: "the network driver: bridge (rootless, the user's own), or bridge-helper (a group on myctr-helper's bridge in the host's network)"},
			&cli.StringSliceFlag{Name: "subnet", Usage: "the network's IPv4 subnet in CIDR notation (default: the first free /24 of 10.89.0.0/16); given again, its IPv6 subnet (the network is then dual-stack)"},
			&cli.StringSliceFlag{Name: "gateway", Usage: "the gateway's address in the --subnet in its place (default: the subnet's first host address)"},
			&cli.BoolFlag{Name: "internal", Usage: "no route out of the network"},
			&cli.BoolFlag{Name: "disable-dns", Usage: "no DNS server for the network's containers"},
			&cli.BoolFlag{Name: "ipv6", Usage: "dual-stack: an IPv6 subnet too (default: a random /64 of fd00::/8)"},
			&cli.StringSliceFlag{Name: "label", Usage: "set a label KEY=VALUE"},
			&cli.StringSliceFlag{Name: "opt", Aliases: []string{"o"}, Usage: "a driver option: mtu=BYTES"},
			&cli.BoolFlag{Name: "ignore", Usage: "a network of that name already there is no error"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 1 {
				return withCode(125, errors.New("too many arguments: network create takes at most one name"))
			}
			o := netstore.CreateOptions{
				Name: ctx.Args().First(), Driver: ctx.String("driver"),
				IPv6: ctx.Bool("ipv6"), Internal: ctx.Bool("internal"), DisableDNS: ctx.Bool("disable-dns"),
				Labels: keyValues(ctx.StringSlice("label")), Options: keyValues(ctx.StringSlice("opt")),
				IgnoreExisting: ctx.Bool("ignore"),
			}
			if err := subnetFlags(&o, ctx.StringSlice("subnet"), ctx.StringSlice("gateway")); err != nil {
				return withCode(125, err)
			}
			ns, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			n, err := ns.Create(o)
			if err != nil {
				return withCode(125, networkCreateHint(err, o.Name))
			}
			fmt.Println(n.Name)
			return nil
		},
	}
}

// subnetFlags sorts network create's --subnet flags by family into o (at
// most one of each), each with the --gateway in its place, as Podman
// pairs them.
func subnetFlags(o *netstore.CreateOptions, subnets, gateways []string) error {
	if len(gateways) > len(subnets) {
		// Podman's words.
		return hint(errors.New("cannot set more gateways than subnets"), "give each --gateway after the --subnet it belongs to")
	}
	for i, s := range subnets {
		gw := ""
		if i < len(gateways) {
			gw = gateways[i]
		}
		p, err := netip.ParsePrefix(s)
		six := err == nil && p.Addr().Is6() && !p.Addr().Is4In6()
		switch {
		case six && o.Subnet6 == "":
			o.Subnet6, o.Gateway6 = s, gw
		case !six && o.Subnet == "":
			o.Subnet, o.Gateway = s, gw
		default:
			return hint(fmt.Errorf("--subnet %s: a second subnet of its family", s), "a named network has one IPv4 subnet and at most one IPv6 subnet")
		}
	}
	return nil
}

// networkRow is a network in `network ls --format TEMPLATE`: its record's
// fields, with ID cut to 12 digits (unless --no-trunc) and Labels as
// K=V,K=V, as Podman shows them.
type networkRow struct {
	*netstore.Network
	ID     string
	Labels string
}

func newNetworkRow(n *netstore.Network, noTrunc bool) networkRow {
	labels := make([]string, 0, len(n.Labels))
	for k, v := range n.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return networkRow{Network: n, ID: short(n.ID, noTrunc), Labels: strings.Join(labels, ",")}
}

var networkHeaders = upperHeaders([]string{"ID", "Name", "Driver", "Labels", "Options", "IPAMOptions", "Created", "Internal",
	"IPv6Enabled", "DNSEnabled", "NetworkInterface", "Subnets"},
	map[string]string{"ID": "NETWORK ID", "IPAMOptions": "IPAM OPTIONS", "IPv6Enabled": "IPV6", "DNSEnabled": "DNS",
		"NetworkInterface": "NETWORK INTERFACE"})

const networkFields = "the fields are ID, Name, Driver, Labels, Options, IPAMOptions, Created, Internal, IPv6Enabled, DNSEnabled, NetworkInterface and Subnets"

// inUse is the set of networks that containers are on.
func networksInUse(ctx *cli.Context) (map[string]bool, error) {
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range all {
		for _, n := range c.NamedNetworks() {
			used[n] = true
		}
	}
	return used, nil
}

func networkLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list named networks",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "name=REGEXP, id=PREFIX, label=KEY[=VALUE], label!=, driver=bridge, until=TIME, dangling=true|false"},
			templateFlag[networkRow]("json, or a Go template ('table ...' for a table with a header), e.g. '{{.Name}} {{.Subnets}}'"),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "names only"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "full network ids"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, fmt.Errorf("too many arguments: network ls takes none (filter with --filter name=%s)", ctx.Args().First()))
			}
			f, err := netstore.ParseFilter(ctx.StringSlice("filter"), netstore.ListFilterKeys, time.Now())
			if err != nil {
				return withCode(125, err)
			}
			ns, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			all, err := ns.List()
			if err != nil {
				return err
			}
			// Podman's default network is always listed, among the others
			// by name (the store reserves its name); `network prune` never
			// removes it, so it is never dangling.
			all = append(all, defaultNetwork()) // netdefault.go
			slices.SortStableFunc(all, func(a, b *netstore.Network) int { return strings.Compare(a.Name, b.Name) })
			used := map[string]bool{}
			if f.Needs("dangling") {
				if used, err = networksInUse(ctx); err != nil {
					return err
				}
			}
			used[defaultNetworkName] = true
			list := []*netstore.Network{}
			for _, n := range all {
				if f.Match(n, used[n.Name]) {
					list = append(list, n)
				}
			}
			format := ctx.String("format")
			switch {
			case ctx.Bool("quiet"):
				for _, n := range list {
					fmt.Println(n.Name)
				}
				return nil
			case format == "json":
				return writeJSON(os.Stdout, list, "  ")
			case format == "":
				format = "table {{.ID}} {{.Name}} {{.Driver}}"
			}
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			lf.noHeading = ctx.Bool("noheading")
			rows := make([]any, len(list))
			for i, n := range list {
				rows[i] = newNetworkRow(n, ctx.Bool("no-trunc"))
			}
			return lf.write(os.Stdout, networkHeaders, rows, networkFields)
		},
	}
}

func networkInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show named networks as JSON",
		ArgsUsage: "NETWORK...",
		Flags: []cli.Flag{
			templateFlag[*netstore.Network]("a Go template applied to each network, e.g. '{{.NetworkInterface}}'", "f"),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("network inspect needs at least one network name or id"))
			}
			tmpl, err := inspectFormat(ctx)
			if err != nil {
				return err
			}
			ns, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			list := []*netstore.Network{}
			var failed error
			for _, ref := range ctx.Args().Slice() {
				n, err := ns.Get(ref)
				if ref == defaultNetworkName && errors.Is(err, netstore.ErrNoSuchNetwork) {
					n, err = defaultNetwork(), nil // netdefault.go
				}
				if err != nil {
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					// Podman's words.
					failed = withCode(125, fmt.Errorf("network %s: %w", ref, err))
					continue
				}
				list = append(list, n)
			}
			if tmpl != nil {
				for _, n := range list {
					if err := writeFormat(os.Stdout, tmpl, n, "the fields are those of the JSON output (myctr network inspect NETWORK)"); err != nil {
						return err
					}
				}
				return failed
			}
			if err := writeJSON(os.Stdout, list, "     "); err != nil {
				return err
			}
			return failed
		},
	}
}

// networkRmCode is network rm's exit code for one network's failure, as
// Podman's: 1 not there, 2 in use, else 125.
func networkRmCode(err error) int {
	switch {
	case errors.Is(err, netstore.ErrNoSuchNetwork):
		return 1
	case errors.Is(err, netstore.ErrInUse):
		return 2
	}
	return 125
}

// removeNetwork removes one network as network rm does: in use, it is
// refused unless force, which removes the containers on it first
// (stopping each within timeout, if one is given), as rmi -f removes an
// image's (a pod's infra container takes its pod).
func removeNetwork(ctx *cli.Context, ns *netstore.Store, ref string, force bool, timeout *time.Duration) error {
	cs, err := openContainers(ctx)
	if err != nil {
		return err
	}
	users := netUsers{cs}
	if force {
		n, err := ns.Get(ref)
		if err != nil {
			return err
		}
		ctrs, err := users.on(n.Name)
		if err != nil {
			return err
		}
		for _, c := range ctrs {
			if timeout != nil {
				c.Refresh()
				if c.Running() {
					if err := cs.Stop(c, *timeout); err != nil {
						return err
					}
				}
			}
			if err := removeUser(ctx, cs, c); err != nil && !errors.Is(err, container.ErrNotFound) {
				return fmt.Errorf("remove container %s that is on network %s: %w", c.Name, n.Name, explain(err))
			}
			releaseCgroup(cs, c)
			if err := cs.ReleaseNetwork(c); err != nil {
				warnRelease(os.Stderr, err)
			}
		}
	}
	_, err = ns.Remove(ref, users)
	if errors.Is(err, netstore.ErrInUse) {
		return hint(err, "remove the containers on it first, or use network rm -f to remove them with it")
	}
	return err
}

func networkRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove named networks",
		ArgsUsage: "NETWORK...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove the containers on a network first; a network that is not there is no error"},
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Usage: "with --force: seconds to wait for a running container to stop before killing it"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("network rm needs at least one network name or id"))
			}
			if isSet(ctx, "time") && !ctx.Bool("force") {
				// Podman's words.
				return withCode(125, errors.New("--force option must be specified to use the --time option"))
			}
			ns, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			var timeout *time.Duration
			if isSet(ctx, "time") && ctx.Int("time") >= 0 {
				d := time.Duration(ctx.Int("time")) * time.Second
				timeout = &d
			}
			// The exit code: 125 if anything failed otherwise, else 2
			// if a network was in use, else 1 if one was not there.
			var failed error
			code := 0
			for _, ref := range ctx.Args().Slice() {
				if err := removeNetwork(ctx, ns, ref, ctx.Bool("force"), timeout); err != nil {
					if ctx.Bool("force") && errors.Is(err, netstore.ErrNoSuchNetwork) {
						continue // as Podman's: --force removes what there is
					}
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					failed = err
					if c := networkRmCode(err); c == 125 || c > code {
						code = c
					}
					continue
				}
				fmt.Println(ref)
			}
			if failed != nil {
				return withCode(code, failed)
			}
			return nil
		},
	}
}

func networkPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove every named network no container is on",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, errors.New("network prune takes no arguments (select with --filter)"))
			}
			f, err := netstore.ParseFilter(ctx.StringSlice("filter"), netstore.PruneFilterKeys, time.Now())
			if err != nil {
				return withCode(125, err)
			}
			if !ctx.Bool("force") {
				// Podman's words.
				fmt.Println("WARNING! This will remove all networks not used by at least one container.")
				fmt.Print("Are you sure you want to continue? [y/N] ")
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			gone, err := pruneNetworks(ctx, f)
			for _, n := range gone {
				fmt.Println(n)
			}
			return err
		},
	}
}

// pruneNetworks removes the named networks no container is on that pass
// f, and returns their names.
func pruneNetworks(ctx *cli.Context, f *netstore.Filter) ([]string, error) {
	ns, err := openNetworks(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	return ns.Prune(netUsers{cs}, func(n *netstore.Network) bool { return f.Match(n, false) })
}

func networkExistsCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 if the named network exists, 1 if not",
		ArgsUsage: "NETWORK",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("network exists requires exactly one network name or id"))
			}
			ns, err := openNetworks(ctx)
			if err != nil {
				return err
			}
			if _, err := ns.Get(ctx.Args().First()); err != nil {
				if errors.Is(err, netstore.ErrNoSuchNetwork) {
					return withCode(1, nil)
				}
				return err
			}
			return nil
		},
	}
}

// networkAttachCommand is network connect or disconnect: the container's
// record changes for its next start, and a running container gains or
// loses its interface on the network at once.
func networkAttachCommand(verb string) *cli.Command {
	usage := "connect a container to a named network"
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "alias", Usage: "another name of the container on the network"},
		&cli.StringFlag{Name: "ip", Usage: "the container's IPv4 address on the network"},
		&cli.StringFlag{Name: "ip6", Usage: "not supported: named networks are IPv4"},
		&cli.StringFlag{Name: "mac-address", Usage: "not supported: the MAC address is the kernel's choice"},
	}
	if verb == "disconnect" {
		usage = "disconnect a container from a named network"
		flags = []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "accepted for Podman's sake: a running container is disconnected anyway"}}
	}
	return &cli.Command{
		Name:      verb,
		Usage:     usage,
		ArgsUsage: "NETWORK CONTAINER",
		Flags:     flags,
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, fmt.Errorf("network %s requires a network and a container, not %d arguments", verb, ctx.NArg()))
			}
			for _, f := range []string{"ip6", "mac-address"} {
				if isSet(ctx, f) {
					return withCode(125, hint(fmt.Errorf("network connect --%s is not supported", f), "myctr's named networks are IPv4, and their containers' MAC addresses are the kernel's; leave out --%s", f))
				}
			}
			name, ref := ctx.Args().Get(0), ctx.Args().Get(1)
			if !names.Valid(name) {
				return withCode(125, fmt.Errorf("invalid network name %q", name))
			}
			for _, a := range ctx.StringSlice("alias") {
				if !names.Valid(a) {
					return withCode(125, fmt.Errorf("invalid --alias %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", a))
				}
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ref)
			if err != nil {
				return err
			}
			if verb == "disconnect" {
				err = s.Disconnect(c, name)
			} else {
				var m *userns.Mapping
				if m, err = mapping(); err == nil {
					err = s.Connect(c, m, name, container.NetworkAttach{Aliases: ctx.StringSlice("alias"), IP: ctx.String("ip")})
				}
			}
			if err != nil {
				return explain(err)
			}
			return nil
		},
	}
}
