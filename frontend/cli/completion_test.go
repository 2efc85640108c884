package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestParseArgsUsage(t *testing.T) {
	for _, c := range []struct {
		usage  string
		kinds  []string
		repeat bool
	}{
		{"CONTAINER...", []string{"container"}, true},
		{"[CONTAINER...]", []string{"container"}, true},
		{"CONTAINER COMMAND [ARG...]", []string{"container"}, false},
		{"IMAGE [COMMAND [ARG...]]", []string{"image"}, false},
		{"IMAGE[:TAG|@DIGEST]", []string{"image"}, false},
		{"CONTAINER|IMAGE...", []string{"container", "image"}, true},
		{"VOLUME...", []string{"volume"}, true},
		{"[CONTAINER:]SRC [CONTAINER:]DEST", nil, false},
		{"TARBALL NAME[:TAG]", nil, false},
		{"", nil, false},
	} {
		got := parseArgsUsage(c.usage)
		if !slices.Equal(got.kinds, c.kinds) || got.repeat != c.repeat {
			t.Errorf("parseArgsUsage(%q) = %+v, want %v repeat=%v", c.usage, got, c.kinds, c.repeat)
		}
	}
}

// TestCompletionTree: every visible command of App() is in the bash
// tables, with its flags, so that a command or flag added anywhere is
// completed without being listed again.
func TestCompletionTree(t *testing.T) {
	var b strings.Builder
	if err := writeBash(&b, commandTree()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, c := range App().Commands {
		if c.Hidden {
			continue
		}
		if !strings.Contains(s, "_myctr_canon['myctr "+c.Name+"']='myctr "+c.Name+"'") {
			t.Errorf("command %s is not in the bash tables", c.Name)
		}
		for _, f := range c.Flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue // hidden flags are not offered
			}
			if !strings.Contains(s, "--"+f.Names()[0]) {
				t.Errorf("flag --%s of %s is not in the bash tables", f.Names()[0], c.Name)
			}
		}
	}
}
