package cli

import (
	"bytes"
	"slices"
	"testing"
)

// TestTopLevel: the table appFor picks commands from names each command as
// the command calls itself, and App holds exactly its commands (and the
// completion's hidden ones), in its order.
func TestTopLevel(t *testing.T) {
	var names []string
	for _, tc := range topLevel() {
		c := tc.make()
		if c.Name != tc.name || !slices.Equal(c.Aliases, tc.aliases) {
			t.Errorf("%s: the table says %q %q, the command %q %q", tc.name, tc.name, tc.aliases, c.Name, c.Aliases)
		}
		names = append(names, c.Name)
	}
	var all []string
	for _, c := range App().Commands {
		if !c.Hidden {
			all = append(all, c.Name)
		}
	}
	if !slices.Equal(all, names) {
		t.Errorf("App's commands %q, the table's %q", all, names)
	}
}

// TestAppFor: a command line that calls a command after known global
// flags gets an App with that command alone; help, the completion, an
// unknown flag or command, and none at all get the whole App, whose
// help and errors name every command.
func TestAppFor(t *testing.T) {
	whole := len(App().Commands)
	for _, tc := range []struct {
		args []string
		want string // the one command, or "" for the whole App
	}{
		{[]string{"myctr", "run", "--rm", "bb", "true"}, "run"},
		{[]string{"myctr", "--root", "/r", "--runroot=/rr", "-D", "--log-level", "debug", "exec", "c", "ls"}, "exec"},
		{[]string{"myctr", "ls", "-a"}, "ps"},
		{[]string{"myctr", "container", "run", "bb"}, "container"},
		{[]string{"myctr", "--runtime-flag", "run", "ps"}, "ps"}, // run is the flag's value
		{[]string{"myctr"}, ""},
		{[]string{"myctr", "help", "run"}, ""},
		{[]string{"myctr", "--help", "run"}, ""},
		{[]string{"myctr", "-h"}, ""},
		{[]string{"myctr", "--version"}, ""},
		{[]string{"myctr", "--bogus", "run", "bb"}, ""},
		{[]string{"myctr", "runn", "bb"}, ""},
		{[]string{"myctr", "--", "run"}, ""},
		{[]string{"myctr", "__complete", "ru"}, ""},
	} {
		app := appFor(tc.args)
		switch {
		case tc.want == "" && len(app.Commands) != whole:
			t.Errorf("%q: %d commands, want the whole App's %d", tc.args, len(app.Commands), whole)
		case tc.want != "" && (len(app.Commands) != 1 || app.Commands[0].Name != tc.want):
			t.Errorf("%q: %d commands, want %s alone", tc.args, len(app.Commands), tc.want)
		}
	}

	// The one-command App parses and refuses as the whole one does.
	for _, args := range [][]string{
		{"myctr", "run", "--no-such-flag", "bb"},
		{"myctr", "ps", "--format"},
		{"myctr", "rm"},
	} {
		var one, all bytes.Buffer
		codeOne := Run(args, &one)
		codeAll := runApp(App(), args, &all)
		if codeOne == 0 || !bytes.Contains(one.Bytes(), []byte("Error: ")) {
			t.Errorf("%q: exit %d, %q; want it refused", args, codeOne, one.String())
		}
		if codeOne != codeAll || one.String() != all.String() {
			t.Errorf("%q: one command: %d %q; the whole App: %d %q", args, codeOne, one.String(), codeAll, all.String())
		}
	}
}
