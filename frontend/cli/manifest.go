//go:build !lean

package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/image"
)

// manifestCommand is `manifest VERB`: manifest lists, one image per
// platform under one name, as Podman's.
func manifestCommand() *cli.Command {
	return group("manifest", "manage manifest lists (one name, an image per platform)", []*cli.Command{
		manifestCreateCommand(), manifestAddCommand(), manifestAnnotateCommand(), manifestInspectCommand(),
		manifestPushCommand(), manifestRemoveCommand(), manifestRmCommand(), manifestExistsCommand(),
	})
}

func tlsVerifyFlag() cli.Flag {
	return &cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (plain HTTP is used for registries on this machine either way)"}
}

// memberFlags are the platform and annotation flags of add and annotate.
func memberFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "arch", Usage: "the image's architecture, in place of what its config says"},
		&cli.StringFlag{Name: "os", Usage: "the image's operating system"},
		&cli.StringFlag{Name: "variant", Usage: "the architecture's variant (v7, v8 and so on)"},
		&cli.StringFlag{Name: "os-version", Usage: "the operating system's version"},
		&cli.StringSliceFlag{Name: "os-features", Aliases: []string{"features"}, Usage: "operating system features the image needs"},
		&cli.StringSliceFlag{Name: "annotation", Usage: "an annotation KEY=VALUE of the image's entry"},
	}
}

func memberOptions(ctx *cli.Context) (image.MemberOptions, error) {
	o := image.MemberOptions{OS: ctx.String("os"), Arch: ctx.String("arch"), Variant: ctx.String("variant"),
		OSVersion: ctx.String("os-version"), OSFeatures: ctx.StringSlice("os-features")}
	for _, a := range ctx.StringSlice("annotation") {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return o, withCode(125, fmt.Errorf("invalid annotation %q: want KEY=VALUE", a))
		}
		if o.Annotations == nil {
			o.Annotations = map[string]string{}
		}
		o.Annotations[k] = v
	}
	return o, nil
}

// explainList adds the fix to a manifest list's errors.
func explainList(err error) error {
	switch {
	case errors.Is(err, image.ErrListUnknown):
		return withCode(125, hint(err, "myctr manifest create NAME makes one"))
	case errors.Is(err, image.ErrNameInUse):
		return withCode(125, hint(err, "choose another name, or remove what has it (myctr rmi NAME, myctr manifest rm NAME)"))
	case errors.Is(err, image.ErrNotInList):
		return withCode(125, hint(err, "myctr manifest inspect LIST shows the digests it has"))
	case errors.Is(err, image.ErrInvalidRef):
		return withCode(125, hint(err, "a name is [REGISTRY/]NAME[:TAG], lower case"))
	}
	return withCode(125, explainTransfer(err))
}

// printListID prints the id of the list a change gave back, as Podman's
// manifest verbs do.
func printListID(l *image.List, err error) error {
	if err != nil {
		return explainList(err)
	}
	fmt.Println(l.ID)
	return nil
}

func manifestCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "make a manifest list, with the images given",
		ArgsUsage: "LIST [IMAGE...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "of an image that is a list in its registry, add every platform's"},
			tlsVerifyFlag(),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("requires a name for the list: myctr manifest create LIST [IMAGE...]"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			l, err := s.CreateList(ctx.Args().First())
			if err != nil {
				return explainList(err)
			}
			o, c, stop := transfer(ctx)
			defer stop()
			o.Progress = nil
			for _, ref := range ctx.Args().Tail() {
				if _, err := s.AddToList(c, l.ID, ref, ctx.Bool("all"), image.MemberOptions{}, o); err != nil {
					s.RemoveList(l.ID) // nothing half-made
					return explainList(err)
				}
			}
			fmt.Println(l.ID)
			return nil
		},
	}
}

func manifestAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "add an image (from the store, else from its registry, which is not pulled) to a manifest list",
		ArgsUsage: "LIST IMAGE",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "of an image that is a list in its registry, add every platform's"},
			tlsVerifyFlag(),
		}, memberFlags()...),
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("requires a list and an image: myctr manifest add LIST IMAGE"))
			}
			mo, err := memberOptions(ctx)
			if err != nil {
				return err
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			o, c, stop := transfer(ctx)
			defer stop()
			o.Progress = nil
			return printListID(s.AddToList(c, ctx.Args().Get(0), ctx.Args().Get(1), ctx.Bool("all"), mo, o))
		},
	}
}

// memberDigest reads a DIGEST argument.
func memberDigest(v string) (digest.Digest, error) {
	d, err := digest.Parse(v)
	if err != nil {
		return "", withCode(125, fmt.Errorf("%q is not a digest (sha256:HEX): %w", v, err))
	}
	return d, nil
}

func manifestAnnotateCommand() *cli.Command {
	return &cli.Command{
		Name:      "annotate",
		Usage:     "set the platform and annotations of an image in a manifest list",
		ArgsUsage: "LIST DIGEST",
		Flags:     memberFlags(),
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("requires a list and an image's digest: myctr manifest annotate LIST DIGEST"))
			}
			mo, err := memberOptions(ctx)
			if err != nil {
				return err
			}
			d, err := memberDigest(ctx.Args().Get(1))
			if err != nil {
				return err
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			return printListID(s.AnnotateMember(ctx.Args().Get(0), d, mo))
		},
	}
}

func manifestInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print a manifest list as JSON (a local list, else the manifest in its registry)",
		ArgsUsage: "LIST",
		Flags:     []cli.Flag{tlsVerifyFlag()},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires one manifest list or image"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			ref := ctx.Args().First()
			l, err := s.LookupList(ref)
			if err == nil && !strings.HasPrefix(ref, "docker://") {
				b, err := image.ListJSON(l, "")
				if err != nil {
					return err
				}
				fmt.Println(string(b))
				return nil
			}
			if !errors.Is(err, image.ErrListUnknown) && err != nil {
				return explainList(err)
			}
			o, c, stop := transfer(ctx)
			defer stop()
			b, rerr := image.InspectRemote(c, ref, o)
			if rerr != nil {
				return explainList(fmt.Errorf("%w; in its registry: %w", err, rerr))
			}
			os.Stdout.Write(b)
			fmt.Println()
			return nil
		},
	}
}

func manifestPushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "copy a manifest list and its images to a registry",
		ArgsUsage: "LIST [DESTINATION]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Value: true, Usage: "push the list's images too (the registry needs them; --all=false is accepted for Podman's scripts)"},
			&cli.BoolFlag{Name: "rm", Usage: "remove the local list once pushed"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "oci or v2s2 (Docker's manifest list); default: Docker's when every image is a Docker manifest, else OCI"},
			&cli.StringFlag{Name: "digestfile", Usage: "write the pushed list's digest to this file"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress"},
			tlsVerifyFlag(),
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() < 1 || ctx.NArg() > 2 {
				return withCode(125, errors.New("requires a list and at most one destination: myctr manifest push LIST [REGISTRY/NAME[:TAG]]"))
			}
			var format string
			switch f := ctx.String("format"); f {
			case "":
			case "oci":
				format = "application/vnd.oci.image.index.v1+json"
			case "v2s2":
				format = "application/vnd.docker.distribution.manifest.list.v2+json"
			default:
				return withCode(125, hint(fmt.Errorf("invalid --format %q", f), "use oci or v2s2"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			o, c, stop := transfer(ctx)
			defer stop()
			d, err := s.PushList(c, ctx.Args().Get(0), ctx.Args().Get(1), format, o)
			if err != nil {
				return explainList(err)
			}
			if f := ctx.String("digestfile"); f != "" {
				if err := os.WriteFile(f, []byte(d), 0o644); err != nil {
					return fmt.Errorf("write digest file: %w", err)
				}
			}
			if ctx.Bool("rm") {
				if _, err := s.RemoveList(ctx.Args().Get(0)); err != nil {
					return explainList(err)
				}
			}
			return nil
		},
	}
}

func manifestRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "take an image out of a manifest list",
		ArgsUsage: "LIST DIGEST",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("requires a list and an image's digest: myctr manifest remove LIST DIGEST"))
			}
			d, err := memberDigest(ctx.Args().Get(1))
			if err != nil {
				return err
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			return printListID(s.RemoveMember(ctx.Args().Get(0), d))
		},
	}
}

func manifestRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove manifest lists (their images stay)",
		ArgsUsage: "LIST...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "ignore", Aliases: []string{"i"}, Usage: "a list that is not there is no error"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() == 0 {
				return withCode(125, errors.New("requires at least one manifest list"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			var failed error
			for _, ref := range ctx.Args().Slice() {
				l, err := s.RemoveList(ref)
				if errors.Is(err, image.ErrListUnknown) && ctx.Bool("ignore") {
					continue
				}
				if err != nil {
					if failed != nil {
						fmt.Fprintf(os.Stderr, "Error: %v\n", failed)
					}
					failed = withCode(1, err)
					continue
				}
				fmt.Println("Untagged: " + l.Name)
				fmt.Println("Deleted: " + l.ID)
			}
			return failed
		},
	}
}

func manifestExistsCommand() *cli.Command {
	return &cli.Command{
		Name:      "exists",
		Usage:     "exit 0 if the manifest list exists, 1 if it does not",
		ArgsUsage: "LIST",
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 1 {
				return withCode(125, errors.New("requires exactly one manifest list"))
			}
			s, err := openImages(ctx)
			if err != nil {
				return err
			}
			if _, err := s.LookupList(ctx.Args().First()); err != nil {
				if errors.Is(err, image.ErrListUnknown) {
					return withCode(1, nil)
				}
				return explainList(err)
			}
			return nil
		},
	}
}
