package cli

import (
	"slices"
	"sync"

	"github.com/urfave/cli/v2"
)

// isSet reports whether the user gave the flag name (by any of its names,
// or through its environment variable), as ctx.IsSet does, from a set of
// the given flags made once per context. urfave/cli's IsSet walks every
// flag of the command for a flag not given, running a regexp over each of
// its names: with run's some 180 flags and the 30-odd it asks about, that
// was 2% of `run --rm`'s CPU.
func isSet(ctx *cli.Context, name string) bool {
	given.mu.Lock()
	defer given.mu.Unlock()
	if given.ctx != ctx {
		given.ctx, given.names = ctx, givenFlags(ctx)
	}
	return given.names[name]
}

// given caches givenFlags for the last context asked about (a command
// asks about its own context only).
var given struct {
	mu    sync.Mutex
	ctx   *cli.Context
	names map[string]bool
}

// givenFlags is the names of the flags given in ctx and its parents, each
// with all its aliases.
func givenFlags(ctx *cli.Context) map[string]bool {
	names := map[string]bool{}
	for _, n := range ctx.FlagNames() {
		names[n] = true
	}
	for _, c := range ctx.Lineage() {
		var flags []cli.Flag
		switch {
		case c.Command != nil:
			flags = c.Command.Flags
		case c.App != nil:
			flags = c.App.Flags
		}
		for _, f := range flags {
			all := f.Names()
			for _, n := range all {
				if names[n] {
					for _, a := range all {
						names[a] = true
					}
					break
				}
			}
		}
	}
	return names
}

// skipFlagActions spares each command of cmds (and their subcommands)
// urfave/cli's pass for flag Action callbacks (runFlagActions). That pass
// asks IsSet of every name of every flag, and IsSet looks a flag not given
// up through the flags of the command, running a regexp over each of their
// names: for run's 77 flags, a quadratic 1.1 ms and 16,000 allocations of
// each `myctr run` (BenchmarkRunCommandLine). Before hides the command's
// flags from the pass; the command's action puts them back, then runs the
// Action of each flag given, as the pass would have, before its own. A
// command about to hand over to a subcommand (`run help`) keeps its flags
// and urfave's pass: the subcommand reads them. urfave/cli does not call
// Before when it completes a command line, and then nothing is hidden.
func skipFlagActions(cmds []*cli.Command) {
	for _, c := range cmds {
		skipFlagActions(c.Subcommands)
		if c.Action == nil {
			continue // urfave/cli shows the command's help
		}
		before, action := c.Before, c.Action
		var hidden []cli.Flag
		c.Before = func(ctx *cli.Context) error {
			if before != nil {
				if err := before(ctx); err != nil {
					return err
				}
			}
			if ctx.Args().Present() && ctx.Command.Command(ctx.Args().First()) != nil {
				return nil
			}
			hidden, ctx.Command.Flags = ctx.Command.Flags, nil
			return nil
		}
		c.Action = func(ctx *cli.Context) error {
			if hidden != nil {
				ctx.Command.Flags, hidden = hidden, nil
				if err := runGivenFlagActions(ctx); err != nil {
					return err
				}
			}
			return action(ctx)
		}
	}
}

// runGivenFlagActions is urfave/cli's runFlagActions, with isSet.
func runGivenFlagActions(ctx *cli.Context) error {
	for _, f := range ctx.Command.Flags {
		af, ok := f.(cli.ActionableFlag)
		if !ok || !slices.ContainsFunc(f.Names(), func(n string) bool { return isSet(ctx, n) }) {
			continue
		}
		if err := af.RunAction(ctx); err != nil {
			return err
		}
	}
	return nil
}
