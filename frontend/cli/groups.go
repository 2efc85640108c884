package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

// group makes a command whose subcommands are subs, as Podman groups its
// verbs (`container ls`, `image rm`); an unknown subcommand is an error
// naming it, with exit 125.
func group(name, usage string, subs []*cli.Command) *cli.Command {
	for _, c := range subs {
		c.OnUsageError = onUsageError(nil)
		c.UseShortOptionHandling = true
	}
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		HideHelpCommand: true,
		Subcommands:     subs,
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				// Podman's: the help, then an error naming what is missing.
				if err := cli.ShowSubcommandHelp(ctx); err != nil {
					return err
				}
				return withCode(125, fmt.Errorf("missing command '%s %s COMMAND'", ctx.App.HelpName, name))
			}
			return withCode(125, hint(fmt.Errorf("unrecognized command `%s %s %s`", ctx.App.HelpName, name, ctx.Args().First()),
				"run `%s %s --help` to list its commands", ctx.App.HelpName, name))
		},
	}
}

// renamed is cmd under another name (and aliases), for a group.
func renamed(cmd *cli.Command, name string, aliases ...string) *cli.Command {
	cmd.Name, cmd.Aliases = name, aliases
	return cmd
}

// containerCommand is `container VERB`: Podman's spelling of every
// container verb.
func containerCommand() *cli.Command {
	return group("container", "manage containers", []*cli.Command{
		runCommand(), createCommand(), renamed(psCommand(), "ls", "list", "ps"), inspectContainerCommand(), logsCommand(),
		stopCommand(), killCommand(), rmCommand(), startCommand(), pauseCommand(), unpauseCommand(), restartCommand(), waitCommand(),
		execCommand(), portCommand(), statsCommand(), updateCommand(), existsContainerCommand(), cpCommand(), topCommand(),
		commitCommand(), renameCommand(), containerPruneCommand(), exportCommand(), diffCommand(), attachCommand(),
	})
}

// inspectContainerCommand is `container inspect`.
func inspectContainerCommand() *cli.Command {
	c := inspectCommand()
	c.Usage = "show the configuration and state of containers as JSON"
	c.Flags = []cli.Flag{templateFlag[inspectEntry]("a Go template applied to each container, e.g. '{{.State.Pid}}' or '{{json .NetworkSettings.Ports}}'", "f")} // no --type
	c.Action = func(ctx *cli.Context) error { return inspectObjects(ctx, "container") }
	return c
}

// existsContainerCommand is `container exists`: exit 0 when there is such
// a container, 1 when there is not.
func existsContainerCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 if the container exists, 1 if it does not",
		ArgsUsage: "CONTAINER",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one container name or id"))
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			if _, err := lookup(s, ctx.Args().First()); err != nil {
				if errors.Is(err, container.ErrNotFound) {
					return withCode(1, nil)
				}
				return err
			}
			return nil
		},
	}
}

// existsImageCommand is `image exists`: exit 0 when there is such an
// image, 1 when there is not.
func existsImageCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 if the image exists, 1 if it does not",
		ArgsUsage: "IMAGE",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one image name or id"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			if _, err := s.Lookup(ctx.Args().First()); err != nil {
				if errors.Is(err, image.ErrImageUnknown) {
					return withCode(1, nil)
				}
				return err
			}
			return nil
		},
	}
}

// untagCommand takes names away from an image (all of them without
// NAME), keeping the image, as Podman's untag.
func untagCommand() *cli.Command {
	return &cli.Command{
		Name:      "untag",
		Usage:     "take names away from an image (all of them when none is given); the image stays",
		ArgsUsage: "IMAGE [NAME...]",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 {
				return withCode(125, errors.New("requires an image: myctr untag IMAGE [NAME...]"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			args := ctx.Args().Slice()
			img, _ := s.Lookup(args[0]) // for the events: the names go
			names, err := s.Untag(args[0], args[1:])
			if err != nil {
				if errors.Is(err, image.ErrNameNotOfImage) {
					return withCode(125, err)
				}
				return explain(err)
			}
			for _, n := range names {
				if img != nil {
					record(ctx, events.TypeImage, "untag", img.ID, n)
				}
			}
			return nil
		},
	}
}
