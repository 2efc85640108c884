package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/events"
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
			&cli.StringFlag{Name: "signature-policy", Usage: "the policy.json to use instead of the user's or the system's"},
			platformFlags[0], platformFlags[1], platformFlags[2], platformFlags[3],
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one image: myctr pull IMAGE"))
			}
			if _, err := platformOf(ctx); err != nil {
				return err
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			if transport, path, name, ok := archiveRef(ctx.Args().First()); ok {
				img, err := loadArchiveRef(ctx, s, transport, path, name)
				if err != nil {
					return err
				}
				// Named as given, without an ID, as Podman's.
				record(ctx, events.TypeImage, "pull", "", ctx.Args().First())
				fmt.Println(img.ID)
				return nil
			}
			o, c, stop := transfer(ctx)
			defer stop()
			policy := ctx.String("signature-policy")
			if policy != "" {
				if o.Policy, err = config.ReadPolicy(policy); err != nil {
					return explainConfig(err)
				}
			}
			img, err := pullImage(c, dirs(ctx), s, ctx.Args().First(), o, policy)
			if err != nil {
				return explainTransfer(err)
			}
			record(ctx, events.TypeImage, "pull", img.ID, ctx.Args().First())
			fmt.Println(img.ID)
			return nil
		},
	}
}

// transfer is what pull, push and run's pull share: the options of
// --tls-verify and --quiet (progress on stderr), the short-name prompt
// when standard input and output are a terminal (as Podman's), and a
// context that ^C and SIGTERM end.
func transfer(ctx *cli.Context) (image.PullOptions, context.Context, context.CancelFunc) {
	o := image.PullOptions{SkipTLSVerify: !ctx.Bool("tls-verify")}
	// pull's and run's --platform (checked before: platformOf).
	o.Platform, _ = platformOf(ctx)
	if !ctx.Bool("quiet") {
		o.Progress = os.Stderr
	}
	if term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) {
		o.Choose = chooseImage
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
		return hint(err, "if this registry only speaks plain HTTP and you trust the network, set insecure = true in its [[registry]] of registries.conf, or add --tls-verify=false")
	case errors.Is(err, image.ErrBlocked):
		return hint(err, "the registry is blocked on purpose; use another registry, or change the file named above")
	case errors.Is(err, image.ErrShortNameAmbiguous):
		return hint(err, "give the full name (REGISTRY/NAME), add an alias to registries.conf ([aliases] \"NAME\" = \"REGISTRY/NAME\"), or pull once on a terminal to choose")
	case errors.Is(err, config.ErrRejected):
		return hint(err, "policy.json refuses images from there; pull from a scope it accepts, or change the policy")
	case errors.Is(err, config.ErrSignatureRequired):
		return hint(err, "myctr cannot verify signatures yet; pull with podman or skopeo, which check them, or give this scope insecureAcceptAnything in policy.json if you accept unsigned images")
	case errors.Is(err, config.ErrBadConfig):
		return explainConfig(err)
	case errors.Is(err, image.ErrNotInRegistry):
		return hint(err, "check the name and tag")
	}
	return explain(err)
}

// platformFlags are pull's, run's and create's --platform, --os, --arch
// and --variant, as Podman's.
var platformFlags = []cli.Flag{
	&cli.StringFlag{Name: "platform", Usage: "the image's platform, OS[/ARCH[/VARIANT]] such as linux/arm64 (default: this machine's)"},
	&cli.StringFlag{Name: "os", Usage: "the image's operating system (as --platform's first part)"},
	&cli.StringFlag{Name: "arch", Usage: "the image's architecture (as --platform's second part)"},
	&cli.StringFlag{Name: "variant", Usage: "the image's architecture variant (as --platform's third part)"},
}

// platformOf reads the platform flags of ctx's command; nil is the
// host's.
func platformOf(ctx *cli.Context) (*ggcrv1.Platform, error) {
	p, err := image.ParsePlatform(ctx.String("platform"), ctx.String("os"), ctx.String("arch"), ctx.String("variant"))
	if err != nil {
		return nil, withCode(125, hint(err, "give OS/ARCH as Docker and Podman take it, such as linux/amd64 or linux/arm64/v8"))
	}
	return p, nil
}
