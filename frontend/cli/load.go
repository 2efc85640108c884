package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "add the images of a docker-archive or oci-archive",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "the archive to read: a file, or an http:// or https:// URL (default: standard input)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing but errors"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 0 {
				return withCode(125, errors.New("takes no arguments: myctr load -i FILE"))
			}
			var r io.Reader = os.Stdin
			if p := ctx.String("input"); isURL(p) {
				// As Podman's load -i URL: the archive is read as it comes.
				body, err := download(ctx.Context, p)
				if err != nil {
					return err
				}
				defer body.Close()
				r = body
			} else if p != "" && p != "-" {
				f, err := os.Open(p)
				if err != nil {
					return fmt.Errorf("open archive: %w", err)
				}
				defer f.Close()
				r = f
			} else if term.IsTerminal(int(os.Stdin.Fd())) {
				return withCode(125, errors.New("cannot read from terminal, use command-line redirection or the --input flag")) // Podman's words, alone: they say the fix
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			scope := ""
			if p := ctx.String("input"); p != "" && p != "-" && !isURL(p) {
				scope, _ = filepath.Abs(p)
			}
			var progress io.Writer = os.Stderr
			if ctx.Bool("quiet") {
				progress = nil
			}
			images, err := loadChecked(ctx, s, r, scope, "", progress)
			if err != nil {
				return err
			}
			// One event for the archive, as Podman's: its path ("" for
			// standard input), no image ID.
			in := ctx.String("input")
			if in == "-" {
				in = ""
			}
			record(ctx, events.TypeImage, "loadfromarchive", "", in)
			if ctx.Bool("quiet") {
				return nil
			}
			for _, img := range images {
				if len(img.Names) == 0 {
					fmt.Println("Loaded image: sha256:" + img.ID)
				}
				for _, n := range img.Names {
					fmt.Println("Loaded image: " + n)
				}
			}
			return nil
		},
	}
}

// loadChecked loads the archive r (the file scope, "" for a stream) if
// policy.json (or pull's --signature-policy file) allows its transport,
// and, where want is set, only an archive of that transport.
func loadChecked(ctx *cli.Context, s *image.Store, r io.Reader, scope, want string, progress io.Writer) ([]*image.Image, error) {
	pol, err := config.LoadPolicy(config.HostEnv())
	if p := ctx.String("signature-policy"); p != "" {
		pol, err = config.ReadPolicy(p)
	}
	if err != nil {
		return nil, explainConfig(err)
	}
	images, err := s.LoadChecked(r, func(transport string) error {
		if want != "" && transport != want {
			return fmt.Errorf("%s is an %s, not a %s", scope, transport, want)
		}
		return pol.Check(transport, scope)
	}, progress)
	if err != nil {
		return nil, explainTransfer(err)
	}
	return images, nil
}

// archiveRef splits an image reference of Podman's archive transports,
// docker-archive:PATH[:NAME] and oci-archive:PATH[:NAME]; NAME picks one
// image of an archive holding several. ok is false for any other
// reference.
func archiveRef(ref string) (transport, path, name string, ok bool) {
	transport, path, ok = strings.Cut(ref, ":")
	if !ok || (transport != "docker-archive" && transport != "oci-archive") || path == "" {
		return "", "", "", false
	}
	if _, err := os.Stat(path); err != nil {
		if i := strings.LastIndex(path, ":"); i > 0 {
			path, name = path[:i], path[i+1:]
		}
	}
	return transport, path, name, true
}

// loadArchiveRef loads the archive an archive reference names and
// returns its image (the one NAME names, or the first), as run, create
// and pull of docker-archive:PATH do, with a load's progress (unless
// --quiet) on stderr.
func loadArchiveRef(ctx *cli.Context, s *image.Store, transport, path, name string) (*image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withCode(125, fmt.Errorf("open %s archive: %w", transport, err))
	}
	defer f.Close()
	abs, _ := filepath.Abs(path)
	var progress io.Writer = os.Stderr
	if ctx.Bool("quiet") {
		progress = nil
	}
	images, err := loadChecked(ctx, s, f, abs, transport, progress)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return images[0], nil
	}
	want, err := s.Lookup(name)
	if err != nil {
		return nil, explain(err)
	}
	for _, img := range images {
		if img.ID == want.ID {
			return img, nil
		}
	}
	return nil, withCode(125, fmt.Errorf("%s:%s holds no image %s", transport, path, name))
}

// isURL reports whether load's input names an HTTP(S) URL.
func isURL(p string) bool {
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}
