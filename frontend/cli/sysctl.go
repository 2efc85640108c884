package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
)

// sysctlOptions sets the container's sysctls (containers.conf's
// default_sysctls, or myctr's own defaults, then --sysctl) and the
// /etc/hosts flags.
func sysctlOptions(ctx *cli.Context, o *container.CreateOptions, cc *config.Containers) error {
	defaults := container.DefaultSysctls
	if s := cc.DefaultSysctls; s.Set {
		defaults = s.Value
		if _, err := container.ParseSysctls(s.Value, ""); err != nil {
			return explainConfig(&config.FileError{File: s.File, Line: s.Line, Msg: fmt.Sprintf("[containers] default_sysctls: %v", err)})
		}
	}
	sys, err := container.MergeSysctls(defaults, ctx.StringSlice("sysctl"), o.Network)
	if err != nil {
		return hint(err, "--sysctl takes KEY=VALUE, for a namespaced setting: net.* (not with --network host), fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*")
	}
	o.Sysctls = sys
	o.ExtraHosts, o.NoHosts = ctx.StringSlice("add-host"), ctx.Bool("no-hosts")
	return nil
}
