package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/diskusage"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/userns"
	"github.com/myctr/myctr/frontend/volume"
)

// mountOptions reads run's -v, --mount, --volumes-from and --image-volume.
func mountOptions(ctx *cli.Context, o *container.CreateOptions) error {
	for _, v := range ctx.StringSlice("volume") {
		m, err := volume.ParseVolumeFlag(v)
		if err != nil {
			return err
		}
		o.Mounts = append(o.Mounts, m)
	}
	for _, v := range ctx.StringSlice("mount") {
		m, err := volume.ParseMountFlag(v)
		if err != nil {
			return err
		}
		o.Mounts = append(o.Mounts, m)
	}
	o.VolumesFrom = ctx.StringSlice("volumes-from")
	iv := ctx.String("image-volume")
	if !isSet(ctx, "image-volume") {
		conf, err := containersConf()
		if err != nil {
			return err
		}
		iv = confString(ctx, "image-volume", conf.ImageVolumeMode)
	}
	switch iv {
	case "", container.ImageVolumeBind, container.ImageVolumeTmpfs, container.ImageVolumeIgnore:
		o.ImageVolume = iv
	default:
		return fmt.Errorf("invalid --image-volume %q: must be bind, tmpfs or ignore", iv)
	}
	return nil
}

func volumeCommand() *cli.Command {
	return group("volume", "manage named volumes", append([]*cli.Command{
		volumeCreateCommand(), volumeLsCommand(), volumeInspectCommand(), volumeRmCommand(),
		volumePruneCommand(), volumeExistsCommand(), volumeExportCommand(), volumeImportCommand(),
	}, volumeMountCommands()...))
}

func openVolumes(ctx *cli.Context) (*volume.Store, error) {
	d := dirs(ctx)
	if err := d.Ensure(); err != nil {
		if h := unsafeDirHint(err); h != nil {
			return nil, h
		}
		return nil, err
	}
	return volume.Open(d.Root)
}

// keyValues reads K=V (or K alone) flags into a map.
func keyValues(list []string) map[string]string {
	out := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func volumeCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a volume",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: volume.DriverLocal, Usage: "the volume driver (only local)"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label KEY=VALUE"},
			&cli.StringSliceFlag{Name: "opt", Aliases: []string{"o"}, Usage: "a driver option: type=bind|tmpfs, device=PATH, o=MOUNT-OPTIONS (uid=, gid=, nodev, noexec, size= ...)"},
			&cli.BoolFlag{Name: "ignore", Usage: "a volume of that name already there is no error"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 1 {
				return withCode(125, errors.New("too many arguments: volume create takes at most one name"))
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			v, err := vs.Create(volume.CreateOptions{
				Name: ctx.Args().First(), Driver: ctx.String("driver"), Labels: keyValues(ctx.StringSlice("label")),
				Options: keyValues(ctx.StringSlice("opt")), Exist: ctx.Bool("ignore"),
			})
			if errors.Is(err, volume.ErrInvalidName) {
				return fmt.Errorf("running volume create option: %w", err)
			}
			if err != nil {
				return err
			}
			record(ctx, events.TypeVolume, "create", v.Name, v.Name)
			fmt.Println(v.Name)
			return nil
		},
	}
}

// parseVolumeFilter reads --filter KEY=VALUE (volume.ParseFilter) as
// a usage error.
func parseVolumeFilter(list []string, allowed ...string) (volume.Filter, error) {
	f, err := volume.ParseFilter(list, allowed...)
	if err != nil {
		return nil, withCode(125, err)
	}
	return f, nil
}

// parseUntil reads an until= filter value.
func parseUntil(v string) (time.Time, error) { return volume.ParseUntil(v) }

// volumesInUse is the set of volume names that containers mount.
func volumesInUse(ctx *cli.Context) (map[string][]string, error) {
	s, err := openContainers(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	used := map[string][]string{}
	for _, c := range all {
		for _, mp := range c.Mounts {
			if mp.Type == volume.TypeVolume {
				used[mp.Name] = append(used[mp.Name], c.ID)
			}
		}
	}
	return used, nil
}

func volumeLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list volumes",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "name=REGEXP, label=KEY[=VALUE], dangling=true|false, driver=, opt=, anonymous=, until="},
			templateFlag[*volume.Volume]("json, or a Go template ('table ...' for a table with a header), e.g. '{{.Name}} {{.Mountpoint}}'"),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "names only"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no header line"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, fmt.Errorf("too many arguments: volume ls takes none (filter with --filter name=%s)", ctx.Args().First()))
			}
			f, err := parseVolumeFilter(ctx.StringSlice("filter"), "name", "driver", "scope", "label", "label!", "opt", "dangling", "anonymous", "until")
			if err != nil {
				return err
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			all, err := vs.List()
			if err != nil {
				return err
			}
			used, err := volumesInUse(ctx)
			if err != nil {
				return err
			}
			var list []*volume.Volume
			for _, v := range all {
				if f.Match(v, len(used[v.Name]) > 0) {
					list = append(list, v)
				}
			}
			format := ctx.String("format")
			switch {
			case ctx.Bool("quiet"):
				for _, v := range list {
					fmt.Println(v.Name)
				}
				return nil
			case format == "json":
				if list == nil {
					list = []*volume.Volume{}
				}
				return writeJSON(os.Stdout, list, "  ")
			case format == "":
				format = "table {{.Driver}} {{.Name}}"
				if ctx.Bool("noheading") {
					format = "{{.Driver}}\t{{.Name}}"
				}
			}
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			if ctx.Bool("noheading") {
				lf.table = false
			}
			rows := make([]any, len(list))
			for i, v := range list {
				rows[i] = v
			}
			headers := upperHeaders([]string{"Name", "Driver", "Mountpoint", "CreatedAt", "Labels", "Scope", "Options", "MountCount", "UID", "GID", "Anonymous", "NeedsCopyUp", "NeedsChown"},
				map[string]string{"Name": "VOLUME NAME", "CreatedAt": "CREATED AT", "MountCount": "MOUNT COUNT"})
			return lf.write(os.Stdout, headers, rows, "the fields are those of volume inspect's JSON (Name, Driver, Mountpoint, CreatedAt, Labels, Scope, Options ...)")
		},
	}
}

func writeJSON(w io.Writer, v any, indent string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", indent)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func volumeInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show volumes as JSON",
		ArgsUsage: "VOLUME...",
		Flags: []cli.Flag{
			templateFlag[*volume.Volume]("a Go template applied to each volume, e.g. '{{.Mountpoint}}'", "f"),
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every volume"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 && !ctx.Bool("all") {
				return withCode(125, errors.New("provide one or more volume names or use --all"))
			}
			tmpl, err := inspectFormat(ctx)
			if err != nil {
				return err
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			list := []*volume.Volume{}
			var failed error
			if ctx.Bool("all") {
				if list, err = vs.List(); err != nil {
					return err
				}
			}
			for _, name := range ctx.Args().Slice() {
				v, err := vs.Get(name)
				if err != nil {
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					failed = withCode(125, fmt.Errorf("inspecting object: no such volume %s", name))
					continue
				}
				list = append(list, v)
			}
			if tmpl != nil {
				for _, v := range list {
					if err := writeFormat(os.Stdout, tmpl, v, "the fields are those of the JSON output (myctr volume inspect VOLUME)"); err != nil {
						return err
					}
				}
				return failed
			}
			if list == nil {
				list = []*volume.Volume{}
			}
			if err := writeJSON(os.Stdout, list, "     "); err != nil {
				return err
			}
			return failed
		},
	}
}

// removeVolume removes one volume as volume rm does: in use, it is
// refused (exit 2) unless force, which removes the containers first
// (stopping them with timeout, if one is given).
func removeVolume(ctx *cli.Context, vs *volume.Store, name string, force bool, timeout *time.Duration) error {
	s, err := openContainers(ctx)
	if err != nil {
		return err
	}
	users, err := s.VolumeUsers(name)
	if err != nil {
		return err
	}
	if len(users) > 0 && !force {
		ids := make([]string, len(users))
		for i, c := range users {
			ids[i] = c.ID
		}
		return withCode(2, fmt.Errorf("volume %s is being used by the following container(s): %s: %w", name, strings.Join(ids, ", "), volume.ErrInUse))
	}
	for _, c := range users {
		if timeout != nil {
			c.Refresh()
			if c.Running() {
				if err := s.Stop(c, *timeout); err != nil {
					return err
				}
			}
		}
		if err := s.Remove(c, true); err != nil {
			return fmt.Errorf("remove container %s that uses volume %s: %w", c.Name, name, err)
		}
		releaseCgroup(s, c)
		if err := s.ReleaseNetwork(c); err != nil {
			warnRelease(os.Stderr, err)
		}
	}
	return vs.Remove(name)
}

func volumeRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove volumes",
		ArgsUsage: "VOLUME...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every volume"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove the containers that use a volume first; a missing volume is no error"},
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Usage: "with --force: seconds to wait for a running container to stop before killing it"},
		},
		Action: func(ctx *cli.Context) error {
			all := ctx.Bool("all")
			if all == (ctx.NArg() > 0) {
				return withCode(125, errors.New("choose either one or more volumes or --all"))
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			names := ctx.Args().Slice()
			if all {
				list, err := vs.List()
				if err != nil {
					return err
				}
				for _, v := range list {
					names = append(names, v.Name)
				}
			}
			var timeout *time.Duration
			if isSet(ctx, "time") && ctx.Int("time") >= 0 {
				d := time.Duration(ctx.Int("time")) * time.Second
				timeout = &d
			}
			force := ctx.Bool("force")
			var failed error
			for _, name := range names {
				err := removeVolume(ctx, vs, name, force, timeout)
				if errors.Is(err, volume.ErrNoSuchVolume) {
					if force {
						continue
					}
					err = withCode(1, err)
				}
				if err != nil {
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					failed = err
					continue
				}
				record(ctx, events.TypeVolume, "remove", name, name)
				fmt.Println(name)
			}
			return failed
		},
	}
}

func volumePruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove every volume no container uses",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME, name=, anonymous="},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"},
		},
		Action: func(ctx *cli.Context) error {
			f, err := parseVolumeFilter(ctx.StringSlice("filter"), "label", "label!", "until", "name", "driver", "opt", "anonymous")
			if err != nil {
				return err
			}
			vs, names, err := prunableVolumes(ctx, f)
			if err != nil {
				return err
			}
			if !ctx.Bool("force") {
				fmt.Println("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:")
				for _, n := range names {
					fmt.Println(n)
				}
				fmt.Print("Are you sure you want to continue? [y/N] ")
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			removed, _, err := removeVolumes(ctx, vs, names)
			for _, n := range removed {
				fmt.Println(n)
			}
			return err
		},
	}
}

// prunableVolumes lists the volumes volume prune removes: those no
// container uses that pass f (the store swept first of volumes half made).
func prunableVolumes(ctx *cli.Context, f volume.Filter) (*volume.Store, []string, error) {
	vs, err := openVolumes(ctx)
	if err != nil {
		return nil, nil, err
	}
	vs.Sweep()
	all, err := vs.List()
	if err != nil {
		return nil, nil, err
	}
	used, err := volumesInUse(ctx)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, v := range all {
		if len(used[v.Name]) == 0 && f.Match(v, false) {
			names = append(names, v.Name)
		}
	}
	return vs, names, nil
}

// removeVolumes removes the named volumes, but those a container took up
// since they were listed, and returns the names removed and the bytes
// their files held.
func removeVolumes(ctx *cli.Context, vs *volume.Store, names []string) (removed []string, reclaimed int64, err error) {
	cs, err := openContainers(ctx)
	if err != nil {
		return nil, 0, err
	}
	var failed error
	for _, n := range names {
		if users, err := cs.VolumeUsers(n); err != nil || len(users) > 0 {
			continue
		}
		var size int64
		if v, err := vs.Get(n); err == nil {
			size = diskusage.TreeSize(v.Mountpoint)
		}
		if err := vs.Remove(n); err != nil {
			failed = err
			continue
		}
		record(ctx, events.TypeVolume, "remove", n, n)
		removed = append(removed, n)
		reclaimed += size
	}
	return removed, reclaimed, failed
}

func volumeExistsCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 if the volume exists, 1 if not",
		ArgsUsage: "VOLUME",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("volume exists requires exactly one volume name"))
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			if _, err := vs.Get(ctx.Args().First()); err != nil {
				if errors.Is(err, volume.ErrNoSuchVolume) {
					return withCode(1, nil)
				}
				return err
			}
			return nil
		},
	}
}

// inVolumeNS runs tar on a volume's directory inside the user namespace,
// where the files of subordinate ids keep their owners.
func inVolumeNS(args []string, stdin io.Reader, stdout io.Writer) error {
	m, err := userns.Current()
	if err != nil {
		return err
	}
	var errOut strings.Builder
	u := &nsexec.UserNSCommand{Sub: "unshare", Args: args, Stdin: stdin, Stdout: stdout, Stderr: &errOut}
	if err := u.Run(m); err != nil {
		return fmt.Errorf("%s: %w: %s", args[0], err, strings.TrimSpace(errOut.String()))
	}
	return nil
}

func volumeExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a volume's contents as a tar archive",
		ArgsUsage: "VOLUME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file (default: standard output)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("volume export requires exactly one volume name"))
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			v, err := vs.Get(ctx.Args().First())
			if err != nil {
				return err
			}
			out := io.Writer(os.Stdout)
			if o := ctx.String("output"); o != "" && o != "-" {
				f, err := os.Create(o)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			return inVolumeNS([]string{"tar", "-C", v.Mountpoint, "-cf", "-", "."}, nil, out)
		},
	}
}

func volumeImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "unpack a tar archive into a volume",
		ArgsUsage: "VOLUME FILE|-",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("volume import requires a volume name and a tar file (- for standard input)"))
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			v, err := vs.Get(ctx.Args().First())
			if err != nil {
				return err
			}
			in := io.Reader(os.Stdin)
			if src := ctx.Args().Get(1); src != "-" {
				f, err := os.Open(src)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			return inVolumeNS([]string{"tar", "-C", v.Mountpoint, "-xf", "-"}, in, nil)
		},
	}
}

// volumeArgs lets the volume subcommands take their flags after their
// arguments, as Podman's do (`volume rm NAME --force`): it moves the flags
// that follow `volume SUB ARG` before the arguments; and it lets run mix
// -v and --volume (runVolumeArgs). Other command lines are returned as
// they are.
func volumeArgs(args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if (args[i] == "--root" || args[i] == "--runroot") && i+1 < len(args) {
			i++
		}
		i++
	}
	if i < len(args) && (args[i] == "run" || args[i] == "create") {
		return runVolumeArgs(args, i+1)
	}
	if i+1 >= len(args) || args[i] != "volume" {
		return args
	}
	var sub *cli.Command
	for _, c := range volumeCommand().Subcommands {
		if c.HasName(args[i+1]) {
			sub = c
		}
	}
	if sub == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range sub.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	head := append([]string{}, args[:i+2]...)
	var flags, pos []string
	rest := args[i+2:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if takesValue[name] && !hasValue && j+1 < len(rest) {
			j++
			flags = append(flags, rest[j])
		}
	}
	out := append(head, flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}

// runVolumeArgs spells every --volume of run's own flags (those before the
// image, from index start) -v: urfave/cli refuses a flag given in two
// forms, and Podman users mix -v and --volume on one command line.
func runVolumeArgs(args []string, start int) []string {
	takesValue := map[string]bool{}
	for _, f := range runFlags() {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	out := append([]string{}, args...)
	for j := start; j < len(out); j++ {
		a := out[j]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break // the image: what follows is the container's command
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "volume" {
			out[j] = "-v" + strings.TrimPrefix(a, "--volume")
		}
		if takesValue[name] && !hasValue {
			j++
		}
	}
	return out
}
