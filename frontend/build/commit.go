package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// ErrChange is returned for a --change that is not one of the
// instructions commit applies.
var ErrChange = errors.New("invalid change")

// CommitOptions are the flags of `commit`.
type CommitOptions struct {
	Name    string   // "" leaves the image without a name
	Message string   // -m: the new history entry's comment
	Author  string   // -a
	Changes []string // -c: Containerfile instructions applied to the config
	// Format is "oci" (the default) or "docker".
	Format string
}

// changeable are the instructions a --change may carry, as Podman's.
var changeable = []string{"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// Commit makes an image of container c: the layers of the image c was
// made from, plus one layer holding c's upper directory as it is (its
// deletions as whiteouts), with the image's config changed as c runs it
// (environment, command, working directory, stop signal) and then by
// o.Changes.
func (b *Builder) Commit(c *container.Container, o CommitOptions) (*image.Image, error) {
	mediaType, err := manifestType(o.Format)
	if err != nil {
		return nil, err
	}
	changes := make([]instructions.Command, 0, len(o.Changes))
	for _, ch := range o.Changes {
		cmd, err := parseChange(ch)
		if err != nil {
			return nil, err
		}
		changes = append(changes, cmd)
	}
	base, err := b.Images.Lookup(c.Image)
	if err != nil {
		return nil, fmt.Errorf("the image of container %s: %w", c.Name, err)
	}
	raw, err := b.Images.RawConfig(base)
	if err != nil {
		return nil, err
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse the config of image %.12s: %w", base.ID, err)
	}
	spec, err := c.Spec()
	if err != nil {
		return nil, err
	}
	// The container's process, as the new image's defaults.
	ic := &cfg.Config
	if p := spec.Process; p != nil {
		// Less what every start sets anew for the container it makes.
		ic.Env = slices.DeleteFunc(slices.Clone(p.Env), func(e string) bool {
			return strings.HasPrefix(e, "HOSTNAME=") || strings.HasPrefix(e, "container=")
		})
		if p.Cwd != "" {
			ic.WorkingDir = p.Cwd
		}
		if ep := ic.Entrypoint; len(ep) > 0 && len(p.Args) >= len(ep) && slices.Equal(p.Args[:len(ep)], ep) {
			ic.Cmd = slices.Clone(p.Args[len(ep):])
		} else {
			ic.Entrypoint, ic.Cmd = nil, slices.Clone(p.Args)
		}
	}
	if c.StopSignal != "" {
		ic.StopSignal = c.StopSignal
	}
	for _, ch := range changes {
		applyChange(ic, ch)
	}
	if o.Author != "" {
		cfg.Author = o.Author
	}
	session, err := b.Images.NewBuildSession()
	if err != nil {
		return nil, err
	}
	defer session.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(b.Differ.Diff(c.File("upper"), pw)) }()
	layer, err := session.AddLayer(pr)
	pr.CloseWithError(errors.New("layer abandoned"))
	if err != nil {
		return nil, fmt.Errorf("store the changes of container %s: %w", c.Name, err)
	}
	layers := append(base.Layers(), layer)
	now := time.Now().UTC()
	setImageBasics(&cfg, now, layers)
	cfg.History = append(cfg.History, v1.History{Created: &now, CreatedBy: "myctr commit " + c.Name, Author: o.Author, Comment: o.Message})
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return session.CommitAs(cfgJSON, layers, o.Name, mediaType)
}

// ImportChanges parses the --change instructions of import (those commit
// takes) and returns the edit they make to an image config.
func ImportChanges(changes []string) (func(*v1.ImageConfig), error) {
	cmds := make([]instructions.Command, 0, len(changes))
	for _, ch := range changes {
		cmd, err := parseChange(ch)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	return func(c *v1.ImageConfig) {
		ic := dockerspec.DockerOCIImageConfig{ImageConfig: *c}
		for _, cmd := range cmds {
			applyChange(&ic, cmd)
		}
		*c = ic.ImageConfig
	}, nil
}

// parseChange parses one --change: a Containerfile instruction of those
// commit applies, written "CMD ls" or, as Podman also takes it, "CMD=ls".
func parseChange(ch string) (instructions.Command, error) {
	ch = strings.TrimSpace(ch)
	word, rest, _ := strings.Cut(ch, " ")
	if k, v, ok := strings.Cut(word, "="); ok && !strings.ContainsAny(k, "\t") {
		word, rest = k, strings.TrimSpace(v+" "+rest)
	}
	if !slices.Contains(changeable, strings.ToUpper(word)) {
		return nil, fmt.Errorf("%q: %w: want one of %s", ch, ErrChange, strings.Join(changeable, ", "))
	}
	// A shell-form CMD or ENTRYPOINT is one shell command line, newlines
	// and all (Podman's reading), where the Containerfile parser would end
	// the instruction at the first newline.
	if up := strings.ToUpper(word); (up == "CMD" || up == "ENTRYPOINT") && strings.Contains(rest, "\n") &&
		!strings.HasPrefix(strings.TrimSpace(rest), "[") {
		line := instructions.ShellDependantCmdLine{CmdLine: []string{strings.TrimSpace(rest)}, PrependShell: true}
		if up == "CMD" {
			return &instructions.CmdCommand{ShellDependantCmdLine: line}, nil
		}
		return &instructions.EntrypointCommand{ShellDependantCmdLine: line}, nil
	}
	res, err := parser.Parse(strings.NewReader(word + " " + rest + "\n"))
	if err != nil {
		return nil, fmt.Errorf("%q: %w: %w", ch, ErrChange, err)
	}
	if len(res.AST.Children) != 1 {
		return nil, fmt.Errorf("%q: %w: want one instruction", ch, ErrChange)
	}
	cmd, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return nil, fmt.Errorf("%q: %w: %w", ch, ErrChange, err)
	}
	return cmd, nil
}

// applyChange applies one parsed --change to the image config.
func applyChange(ic *dockerspec.DockerOCIImageConfig, c instructions.Command) {
	form := func(cl instructions.ShellDependantCmdLine) []string {
		if !cl.PrependShell {
			return slices.Clone(cl.CmdLine)
		}
		sh := ic.Shell
		if len(sh) == 0 {
			sh = []string{"/bin/sh", "-c"}
		}
		return append(slices.Clone(sh), strings.Join(cl.CmdLine, " "))
	}
	switch c := c.(type) {
	case *instructions.CmdCommand:
		ic.Cmd = form(c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		ic.Entrypoint = form(c.ShellDependantCmdLine)
		if len(c.CmdLine) == 0 {
			ic.Entrypoint = nil
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			ic.Env = container.SetEnv(ic.Env, kv.Key+"="+kv.Value)
		}
	case *instructions.ExposeCommand:
		if ic.ExposedPorts == nil {
			ic.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			for _, w := range strings.Fields(p) {
				if !strings.Contains(w, "/") {
					w += "/tcp"
				}
				ic.ExposedPorts[strings.ToLower(w)] = struct{}{}
			}
		}
	case *instructions.LabelCommand:
		if ic.Labels == nil {
			ic.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			ic.Labels[kv.Key] = kv.Value
		}
	case *instructions.OnbuildCommand:
		ic.OnBuild = append(ic.OnBuild, c.Expression)
	case *instructions.StopSignalCommand:
		ic.StopSignal = c.Signal
	case *instructions.UserCommand:
		ic.User = c.User
	case *instructions.VolumeCommand:
		if ic.Volumes == nil {
			ic.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			ic.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		p := c.Path
		if !path.IsAbs(p) {
			p = path.Join("/", ic.WorkingDir, p)
		}
		ic.WorkingDir = path.Clean(p)
	}
}
