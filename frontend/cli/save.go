package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/protocol/atomicfile"
)

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "write images to an archive",
		ArgsUsage: "IMAGE...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the archive to write (default: standard output)"},
			&cli.StringFlag{Name: "format", Value: image.FormatDockerArchive, Usage: "docker-archive or oci-archive"},
			// save prints no progress: there is nothing for -q to hush.
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print no progress (save prints none)"},
			&cli.BoolFlag{Name: "uncompressed", Usage: "with oci-archive, write the layers uncompressed (a new manifest; the same image ID)"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("requires at least one image: myctr save -o FILE IMAGE..."))
			}
			format := ctx.String("format")
			if format != image.FormatDockerArchive && format != image.FormatOCIArchive {
				return withCode(125, fmt.Errorf("unknown format %q: use docker-archive or oci-archive", format))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			o := image.SaveOptions{Uncompressed: ctx.Bool("uncompressed")}
			out := ctx.String("output")
			if out == "" || out == "-" {
				if term.IsTerminal(int(os.Stdout.Fd())) {
					return withCode(125, hint(errors.New("refusing to write an archive to a terminal"), "give a file: myctr save -o FILE IMAGE..."))
				}
				err = s.SaveWith(os.Stdout, ctx.Args().Slice(), format, o)
			} else {
				err = saveToFile(s, out, ctx.Args().Slice(), format, o)
			}
			if err != nil {
				return explain(err)
			}
			// As Podman's: each image's ID, and where it went ("" for
			// standard output).
			if out == "-" {
				out = ""
			}
			seen := map[string]bool{}
			for _, ref := range ctx.Args().Slice() {
				if img, err := s.Lookup(ref); err == nil && !seen[img.ID] {
					seen[img.ID] = true
					record(ctx, events.TypeImage, "save", img.ID, out)
				}
			}
			return nil
		},
	}
}

// saveToFile writes the archive next to path and renames it into place,
// so that path never holds half an archive.
func saveToFile(s *image.Store, path string, refs []string, format string, o image.SaveOptions) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return s.SaveWith(w, refs, format, o)
	})
}
