package cli

import (
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
