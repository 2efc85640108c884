package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestIsSetAgreesWithUrfave holds isSet to urfave/cli's IsSet for every
// flag of run and of the root command, with flags given by long name, by
// alias, in a group of short options, and through an environment variable.
func TestIsSetAgreesWithUrfave(t *testing.T) {
	cases := [][]string{
		{"myctr", "run", "img"},
		{"myctr", "--root", "/r", "run", "-m", "1g", "--cpus", "2", "-e", "A=1", "-e", "B=2", "-p", "1:2", "--rm", "-c", "512", "img", "true"},
		{"myctr", "-D", "run", "-it", "--name", "x", "--pids-limit=5", "--memory-swap", "2g", "img"},
		{"myctr", "run", "--network-alias", "a", "--oom-score-adj", "-5", "--entrypoint", "", "img"},
	}
	for i, args := range cases {
		if i == 3 {
			t.Setenv("MYCTR_RUNROOT", "/run/x")
		}
		app := App()
		checked := 0
		for _, c := range app.Commands {
			if c.Name != "run" {
				continue
			}
			c.Before = nil
			c.Action = func(ctx *cli.Context) error {
				var flags []cli.Flag
				flags = append(flags, c.Flags...)
				flags = append(flags, app.Flags...)
				for _, f := range flags {
					for _, n := range f.Names() {
						checked++
						if got, want := isSet(ctx, n), ctx.IsSet(n); got != want {
							t.Errorf("%v: isSet(%s) = %v, IsSet = %v", args, n, got, want)
						}
					}
				}
				if i == 1 && (!isSet(ctx, "memory") || ctx.String("memory") != "1g" || ctx.String("cpu-shares") != "512") {
					t.Errorf("%v: -m and -c are not --memory and --cpu-shares", args)
				}
				if isSet(ctx, "no-such-flag") {
					t.Errorf("%v: isSet of a flag run does not have", args)
				}
				return nil
			}
		}
		app.Before = nil
		if err := app.Run(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if checked < 100 {
			t.Fatalf("%v: checked only %d flag names: did run's action run?", args, checked)
		}
	}
}

// TestSkipFlagActions: with urfave/cli's pass for flag actions skipped,
// a command still sees every flag it has, given or at its default, and
// the Action of each flag given (by any of its names) runs once, before
// the command's own; a flag's failing Action stops the command; and
// `CMD help` still lists the command's flags.
func TestSkipFlagActions(t *testing.T) {
	var ran []string
	flagAction := func(name string, err error) func(*cli.Context, string) error {
		return func(*cli.Context, string) error { ran = append(ran, name); return err }
	}
	newApp := func(w *strings.Builder) *cli.App {
		return &cli.App{
			Name:   "t",
			Writer: w,
			Commands: []*cli.Command{{
				Name: "cmd", ArgsUsage: "[ARG]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "given", Aliases: []string{"g"}, Action: flagAction("given", nil)},
					&cli.StringFlag{Name: "absent", Value: "dflt", Action: flagAction("absent", nil)},
					&cli.StringFlag{Name: "fails", Action: flagAction("fails", errors.New("bad flag"))},
					&cli.BoolFlag{Name: "plain", Usage: "a flag without an action"},
				},
				Action: func(ctx *cli.Context) error {
					ran = append(ran, "cmd")
					if n := len(ctx.Command.Flags); n != 5 { // and --help
						t.Errorf("the command sees %d flags, want 5", n)
					}
					if ctx.String("given") != "x" || ctx.String("absent") != "dflt" || !isSet(ctx, "g") || isSet(ctx, "absent") || ctx.IsSet("absent") {
						t.Errorf("given %q, absent %q: want x and the default", ctx.String("given"), ctx.String("absent"))
					}
					return nil
				},
			}},
		}
	}
	for _, tc := range []struct {
		args    []string
		ran     []string
		wantErr string
		help    bool
	}{
		{args: []string{"t", "cmd", "-g", "x", "arg"}, ran: []string{"given", "cmd"}},
		{args: []string{"t", "cmd", "--given=x", "--plain"}, ran: []string{"given", "cmd"}},
		{args: []string{"t", "cmd", "--fails", "y", "--given", "x"}, ran: []string{"given", "fails"}, wantErr: "bad flag"},
		{args: []string{"t", "cmd", "help"}, help: true},
	} {
		ran = nil
		var out strings.Builder
		err := run(newApp(&out), tc.args)
		if (err == nil) != (tc.wantErr == "") || err != nil && err.Error() != tc.wantErr {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
		}
		if !slices.Equal(ran, tc.ran) {
			t.Errorf("%v: ran %v, want %v", tc.args, ran, tc.ran)
		}
		if tc.help && !strings.Contains(out.String(), "--plain") {
			t.Errorf("%v: the help lists no flags:\n%s", tc.args, out.String())
		}
	}
}

// TestRunFlagsThroughRun: run's and create's flags, given and at their
// defaults, as run's action reads them through the command line's own
// entry (which skips urfave/cli's flag action pass).
func TestRunFlagsThroughRun(t *testing.T) {
	for _, name := range []string{"run", "create"} {
		app := App()
		var want int
		for _, c := range app.Commands {
			if c.Name != name {
				continue
			}
			want = len(c.Flags) // with its own --help (-h is --hostname)
			if !c.HideHelp {
				t.Errorf("%s shows urfave/cli's help flag, whose -h is --hostname's", name)
			}
			c.Action = func(ctx *cli.Context) error {
				want = -want
				if n := len(ctx.Command.Flags); n != -want {
					t.Errorf("%s sees %d flags, want %d", name, n, -want)
				}
				for flag, v := range map[string]string{"image-volume": "bind", "pull": "missing", "cgroups": "enabled", "name": "web", "workdir": "/w", "memory": "1g"} {
					if got := ctx.String(flag); got != v {
						t.Errorf("%s --%s = %q, want %q", name, flag, got, v)
					}
				}
				if !ctx.Bool("tls-verify") || !ctx.Bool("rm") || ctx.Bool("read-only") || !slices.Equal(ctx.StringSlice("env"), []string{"A=1", "B=2"}) {
					t.Errorf("%s: --tls-verify %v, --rm %v, --read-only %v, --env %v", name, ctx.Bool("tls-verify"), ctx.Bool("rm"), ctx.Bool("read-only"), ctx.StringSlice("env"))
				}
				for flag, set := range map[string]bool{"name": true, "w": true, "m": true, "e": true, "env": true, "pull": false, "tls-verify": false, "cgroups": false} {
					if isSet(ctx, flag) != set || ctx.IsSet(flag) != set {
						t.Errorf("%s: isSet(%s) %v, IsSet %v, want %v", name, flag, isSet(ctx, flag), ctx.IsSet(flag), set)
					}
				}
				if got := ctx.Args().Slice(); !slices.Equal(got, []string{"img", "true", "--rm"}) {
					t.Errorf("%s: arguments %q", name, got)
				}
				return nil
			}
		}
		args := []string{"myctr", name, "--name", "web", "-w", "/w", "-m", "1g", "-e", "A=1", "--env", "B=2", "--rm", "img", "true", "--rm"}
		if err := run(app, args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if want >= 0 {
			t.Fatalf("%v: the action did not run", args)
		}
	}
}

// BenchmarkRunCommandLine is what `myctr run --rm --network none IMAGE
// true` costs before run's action: the command line built and parsed.
func BenchmarkRunCommandLine(b *testing.B) {
	args := []string{"myctr", "run", "--rm", "--network", "none", "localhost/bb:latest", "true"}
	for b.Loop() {
		app := App()
		app.Before = nil
		for _, c := range app.Commands {
			if c.Name == "run" {
				c.Action = func(*cli.Context) error { return nil }
			}
		}
		if err := run(app, args); err != nil {
			b.Fatal(err)
		}
	}
}
