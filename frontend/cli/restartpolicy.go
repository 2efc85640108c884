package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// restartFlag is run's and create's --restart.
func restartFlag() cli.Flag {
	return &cli.StringFlag{Name: "restart", Usage: "when the container's monitor starts it again after it exits: no (the default), on-failure[:N] (a non-zero exit, at most N times), always or unless-stopped (either: until stopped with stop or rm)"}
}

// restartOption sets the container's restart policy from --restart.
func restartOption(ctx *cli.Context, o *container.CreateOptions) error {
	p, err := container.ParseRestartPolicy(ctx.String("restart"))
	if err != nil {
		return withCode(125, err)
	}
	o.Restart = p
	return nil
}
