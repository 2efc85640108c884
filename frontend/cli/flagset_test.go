package cli

import (
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
