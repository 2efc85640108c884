package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/container"
)

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:      "cp",
		Usage:     "copy files between a container and the host (or another container); - is a tar stream on stdin or stdout",
		ArgsUsage: "[CONTAINER:]SRC [CONTAINER:]DEST",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "archive", Aliases: []string{"a"}, Value: true, Usage: "give files copied into a container the owner of the container's user (false: the owners in the stream, root for your own files)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "let a file replace a directory and a directory a file"},
			&cli.BoolFlag{Name: "pause", Value: true, Usage: "accepted as Podman spells it; myctr never pauses the container for a copy"},
		},
		Action: func(ctx *cli.Context) error {
			if ctx.NArg() != 2 {
				return withCode(125, errors.New("requires exactly 2 arguments"))
			}
			if err := copyAction(ctx, ctx.Args().Get(0), ctx.Args().Get(1)); err != nil {
				return withCode(125, err)
			}
			return nil
		},
	}
}

// cpEnd is one side of a copy: a container's path or a host path.
type cpEnd struct {
	ref  string // the container as the user named it; "" on the host
	path string
	c    *container.Container
}

// splitCp reads CONTAINER:PATH; a path that starts with / or . (or has no
// colon) is the host's, as Podman reads it.
func splitCp(arg string) cpEnd {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return cpEnd{path: arg}
	}
	if ref, p, ok := strings.Cut(arg, ":"); ok && ref != "" {
		return cpEnd{ref: ref, path: p}
	}
	return cpEnd{path: arg}
}

func copyAction(ctx *cli.Context, srcArg, destArg string) error {
	src, dest := splitCp(srcArg), splitCp(destArg)
	if src.ref == "" && dest.ref == "" {
		return fmt.Errorf("invalid arguments %s, %s: name a container in one of them (CONTAINER:PATH)", srcArg, destArg)
	}
	if src.ref != "" && src.ref == dest.ref {
		return fmt.Errorf("copying within one container (%s) is not supported", src.ref)
	}
	s, err := openContainers(ctx)
	if err != nil {
		return err
	}
	for _, e := range []*cpEnd{&src, &dest} {
		if e.ref == "" {
			continue
		}
		if e.c, err = lookup(s, e.ref); err != nil {
			return err
		}
		if e.path == "" {
			e.path = "."
		}
	}
	opts := container.CopyOptions{Contents: container.CopyContents(src.path), Archive: ctx.Bool("archive"), Overwrite: ctx.Bool("overwrite")}
	notFound := func(err error, e cpEnd) error {
		if !errors.Is(err, container.ErrCopyNotFound) {
			return err
		}
		if e.ref == "" {
			return fmt.Errorf("%q could not be found on the host: %w", e.path, err)
		}
		return fmt.Errorf("%q could not be found on container %s: %w", e.path, e.ref, err)
	}

	switch {
	case src.ref == "" && (src.path == "-" || src.path == "/dev/stdin"):
		r, err := container.CheckCopyTar(os.Stdin)
		if err != nil {
			return err
		}
		opts.Raw = true
		return notFound(s.CopyTo(dest.c, dest.path, r, opts), dest)
	case src.ref == "":
		if _, err := os.Stat(src.path); err != nil {
			return fmt.Errorf("%q could not be found on the host", src.path)
		}
		return notFound(pipeCopy(
			func(w io.Writer) error { return container.WriteCopyTar(w, src.path, true) },
			func(r io.Reader) error { return s.CopyTo(dest.c, dest.path, r, opts) },
		), dest)
	case dest.ref == "" && dest.path == "-":
		return notFound(s.CopyFrom(src.c, src.path, os.Stdout), src)
	case dest.ref == "":
		if fi, err := os.Stat(dest.path); err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
			return fmt.Errorf("invalid destination: %q %w", dest.path, container.ErrCopyBadDest)
		}
		err := pipeCopy(
			func(w io.Writer) error { return notFound(s.CopyFrom(src.c, src.path, w), src) },
			func(r io.Reader) error {
				return notFound(container.CopyOnHost(r, dest.path, opts.Contents, opts.Overwrite), dest)
			})
		return err
	default:
		return pipeCopy(
			func(w io.Writer) error { return notFound(s.CopyFrom(src.c, src.path, w), src) },
			func(r io.Reader) error { return notFound(s.CopyTo(dest.c, dest.path, r, opts), dest) },
		)
	}
}

// pipeCopy runs write and read on the two ends of a pipe. The side that
// failed first is reported: a writer's failure (a source not found) only
// shows to the reader as a short stream, a reader's failure only to the
// writer as a closed pipe.
func pipeCopy(write func(io.Writer) error, read func(io.Reader) error) error {
	pr, pw := io.Pipe()
	var werr error
	wdone := make(chan struct{})
	go func() {
		werr = write(pw)
		close(wdone)
		pw.CloseWithError(werr)
	}()
	rerr := read(pr)
	select {
	case <-wdone:
		if werr != nil {
			return werr
		}
	default:
	}
	pr.CloseWithError(errors.New("the destination stopped reading"))
	<-wdone
	if rerr != nil {
		return rerr
	}
	return werr
}
