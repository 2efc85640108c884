package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/container"
)

// attachCommand is Podman's attach, for what myctr can attach to: the
// output of a running container from now on (its log, which its monitor
// writes), until it exits, with its exit code; the signals attach gets
// go to the container (--sig-proxy, the default). The stdin of a
// container started detached is no process's to hand over.
func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "follow a running container's output until it exits, passing it your signals",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stdin", Usage: "do not attach standard input (myctr never does: the container's stdin is its monitor's)"},
			&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "pass the signals attach receives (SIGINT, SIGTERM, ...) to the container"},
			latestFlag(),
		},
		Action: func(ctx *cli.Context) error {
			s, c, err := oneContainer(ctx, "attach requires the name or id of one running container")
			if err != nil {
				return err
			}
			if c.Refresh(); !c.Running() {
				// Podman's words.
				return withCode(125, hint(errors.New("you can only attach to running containers"), "start it first: myctr start --attach %s", c.Name))
			}
			return attachTo(ctx, s, c, ctx.Bool("sig-proxy"))
		},
	}
}

// oneContainer is the one container ctx's arguments (or --latest) name;
// more or none is an error, tooMany.
func oneContainer(ctx *cli.Context, tooMany string) (*container.Store, *container.Container, error) {
	refs, err := withLatest(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(refs) != 1 {
		return nil, nil, withCode(125, errors.New(tooMany))
	}
	s, err := openContainers(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := lookup(s, refs[0])
	if err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// attachTo follows the running container c's output from now on until
// it exits, and returns its exit code; with sigProxy the signals we get
// go to it.
func attachTo(ctx *cli.Context, s *container.Store, c *container.Container, sigProxy bool) error {
	if c.HostConfig.Interactive && !ctx.Bool("no-stdin") {
		fmt.Fprintln(os.Stderr, "Warning: the container's standard input stays with its monitor: attach follows its output only")
	}
	if sigProxy {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				if err := s.Signal(c, sig.(unix.Signal)); err != nil {
					fmt.Fprintf(os.Stderr, "Warning: pass %v to %s: %v\n", sig, c.Name, err)
				}
			}
		}()
	}
	// From now on, to the container's end: its log is read to the
	// end once it has exited.
	o := container.LogOptions{Follow: true, Tail: 0}
	if err := s.Logs([]*container.Container{c}, o, os.Stdout, os.Stderr); err != nil {
		return err
	}
	code, err := s.Wait(c)
	if errors.Is(err, container.ErrNotFound) {
		return nil // removed at its end (--rm): the code went with it
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return withCode(code, nil)
	}
	return nil
}
