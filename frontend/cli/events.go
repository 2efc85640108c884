package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/events"
)

// record notes in the events log what a command did to an image, pod or
// volume (containers record their own: container.Store). Best effort: a
// failure to record fails nothing.
func record(ctx *cli.Context, typ, status, id, name string) {
	_ = events.Record(dirs(ctx).RunRoot, events.Event{ID: id, Name: name, Status: status, Type: typ})
}

// eventsBackendFlag is the global --events-backend.
var eventsBackendFlag = &cli.StringFlag{Name: "events-backend", Usage: "where events are recorded: file (the run root's events/events.log) or none"}

// setEventsBackend checks --events-backend and passes it on, through the
// environment, to the processes the command starts (a detached
// container's monitor records its exit).
func setEventsBackend(ctx *cli.Context) error {
	if !isSet(ctx, "events-backend") {
		return nil
	}
	switch b := ctx.String("events-backend"); b {
	case events.BackendFile, events.BackendNone:
		os.Setenv(events.EnvBackend, b)
	case events.BackendJournald:
		return withCode(125, hint(errors.New("the journald events backend is not supported"), "use --events-backend=file (the default) or none"))
	default:
		return withCode(125, fmt.Errorf("invalid --events-backend %q: file or none", b))
	}
	return nil
}

// eventRow is what an event's --format sees: the fields of Podman's.
type eventRow struct {
	events.Event
	// ContainerExitCode is the exit code of a died container, else 0.
	ContainerExitCode int
}

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "show what happened to containers, pods, images and volumes, as recorded in the events log",
		Description: "Prints the recorded events, oldest first, then (unless --stream=false) new ones as they happen, until interrupted. " +
			"Recorded are containers' create, start, died, stop, kill and remove, images' pull, push, tag, untag, remove, import, load and save, " +
			"pods' create, start, stop, kill and remove, volumes' create and remove.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "type=container|image|pod|volume, event=STATUS (status=), container=, image=, pod=, volume= (a name or an id prefix), label=KEY[=VALUE] (several of one key: any; of different keys: all)"},
			templateFlag[eventRow]("json (an object a line), or a Go template over ID, Image, Name, Status, Time, Type, Attributes, ContainerExitCode"),
			&cli.StringFlag{Name: "since", Usage: "only events from this time on: a duration before now (10m) or a time (RFC 3339, 2006-01-02)"},
			&cli.StringFlag{Name: "until", Usage: "only events until this time (as --since); a stream ends then"},
			&cli.BoolFlag{Name: "stream", Value: true, Usage: "after the recorded events, wait for new ones (false: exit at the end of the log)"},
			&cli.BoolFlag{Name: "no-trunc", Value: true, Usage: "full ids (false: 12 characters)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return withCode(125, fmt.Errorf("events takes no arguments (filter with --filter, e.g. container=%s)", ctx.Args().First()))
			}
			var o events.ReadOptions
			var err error
			for _, f := range []struct {
				name string
				t    *time.Time
			}{{"since", &o.Since}, {"until", &o.Until}} {
				if v := ctx.String(f.name); v != "" {
					if *f.t, err = parseUntil(v); err != nil {
						return withCode(125, fmt.Errorf("--%s: %w", f.name, err))
					}
				}
			}
			if o.Match, err = eventFilter(ctx.StringSlice("filter")); err != nil {
				return err
			}
			o.Stream = ctx.Bool("stream")
			format := ctx.String("format")
			var tmpl *template.Template
			if format != "" && format != "json" {
				if tmpl, err = parseFormat(format); err != nil {
					return err
				}
			}
			c, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
			defer stop()
			err = events.Read(c, dirs(ctx).RunRoot, o, func(e events.Event) error {
				switch {
				case format == "json":
					b, err := json.Marshal(e)
					if err != nil {
						return err
					}
					_, err = fmt.Println(string(b))
					return err
				case tmpl != nil:
					row := eventRow{Event: e}
					if e.ContainerExitCode != nil {
						row.ContainerExitCode = *e.ContainerExitCode
					}
					return writeFormat(os.Stdout, tmpl, row, "the fields are ID, Image, Name, Status, Time, Type, Attributes and ContainerExitCode")
				}
				// As Podman's, --no-trunc=false shortens the ids of the
				// plain lines only: json and templates have them whole.
				if !ctx.Bool("no-trunc") && len(e.ID) > 12 && e.Type != events.TypeVolume {
					e.ID = e.ID[:12]
				}
				_, err := fmt.Println(eventLine(e))
				return err
			})
			if errors.Is(err, events.ErrNoEvents) {
				// Podman's words alone, which its tests match whole.
				return withCode(125, err)
			}
			return err
		},
	}
}

// eventLine is an event as Podman prints it: "TIME TYPE STATUS ID (k=v,
// ...)", image and name first, then the other attributes in order; an
// image's as "TIME image STATUS ID NAME".
func eventLine(e events.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", e.Time.Format("2006-01-02 15:04:05.999999999 -0700 MST"), e.Type, e.Status)
	switch e.Type {
	case events.TypeSystem:
		return b.String() + " " + e.Name // "... system log-rotation PATH", as Podman's
	case events.TypeImage:
		// "... image save ID PATH": the ID, then the name, each empty
		// where the event has none (load's ID), as Podman prints them.
		return b.String() + " " + e.ID + " " + e.Name
	}
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	attrs := map[string]string{}
	for k, v := range e.Attributes {
		attrs[k] = v
	}
	if e.Name != "" {
		attrs["name"] = e.Name
	}
	if e.Image != "" {
		attrs["image"] = e.Image
	}
	if e.ContainerExitCode != nil {
		attrs["containerExitCode"] = fmt.Sprint(*e.ContainerExitCode)
	}
	if len(attrs) > 0 {
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			if k != "image" && k != "name" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range []string{"name", "image"} {
			if _, ok := attrs[k]; ok {
				keys = append([]string{k}, keys...)
			}
		}
		for i, k := range keys {
			keys[i] = k + "=" + attrs[k]
		}
		b.WriteString(" (" + strings.Join(keys, ", ") + ")")
	}
	return b.String()
}

// eventFilter is events' --filter: values of one key are alternatives,
// keys must all match.
func eventFilter(filters []string) (func(events.Event) bool, error) {
	byKey, err := events.ParseFilters(filters)
	if err == nil {
		var match func(events.Event) bool
		if match, err = events.Filter(byKey); err == nil {
			return match, nil
		}
	}
	return nil, withCode(125, hint(err, "type=, event=, container=, image=, pod=, volume= or label="))
}
