package cli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
)

// Help is laid out as Podman's (cobra's), which scripts read: the usage,
// a Description, "Usage:" with a one-line synopsis that begins with the
// name myctr was called by, and ends in [command] for a group, then
// "Available Commands:" and "Options:". urfave/cli renders it from these
// templates, through helpPrinter (which adds the functions they call).
const (
	appHelpTemplate = `{{sentence .Usage}}

Usage:
  {{.HelpName}} [options] [command]

Available Commands:
{{commandLines .VisibleCommands}}
Options:
{{flagLines .VisibleFlags}}`

	groupHelpTemplate = `{{sentence .Usage}}
{{with .Description}}
Description:
{{indentText .}}
{{end}}
Usage:
  {{.HelpName}} [command]
{{if .Aliases}}
Aliases:
  {{join .Names ", "}}
{{end}}
Available Commands:
{{commandLines (subcommands .)}}{{with options .VisibleFlags}}
Options:
{{flagLines .}}{{end}}`

	commandHelpTemplate = `{{sentence .Usage}}
{{with .Description}}
Description:
{{indentText .}}
{{end}}
Usage:
  {{.HelpName}}{{if ne .Name "help"}} [options]{{end}}{{with .ArgsUsage}} {{.}}{{end}}
{{if .Aliases}}
Aliases:
  {{join .Names ", "}}
{{end}}
Options:
{{flagLines .VisibleFlags}}`
)

func init() { cli.HelpPrinter = helpPrinter }

// helpFuncs are the functions the help templates call.
var helpFuncs = map[string]any{
	"sentence":     sentence,
	"indentText":   indentText,
	"commandLines": commandLines,
	"flagLines":    flagLines,
	"options":      options,
	"subcommands":  subcommands,
}

// subcommands are c's visible subcommands but urfave/cli's help (which
// it gives every command: help is the program's command).
func subcommands(c *cli.Command) []*cli.Command {
	return slices.DeleteFunc(c.VisibleCommands(), func(s *cli.Command) bool { return s.Name == "help" })
}

// helpPrinter prints the help of the program (data is the *cli.App) or
// of a command (a *cli.Command: a group when it has subcommands), in
// Podman's layout whichever template urfave/cli chose.
func helpPrinter(w io.Writer, _ string, data any) {
	templ := commandHelpTemplate
	switch d := data.(type) {
	case *cli.App:
		templ = appHelpTemplate
	case *cli.Command:
		if len(subcommands(d)) > 0 {
			templ = groupHelpTemplate
		}
	}
	cli.HelpPrinterCustom(w, templ, data, helpFuncs)
}

// sentence is s with its first letter in upper case: a command's usage
// as the first line of its help.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// indentText indents each line of s by two spaces.
func indentText(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}

// commandLines lists commands by name (not their aliases, which each
// command's own help gives), sorted, with their usage in a column.
func commandLines(cmds []*cli.Command) string {
	var lines []string
	for _, c := range cmds {
		lines = append(lines, "  "+c.Name+"\t"+sentence(c.Usage)+"\n")
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// options are flags without the help flag (which every command has).
func options(flags []cli.Flag) []cli.Flag {
	return slices.DeleteFunc(slices.Clone(flags), func(f cli.Flag) bool { return slices.Contains(f.Names(), "help") })
}

// flagLines lists flags as cobra does, the help flag last: "  -a, --all",
// or "      --name string" for one without a short name, then the usage
// and the default.
func flagLines(flags []cli.Flag) string {
	var b strings.Builder
	docs := flagDocs(options(flags))
	help := []string{"--help", "-h"}
	if hasFlag(flags, "-h") && !slices.ContainsFunc(flags, func(f cli.Flag) bool { return f == cli.HelpFlag }) {
		help = help[:1] // run's and create's -h is --hostname
	}
	docs = append(docs, flagDoc{names: help, usage: "help for this command"})
	for _, d := range docs {
		var long, short string
		for _, n := range d.names {
			if strings.HasPrefix(n, "--") && long == "" {
				long = n
			} else if !strings.HasPrefix(n, "--") && short == "" {
				short = n
			}
		}
		b.WriteString("  ")
		if short != "" {
			b.WriteString(short + ", ")
		} else {
			b.WriteString("    ")
		}
		b.WriteString(long)
		if d.value {
			b.WriteString(" " + d.kind)
		}
		b.WriteString("\t" + d.usage)
		if d.def != "" && d.kind == "string" && !strings.HasPrefix(d.def, `"`) {
			b.WriteString(" (default " + strconv.Quote(d.def) + ")")
		} else if d.def != "" {
			b.WriteString(" (default " + d.def + ")")
		}
		for _, e := range d.envs {
			b.WriteString(" [$" + e + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// rootAction runs when the first argument names no command: `myctr` alone
// prints help; anything else is an unrecognized command (exit 125, as
// Podman), with the nearest command as a hint.
func rootAction(ctx *cli.Context) error {
	args := ctx.Args().Slice()
	if len(args) == 0 {
		// Podman's: the help, then an error naming what is missing.
		if err := cli.ShowAppHelp(ctx); err != nil {
			return err
		}
		return withCode(125, fmt.Errorf("missing command '%s COMMAND'", ctx.App.HelpName))
	}
	// As cobra parses every flag before it finds the command, a flag
	// the program does not know is the error to report first.
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if strings.HasPrefix(a, "-") && a != "-" && !slices.ContainsFunc(ctx.App.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) }) {
			return ctx.App.OnUsageError(ctx, fmt.Errorf("flag provided but not defined: %s", strings.SplitN(a, "=", 2)[0]), false)
		}
	}
	return unrecognized(ctx, args[0])
}

// helpCommand is `help [COMMAND...]`: the program's help, or a command's
// (`help volume create`).
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "help about any command",
		ArgsUsage: "[command]",
		// Its own --help, below: urfave/cli's would show the program's
		// help for a command named help.
		SkipFlagParsing: true,
		Action: func(ctx *cli.Context) error {
			args := ctx.Args().Slice()
			if len(args) == 0 {
				return cli.ShowAppHelp(ctx)
			}
			if args[0] == "--help" || args[0] == "-h" {
				ctx.Command.HelpName = ctx.App.HelpName + " help"
				cli.HelpPrinter(ctx.App.Writer, "", ctx.Command)
				return nil
			}
			cmds, name := ctx.App.Commands, ctx.App.HelpName
			var c *cli.Command
			for i, a := range args {
				next := findCommand(cmds, a)
				if next == nil || next.Hidden {
					if c == nil {
						return unrecognized(ctx, a)
					}
					parent := strings.Join(args[:i], " ")
					return withCode(125, hint(fmt.Errorf("unrecognized command `%s %s %s`", ctx.App.HelpName, parent, a),
						"run `%s %s --help` to list its commands", ctx.App.HelpName, parent))
				}
				c, name = next, name+" "+next.Name
				cmds = c.Subcommands
			}
			c.HelpName = name
			cli.HelpPrinter(ctx.App.Writer, "", c)
			return nil
		},
	}
}

func unrecognized(ctx *cli.Context, name string) error {
	prog := ctx.App.HelpName
	err := fmt.Errorf("unrecognized command `%s %s`", prog, name)
	if s := suggestCommand(ctx.App.Commands, name); s != "" {
		return withCode(125, hint(err, "did you mean `%s %s`?", prog, s))
	}
	return withCode(125, hint(err, "run `%s --help` to list the commands", prog))
}

// suggestCommand returns the visible command (or alias) nearest to name:
// one edit away, else one that name begins, else two edits away (the
// first in sorted order among equals); "" if there is none.
func suggestCommand(cmds []*cli.Command, name string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	sort.Strings(names)
	best, bestScore := "", 5
	for _, n := range names {
		// Scores: 0 or 2 for zero or one edit, 3 for a prefix, 4 for two edits.
		score := 2 * levenshtein(name, n)
		if strings.HasPrefix(n, name) && score > 3 {
			score = 3
		}
		if score < bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

// levenshtein is the edit distance between a and b (insertions,
// deletions and substitutions of bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
