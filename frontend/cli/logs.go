package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

// parseTime accepts RFC 3339 times, Unix seconds and durations ("10m",
// meaning that long ago), as Podman's --since does.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(n)
		return time.Unix(sec, int64((n-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339, Unix seconds or a duration like 10m", s)
}

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show containers' output",
		ArgsUsage: "CONTAINER...",
		Flags: append(logFlags(),
			&cli.BoolFlag{Name: "names", Aliases: []string{"n"}, Usage: "with several containers, prefix each line with its container's name rather than its id"},
		),
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, fmt.Errorf("%q requires a name or id", "myctr "+ctx.Command.Name))
			}
			o, err := logOptions(ctx)
			if err != nil {
				return err
			}
			s, err := openContainers(ctx)
			if err != nil {
				return err
			}
			var cs []*container.Container
			for _, ref := range ctx.Args().Slice() {
				c, err := lookup(s, ref)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			return s.Logs(cs, o, os.Stdout, os.Stderr)
		},
	}
}

// logFlags are the flags logs and pod logs share.
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing output as it is written"},
		&cli.StringFlag{Name: "tail", Value: "all", Usage: "print only the last N lines"},
		&cli.StringFlag{Name: "since", Usage: "only lines since this time or duration"},
		&cli.StringFlag{Name: "until", Usage: "only lines before this time or duration"},
		&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "prefix each line with its time"},
	}
}

// logOptions reads logFlags (and --names, where the command has it).
func logOptions(ctx *cli.Context) (container.LogOptions, error) {
	o := container.LogOptions{Follow: ctx.Bool("follow"), Timestamps: ctx.Bool("timestamps"), Names: ctx.Bool("names"), Tail: -1}
	if t := ctx.String("tail"); t != "all" && t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return o, withCode(125, fmt.Errorf("invalid --tail %q: want a number or all", t))
		}
		o.Tail = n
	}
	var err error
	if s := ctx.String("since"); s != "" {
		if o.Since, err = parseTime(s); err != nil {
			return o, err
		}
	}
	if s := ctx.String("until"); s != "" {
		if o.Until, err = parseTime(s); err != nil {
			return o, err
		}
	}
	return o, nil
}
