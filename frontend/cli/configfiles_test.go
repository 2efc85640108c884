package cli

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// TestConfigErrors: each refusal that comes from a configuration file
// says what failed and what to do.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("pull a.io/x:1: %w", image.ErrBlocked), "Hint: the registry is blocked on purpose"},
		{fmt.Errorf("pull x: %w", image.ErrShortNameAmbiguous), "Hint: give the full name (REGISTRY/NAME), add an alias"},
		{fmt.Errorf("pull a.io/x:1: %w", config.ErrRejected), "Hint: policy.json refuses images from there"},
		{fmt.Errorf("pull a.io/x:1: %w", config.ErrSignatureRequired), "Hint: myctr cannot verify signatures yet"},
		{fmt.Errorf("pull: %w", image.ErrInsecureRegistry), "insecure = true in its [[registry]]"},
		{&config.FileError{File: "/c/registries.conf", Line: 3, Msg: "bad"}, "Error: /c/registries.conf:3: bad\nHint: fix the file at the line named"},
	} {
		if got := printed(explainTransfer(tc.err)); !strings.Contains(got, tc.want) || strings.Count(got, "Hint:") != 1 {
			t.Errorf("%v:\n%s\nwant %q", tc.err, got, tc.want)
		}
	}
}

// runContext is a context of run's flags, set as in args.
func runContext(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range runFlags() {
		if err := f.Apply(fs); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(cli.NewApp(), fs, nil)
}

func TestApplyContainersConf(t *testing.T) {
	conf := &config.Containers{
		DefaultCapabilities: config.Setting[[]string]{Value: []string{"CHOWN", "cap_kill", "NET_RAW"}, Set: true},
		Env:                 config.Setting[[]string]{Value: []string{"A=conf", "B=conf"}, Set: true},
		Init:                config.Setting[bool]{Value: true, Set: true},
	}
	for _, tc := range []struct {
		name           string
		args           []string
		init           bool
		add, drop, env string
	}{
		{"defaults", nil, true, "CAP_CHOWN CAP_KILL CAP_NET_RAW", "ALL", "A=conf B=conf"},
		{"flags", []string{"--init=false", "--cap-drop", "NET_RAW", "--cap-add", "SYS_ADMIN", "-e", "A=flag"}, false,
			"CAP_CHOWN CAP_KILL SYS_ADMIN", "ALL NET_RAW", "A=conf B=conf"},
		{"drop all", []string{"--cap-drop", "ALL"}, true, "", "ALL ALL", "A=conf B=conf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := runContext(t, tc.args...)
			init := ctx.Bool("init")
			add, drop := ctx.StringSlice("cap-add"), ctx.StringSlice("cap-drop")
			// The file's env is the default env whatever -e says
			// (BuildSpec puts it below the image's and -e's).
			o := &container.CreateOptions{Init: init, CapAdd: add, CapDrop: drop}
			if err := applyContainersConf(ctx, conf, o); err != nil {
				t.Fatal(err)
			}
			init, add, drop, env := o.Init, o.CapAdd, o.CapDrop, o.DefaultEnv
			if init != tc.init || strings.Join(add, " ") != tc.add || strings.Join(drop, " ") != tc.drop || strings.Join(env, " ") != tc.env {
				t.Errorf("init %v add %q drop %q env %q; want %v %q %q %q", init, add, drop, env, tc.init, tc.add, tc.drop, tc.env)
			}
		})
	}
	// Podman's default set (Debian's containers.conf) changes nothing.
	same := &config.Containers{DefaultCapabilities: config.Setting[[]string]{Value: []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
		"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}, Set: true}}
	ctx := runContext(t)
	o := &container.CreateOptions{}
	if err := applyContainersConf(ctx, same, o); err != nil || o.CapAdd != nil || o.CapDrop != nil || strings.Join(o.DefaultEnv, " ") != "TERM=xterm" {
		t.Errorf("the default set: add %q drop %q env %q %v; want Podman's default env TERM=xterm", o.CapAdd, o.CapDrop, o.DefaultEnv, err)
	}
	bad := &config.Containers{DefaultCapabilities: config.Setting[[]string]{Value: []string{"NOPE"}, Set: true, File: "/c.conf", Line: 2}}
	if err := applyContainersConf(ctx, bad, &container.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "/c.conf:2: [containers] default_capabilities") {
		t.Errorf("an unknown capability: %v", err)
	}
}
