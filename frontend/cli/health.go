package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// healthFlags are run's and create's --health-* flags, as Podman's.
func healthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "health-cmd", Usage: "a healthcheck: a shell command, a JSON array (exec form), or none"},
		&cli.StringFlag{Name: "health-interval", Value: "30s", Usage: "how often the healthcheck runs (disable: only healthcheck run runs it)"},
		&cli.UintFlag{Name: "health-retries", Value: container.DefaultHealthRetries, Usage: "failures in a row that make the container unhealthy"},
		&cli.StringFlag{Name: "health-start-period", Value: "0s", Usage: "how long after the start failures do not count"},
		&cli.StringFlag{Name: "health-timeout", Value: "30s", Usage: "how long one run of the healthcheck may take"},
		&cli.StringFlag{Name: "health-on-failure", Value: container.HealthActionNone, Usage: "what becoming unhealthy does: none, kill, restart or stop"},
		&cli.BoolFlag{Name: "no-healthcheck", Usage: "no healthcheck, not even the image's"},
	}
}

// healthOptions reads the --health-* flags given into o: those not given
// are left to the image's HEALTHCHECK and then to the defaults (Create
// merges them).
func healthOptions(ctx *cli.Context, o *container.CreateOptions) error {
	o.HealthOnFailure = ctx.String("health-on-failure")
	if ctx.Bool("no-healthcheck") {
		if isSet(ctx, "health-cmd") {
			return withCode(125, fmt.Errorf("%w: --no-healthcheck and --health-cmd cannot be set together", container.ErrInvalidHealth))
		}
		o.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		return nil
	}
	h := &container.HealthConfig{}
	given := false
	var err error
	if isSet(ctx, "health-cmd") {
		if h.Test, err = container.ParseHealthCmd(ctx.String("health-cmd")); err != nil {
			return withCode(125, err)
		}
		given = true
	}
	if isSet(ctx, "health-interval") {
		if h.Interval, err = container.ParseHealthInterval(ctx.String("health-interval")); err != nil {
			return withCode(125, err)
		}
		given = true
	}
	if isSet(ctx, "health-timeout") {
		if h.Timeout, err = container.ParseHealthDuration("timeout", ctx.String("health-timeout")); err != nil {
			return withCode(125, err)
		}
		given = true
	}
	if isSet(ctx, "health-start-period") {
		if h.StartPeriod, err = container.ParseHealthDuration("start-period", ctx.String("health-start-period")); err != nil {
			return withCode(125, err)
		}
		given = true
	}
	if isSet(ctx, "health-retries") {
		if h.Retries = int(ctx.Uint("health-retries")); h.Retries == 0 {
			return withCode(125, fmt.Errorf("%w: --health-retries must be at least 1", container.ErrInvalidHealth))
		}
		given = true
	}
	if given {
		o.Healthcheck = h
	}
	return nil
}

// imageHealthcheck is img's HEALTHCHECK as a container's check.
func imageHealthcheck(images *image.Store, img *image.Image) (*container.HealthConfig, error) {
	h, err := images.ImageHealthcheck(img)
	if err != nil || h == nil {
		return nil, err
	}
	return &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}, nil
}

// healthcheckCommand is `myctr healthcheck run CONTAINER`, as Podman's.
func healthcheckCommand() *cli.Command {
	return group("healthcheck", "run a container's healthcheck", []*cli.Command{{
		Name:      "run",
		Usage:     "run the container's healthcheck once: exit 0 when it passes, 1 (and print unhealthy) when it fails",
		ArgsUsage: "CONTAINER",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("healthcheck run requires one container"))
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			c, err := lookup(s, ctx.Args().First())
			if err != nil {
				return withCode(125, err)
			}
			failed, err := s.RunHealthcheck(c)
			if err != nil {
				if errors.Is(err, container.ErrNoHealthcheck) || errors.Is(err, container.ErrNotRunning) {
					return withCode(125, hint(err, "run or create the container with --health-cmd, and start it"))
				}
				return withCode(125, err)
			}
			if failed {
				fmt.Println(container.HealthUnhealthy)
				return withCode(1, nil)
			}
			return nil
		},
	}})
}
