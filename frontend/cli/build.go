//go:build !lean

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
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/urfave/cli/v2"

	"github.com/myctr/myctr/frontend/archive"
	"github.com/myctr/myctr/frontend/build"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/nsexec"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build an image from a Containerfile or Dockerfile",
		ArgsUsage: "[CONTEXT]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "a name of the image (repeat for more)"},
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile); a relative path not found here is taken in CONTEXT; - is standard input; several are one after the other"},
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
			&cli.StringFlag{Name: "logfile", Usage: "write the build's output to this file instead of standard output and error"},
			&cli.StringFlag{Name: "authfile", Usage: "the registry credentials for pulls (default $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)"},
			&cli.StringFlag{Name: "ignorefile", Usage: "the ignore file (default: CONTEXT/.containerignore, else CONTEXT/.dockerignore)"},
			&cli.IntFlag{Name: "jobs", Value: 1, Usage: "how many stages may be built at once (myctr builds one at a time: every value gives the same image)"},
			&cli.StringSliceFlag{Name: "ulimit", Usage: "a resource limit of the RUN steps: NAME=SOFT[:HARD] (as run's)"},
			&cli.StringFlag{Name: "runtime", Usage: "the OCI runtime of the RUN steps: myctr runs them itself, so only a copy of the myctr binary is taken"},
			&cli.StringSliceFlag{Name: "security-opt", Usage: "a security option of the RUN steps (as run's): no-new-privileges, seccomp=PROFILE.json, seccomp=unconfined, landlock=RULES"},
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

// buildxCommand is `buildx build`, Docker's spelling of build, as
// Podman has it: the same flags, and --load, which every build does
// (the image lands in the store).
func buildxCommand() *cli.Command {
	b := buildCommand()
	b.Flags = append(b.Flags, &cli.BoolFlag{Name: "load", Usage: "keep the image in the store (every build does)"})
	return group("buildx", "build images (Docker's buildx spelling of build)", []*cli.Command{b})
}

func buildAction(ctx *cli.Context) error {
	if ctx.NArg() > 1 {
		return withCode(125, errors.New("requires at most one build context directory: myctr build -t NAME CONTEXT"))
	}
	if p := ctx.String("authfile"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return withCode(125, hint(fmt.Errorf("--authfile: %w", err), "myctr login --authfile %s REGISTRY writes it", p))
		}
		os.Setenv("REGISTRY_AUTH_FILE", p)
	}
	if f := ctx.StringSlice("runtime-flag"); len(f) > 0 {
		// As a container's start refuses them (runExtraOptions), before
		// any step runs.
		return withCode(125, fmt.Errorf("myctr's runtime has no flag %q: it takes no --runtime-flag", f[0]))
	}
	if rt := ctx.String("runtime"); rt != "" {
		if err := sameAsSelf(rt); err != nil {
			return withCode(125, fmt.Errorf("--runtime %s: %w", rt, err))
		}
	}
	if ctx.Int("jobs") < 0 {
		return withCode(125, fmt.Errorf("invalid --jobs %d: want 0 or more", ctx.Int("jobs")))
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
	ulimits, err := container.ParseUlimits(ctx.StringSlice("ulimit"))
	if err != nil {
		return withCode(125, err)
	}
	secOpts := ctx.StringSlice("security-opt")
	if err := securityOptions(secOpts, &container.CreateOptions{}); err != nil {
		return withCode(125, err)
	}
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
	if p := ctx.String("logfile"); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return withCode(125, fmt.Errorf("--logfile: %w", err))
		}
		defer f.Close()
		out, errw = f, f
	}
	if ctx.Bool("quiet") {
		out = io.Discard
	}
	contextDir, files := ctx.Args().First(), ctx.StringSlice("file")
	if contextDir == "" {
		// As Podman: the first Containerfile's directory, else here.
		contextDir = "."
		if len(files) > 0 && files[0] != "-" {
			contextDir = filepath.Dir(files[0])
		}
	}
	file := ""
	if len(files) == 1 && files[0] != "-" {
		file = files[0]
	}
	if contextDir == "-" {
		if slices.Contains(files, "-") {
			return withCode(125, errors.New("the context and the Containerfile cannot both be on standard input"))
		}
		dir, err := stdinContext(file)
		if err != nil {
			return withCode(125, err)
		}
		defer os.RemoveAll(dir)
		contextDir = dir
	}
	for i, f := range files {
		// A relative Containerfile not found here is the context's.
		if _, err := os.Stat(f); f != "-" && !filepath.IsAbs(f) && errors.Is(err, os.ErrNotExist) {
			files[i] = filepath.Join(contextDir, f)
		}
	}
	if len(files) == 1 && files[0] != "-" {
		file = files[0]
	} else if len(files) > 0 {
		joined, err := joinContainerfiles(files)
		if err != nil {
			return withCode(125, err)
		}
		defer os.RemoveAll(filepath.Dir(joined))
		file = joined
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
		IgnoreFile: ctx.String("ignorefile"),
		IDLength:   11, // as Podman prints them
		Step: func(co *container.CreateOptions) error {
			co.Ulimits = ulimits
			return securityOptions(secOpts, co)
		},
		Stdout: out,
		Stderr: errw,
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

// buildPullArgs reads a bare --pull of build (and buildx build) as
// --pull=always, as Podman's and Docker's --pull without a value: a
// value of its own is a policy word right after it. Other command lines
// are returned as they are.
func buildPullArgs(args []string) []string {
	if !slices.Contains(args, "--pull") {
		return args // every other command line, run's first, at no cost
	}
	cmd := calledCommand(args)
	if cmd != "build" && cmd != "buildx" {
		return args
	}
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--pull" && i > 0 {
			if i+1 == len(args) {
				a = "--pull=always"
			} else if _, err := build.PullPolicy(args[i+1]); err != nil || args[i+1] == "" {
				a = "--pull=always"
			}
		}
		out = append(out, a)
	}
	return out
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

// joinContainerfiles writes the Containerfiles (- for standard input) one
// after the other, as Podman reads several -f, to a file of a new
// directory, which the caller removes.
func joinContainerfiles(files []string) (string, error) {
	var all []byte
	for _, f := range files {
		var b []byte
		var err error
		if f == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return "", fmt.Errorf("read containerfile: %w", err)
		}
		all = append(append(all, b...), '\n')
	}
	dir, err := os.MkdirTemp("", "myctr-build-file-")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(p, all, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return p, nil
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
	if callerExe != "" {
		// The build inside checks --runtime against the same myctr.
		os.Setenv(envCaller, callerExe)
	}
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
