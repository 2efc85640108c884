package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/layerfs"
	"github.com/myctr/myctr/frontend/userns"
)

// Differ writes a container's upper directory as a layer tar (WriteDiff,
// run inside the user's user namespace).
type Differ interface {
	Diff(upperDir string, w io.Writer) error
}

// Builder runs builds against the user's stores.
type Builder struct {
	Images     *image.Store
	Containers *container.Store
	Mapping    *userns.Mapping
	Differ     Differ
	// Pull fetches an image that FROM or COPY --from names from its
	// registry (as Options.Pull says when); nil: only the store's.
	Pull func(ref string) (*image.Image, error)
}

// The pull policies of Options.Pull, Podman's.
const (
	PullMissing = "missing" // pull an image that is not in the store (the default)
	PullAlways  = "always"  // pull every one
	PullNewer   = "newer"   // pull every one; keep the store's when the registry cannot be reached
	PullNever   = "never"   // the store's alone
)

// PullPolicy is the policy a --pull value names (Podman's words, with
// true for always and false for never), or an error.
func PullPolicy(v string) (string, error) {
	switch v {
	case "", PullMissing:
		return PullMissing, nil
	case PullAlways, "true":
		return PullAlways, nil
	case PullNever, "false":
		return PullNever, nil
	case PullNewer:
		return PullNewer, nil
	}
	return "", fmt.Errorf("invalid pull policy %q: want missing, always, newer or never", v)
}

// manifestType is the media type of a --format: oci (the default) or
// docker.
func manifestType(format string) (string, error) {
	switch format {
	case "", "oci":
		return v1.MediaTypeImageManifest, nil
	case "docker":
		return image.MediaTypeDockerManifest, nil
	}
	return "", fmt.Errorf("unrecognized image type %q: want oci or docker", format)
}

// Options are the build flags.
type Options struct {
	ContextDir string
	File       string            // default: CONTEXT/Containerfile, else CONTEXT/Dockerfile
	Tag        string            // "" leaves the image without a name
	BuildArgs  map[string]string // --build-arg
	Target     string            // --target: the stage to stop at
	NoCache    bool
	Labels     map[string]string // set on the image, over the Containerfile's (--label)
	Pull       string            // when FROM's and COPY --from's images are pulled: a Pull* policy ("": missing)
	Format     string            // the image's manifest: oci ("") or docker
	IgnoreFile string            // the ignore file ("": CONTEXT/.containerignore, else CONTEXT/.dockerignore)
	// IDLength is how many hex digits of an id the "-->" lines show: 0
	// is 12, Docker's; Podman's are 11.
	IDLength int
	// Step sets what the build's flags ask of every RUN step's container
	// (--ulimit, --security-opt); nil: nothing.
	Step   func(*container.CreateOptions) error
	Stdout io.Writer // progress and RUN output (nil: discarded)
	Stderr io.Writer // warnings and RUN errors (nil: discarded)
}

// stageState is a stage being built, or built.
type stageState struct {
	name   string
	cfg    dockerspec.DockerOCIImage
	layers []image.Layer
	key    string // cache chain
	args   *argScope
	cmdSet bool
	done   bool
}

type run struct {
	b       *Builder
	o       Options
	out     io.Writer
	errw    io.Writer
	file    *Containerfile
	ctx     *contextSource
	session *image.BuildSession
	cache   *layerCache
	meta    *argScope // global ARGs, for FROM lines
	stages  []*stageState
	step    int
	total   int
	images  map[string]*image.Image // FROM's and COPY --from's, by reference, once each
}

// Build runs the Containerfile and commits the target stage as an image
// named o.Tag. A failing step leaves no image and no step container.
func (b *Builder) Build(o Options) (*image.Image, error) {
	r := &run{b: b, o: o, out: o.Stdout, errw: o.Stderr, images: map[string]*image.Image{}}
	mediaType, err := manifestType(o.Format)
	if err != nil {
		return nil, err
	}
	if r.o.Pull, err = PullPolicy(o.Pull); err != nil {
		return nil, err
	}
	b.Containers.SweepAbandonedSteps()
	if r.out == nil {
		r.out = io.Discard
	}
	if r.errw == nil {
		r.errw = io.Discard
	}
	file := o.File
	if file == "" {
		file = filepath.Join(o.ContextDir, "Containerfile")
		if _, err := os.Stat(file); err != nil {
			file = filepath.Join(o.ContextDir, "Dockerfile")
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read containerfile: %w", err)
	}
	if r.file, err = Parse(file, data); err != nil {
		return nil, err
	}
	ig, err := ReadIgnore(o.ContextDir)
	if o.IgnoreFile != "" {
		var b []byte
		if b, err = os.ReadFile(o.IgnoreFile); err == nil {
			ig, err = ParseIgnore(b)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ignore file: %w", err)
	}
	if r.ctx, err = newContextSource(o.ContextDir, ig); err != nil {
		return nil, err
	}
	r.meta = newArgScope()
	for _, a := range r.file.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := o.BuildArgs[kv.Key]; ok {
				r.meta.set(kv.Key, v)
			} else if kv.Value != nil {
				v, err := newExpander(r.file.Escape, r.meta.env()).Expand(*kv.Value)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", file, lineOf(&a), err)
				}
				r.meta.set(kv.Key, v)
			}
		}
	}
	target := len(r.file.Stages) - 1
	if o.Target != "" {
		i, ok := instructions.HasStage(r.file.Stages, o.Target)
		if !ok {
			return nil, fmt.Errorf("--target %s: %w", o.Target, ErrStage)
		}
		target = i
	}
	needed := r.needed(target)
	for i := range r.file.Stages {
		if needed[i] {
			r.total += 1 + len(r.file.Stages[i].Commands)
		}
	}
	r.stages = make([]*stageState, len(r.file.Stages))
	if r.session, err = b.Images.NewBuildSession(); err != nil {
		return nil, err
	}
	defer r.session.Close()
	r.cache = openCache(b.Images)
	for i := 0; i <= target; i++ {
		if !needed[i] {
			continue
		}
		if err := r.buildStage(i); err != nil {
			return nil, err
		}
	}
	st := r.stages[target]
	cfgJSON, err := r.finalConfig(st)
	if err != nil {
		return nil, err
	}
	if o.Tag != "" {
		fmt.Fprintf(r.out, "COMMIT %s\n", o.Tag)
	} else {
		fmt.Fprintln(r.out, "COMMIT")
	}
	img, err := r.session.CommitAs(cfgJSON, st.layers, o.Tag, mediaType)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	fmt.Fprintf(r.out, "--> %s\n", r.short(img.ID))
	for _, n := range img.Names {
		if o.Tag != "" {
			fmt.Fprintf(r.out, "Successfully tagged %s\n", n)
		}
	}
	return img, nil
}

// needed marks the stages the target depends on (FROM a stage, COPY
// --from a stage).
func (r *run) needed(target int) map[int]bool {
	need := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if need[i] {
			return
		}
		need[i] = true
		s := r.file.Stages[i]
		if j := r.stageRef(s.BaseName, i); j >= 0 {
			visit(j)
		}
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				if j := r.stageRef(cp.From, i); j >= 0 {
					visit(j)
				}
			}
		}
	}
	visit(target)
	return need
}

// stageRef returns the index of the stage before 'before' that ref names
// (by name or number), or -1.
func (r *run) stageRef(ref string, before int) int {
	if v, err := newExpander(r.file.Escape, r.meta.env()).Expand(ref); err == nil {
		ref = v
	}
	for j := 0; j < before; j++ {
		if strings.EqualFold(r.file.Stages[j].Name, ref) && ref != "" {
			return j
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before {
		return n
	}
	return -1
}

func (r *run) stepf(format string, args ...any) string {
	r.step++
	s := fmt.Sprintf("STEP %d/%d: ", r.step, r.total) + fmt.Sprintf(format, args...)
	fmt.Fprintln(r.out, s)
	return s
}

func (r *run) at(c instructions.Command) string {
	return fmt.Sprintf("%s:%d", r.file.Name, lineOf(c))
}

// buildStage runs stage i.
func (r *run) buildStage(i int) error {
	s := r.file.Stages[i]
	r.stepf("%s", s.SourceCode)
	st := &stageState{name: s.Name, args: newArgScope()}
	r.stages[i] = st
	if s.Platform != "" {
		fmt.Fprintf(r.errw, "Warning: %s: FROM --platform=%s is ignored: myctr builds for the host's platform\n", r.file.Name, s.Platform)
	}
	base, err := newExpander(r.file.Escape, r.meta.env()).Expand(s.BaseName)
	if err != nil {
		return fmt.Errorf("%s:%d: FROM: %w", r.file.Name, s.Location[0].Start.Line, err)
	}
	var triggers []string
	switch j := r.stageRef(base, i); {
	case j >= 0:
		prev := r.stages[j]
		st.cfg = cloneConfig(prev.cfg)
		st.layers = append([]image.Layer{}, prev.layers...)
		st.key = prev.key
	case strings.EqualFold(base, "scratch"):
		st.key = "scratch"
		st.cfg.OS, st.cfg.Architecture = "linux", runtime.GOARCH
	default:
		img, err := r.image(base)
		if err != nil {
			return fmt.Errorf("%s:%d: FROM %s: %w", r.file.Name, s.Location[0].Start.Line, base, err)
		}
		raw, err := r.b.Images.RawConfig(img)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &st.cfg); err != nil {
			return fmt.Errorf("FROM %s: parse config: %w", base, err)
		}
		st.layers = img.Layers()
		st.key = "image:" + img.ID
		triggers = st.cfg.Config.OnBuild
		st.cfg.Config.OnBuild = nil
	}
	// As BuildKit and buildah: a stage always has a PATH, so that RUN and
	// the resulting image find their commands.
	if !slices.ContainsFunc(st.cfg.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		st.cfg.Config.Env = append([]string{defaultPath}, st.cfg.Config.Env...)
	}
	for _, t := range triggers {
		c, err := parseTrigger(t)
		if err != nil {
			return fmt.Errorf("FROM %s: %w", base, err)
		}
		fmt.Fprintf(r.out, "--> ONBUILD %s\n", t)
		if err := r.exec(st, c, "ONBUILD "+t); err != nil {
			return err
		}
	}
	for _, c := range s.Commands {
		label := r.stepf("%s", c.(interface{ String() string }).String())
		if err := r.exec(st, c, label); err != nil {
			return err
		}
	}
	st.done = true
	return nil
}

func cloneConfig(c dockerspec.DockerOCIImage) dockerspec.DockerOCIImage {
	b, _ := json.Marshal(c)
	var out dockerspec.DockerOCIImage
	json.Unmarshal(b, &out)
	return out
}

// lowerDirs returns the stage's unpacked layers, top first.
func (r *run) lowerDirs(layers []image.Layer) []string {
	out := make([]string, 0, len(layers))
	for i := len(layers) - 1; i >= 0; i-- {
		out = append(out, r.b.Images.LayerDir(layers[i]))
	}
	return out
}

// shellForm turns a shell-form command line into argv.
func shellForm(st *stageState, cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string{}, cl.CmdLine...)
	}
	sh := st.cfg.Config.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, sh...), strings.Join(cl.CmdLine, " "))
}

// exec runs one instruction on st. label is the STEP line, for errors.
func (r *run) exec(st *stageState, c instructions.Command, label string) error {
	text := c.(interface{ String() string }).String()
	env := mergeEnv(st.args.env(), st.cfg.Config.Env)
	ex := newExpander(r.file.Escape, env)
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := c.(*instructions.RunCommand); !isRun {
			if err := e.Expand(ex.Expand); err != nil {
				return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
			}
		}
	}
	cfg := &st.cfg.Config
	var layer *image.Layer
	inputs := ""
	var produce func() (*image.Layer, error) // nil: no layer
	switch c := c.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = container.SetEnv(cfg.Env, kv.Key+"="+kv.Value)
		}
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if v, ok := r.o.BuildArgs[kv.Key]; ok {
				st.args.set(kv.Key, v)
			} else if kv.Value != nil {
				st.args.set(kv.Key, *kv.Value)
			} else if r.meta.has(kv.Key) {
				st.args.set(kv.Key, r.meta.values[kv.Key])
			}
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		st.cfg.Author = c.Maintainer
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.CmdCommand:
		cfg.Cmd = shellForm(st, c.ShellDependantCmdLine)
		st.cmdSet = true
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = shellForm(st, c.ShellDependantCmdLine)
		if len(c.CmdLine) == 0 {
			cfg.Entrypoint = nil
		}
		if !st.cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			for _, w := range strings.Fields(p) {
				w, err := ex.Expand(w)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
				}
				if !strings.Contains(w, "/") {
					w += "/tcp"
				}
				cfg.ExposedPorts[strings.ToLower(w)] = struct{}{}
			}
		}
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.HealthCheckCommand:
		cfg.Healthcheck = c.Health
	case *instructions.ShellCommand:
		cfg.Shell = append([]string{}, c.Shell...)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.WorkdirCommand:
		p := c.Path
		if !path.IsAbs(p) {
			p = path.Join("/", cfg.WorkingDir, p)
		}
		cfg.WorkingDir = path.Clean(p)
		imgfs := layerfs.FS{Layers: r.lowerDirs(st.layers)}
		if _, fi, err := imgfs.Stat(cfg.WorkingDir); err != nil || !fi.IsDir() {
			req := &copyRequest{image: imgfs, mapping: r.b.Mapping}
			plan := &copyPlan{}
			req.parents(plan, cfg.WorkingDir, true)
			produce = func() (*image.Layer, error) { return r.addLayer(plan.write) }
		}
	case *instructions.RunCommand:
		if len(c.FlagsUsed) > 0 {
			return fmt.Errorf("%s: %s: RUN --%s: %w", r.at(c), label, c.FlagsUsed[0], ErrUnsupported)
		}
		if len(c.Files) > 0 {
			return fmt.Errorf("%s: %s: heredocs: %w", r.at(c), label, ErrUnsupported)
		}
		argv := shellForm(st, c.ShellDependantCmdLine)
		produce = func() (*image.Layer, error) { return r.runStep(st, argv, label) }
	case *instructions.CopyCommand:
		if c.Link || c.Parents || len(c.ExcludePatterns) > 0 || len(c.SourceContents) > 0 {
			return fmt.Errorf("%s: %s: COPY --link, --parents, --exclude and heredocs: %w", r.at(c), label, ErrUnsupported)
		}
		plan, err := r.copyPlan(st, c.SourcePaths, c.DestPath, c.From, c.Chown, c.Chmod, false)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
		}
		if inputs, err = plan.digest(); err != nil {
			return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
		}
		produce = func() (*image.Layer, error) { return r.addLayer(plan.write) }
	case *instructions.AddCommand:
		if c.Link || len(c.ExcludePatterns) > 0 || len(c.SourceContents) > 0 || c.Checksum != "" {
			return fmt.Errorf("%s: %s: ADD --link, --exclude, --checksum and heredocs: %w", r.at(c), label, ErrUnsupported)
		}
		urls, cleanup, err := r.download(c.SourcePaths)
		defer cleanup()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
		}
		plan, err := r.copyPlanURL(st, c.SourcePaths, c.DestPath, c.Chown, c.Chmod, urls)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
		}
		if inputs, err = plan.digest(); err != nil {
			return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
		}
		produce = func() (*image.Layer, error) { return r.addLayer(plan.write) }
	default:
		return fmt.Errorf("%s: %s: %w", r.at(c), label, ErrUnsupported)
	}
	st.key = cacheKey(st.key, text, st.args.key(), inputs)
	created := time.Now().UTC()
	if produce != nil {
		hit := false
		if !r.o.NoCache {
			if e, ok := r.cache.get(st.key); ok && e.Layer != nil {
				layer, created, hit = e.Layer, e.Created, true
				fmt.Fprintf(r.out, "--> Using cache %s\n", r.short(layer.DiffID.Encoded()))
			}
		}
		if !hit {
			l, err := produce()
			if err != nil {
				var re *RunError
				if errors.As(err, &re) {
					return err
				}
				return fmt.Errorf("%s: %s: %w", r.at(c), label, err)
			}
			layer = l
			if r.step < r.total {
				// The last step's is the image's, after COMMIT (as Podman).
				fmt.Fprintf(r.out, "--> %s\n", r.short(layer.DiffID.Encoded()))
			}
			if err := r.cache.put(st.key, cacheEntry{Layer: layer, Created: created}); err != nil {
				fmt.Fprintf(r.errw, "Warning: %v\n", err)
			}
		}
		st.layers = append(st.layers, *layer)
	} else if r.cache != nil {
		// A step that only changes the config keeps the time it was
		// first made too, so that a rebuild with no change gives the
		// same config, and so the same image id.
		if e, ok := r.cache.get(st.key); ok && e.Layer == nil && !r.o.NoCache {
			created = e.Created
		} else if err := r.cache.put(st.key, cacheEntry{Created: created}); err != nil {
			fmt.Fprintf(r.errw, "Warning: %v\n", err)
		}
	}
	st.cfg.History = append(st.cfg.History, v1.History{
		Created: &created, CreatedBy: text, Comment: "myctr build", EmptyLayer: layer == nil,
	})
	return nil
}

// addLayer stores the tar that write writes as a new layer.
func (r *run) addLayer(write func(io.Writer) error) (*image.Layer, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	l, err := r.session.AddLayer(pr)
	pr.CloseWithError(errors.New("layer abandoned"))
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// defaultPath is the PATH a stage gets when its base sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runStep runs argv in a step container on the stage's layers and makes
// its upper directory the new layer. The container is always removed.
func (r *run) runStep(st *stageState, argv []string, label string) (*image.Layer, error) {
	lower := r.lowerDirs(st.layers)
	if len(lower) == 0 {
		return nil, fmt.Errorf("RUN needs a base image with layers (FROM scratch has none yet)")
	}
	empty := ""
	cfg := st.cfg.Config
	o := &container.CreateOptions{
		ImageName: "myctr-build",
		Image: v1.ImageConfig{
			Env: mergeEnv(st.args.env(), cfg.Env), User: cfg.User, WorkingDir: cfg.WorkingDir,
		},
		Lower:      lower,
		BuildStep:  true,
		Command:    argv,
		Entrypoint: &empty,
		Network:    "none",
	}
	if r.o.Step != nil {
		if err := r.o.Step(o); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
	}
	c, err := r.b.Containers.Create(o, r.b.Mapping)
	if err != nil {
		return nil, fmt.Errorf("create step container: %w", err)
	}
	defer func() {
		if err := r.b.Containers.Remove(c, true); err != nil {
			fmt.Fprintf(r.errw, "Warning: remove step container %.12s: %v\n", c.ID, err)
		}
	}()
	code, err := r.b.Containers.RunAttached(c, r.b.Mapping, &container.Attach{Stdout: r.out, Stderr: r.errw, EndWithCaller: true})
	if err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", label, quoteArgs(argv), err)
	}
	if code != 0 {
		return nil, &RunError{Step: label, Command: argv, Exit: code}
	}
	return r.addLayer(func(w io.Writer) error { return r.b.Differ.Diff(c.File("upper"), w) })
}

// sourceFor returns where COPY --from reads: a stage, or an image.
func (r *run) sourceFor(st *stageState, from string) (source, error) {
	if from == "" {
		return r.ctx, nil
	}
	for i, s := range r.stages {
		if s != nil && s.done && (strings.EqualFold(s.name, from) || strconv.Itoa(i) == from) {
			return &layerSource{fs: layerfs.FS{Layers: r.lowerDirs(s.layers)}}, nil
		}
	}
	if _, ok := instructions.HasStage(r.file.Stages, from); ok {
		return nil, fmt.Errorf("--from=%s: the stage is not built before this one: %w", from, ErrStage)
	}
	img, err := r.image(from)
	if err != nil {
		return nil, fmt.Errorf("--from=%s: %w", from, err)
	}
	return &layerSource{fs: layerfs.FS{Layers: r.lowerDirs(img.Layers())}}, nil
}

func (r *run) copyPlan(st *stageState, srcs []string, dest, from, chown, chmod string, add bool) (*copyPlan, error) {
	src, err := r.sourceFor(st, from)
	if err != nil {
		return nil, err
	}
	return r.plan(st, src, srcs, dest, chown, chmod, add, nil)
}

func (r *run) copyPlanURL(st *stageState, srcs []string, dest, chown, chmod string, urls map[string]string) (*copyPlan, error) {
	return r.plan(st, r.ctx, srcs, dest, chown, chmod, true, urls)
}

func (r *run) plan(st *stageState, src source, srcs []string, dest, chown, chmod string, add bool, urls map[string]string) (*copyPlan, error) {
	img := layerfs.FS{Layers: r.lowerDirs(st.layers)}
	uid, gid, err := parseChown(chown, img)
	if err != nil {
		return nil, err
	}
	req := &copyRequest{sources: srcs, dest: dest, workdir: st.cfg.Config.WorkingDir, uid: uid, gid: gid,
		add: add, src: src, image: img, mapping: r.b.Mapping, urlFiles: urls}
	// COPY --from keeps the owners of what it copies (as Docker since
	// moby/moby#38599); from the context, files belong to root.
	if _, fromLayers := src.(*layerSource); fromLayers && chown == "" {
		req.keepOwner = true
	}
	if req.workdir == "" {
		req.workdir = "/"
	}
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s: want an octal mode", chmod)
		}
		fm := os.FileMode(m)
		req.chmod = &fm
	}
	return req.plan()
}

// download fetches ADD's URL sources into temporary files.
func (r *run) download(srcs []string) (map[string]string, func(), error) {
	files := map[string]string{}
	cleanup := func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	client := &http.Client{Timeout: 10 * time.Minute}
	for _, s := range srcs {
		if !isURL(s) {
			continue
		}
		resp, err := client.Get(s)
		if err != nil {
			return files, cleanup, fmt.Errorf("ADD %s: %w", s, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return files, cleanup, fmt.Errorf("ADD %s: %s", s, resp.Status)
		}
		f, err := os.CreateTemp("", "myctr-add-")
		if err != nil {
			resp.Body.Close()
			return files, cleanup, err
		}
		files[s] = f.Name()
		_, err = io.Copy(f, resp.Body)
		resp.Body.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, cleanup, fmt.Errorf("ADD %s: %w", s, err)
		}
		if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
			os.Chtimes(f.Name(), lm, lm)
		}
	}
	return files, cleanup, nil
}

// finalConfig is the image config of the built stage.
func (r *run) finalConfig(st *stageState) ([]byte, error) {
	cfg := cloneConfig(st.cfg)
	if len(r.o.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		for k, v := range r.o.Labels {
			cfg.Config.Labels[k] = v
		}
	}
	// The image was made when its last step was (from the cache when
	// that was reused): an unchanged rebuild is the same image.
	now := time.Now().UTC()
	if n := len(cfg.History); n > 0 && cfg.History[n-1].Created != nil {
		now = *cfg.History[n-1].Created
	}
	setImageBasics(&cfg, now, st.layers)
	return json.Marshal(cfg)
}

// setImageBasics gives an image config its creation time, platform (where
// the base left it empty) and the diff ids of its layers, base first.
func setImageBasics(cfg *dockerspec.DockerOCIImage, created time.Time, layers []image.Layer) {
	cfg.Created = &created
	if cfg.OS == "" {
		cfg.OS = "linux"
	}
	if cfg.Architecture == "" {
		cfg.Architecture = runtime.GOARCH
	}
	cfg.RootFS = v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
	}
}

// image is the image ref names for FROM or COPY --from, from the store
// or pulled, as the build's pull policy says; each reference once a build.
func (r *run) image(ref string) (*image.Image, error) {
	if img, ok := r.images[ref]; ok {
		return img, nil
	}
	img, err := r.b.Images.Lookup(ref)
	policy := r.o.Pull
	switch {
	case err == nil && policy != PullAlways && policy != PullNewer:
	case err != nil && (policy == PullNever || r.b.Pull == nil || !errors.Is(err, image.ErrImageUnknown)):
		return nil, err
	default:
		pulled, perr := r.b.Pull(ref)
		switch {
		case perr == nil:
			img = pulled
		case policy == PullNewer && img != nil:
			fmt.Fprintf(r.errw, "Warning: %v: using the local image\n", perr)
		default:
			return nil, perr
		}
	}
	r.images[ref] = img
	return img, nil
}

// short is id as the "-->" lines show it (Options.IDLength).
func (r *run) short(id string) string {
	n := r.o.IDLength
	if n <= 0 {
		n = 12
	}
	return id[:min(n, len(id))]
}
