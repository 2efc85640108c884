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
	"github.com/myctr/myctr/frontend/nsexec"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build an image from a Containerfile or Dockerfile",
		ArgsUsage: "CONTEXT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name of the image"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)"},
			&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build argument: KEY=VALUE (KEY alone copies it from here)"},
			&cli.StringFlag{Name: "target", Usage: "build up to this stage"},
			&cli.BoolFlag{Name: "no-cache", Usage: "do not use the layer cache"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image id"},
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
	img, err := b.Build(build.Options{
		ContextDir: contextDir,
		File:       file,
		Tag:        ctx.String("tag"),
		BuildArgs:  args,
		Target:     ctx.String("target"),
		NoCache:    ctx.Bool("no-cache"),
		Stdout:     out,
		Stderr:     errw,
	})
	if err != nil {
		var re *build.RunError
		if errors.As(err, &re) && re.Exit > 0 {
			return withCode(re.Exit, err)
		}
		return withCode(125, explain(err))
	}
	fmt.Println(img.ID)
	return nil
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
