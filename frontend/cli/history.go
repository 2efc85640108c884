package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/image"
)

// historyRow is a line of history, and what its --format sees: Podman's
// fields.
type historyRow struct {
	ID           string
	Created      string // human ("2 days ago") or, with --human=false, RFC 3339
	CreatedAt    string // as Podman's: Go's time in UTC, "2022-06-15 00:00:00 +0000 UTC"
	CreatedSince string // human
	CreatedBy    string // cut to 45 characters without --no-trunc
	Size         string // human or, with --human=false, bytes
	Comment      string
	Tags         string
}

var historyHeaders = upperHeaders([]string{"ID", "Created", "CreatedAt", "CreatedSince", "CreatedBy", "Size", "Comment", "Tags"},
	map[string]string{"CreatedBy": "CREATED BY", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED"})

// historyJSON is history --format json, in Podman's fields.
type historyJSON struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created,omitzero"`
	CreatedBy string    `json:",omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	Size      int64     `json:"size"`
	Comment   string    `json:"comment,omitempty"`
}

// historyCommand is `history` (and `image history`): the steps that made
// an image, from its config, the newest first.
func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show the steps that made an image and the size of each one's layer",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			templateFlag[historyRow]("json, or a Go template over ID, Created, CreatedAt, CreatedSince, CreatedBy, Size, Comment, Tags ('table ...' for a table with a header)"),
			&cli.BoolFlag{Name: "human", Aliases: []string{"H"}, Value: true, Usage: "sizes and times for people (false: bytes and RFC 3339 times)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate ids and commands"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only ids"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, hint(errors.New("history requires exactly one image"), "myctr history IMAGE"))
			}
			format := ctx.String("format")
			var lf *listFormat
			switch format {
			case "json":
			case "":
				format = "table {{.ID}} {{.Created}} {{.CreatedBy}} {{.Size}} {{.Comment}}"
				fallthrough
			default:
				var err error
				if lf, err = parseListFormat(format); err != nil {
					return err
				}
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			img, err := s.Lookup(ctx.Args().First())
			if err != nil {
				return explain(err)
			}
			steps := s.History(img)
			noTrunc, human := ctx.Bool("no-trunc"), ctx.Bool("human")
			id := func(e image.HistoryEntry) string {
				if !noTrunc && e.ID != image.MissingID && len(e.ID) > 12 {
					return e.ID[:12]
				}
				return e.ID
			}
			switch {
			case ctx.Bool("quiet"):
				for _, e := range steps {
					fmt.Println(id(e))
				}
				return nil
			case lf == nil:
				out := make([]historyJSON, len(steps))
				for i, e := range steps {
					out[i] = historyJSON{ID: e.ID, Created: e.Created, CreatedBy: e.CreatedBy, Tags: e.Tags, Size: e.Size, Comment: e.Comment}
				}
				return writeJSON(os.Stdout, out, "    ")
			}
			rows := make([]any, len(steps))
			for i, e := range steps {
				r := historyRow{ID: id(e), CreatedBy: e.CreatedBy, Comment: e.Comment, Tags: strings.Join(e.Tags, ", ")}
				if !e.Created.IsZero() {
					r.CreatedAt = createdAt(e.Created)
					r.CreatedSince = humanDuration(time.Since(e.Created)) + " ago"
					r.Created = e.Created.UTC().Format(time.RFC3339)
				}
				r.Size = fmt.Sprint(e.Size)
				if human {
					r.Created, r.Size = r.CreatedSince, humanSize(uint64(e.Size))
				}
				if !noTrunc && len(r.CreatedBy) > 45 {
					r.CreatedBy = r.CreatedBy[:42] + "..."
				}
				rows[i] = r
			}
			return lf.write(os.Stdout, historyHeaders, rows, "the fields are ID, Created, CreatedAt, CreatedSince, CreatedBy, Size, Comment and Tags")
		},
	}
}
