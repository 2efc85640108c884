package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/build"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/nsexec"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build an image from a Containerfile or Dockerfile",
		ArgsUsage: "CONTEXT",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "a name of the image (repeat for more)"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)"},
			&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build argument: KEY=VALUE (KEY alone copies it from here)"},
			&cli.StringFlag{Name: "target", Usage: "build up to this stage"},
			&cli.BoolFlag{Name: "no-cache", Usage: "do not use the layer cache"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image id"},
			&cli.StringFlag{Name: "pull", Value: build.PullMissing, Usage: "pull the images FROM and COPY --from name: missing (when not here), always, newer (try, and keep the local one if the registry cannot be reached) or never"},
			&cli.BoolFlag{Name: "pull-always", Usage: "--pull=always"},
			&cli.BoolFlag{Name: "pull-never", Usage: "--pull=never"},
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "verify the registry's certificate, and refuse plain HTTP, when pulling"},
			&cli.StringFlag{Name: "format", Usage: "the image's manifest: oci or docker (default: $BUILDAH_FORMAT, else oci)"},
			&cli.BoolFlag{Name: "layers", Value: true, Usage: "keep each step's layer in the cache and use the cache (default: $BUILDAH_LAYERS, else true); --layers=false is --no-cache"},
			&cli.StringSliceFlag{Name: "label", Usage: "set a label on the image: KEY=VALUE"},
			&cli.StringFlag{Name: "iidfile", Usage: "write the image id (sha256:ID) to this file"},
		},
		Action: buildAction,
	}
}

// envInUserNS marks a build already running inside the user namespace:
// 1, or the pid of the build that runs it there, which it dies with.
const envInUserNS = "_MYCTR_BUILD_IN_USERNS"

// dieWithOuterBuild makes this build, run in the user namespace by the
// build of pid outer, end when that one does (kill -9 included), and its
// steps with it (Attach.EndWithCaller). Set here, after the last execve:
// the kernel clears the flag on one that raises the capabilities, as
// entering the namespace as its root does.
func dieWithOuterBuild(outer int) error {
	if outer <= 1 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal: %w", err)
	}
	if os.Getppid() != outer {
		return withCode(125, errors.New("the build that started this one is gone"))
	}
	return nil
}

func buildAction(ctx *cli.Context) error {
	if ctx.NArg() != 1 {
		return withCode(125, errors.New("requires one build context directory: myctr build -t NAME CONTEXT"))
	}
	if os.Geteuid() != 0 && os.Getenv(envInUserNS) == "" {
		return buildInUserNS(ctx)
	}
	outer, _ := strconv.Atoi(os.Getenv(envInUserNS))
	os.Unsetenv(envInUserNS)
	if err := dieWithOuterBuild(outer); err != nil {
		return err
	}
	args := map[string]string{}
	for _, a := range ctx.StringSlice("build-arg") {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return withCode(125, fmt.Errorf("invalid --build-arg %q: want KEY=VALUE", a))
		}
		if !ok {
			var found bool
			if v, found = os.LookupEnv(k); !found {
				continue
			}
		}
		args[k] = v
	}
	labels := map[string]string{}
	for _, l := range ctx.StringSlice("label") {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return withCode(125, fmt.Errorf("invalid --label %q: want KEY=VALUE", l))
		}
		labels[k] = v
	}
	policy, err := build.PullPolicy(ctx.String("pull"))
	switch {
	case err != nil:
		return withCode(125, fmt.Errorf("--pull: %w", err))
	case ctx.Bool("pull-always"):
		policy = build.PullAlways
	case ctx.Bool("pull-never"):
		policy = build.PullNever
	}
	format := ctx.String("format")
	if !ctx.IsSet("format") {
		format = os.Getenv("BUILDAH_FORMAT")
	}
	noCache := ctx.Bool("no-cache")
	if layers, err := layersOf(ctx); err != nil {
		return withCode(125, err)
	} else if !layers {
		noCache = true
	}
	tags := ctx.StringSlice("tag")
	images, err := openImages(ctx)
	if err != nil {
		return err
	}
	ctrs, err := openContainers(ctx)
	if err != nil {
		return err
	}
	m, err := mapping()
	if err != nil {
		return err
	}
	var out, errw io.Writer = os.Stdout, os.Stderr
	if ctx.Bool("quiet") {
		out = io.Discard
	}
	contextDir, file := ctx.Args().First(), ctx.String("file")
	if contextDir == "-" {
		dir, err := stdinContext(file)
		if err != nil {
			return withCode(125, err)
		}
		defer os.RemoveAll(dir)
		contextDir = dir
	}
	b := &build.Builder{Images: images, Containers: ctrs, Mapping: m, Differ: usernsUnpacker{}}
	b.Pull = func(ref string) (*image.Image, error) {
		o, c, stop := transfer(ctx)
		defer stop()
		o.Progress = errw
		if ctx.Bool("quiet") {
			o.Progress = nil
		}
		pulled, err := images.Pull(c, ref, o)
		if err != nil {
			return nil, explainTransfer(err)
		}
		record(ctx, events.TypeImage, "pull", pulled.ID, ref)
		return images.Lookup(pulled.ID)
	}
	o := build.Options{
		ContextDir: contextDir,
		File:       file,
		BuildArgs:  args,
		Target:     ctx.String("target"),
		NoCache:    noCache,
		Labels:     labels,
		Pull:       policy,
		Format:     format,
		Stdout:     out,
		Stderr:     errw,
	}
	if len(tags) > 0 {
		o.Tag = tags[0]
	}
	img, err := b.Build(o)
	if err != nil {
		var re *build.RunError
		if errors.As(err, &re) && re.Exit > 0 {
			return withCode(re.Exit, err)
		}
		return withCode(125, explain(err))
	}
	for _, t := range tags[min(1, len(tags)):] {
		if err := images.Tag(img.ID, t); err != nil {
			return withCode(125, explain(err))
		}
		if !ctx.Bool("quiet") {
			fmt.Fprintf(out, "Successfully tagged %s\n", t)
		}
	}
	if p := ctx.String("iidfile"); p != "" {
		if err := os.WriteFile(p, []byte("sha256:"+img.ID), 0o644); err != nil {
			return withCode(125, fmt.Errorf("--iidfile: %w", err))
		}
	}
	fmt.Println(img.ID)
	return nil
}

// layersOf is --layers, else $BUILDAH_LAYERS (as Podman: a flag given
// wins over the variable), else true.
func layersOf(ctx *cli.Context) (bool, error) {
	if ctx.IsSet("layers") {
		return ctx.Bool("layers"), nil
	}
	v := os.Getenv("BUILDAH_LAYERS")
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid BUILDAH_LAYERS %q: want true or false", v)
	}
	return b, nil
}

// stdinContext reads the build's context "-" from standard input, as
// Podman and Docker do: a tar archive (gzip-compressed or not) is the
// context; anything else is the Containerfile, with an empty context.
// It returns the directory the caller removes.
func stdinContext(file string) (string, error) {
	dir, err := os.MkdirTemp("", "myctr-build-stdin-")
	if err != nil {
		return "", fmt.Errorf("make a directory for the context on standard input: %w", err)
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("read the build context from standard input: %w", err)
	}
	isTar := len(data) > 262 && string(data[257:262]) == "ustar"
	if isTar || (len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b) {
		err = archive.Unpack(bytes.NewReader(data), dir, archive.Options{Plain: true})
		if err != nil {
			err = fmt.Errorf("unpack the build context from standard input: %w", err)
		}
	} else if file != "" {
		err = errors.New("the Containerfile is on standard input (context -): --file names another")
	} else {
		err = os.WriteFile(filepath.Join(dir, "Containerfile"), data, 0o644)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// buildInUserNS runs the build again as root of the user's user namespace,
// as Podman runs its builds: there, every file of every layer reads as its
// in-image owner (a directory only uid 1000 may read is readable for COPY
// --from), and step containers map their ids 1:1 onto it without newuidmap.
// The roots are passed explicitly: inside, the defaults of root would apply.
func buildInUserNS(ctx *cli.Context) error {
	m, err := mapping()
	if err != nil {
		return err
	}
	if !m.HasRange() {
		// Only uid 0 exists in the namespace: building in place is the same.
		os.Setenv(envInUserNS, "1")
		return buildAction(ctx)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d := dirs(ctx)
	os.Setenv(envInUserNS, strconv.Itoa(os.Getpid()))
	args := append([]string{exe, "--root", d.Root, "--runroot", d.RunRoot}, os.Args[1:]...)
	u := &nsexec.UserNSCommand{Sub: "unshare", Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	// The build dies with this thread, its parent (dieWithOuterBuild).
	runtime.LockOSThread()
	err = u.Run(m)
	runtime.UnlockOSThread()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return withCode(ee.ExitCode(), nil)
	}
	return explain(err)
}
