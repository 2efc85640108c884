package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/nsexec"
)

// The lean myctr links no registry client (frontend/image's options.go):
// a pull that run, create, pull or pod create needs is done by
// myctr-full's pull stage (PullStage), which the lean myctr starts as its
// child and waits for. The child has the caller's standard streams, so
// its progress and its short-name prompt are where they would be; the
// request goes in its argument, the image ID or the error comes back on
// descriptor 3.

// pullRequest is what the pull stage is asked to do: the store, the name,
// and what of image.PullOptions the command line chose.
type pullRequest struct {
	Dirs            container.Dirs
	Ref             string
	SkipTLSVerify   bool             `json:",omitempty"`
	Platform        *ggcrv1.Platform `json:",omitempty"`
	Quiet           bool             `json:",omitempty"` // no progress on stderr
	Choose          bool             `json:",omitempty"` // the short-name prompt
	SignaturePolicy string           `json:",omitempty"` // pull --signature-policy
}

// pullResult is the stage's answer: the image's ID, or the error as the
// command would print it (its message, its hint, its exit code).
type pullResult struct {
	ID    string `json:",omitempty"`
	Error string `json:",omitempty"`
	Hint  string `json:",omitempty"`
	Code  int    `json:",omitempty"`
}

// pullThroughFull pulls ref into the store d with myctr-full's pull stage
// and returns the image. An error is the stage's, already explained
// (explainTransfer adds nothing to it).
func pullThroughFull(c context.Context, d container.Dirs, ref string, o image.PullOptions, signaturePolicy string) (*image.Image, error) {
	path := nsexec.Companion(fullBinary)
	if path == "" {
		exe, _ := os.Executable()
		return nil, hint(fmt.Errorf("pulling %s runs in %s, which is neither beside %s nor in its ../libexec/myctr", ref, fullBinary, exe),
			"install myctr with make install (%s goes to PREFIX/libexec/myctr), or keep %s beside myctr", fullBinary, fullBinary)
	}
	req, err := json.Marshal(pullRequest{Dirs: d, Ref: ref, SkipTLSVerify: o.SkipTLSVerify, Platform: o.Platform,
		Quiet: o.Progress == nil, Choose: o.Choose != nil, SignaturePolicy: signaturePolicy})
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.CommandContext(c, path, string(req))
	cmd.Args[0] = "myctr-pull"
	cmd.Env = append(os.Environ(), nsexec.EnvStage+"="+nsexec.StagePull)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	// Interrupted, the pull ends as pull's own does (its context), and
	// leaves no partial image.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	w.Close()
	out, rerr := io.ReadAll(io.LimitReader(r, 64<<10))
	werr := cmd.Wait()
	var res pullResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil || rerr != nil {
		if werr == nil {
			werr = errors.New("no answer")
		}
		return nil, fmt.Errorf("pull %s through %s: %w", ref, path, werr)
	}
	if res.Error != "" {
		err := errors.New(res.Error)
		if res.Hint != "" {
			err = hint(err, "%s", res.Hint)
		}
		return nil, withCode(max(res.Code, 1), err)
	}
	images, err := image.Open(d.Storage(), usernsUnpacker{})
	if err != nil {
		return nil, err
	}
	return images.Lookup(res.ID)
}
