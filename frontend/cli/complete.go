package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Cobra's hidden completion protocol, which Podman's shell scripts and
// tests call: `myctr __complete WORD... PARTIAL` prints one suggestion a
// line ("value\tdescription"; __completeNoDesc leaves the descriptions
// out), then ":DIRECTIVE", the shell's instructions as a bit set.
// Suggested are subcommands, flags, and the fields of a --format
// template; other words get only the directive.

// Cobra's ShellCompDirective bits.
const (
	compDefault    = 0 // the shell may complete file names
	compNoSpace    = 2 // no space after the suggestion: it goes on
	compNoFileComp = 4 // no file names
)

func completeCommands() []*cli.Command {
	mk := func(name string, desc bool) *cli.Command {
		return &cli.Command{
			Name:   name,
			Hidden: true,
			// The words are the command line being completed, flags and
			// all, never this command's; no help flag or command either.
			SkipFlagParsing: true,
			HideHelp:        true,
			HideHelpCommand: true,
			Action: func(ctx *cli.Context) error {
				words := ctx.Args().Slice()
				if len(words) == 0 {
					words = []string{""}
				}
				items, directive := complete(ctx.App, words[:len(words)-1], words[len(words)-1])
				w := ctx.App.Writer
				for _, it := range items {
					if !desc {
						it, _, _ = strings.Cut(it, "\t")
					}
					fmt.Fprintln(w, it)
				}
				fmt.Fprintf(w, ":%d\n", directive)
				fmt.Fprintf(ctx.App.ErrWriter, "Completion ended with directive: %s\n", directiveNames(directive))
				return nil
			},
		}
	}
	return []*cli.Command{mk("__complete", true), mk("__completeNoDesc", false)}
}

// directiveNames is cobra's wording of a directive, on stderr.
func directiveNames(d int) string {
	if d == compDefault {
		return "ShellCompDirectiveDefault"
	}
	var names []string
	for _, b := range []struct {
		bit  int
		name string
	}{{1, "ShellCompDirectiveError"}, {compNoSpace, "ShellCompDirectiveNoSpace"}, {compNoFileComp, "ShellCompDirectiveNoFileComp"}} {
		if d&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	return strings.Join(names, ", ")
}

// complete suggests what the word partial, after words (the command line
// without the program's name), may be.
func complete(app *cli.App, words []string, partial string) ([]string, int) {
	cmds, flags := app.Commands, app.Flags
	var cmd *cli.Command
	var value cli.Flag // the flag whose value partial is
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			return nil, compDefault
		}
		if strings.HasPrefix(w, "-") && w != "-" {
			if f := flagNamed(flags, app.Flags, w); f != nil && valueCount([]cli.Flag{f}, w) == 1 {
				if i == len(words)-1 {
					value = f
				}
				i++
			}
			continue
		}
		if c := findCommand(cmds, w); c != nil && !c.Hidden {
			cmd, cmds, flags = c, c.Subcommands, c.Flags
			continue
		}
		cmds = nil // an argument: no subcommand after it
	}
	// --flag=PARTIAL
	if value == nil && strings.HasPrefix(partial, "-") {
		if name, v, ok := strings.Cut(partial, "="); ok {
			if f := flagNamed(flags, app.Flags, name); f != nil {
				items, d := completeValue(f, v)
				for i := range items {
					items[i] = name + "=" + items[i]
				}
				return items, d
			}
			return nil, compNoFileComp
		}
	}
	switch {
	case value != nil:
		return completeValue(value, partial)
	case strings.HasPrefix(partial, "-"):
		var items []string
		help := cli.Flag(cli.HelpFlag)
		if hasFlag(flags, "--help") {
			help = nil // run's and create's own (-h is --hostname)
		}
		withHelp := slices.Clone(flags)
		if help != nil {
			withHelp = append(withHelp, help)
		}
		for _, d := range flagDocs(withHelp) {
			for _, n := range d.names {
				if strings.HasPrefix(n, partial) && (strings.HasPrefix(n, "--") || !strings.HasPrefix(partial, "--")) {
					items = append(items, n+"\t"+d.usage)
				}
			}
		}
		return items, compNoFileComp
	case len(cmds) > 0:
		var items []string
		for _, c := range cmds {
			if !c.Hidden && c.Name != "help" && strings.HasPrefix(c.Name, partial) {
				items = append(items, c.Name+"\t"+sentence(c.Usage))
			}
		}
		if cmd == nil && strings.HasPrefix("help", partial) {
			items = append(items, "help\tHelp about any command")
		}
		slices.Sort(items)
		return items, compNoFileComp
	case cmd != nil && (cmd.ArgsUsage == "" || len(parseArgsUsage(cmd.ArgsUsage).kinds) > 0):
		// No arguments, or containers, images, volumes or networks:
		// never file names.
		return nil, compNoFileComp
	}
	return nil, compDefault
}

// flagNamed is the flag that the argument a ("--format", "-f",
// "--format=x") names among flags, else among the program's.
func flagNamed(flags, global []cli.Flag, a string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	for _, list := range [][]cli.Flag{flags, global} {
		for _, f := range list {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
	}
	return nil
}

// completeValue suggests a value of flag f: a --format template's fields.
func completeValue(f cli.Flag, partial string) ([]string, int) {
	ff, ok := f.(*formatFlag)
	if !ok {
		return nil, compDefault
	}
	if ff.of != nil {
		if items := templateFields(ff.of, partial); len(items) > 0 {
			return items, compNoSpace | compNoFileComp
		}
	}
	return nil, compNoFileComp
}

// templateFields completes the last field of a Go template that partial
// ends in ("{{.Host.Ar", "{{json ."), as Podman does: each field (or
// method without arguments) of the type that the path before it leads to,
// whose name begins with what is typed, ending in "}}", or in "." where
// it has fields of its own (a struct or a map).
func templateFields(t reflect.Type, partial string) []string {
	open := strings.LastIndex(partial, "{{")
	if open < 0 || strings.Contains(partial[open:], "}}") {
		return nil
	}
	action := partial[open+2:]
	word := action[strings.LastIndexAny(action, " (")+1:]
	if !strings.HasPrefix(word, ".") {
		return nil
	}
	path := strings.Split(word[1:], ".")
	typed := path[len(path)-1]
	for _, name := range path[:len(path)-1] {
		if t = fieldType(t, name); t == nil {
			return nil
		}
	}
	head := partial[:len(partial)-len(typed)]
	var items []string
	for _, f := range fieldsOf(t) {
		if !strings.HasPrefix(f.name, typed) {
			continue
		}
		end := "}}"
		if hasFields(f.typ) {
			end = "."
		}
		items = append(items, head+f.name+end)
	}
	return items
}

type templateField struct {
	name string
	typ  reflect.Type
}

// fieldsOf lists what a template may name on a value of type t: its
// exported fields, then its methods that take no argument and return a value.
func fieldsOf(t reflect.Type) []templateField {
	var out []templateField
	seen := map[string]bool{}
	add := func(name string, typ reflect.Type) {
		if !seen[name] {
			seen[name] = true
			out = append(out, templateField{name, typ})
		}
	}
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if base.Kind() == reflect.Struct {
		// VisibleFields: those of embedded structs too, as Go promotes them.
		for _, f := range reflect.VisibleFields(base) {
			if f.IsExported() {
				add(f.Name, f.Type)
			}
		}
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		mt := m.Type // the receiver is its first argument
		if m.IsExported() && mt.NumIn() == 1 && (mt.NumOut() == 1 || mt.NumOut() == 2 && mt.Out(1) == reflect.TypeFor[error]()) {
			add(m.Name, mt.Out(0))
		}
	}
	return out
}

// fieldType is the type of t's field or method name, or nil.
func fieldType(t reflect.Type, name string) reflect.Type {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f.typ
		}
	}
	return nil
}

// hasFields: whether a template goes on after a value of type t
// (.Host.Arch, .Labels.KEY).
func hasFields(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}
