package cli

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// stopAtFirstArg are the commands whose arguments after the first (the
// image, the container, the program) are the container's command line,
// flags included: Podman's rule for run, create and exec, at the top or
// under `container` (`pod create` and `network create` are not theirs).
var stopAtFirstArg = []string{"run", "create", "exec", "unshare"}

// interspersed rewrites a command line so that a command's flags written
// after its arguments (`myctr inspect web --format ...`, `myctr rm web -f`)
// come before them, as Podman's command line allows; urfave/cli stops at
// the first argument. Nothing moves past "--", after the first argument
// of run, create, exec and unshare, or in a command that parses its own
// flags. The program name is args[0].
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// The global flags, then the command and any subcommands.
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		n := 1 + valueCount(app.Flags, args[i])
		out = append(out, args[i:min(i+n, len(args))]...)
		i += n
	}
	cmds := app.Commands
	var cmd *cli.Command
	var path []string
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		cmd = c
		path = append(path, args[i])
		i++
		cmds = c.Subcommands
	}
	if cmd == nil || cmd.SkipFlagParsing || i >= len(args) {
		return append(append(out, path...), args[i:]...)
	}
	stop := slices.Contains(stopAtFirstArg, cmd.Name) && (len(path) == 1 || path[0] == "container")
	var flags, rest []string
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			// A global flag (--log-level, --root) after the command goes
			// before it, unless the command has a flag of that name.
			// --help stays: every command has it.
			list, defs := &flags, cmd.Flags
			if !hasFlag(cmd.Flags, a) && hasFlag(app.Flags, a) && !hasFlag([]cli.Flag{cli.HelpFlag}, a) {
				list, defs = &out, app.Flags
			}
			if name, value, ok := attachedValue(defs, a); ok {
				*list = append(*list, longForm(defs, name), value)
				i++
				continue
			}
			n := 1 + valueCount(defs, a)
			*list = append(*list, longForm(defs, a))
			*list = append(*list, args[i+1:min(i+n, len(args))]...)
			i += n
		default:
			rest = append(rest, a)
			i++
			if stop {
				rest = append(rest, args[i:]...)
				i = len(args)
			}
		}
	}
	return append(append(append(out, path...), flags...), rest...)
}

// longForm writes a one-letter flag ("-e", "-e=V") by its long name, so
// that a command line may give both forms of one flag ("-e A=1 --env
// B=2", "-l a --label b"), as Podman's allows and urfave/cli does not.
func longForm(flags []cli.Flag, a string) string {
	if strings.HasPrefix(a, "--") || !strings.HasPrefix(a, "-") {
		return a
	}
	name, value, withValue := strings.Cut(a[1:], "=")
	if len(name) != 1 {
		return a // a group of short flags (-it) stays as it is
	}
	for _, f := range flags {
		names := f.Names()
		if len(names) > 1 && len(names[0]) > 1 && slices.Contains(names[1:], name) {
			if withValue {
				return "--" + names[0] + "=" + value
			}
			return "--" + names[0]
		}
	}
	return a
}

// hasFlag: whether flags has the flag that argument a names.
func hasFlag(flags []cli.Flag, a string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// findCommand is the command named (or aliased) name, or nil.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

// valueCount is how many of the following arguments the flag a takes: 1
// for a flag with a value written apart ("--name web", "-p 80"), else 0
// ("--name=web", a boolean, a group of short booleans, an unknown flag).
func valueCount(flags []cli.Flag, a string) int {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return 0
	}
	if !strings.HasPrefix(a, "--") && len(name) > 1 {
		// -it, -dp 80: the last letter may take the value.
		name = name[len(name)-1:]
	}
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
			return 1
		}
		return 0
	}
	return 0
}

// attachedValue splits a short flag written with its value attached
// ("-t0", "-n5"), as Podman's command line takes it: when a is no flag of
// its own and its first letter is a short flag that takes a value.
func attachedValue(flags []cli.Flag, a string) (string, string, bool) {
	if strings.HasPrefix(a, "--") || len(a) < 3 || strings.Contains(a, "=") || hasFlag(flags, a) {
		return "", "", false
	}
	short := a[:2]
	if !hasFlag(flags, short) || valueCount(flags, short) != 1 {
		return "", "", false
	}
	return short, a[2:], true
}
