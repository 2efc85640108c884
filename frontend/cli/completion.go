package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command tree as completion scripts and man pages see it: walked
// from App() when they are generated, so that a command or flag added
// anywhere shows up in both without being listed again.

// cmdNode is one command (or the program itself, with an empty path).
type cmdNode struct {
	path  []string // "image", "ls"
	names []string // the name, then its aliases
	usage string   // the program's Usage, for the root
	cmd   *cli.Command
	flags []flagDoc
	subs  []*cmdNode
	args  argKinds
}

// flagDoc is what a flag shows: its spellings, whether it takes a value,
// its usage, default and environment variables.
type flagDoc struct {
	names  []string // "--network", "-n"
	value  bool
	usage  string
	def    string
	envs   []string
	repeat bool   // a slice flag: may be given more than once
	kind   string // what the value is, as help names it: string, int, stringArray...
}

// argKinds says what a command's positional arguments name, read from its
// ArgsUsage: "CONTAINER...", "IMAGE [COMMAND...]", "VOLUME", ...
type argKinds struct {
	kinds  []string // "container", "image", "volume", "network"
	repeat bool     // every argument (else the first only)
}

// commandTree walks App().
func commandTree() *cmdNode {
	app := App()
	root := &cmdNode{names: []string{app.Name}, usage: app.Usage, flags: flagDocs(app.Flags)}
	root.subs = subNodes(nil, app.Commands)
	return root
}

func subNodes(parent []string, cmds []*cli.Command) []*cmdNode {
	var out []*cmdNode
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		n := &cmdNode{
			path:  append(slices.Clone(parent), c.Name),
			names: append([]string{c.Name}, c.Aliases...),
			cmd:   c,
			flags: flagDocs(c.Flags),
			args:  parseArgsUsage(c.ArgsUsage),
		}
		n.subs = subNodes(n.path, c.Subcommands)
		out = append(out, n)
	}
	return out
}

func flagDocs(flags []cli.Flag) []flagDoc {
	var out []flagDoc
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		d := flagDoc{value: true}
		for _, n := range f.Names() {
			if len(n) == 1 {
				d.names = append(d.names, "-"+n)
			} else {
				d.names = append(d.names, "--"+n)
			}
		}
		if g, ok := f.(cli.DocGenerationFlag); ok {
			d.value = g.TakesValue()
			d.usage = g.GetUsage()
			d.envs = g.GetEnvVars()
			d.def = g.GetDefaultText()
			if d.def == "" && d.value {
				d.def = g.GetValue()
			}
		}
		if s, ok := f.(cli.DocGenerationSliceFlag); ok && s.IsSliceFlag() {
			d.repeat = true
		}
		if d.def == "false" || d.def == "[]" || d.def == `""` {
			d.def = ""
		}
		d.kind = flagKind(f)
		out = append(out, d)
	}
	return out
}

// flagKind names the type of a flag's value as cobra's help does.
func flagKind(f cli.Flag) string {
	switch f.(type) {
	case *cli.BoolFlag:
		return "bool"
	case *cli.IntFlag, *cli.Int64Flag:
		return "int"
	case *cli.UintFlag, *cli.Uint64Flag:
		return "uint"
	case *cli.Float64Flag:
		return "float"
	case *cli.DurationFlag:
		return "duration"
	case *cli.StringSliceFlag:
		return "stringArray"
	case *cli.IntSliceFlag, *cli.Int64SliceFlag:
		return "ints"
	}
	return "string"
}

// parseArgsUsage reads the first argument's kind from a usage such as
// "CONTAINER|IMAGE...", "[IMAGE...]" or "IMAGE [COMMAND [ARG...]]".
func parseArgsUsage(u string) argKinds {
	first, _, _ := strings.Cut(strings.TrimSpace(u), " ")
	first = strings.Trim(first, "[]")
	var a argKinds
	if strings.HasSuffix(first, "...") {
		a.repeat = true
		first = strings.TrimSuffix(first, "...")
	}
	for _, w := range strings.Split(first, "|") {
		w, _, _ = strings.Cut(w, "[") // IMAGE[:TAG|@DIGEST]
		switch w {
		case "CONTAINER", "IMAGE", "VOLUME", "NETWORK":
			a.kinds = append(a.kinds, strings.ToLower(w))
		}
	}
	return a
}

// The commands that list what arguments name, in a form each command
// takes back; their --format templates are checked by the completion test.
var listCommands = map[string]string{
	"container": "myctr ps -a --format '{{.Names}}'",
	"image":     "myctr images --format '{{.Repository}}:{{.Tag}}'",
	"volume":    "myctr volume ls --format '{{.Name}}'",
	"network":   "myctr network ls --format '{{.Name}}'",
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (SHELL: bash, zsh or fish): source <(myctr completion bash)",
		ArgsUsage: "SHELL",
		Description: "Prints a completion script for bash, zsh or fish, made from myctr's own commands and flags. " +
			"It completes commands, subcommands, flags, and the names of containers, images, volumes and networks where a command takes them " +
			"(by running myctr ps, images, volume ls and network ls). make install puts the scripts where each shell looks.",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, fmt.Errorf("completion requires one shell: bash, zsh or fish"))
			}
			t := commandTree()
			switch ctx.Args().First() {
			case "bash":
				return writeBash(os.Stdout, t)
			case "zsh":
				return writeZsh(os.Stdout, t)
			case "fish":
				return writeFish(os.Stdout, t)
			}
			return withCode(125, fmt.Errorf("completion: unknown shell %q: bash, zsh or fish", ctx.Args().First()))
		},
	}
}

// walk calls f on n and every command under it.
func (n *cmdNode) walk(f func(*cmdNode)) {
	f(n)
	for _, s := range n.subs {
		s.walk(f)
	}
}

// key names a command in the scripts' tables: "myctr", "myctr image ls"
// (bash's associative arrays take no empty key).
func (n *cmdNode) key() string { return strings.Join(append([]string{"myctr"}, n.path...), " ") }

// shellQuote quotes s for sh, bash, zsh and fish alike (single quotes; a
// single quote inside is closed, escaped and reopened, which fish reads
// the same way).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// allFlags are a command's flag spellings, and the value-taking ones.
func (n *cmdNode) allFlags() (all, valued []string) {
	for _, f := range n.flags {
		all = append(all, f.names...)
		if f.value {
			valued = append(valued, f.names...)
		}
	}
	return append(all, "--help"), valued
}

// writeBash writes a bash completion function whose tables come from the
// tree: for each command path, its subcommands (with aliases), its flags,
// the flags that take a value (so that a value is not taken for a
// command), and what its arguments name.
func writeBash(w io.Writer, t *cmdNode) error {
	var b strings.Builder
	b.WriteString("# bash completion for myctr, generated by `myctr completion bash` from its commands.\n")
	b.WriteString("declare -gA _myctr_subs=() _myctr_canon=() _myctr_flags=() _myctr_valued=() _myctr_args=()\n")
	t.walk(func(n *cmdNode) {
		k := shellQuote(n.key())
		var subs []string
		for _, s := range n.subs {
			subs = append(subs, s.names...)
			for _, name := range s.names {
				fmt.Fprintf(&b, "_myctr_canon[%s]=%s\n", shellQuote(n.key()+" "+name), shellQuote(s.key()))
			}
		}
		all, valued := n.allFlags()
		fmt.Fprintf(&b, "_myctr_subs[%s]=%s\n", k, shellQuote(strings.Join(subs, " ")))
		fmt.Fprintf(&b, "_myctr_flags[%s]=%s\n", k, shellQuote(strings.Join(all, " ")))
		fmt.Fprintf(&b, "_myctr_valued[%s]=%s\n", k, shellQuote(" "+strings.Join(valued, " ")+" "))
		writeArgKinds(&b, k, n)
	})
	writeListFunc(&b, `"${_myctr_bin:-myctr}"`)
	b.WriteString(`
_myctr() {
	local cur=${COMP_WORDS[COMP_CWORD]} path=myctr npos=0 i w next
	local _myctr_bin=${COMP_WORDS[0]}
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			# A flag that takes a value takes the next word, unless it
			# came with =VALUE.
			if [[ $w != *=* && ${_myctr_valued[$path]} == *" $w "* ]]; then
				((i++))
			fi
			continue
		fi
		next=${_myctr_canon["$path $w"]}
		if ((npos == 0)) && [[ -n $next ]]; then
			path=$next
		else
			((npos++))
		fi
	done
	if [[ $cur == -* ]]; then
		local f=${_myctr_flags[$path]}
		[[ $path != myctr ]] || f+=" --version"
		mapfile -t COMPREPLY < <(compgen -W "$f" -- "$cur")
		return
	fi
	local prev=${COMP_WORDS[COMP_CWORD-1]}
	if ((COMP_CWORD > 1)) && [[ $prev == -* && $prev != *=* && ${_myctr_valued[$path]} == *" $prev "* ]]; then
		return # a flag's value: bash's own file names (-o default)
	fi
	if ((npos == 0)) && [[ -n ${_myctr_subs[$path]} ]]; then
		mapfile -t COMPREPLY < <(compgen -W "${_myctr_subs[$path]}" -- "$cur")
		return
	fi
	local args=${_myctr_args[$path]} kind words=""
	if [[ -n $args ]] && { ((npos == 0)) || [[ $args == *"..."* ]]; }; then
		for kind in ${args%...}; do
			words+=" $(_myctr_list "$kind")"
		done
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	fi
}

complete -o default -F _myctr myctr
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// writeZsh writes a zsh completion function (#compdef) with the same
// tables as the bash one, and descriptions for commands and flags.
func writeZsh(w io.Writer, t *cmdNode) error {
	var b strings.Builder
	b.WriteString("#compdef myctr\n# zsh completion for myctr, generated by `myctr completion zsh` from its commands.\n")
	b.WriteString("typeset -gA _myctr_subs _myctr_canon _myctr_flags _myctr_valued _myctr_args\n")
	t.walk(func(n *cmdNode) {
		k := shellQuote(n.key())
		var subs []string
		for _, s := range n.subs {
			for _, name := range s.names {
				subs = append(subs, zshDescribe(name, s.cmd.Usage))
				fmt.Fprintf(&b, "_myctr_canon[%s]=%s\n", shellQuote(n.key()+" "+name), shellQuote(s.key()))
			}
		}
		var flags, valued []string
		for _, f := range n.flags {
			for _, name := range f.names {
				flags = append(flags, zshDescribe(name, f.usage))
				if f.value {
					valued = append(valued, name)
				}
			}
		}
		flags = append(flags, zshDescribe("--help", "show help"))
		fmt.Fprintf(&b, "_myctr_subs[%s]=%s\n", k, shellQuote(strings.Join(subs, "\n")))
		fmt.Fprintf(&b, "_myctr_flags[%s]=%s\n", k, shellQuote(strings.Join(flags, "\n")))
		fmt.Fprintf(&b, "_myctr_valued[%s]=%s\n", k, shellQuote(" "+strings.Join(valued, " ")+" "))
		writeArgKinds(&b, k, n)
	})
	writeListFunc(&b, `"${words[1]}"`)
	b.WriteString(`
_myctr() {
	local path=myctr npos=0 i w next kind
	local -a items
	for ((i = 2; i < CURRENT; i++)); do
		w=${words[i]}
		if [[ $w == -* ]]; then
			if [[ $w != *=* && ${_myctr_valued[$path]} == *" $w "* ]]; then
				((i++))
			fi
			continue
		fi
		next=${_myctr_canon[$path $w]}
		if ((npos == 0)) && [[ -n $next ]]; then
			path=$next
		else
			((npos++))
		fi
	done
	local cur=${words[CURRENT]} prev=${words[CURRENT-1]}
	if [[ $cur == -* ]]; then
		items=(${(f)_myctr_flags[$path]})
		_describe -t options 'option' items
		return
	fi
	if ((CURRENT > 2)) && [[ $prev == -* && $prev != *=* && ${_myctr_valued[$path]} == *" $prev "* ]]; then
		_files
		return
	fi
	if ((npos == 0)) && [[ -n ${_myctr_subs[$path]} ]]; then
		items=(${(f)_myctr_subs[$path]})
		_describe -t commands 'command' items
		return
	fi
	local args=${_myctr_args[$path]}
	if [[ -n $args ]] && { ((npos == 0)) || [[ $args == *...* ]]; }; then
		items=()
		for kind in ${=args%...}; do
			items+=(${(f)"$(_myctr_list $kind)"})
		done
		compadd -a items
		return
	fi
	_files
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_myctr "$@"
else
	compdef _myctr myctr
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshDescribe is an item of _describe: "name:description", with the
// colons of the name escaped.
func zshDescribe(name, desc string) string {
	desc = strings.ReplaceAll(desc, "\n", " ")
	return strings.ReplaceAll(name, ":", `\:`) + ":" + desc
}

// writeFish writes fish `complete` lines: a command's subcommands and
// flags are offered once the words so far name that command
// (__myctr_path, which reads the same tables as bash's function).
func writeFish(w io.Writer, t *cmdNode) error {
	var b strings.Builder
	b.WriteString("# fish completion for myctr, generated by `myctr completion fish` from its commands.\n")
	b.WriteString("complete -c myctr -e\ncomplete -c myctr -f\n")
	// __myctr_path prints the command path the words so far name, and
	// the number of positional arguments after it.
	var canon, valued []string
	t.walk(func(n *cmdNode) {
		for _, s := range n.subs {
			for _, name := range s.names {
				canon = append(canon, fishQuote(n.key()+" "+name+"="+s.key()))
			}
		}
		_, v := n.allFlags()
		for _, f := range v {
			valued = append(valued, fishQuote(n.key()+"="+f))
		}
	})
	fmt.Fprintf(&b, "set -g __myctr_canon %s\n", strings.Join(canon, " "))
	fmt.Fprintf(&b, "set -g __myctr_valued %s\n", strings.Join(valued, " "))
	b.WriteString(`
function __myctr_path
	set -l words (commandline -opc)
	set -l path myctr
	set -l npos 0
	set -l skip 0
	for w in $words[2..-1]
		if test $skip -eq 1
			set skip 0
			continue
		end
		if string match -q -- '-*' $w
			if not string match -q -- '*=*' $w; and contains -- "$path=$w" $__myctr_valued
				set skip 1
			end
			continue
		end
		set -l key "$path $w"
		set -l next ''
		for c in $__myctr_canon
			set -l kv (string split -m 1 '=' -- $c)
			if test "$kv[1]" = "$key"
				set next $kv[2]
			end
		end
		if test $npos -eq 0; and test -n "$next"
			set path $next
		else
			set npos (math $npos + 1)
		end
	end
	echo $path
	echo $npos
end

function __myctr_at
	set -l p (__myctr_path)
	test "$p[1]" = "$argv[1]"; and test $p[2] -eq 0
end

function __myctr_in
	set -l p (__myctr_path)
	test "$p[1]" = "$argv[1]"
end

function __myctr_args
	set -l p (__myctr_path)
	test "$p[1]" = "$argv[1]"; and begin; test $p[2] -eq 0; or test "$argv[2]" = repeat; end
end
`)
	t.walk(func(n *cmdNode) {
		cond := func(fn string, extra ...string) string {
			return fishQuote(strings.Join(append([]string{fn, fishQuote(n.key())}, extra...), " "))
		}
		for _, s := range n.subs {
			for _, name := range s.names {
				fmt.Fprintf(&b, "complete -c myctr -n %s -a %s -d %s\n", cond("__myctr_at"), fishQuote(name), fishQuote(s.cmd.Usage))
			}
		}
		for _, f := range n.flags {
			var spell []string
			for _, name := range f.names {
				if strings.HasPrefix(name, "--") {
					spell = append(spell, "-l "+fishQuote(name[2:]))
				} else {
					spell = append(spell, "-s "+fishQuote(name[1:]))
				}
			}
			req := ""
			if f.value {
				req = " -r -F"
			}
			fmt.Fprintf(&b, "complete -c myctr -n %s %s%s -d %s\n", cond("__myctr_in"), strings.Join(spell, " "), req, fishQuote(f.usage))
		}
		for _, kind := range n.args.kinds {
			rep := "first"
			if n.args.repeat {
				rep = "repeat"
			}
			fmt.Fprintf(&b, "complete -c myctr -n %s -a %s\n", cond("__myctr_args", rep), fishQuote("(command -q myctr; and "+listCommands[kind]+" 2>/dev/null)"))
		}
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// writeArgKinds writes the kinds of positional arguments command node n
// (key k) takes, for the bash and zsh scripts.
func writeArgKinds(b *strings.Builder, k string, n *cmdNode) {
	if len(n.args.kinds) == 0 {
		return
	}
	kinds := strings.Join(n.args.kinds, " ")
	if n.args.repeat {
		kinds += " ..."
	}
	fmt.Fprintf(b, "_myctr_args[%s]=%s\n", k, shellQuote(kinds))
}

// writeListFunc writes _myctr_list, which lists the names of a kind
// (containers, images, ...) by running bin, the shell's word for myctr.
func writeListFunc(b *strings.Builder, bin string) {
	b.WriteString(`
_myctr_list() {
	case $1 in
`)
	for _, kind := range sortedKeys(listCommands) {
		fmt.Fprintf(b, "\t%s) %s 2>/dev/null ;;\n", kind, strings.Replace(listCommands[kind], "myctr ", bin+" ", 1))
	}
	b.WriteString(`	esac
}
`)
}
