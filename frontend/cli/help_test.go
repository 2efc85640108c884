package cli

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestSuggestCommand(t *testing.T) {
	cmds := App().Commands
	for _, tc := range []struct{ typed, want string }{
		{"rn", "rm"},        // one edit; rm sorts before run
		{"insp", "inspect"}, // a prefix beats two edits (info)
		{"imags", "image"},  // one edit
		{"gen", "generate"}, // a prefix
		{"exce", "exec"},    // two edits
		{"xyzzy", ""},       // nothing near
		{"generatex", "generate"},
	} {
		if got := suggestCommand(cmds, tc.typed); got != tc.want {
			t.Errorf("suggestCommand(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "ps", 2}, {"run", "run", 0}, {"rn", "run", 1}, {"kitten", "sitting", 3},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// helpOutput runs the command line args (help of some kind) as a program
// called podman, and returns what it printed.
func helpOutput(t *testing.T, args ...string) string {
	t.Helper()
	app := App()
	var b bytes.Buffer
	app.Writer = &b
	if err := run(app, append([]string{"/usr/local/bin/podman"}, args...)); err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return b.String()
}

// synopsis is the line after "Usage:", as Podman's 610-format test reads it.
func synopsis(help string) string {
	_, after, ok := strings.Cut(help, "\nUsage:\n")
	if !ok {
		return ""
	}
	line, _, _ := strings.Cut(after, "\n")
	return line
}

// listed is what Podman's tests take for a group's subcommands: the first
// word of each line between "Available Commands:" and "Options:".
func listed(help string) []string {
	_, after, _ := strings.Cut(help, "\nAvailable Commands:\n")
	before, _, _ := strings.Cut(after, "\nOptions:\n")
	var names []string
	for _, l := range strings.Split(before, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// TestHelpLayout: the program's help, `help CMD...` and `CMD --help` of
// every command are in Podman's layout, named by the program's name as
// called: a group's synopsis ends in [command] and it lists each
// subcommand by name (no aliases), sorted; a command's synopsis gives
// [options] and its arguments; help lists itself.
func TestHelpLayout(t *testing.T) {
	root := helpOutput(t, "help")
	if got := synopsis(root); got != "  podman [options] [command]" {
		t.Errorf("help: synopsis %q", got)
	}
	if !strings.HasPrefix(root, "Manage pods, containers and images\n\nUsage:\n") {
		t.Errorf("help does not begin with the usage, then Usage:\n%s", root)
	}
	if helpOutput(t, "--help") != root {
		t.Error("myctr --help and myctr help print different help")
	}
	// Alone, as Podman: the help, then an error.
	app := App()
	var b bytes.Buffer
	app.Writer = &b
	if err := run(app, []string{"/usr/local/bin/podman"}); err == nil || err.Error() != "missing command 'podman COMMAND'" || b.String() != root {
		t.Errorf("podman alone: %v, want the help and missing command 'podman COMMAND'", err)
	}
	names := listed(root)
	if !slices.Contains(names, "help") || !slices.Contains(names, "volume") || !slices.IsSorted(names) {
		t.Errorf("help lists %q: want help and volume among them, sorted", names)
	}
	if got := synopsis(helpOutput(t, "help", "--help")); got != "  podman help [command]" {
		t.Errorf("help --help: synopsis %q", got)
	}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			name := "  podman " + strings.Join(p, " ")
			byFlag := helpOutput(t, append(p, "--help")...)
			if byHelp := helpOutput(t, append([]string{"help"}, p...)...); byHelp != byFlag {
				t.Errorf("help %s and %s --help differ:\n%s\n---\n%s", strings.Join(p, " "), strings.Join(p, " "), byHelp, byFlag)
			}
			syn := synopsis(byFlag)
			if len(c.Subcommands) > 0 {
				var want []string
				for _, s := range c.Subcommands {
					if !s.Hidden {
						want = append(want, s.Name)
					}
				}
				sort.Strings(want)
				if syn != name+" [command]" || !slices.Equal(listed(byFlag), want) {
					t.Errorf("%s --help: synopsis %q, lists %q; want %q and %q", strings.Join(p, " "), syn, listed(byFlag), name+" [command]", want)
				}
				walk(p, c.Subcommands)
				continue
			}
			if !strings.HasPrefix(syn, name) || strings.HasSuffix(syn, "[command]") || strings.Contains(byFlag, "Available Commands:") {
				t.Errorf("%s --help: synopsis %q, want it to begin %q and name no subcommands", strings.Join(p, " "), syn, name)
			}
			help := "  -h, --help "
			if c.HideHelp {
				// -h is --hostname, as Podman's and Docker's.
				help = "      --help "
				if !strings.Contains(byFlag, "  -h, --hostname ") {
					t.Errorf("%s --help lacks -h, --hostname:\n%s", strings.Join(p, " "), byFlag)
				}
			}
			if !strings.Contains(byFlag, "\nOptions:\n") || !strings.Contains(byFlag, help) {
				t.Errorf("%s --help lists no options, or not %q:\n%s", strings.Join(p, " "), help, byFlag)
			}
		}
	}
	walk(nil, App().Commands)
}

// TestHelpUnknown: help of a command that is not there is Podman's
// unrecognized command, exit 125, naming the group it was looked for in
// and the program as it was called.
func TestHelpUnknown(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nosuch"}, "unrecognized command `podman nosuch`"},
		{[]string{"help", "volume", "volume"}, "unrecognized command `podman volume volume`"},
		{[]string{"help", "__complete"}, "unrecognized command `podman __complete`"}, // hidden
	} {
		app := App()
		app.Writer = &bytes.Buffer{}
		err := run(app, append([]string{"podman"}, tc.args...))
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 125 || err.Error() != tc.want {
			t.Errorf("%q: %v, want exit 125 and %q", tc.args, err, tc.want)
		}
	}
}
