package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
)

// containersConf reads the containers.conf files once per process.
var containersConf = sync.OnceValues(func() (*config.Containers, error) {
	c, err := config.HostContainers()
	if err != nil {
		return nil, explainConfig(err)
	}
	return c, nil
})

// confFlag is the string flag's value as given, else containers.conf's
// setting s when the file sets it (returned too, for confError), else
// the flag's default.
func confFlag(ctx *cli.Context, flag string, s config.Setting[string]) (string, *config.Setting[string]) {
	if isSet(ctx, flag) || !s.Set {
		return ctx.String(flag), nil
	}
	return s.Value, &s
}

// confBool is confFlag for a boolean flag.
func confBool(ctx *cli.Context, flag string, s config.Setting[bool]) bool {
	if isSet(ctx, flag) || !s.Set {
		return ctx.Bool(flag)
	}
	return s.Value
}

// confError is err about a value confFlag returned: the flag's as it is
// when from is nil, else the file's, at its line, with the file's hint.
func confError(from *config.Setting[string], key string, err error) error {
	if from == nil {
		return err
	}
	return explainConfig(&config.FileError{File: from.File, Line: from.Line, Msg: fmt.Sprintf("[containers] %s %q: %v", key, from.Value, err)})
}

// explainConfig adds the hint for bad configuration files.
func explainConfig(err error) error {
	if errors.Is(err, config.ErrBadConfig) {
		return hint(err, "fix the file at the line named (myctr info lists the configuration files read, in order)")
	}
	return err
}

// confDefault returns the flag's value: what the user gave, else the
// containers.conf setting when one is set.
func confString(ctx *cli.Context, flag string, s config.Setting[string]) string {
	if isSet(ctx, flag) || !s.Set {
		return ctx.String(flag)
	}
	return s.Value
}

// applyContainersConf applies containers.conf's defaults that flags did
// not override (container.ApplyContainersConf, which the API's create
// calls too): --init, the capability set, the environment below the
// image's and the sysctls below --sysctl.
func applyContainersConf(ctx *cli.Context, c *config.Containers, o *container.CreateOptions) error {
	err := container.ApplyContainersConf(o, c, isSet(ctx, "init"), ctx.StringSlice("sysctl"))
	var h container.Hinter
	if errors.As(err, &h) {
		return hint(err, "%s", h.Hint())
	}
	return explainConfig(err)
}

// chooseImage asks on the terminal which full name a short name means,
// as Podman's enforcing and permissive short-name modes do.
func chooseImage(short string, names []string) (int, error) {
	fmt.Fprintf(os.Stderr, "? Please select an image for %q:\n", short)
	for i, n := range names {
		fmt.Fprintf(os.Stderr, "  %d) %s\n", i+1, n)
	}
	for {
		fmt.Fprintf(os.Stderr, "Enter a number (1-%d): ", len(names))
		var line string
		if _, err := fmt.Fscanln(os.Stdin, &line); errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("short name %q: no choice made: %w", short, err)
		}
		var n int
		if _, err := fmt.Sscan(line, &n); err == nil && n >= 1 && n <= len(names) {
			return n - 1, nil
		}
	}
}
