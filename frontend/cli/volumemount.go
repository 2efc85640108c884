package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// volumeMountCommands are `volume mount` and `volume unmount`, as
// Podman's: run as the user they are refused (a mount made there would
// not be seen by anyone), inside `myctr unshare` (root of the user
// namespace) mount prints where the volume's files are. A local volume
// is a plain directory of the store: there is nothing to mount, so
// unmount has nothing to undo. A volume with mount options (type=tmpfs,
// device=) is mounted only in a container's mount namespace: refused.
func volumeMountCommands() []*cli.Command {
	refuse := func(ctx *cli.Context) error {
		if os.Geteuid() != 0 {
			return withCode(125, fmt.Errorf("cannot run command %q in rootless mode, must execute `myctr unshare` first", ctx.Command.HelpName))
		}
		if ctx.NArg() == 0 {
			return withCode(125, errors.New("requires at least one volume name"))
		}
		return nil
	}
	return []*cli.Command{{
		Name:      "mount",
		Usage:     "print where a volume's files are (inside myctr unshare)",
		ArgsUsage: "VOLUME...",
		Action: func(ctx *cli.Context) error {
			if err := refuse(ctx); err != nil {
				return err
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			for _, name := range ctx.Args().Slice() {
				v, err := vs.Get(name)
				if err != nil {
					return err
				}
				if len(v.Options) > 0 {
					return withCode(125, fmt.Errorf("volume %s has mount options: it is mounted only in a container", name))
				}
				fmt.Println(v.Mountpoint)
			}
			return nil
		},
	}, {
		Name:      "unmount",
		Aliases:   []string{"umount"},
		Usage:     "the end of volume mount (a local volume needs no unmount)",
		ArgsUsage: "VOLUME...",
		Action: func(ctx *cli.Context) error {
			if err := refuse(ctx); err != nil {
				return err
			}
			vs, err := openVolumes(ctx)
			if err != nil {
				return err
			}
			for _, name := range ctx.Args().Slice() {
				if _, err := vs.Get(name); err != nil {
					return err
				}
			}
			return nil
		},
	}}
}
