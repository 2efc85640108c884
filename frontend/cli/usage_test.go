package cli

import (
	"errors"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestCobraWording(t *testing.T) {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}},
		&cli.BoolFlag{Name: "infra"},
		&cli.StringFlag{Name: "x"},
	}
	for _, tc := range []struct {
		err  string
		args []string
		want string
	}{
		{"flag provided but not defined: -invalid", []string{"myctr", "run", "--invalid"}, "unknown flag: --invalid"},
		{"flag provided but not defined: -invalid", []string{"myctr", "run", "--invalid=3"}, "unknown flag: --invalid"},
		{"flag provided but not defined: -z", []string{"myctr", "run", "-itz"}, "unknown shorthand flag: 'z' in -itz"},
		{"flag provided but not defined: -q", nil, "unknown shorthand flag: 'q' in -q"},
		{"flag needs an argument: -hostname", []string{"myctr", "run", "-h"}, "flag needs an argument: 'h' in -h"},
		{"flag needs an argument: -hostname", []string{"myctr", "run", "--hostname"}, "flag needs an argument: --hostname"},
		{"flag needs an argument: -format", nil, "flag needs an argument: --format"},
		{`invalid value "abc" for flag -memory: bad size`, nil, `invalid argument "abc" for "-m, --memory" flag: bad size`},
		{`invalid value "abc" for flag -m: bad size`, nil, `invalid argument "abc" for "-m, --memory" flag: bad size`},
		{`invalid boolean value "no way" for -infra: parse error`, nil, `invalid argument "no way" for "--infra" flag: parse error`},
		{`invalid value "1" for flag -x: bad`, nil, `invalid argument "1" for "-x" flag: bad`},
		{`invalid value "1" for flag -other: bad`, nil, `invalid argument "1" for "--other" flag: bad`},
		{"some other refusal", nil, "some other refusal"},
	} {
		if got := cobraWording(errors.New(tc.err), tc.args, flags).Error(); got != tc.want {
			t.Errorf("cobraWording(%q, %q) = %q, want %q", tc.err, tc.args, got, tc.want)
		}
	}
}

func TestSeeHelp(t *testing.T) {
	err := withCode(125, &usageError{err: errors.New("unknown flag: --x"), see: "podman run"})
	if s, ok := seeHelp(err); !ok || s != "See 'podman run --help'" {
		t.Errorf("seeHelp = %q, %v", s, ok)
	}
	if _, ok := seeHelp(errors.New("plain")); ok {
		t.Error("seeHelp of a plain error is true")
	}
}

// TestCheckArgCount: a command's synopsis bounds its arguments, in
// Podman's (cobra's) words, before its action runs; --all with --latest
// is refused except in listings.
func TestCheckArgCount(t *testing.T) {
	var ran bool
	app := func() *cli.App {
		cmd := func(name, usage string) *cli.Command {
			return &cli.Command{Name: name, ArgsUsage: usage,
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "all"}, &cli.BoolFlag{Name: "latest"}},
				Action: func(*cli.Context) error { ran = true; return nil }}
		}
		return &cli.App{Name: "t", Commands: []*cli.Command{
			cmd("none", ""), cmd("one", "CONTAINER"), cmd("opt", "CONTAINER [IMAGE]"), cmd("many", "CONTAINER..."),
			cmd("ps", ""), cmd("cp", "[CONTAINER:]SRC [CONTAINER:]DEST"), cmd("optonly", "[NAME]"),
		}}
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"none"}, ""},
		{[]string{"none", "x"}, "`t none` takes no arguments"},
		{[]string{"one", "a"}, ""},
		{[]string{"one"}, ""}, // too few is the command's own to say
		{[]string{"one", "a", "b"}, "accepts 1 arg(s), received 2"},
		{[]string{"opt", "a", "b"}, ""},
		{[]string{"opt", "a", "b", "c"}, "accepts between 1 and 2 arg(s), received 3"},
		{[]string{"cp", "a", "b", "c"}, "accepts 2 arg(s), received 3"},
		{[]string{"optonly", "a", "b"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"many", "a", "b", "c", "d"}, ""},
		{[]string{"many", "--all", "--latest"}, "--all and --latest cannot be used together"},
		{[]string{"ps", "--all", "--latest"}, ""},
	} {
		ran = false
		err := run(app(), append([]string{"t"}, tc.args...))
		var ee *exitError
		if tc.err == "" && (err != nil || !ran) || tc.err != "" && (err == nil || err.Error() != tc.err || ran || !errors.As(err, &ee) || ee.code != 125) {
			t.Errorf("%v: error %v (ran %v), want %q", tc.args, err, ran, tc.err)
		}
	}
}
