package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/image"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch an image from a registry",
		ArgsUsage: "IMAGE[:TAG|@DIGEST]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (plain HTTP is used for registries on this machine either way)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image id"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one image: myctr pull IMAGE"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			o, c, stop := transfer(ctx)
			defer stop()
			img, err := s.Pull(c, ctx.Args().First(), o)
			if err != nil {
				return explainTransfer(err)
			}
			fmt.Println(img.ID)
			return nil
		},
	}
}

// transfer is what pull, push and run's pull share: the options of
// --tls-verify and --quiet (progress on stderr), and a context that ^C and
// SIGTERM end.
func transfer(ctx *cli.Context) (image.PullOptions, context.Context, context.CancelFunc) {
	o := image.PullOptions{SkipTLSVerify: !ctx.Bool("tls-verify")}
	if !ctx.Bool("quiet") {
		o.Progress = os.Stderr
	}
	c, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return o, c, stop
}

// explainTransfer adds hints to the errors of pull, login, save and load.
func explainTransfer(err error) error {
	switch {
	case errors.Is(err, image.ErrNoSearchRegistries):
		return hint(err, "give the full name (docker.io/library/busybox), or list registries in ~/.config/containers/registries.conf: unqualified-search-registries = [\"docker.io\"]")
	case errors.Is(err, image.ErrUnauthorized):
		return hint(err, "log in first: myctr login REGISTRY")
	case errors.Is(err, image.ErrInsecureRegistry):
		return hint(err, "if this registry only speaks plain HTTP and you trust the network, add --tls-verify=false")
	case errors.Is(err, image.ErrNotInRegistry):
		return hint(err, "check the name and tag")
	}
	return explain(err)
}
