package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/systemd"
)

func generateCommand() *cli.Command {
	sd := &cli.Command{
		Name:      "systemd",
		Usage:     "print a systemd service unit that starts a container (or, with --new, creates it at each start)",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "name", Aliases: []string{"n"}, Usage: "use the container's name, not its id, in the unit and its name"},
			&cli.BoolFlag{Name: "new", Usage: "create a new container at each start (from the command line that made this one) and remove it at stop"},
			&cli.StringFlag{Name: "restart-policy", Value: "on-failure", Usage: "the unit's Restart=: no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always"},
			&cli.UintFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds stop waits before killing (default: the container's --stop-timeout, else 10)"},
			&cli.BoolFlag{Name: "files", Aliases: []string{"f"}, Usage: "write PREFIX-NAME.service in the current directory and print its path"},
			&cli.StringFlag{Name: "container-prefix", Value: "container", Usage: "the unit name's prefix"},
			&cli.StringFlag{Name: "separator", Value: "-", Usage: "between the prefix and the name"},
		},
		Action: generateSystemd,
	}
	return group("generate", "generate systemd units from containers", []*cli.Command{sd})
}

func generateSystemd(ctx *cli.Context) error {
	if ctx.NArg() != 1 {
		return withCode(125, errors.New("requires exactly one container name or id"))
	}
	s, err := openContainers(ctx)
	if err != nil {
		return err
	}
	c, err := lookup(s, ctx.Args().First())
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the myctr binary: %w", err)
	}
	ref := c.ID
	if ctx.Bool("name") {
		ref = c.Name
	}
	unitName := ref
	if p := ctx.String("container-prefix"); p != "" {
		unitName = p + ctx.String("separator") + ref
	}
	timeout := uint(systemd.DefaultStopTimeout)
	if t := c.HostConfig.StopTimeout; t != nil {
		timeout = *t
	}
	if isSet(ctx, "time") {
		timeout = ctx.Uint("time")
	}
	o := systemd.ContainerUnitOptions{
		ServiceName:   unitName,
		Binary:        exe,
		Version:       Version,
		Container:     ref,
		New:           ctx.Bool("new"),
		RestartPolicy: ctx.String("restart-policy"),
		StopTimeout:   timeout,
		StopSignal:    int(container.StopSignalOf(c)),
	}
	if o.New {
		if len(c.CreateCommand) == 0 {
			return hint(systemd.ErrNoCreateCommand,
				"the container was made by an older myctr; remove it and run it again, or leave out --new to start and stop this container")
		}
		o.RunCommand, o.Global, err = systemd.RewriteCreateCommand(c.CreateCommand, exe, runLineFlags())
		if err != nil {
			return err
		}
	} else {
		for _, f := range []string{"root", "runroot"} {
			if v := ctx.String(f); v != "" {
				o.Global = append(o.Global, "--"+f+"="+v)
			}
		}
	}
	text, err := systemd.ContainerUnit(o)
	if err != nil {
		return withCode(125, err)
	}
	if !ctx.Bool("files") {
		fmt.Print(text)
		return nil
	}
	path, err := filepath.Abs(unitName + ".service")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}

// runLineFlags maps the names of myctr's global flags and run's to whether
// each is a boolean (takes no value), which is how a run command line's
// flags are told from its image.
func runLineFlags() map[string]bool {
	flags := map[string]bool{"help": true, "h": true, "version": true, "v": true}
	for _, f := range append(App().Flags, runFlags()...) {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			flags[n] = isBool
		}
	}
	return flags
}
