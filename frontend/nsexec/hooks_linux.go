package nsexec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RunHooks runs OCI hooks in order, each with the container's state on
// its stdin, as the runtime specification says; the first that fails or
// outlives its timeout ends the run with an error naming it. myctr-runtime
// runs the ones of the runtime's namespace (prestart, createRuntime,
// poststart, poststop), the init those of the container's
// (createContainer, startContainer).
func RunHooks(hooks []specs.Hook, st *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		ctx := context.Background()
		cancel := func() {}
		if h.Timeout != nil {
			if *h.Timeout <= 0 {
				return fmt.Errorf("hook %s: timeout %d is not positive", h.Path, *h.Timeout)
			}
			ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		}
		cmd := exec.CommandContext(ctx, h.Path)
		if len(h.Args) > 0 {
			cmd.Args = h.Args
		}
		cmd.Env = h.Env
		cmd.Stdin = bytes.NewReader(state)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("hook %s: timed out after %d s", h.Path, *h.Timeout)
		}
		if err != nil {
			return fmt.Errorf("hook %s: %w: %s", h.Path, err, bytes.TrimSpace(out.Bytes()))
		}
	}
	return nil
}
