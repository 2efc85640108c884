//go:build !lean

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/myctr/myctr/frontend/config"
	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
	"github.com/myctr/myctr/frontend/nsexec"
)

// pullImage pulls ref into images: in myctr-full, here.
func pullImage(c context.Context, d container.Dirs, images *image.Store, ref string, o image.PullOptions, signaturePolicy string) (*image.Image, error) {
	return images.Pull(c, ref, o)
}

// AddStages adds myctr-full's own stages to t: the pull stage.
func AddStages(t nsexec.Table) { t[nsexec.StagePull] = PullStage }

// PullStage is myctr-full's pull stage (nsexec.StagePull), for the lean
// myctr (pullThroughFull): the request in its argument, the answer on
// descriptor 3.
func PullStage() int {
	// Not for the processes the pull starts (the user-namespace
	// worker): the caller reads the answer until the last holder closes it.
	syscall.CloseOnExec(3)
	out := os.NewFile(3, "pull-result")
	answer := func(res pullResult) int {
		b, _ := json.Marshal(res)
		if _, err := out.Write(b); err != nil {
			return 125
		}
		return 0
	}
	fail := func(err error) int {
		code := 125
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		res := pullResult{Error: err.Error(), Code: code}
		if h := hints(err); len(h) > 0 {
			res.Hint = h[0]
		}
		answer(res)
		return code
	}
	var req pullRequest
	if len(os.Args) != 2 || json.Unmarshal([]byte(os.Args[1]), &req) != nil {
		return fail(errors.New("the pull stage takes one request"))
	}
	if err := req.Dirs.Ensure(); err != nil {
		return fail(err)
	}
	images, err := image.Open(req.Dirs.Storage(), usernsUnpacker{})
	if err != nil {
		return fail(err)
	}
	o := image.PullOptions{SkipTLSVerify: req.SkipTLSVerify, Platform: req.Platform}
	if !req.Quiet {
		o.Progress = os.Stderr
	}
	if req.Choose {
		o.Choose = chooseImage
	}
	if req.SignaturePolicy != "" {
		if o.Policy, err = config.ReadPolicy(req.SignaturePolicy); err != nil {
			return fail(explainConfig(err))
		}
	}
	c, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	img, err := images.Pull(c, req.Ref, o)
	if err != nil {
		return fail(explainTransfer(err))
	}
	return answer(pullResult{ID: img.ID})
}
