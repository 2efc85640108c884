package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/security"
)

// containersConf reads the containers.conf files once per process.
var containersConf = sync.OnceValues(func() (*config.Containers, error) {
	c, err := config.LoadContainers(config.HostEnv())
	if err != nil {
		return nil, explainConfig(err)
	}
	return c, nil
})

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
// not override: --init, the capability set, and the environment below
// the image's (as Podman: containers.conf's env, then the image's ENV,
// then -e and --env-file).
func applyContainersConf(ctx *cli.Context, c *config.Containers, init *bool, capAdd, capDrop *[]string, env *[]string) error {
	if c.Init.Set && !isSet(ctx, "init") {
		*init = c.Init.Value
	}
	if s := c.DefaultCapabilities; s.Set && !sameCaps(s.Value, security.DefaultCaps) {
		drops := map[string]bool{}
		for _, d := range *capDrop {
			n, err := security.NormalizeCap(d)
			if err != nil {
				return err
			}
			drops[n] = true
		}
		var adds []string
		if !drops["ALL"] {
			for _, cp := range s.Value {
				n, err := security.NormalizeCap(cp)
				if err != nil {
					return explainConfig(&config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] default_capabilities: %v", err)})
				}
				if !drops[n] {
					adds = append(adds, n)
				}
			}
		}
		// The set is the file's: start from none, add it, then the
		// user's own additions.
		*capAdd = append(adds, *capAdd...)
		*capDrop = append([]string{"ALL"}, *capDrop...)
	}
	// The file's env, or Podman's default (TERM=xterm; PATH is the
	// runtime's own default): below the image's ENV, which BuildSpec
	// sets over it, and --unsetenv's to remove.
	*env = []string{"TERM=xterm"}
	if s := c.Env; s.Set {
		*env = s.Value
	}
	return nil
}

func sameCaps(a, b []string) bool {
	set := map[string]bool{}
	for _, c := range a {
		n, err := security.NormalizeCap(c)
		if err != nil {
			return false
		}
		set[n] = true
	}
	if len(set) != len(b) {
		return false
	}
	for _, c := range b {
		if !set[c] {
			return false
		}
	}
	return true
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
