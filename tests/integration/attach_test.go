//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAttach: attach follows a running container's output from then on,
// until it exits, with its exit code; the signals attach gets go to the
// container; a container that does not run is refused in Podman's words.
func TestAttach(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "attach")
	runDetached(t, name, nil, "sh", "-c", "echo before; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo to-out; echo to-err >&2; exit 7")
	waitLogs(t, name, "before", 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, "attach", name)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // attached: what follows is new
	mustMyctr(t, "exec", name, "touch", "/tmp/go")
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("attach: %v, want exit 7\nstderr: %s", err, errOut.String())
	}
	if out.String() != "to-out\n" || !strings.Contains(errOut.String(), "to-err\n") {
		t.Errorf("attach printed stdout %q, stderr %q; want the output after it attached, each on its stream", out.String(), errOut.String())
	}
	if _, e, code := myctr(t, "attach", name); code != 125 || !strings.Contains(e, "Error: you can only attach to running containers") {
		t.Errorf("attach to an exited container: exit %d, %q", code, e)
	}

	// start --attach of a running container attaches to it, as Podman's.
	late := ctrName(t, "attachstart")
	runDetached(t, late, nil, "sh", "-c", "sleep 2; echo late; exit 4")
	if o, e, code := myctr(t, "start", "--attach", late); code != 4 || o != "late\n" {
		t.Errorf("start --attach of a running container: exit %d, stdout %q, stderr %q; want its later output and exit 4", code, o, e)
	}

	// SIGINT to attach reaches the container's process (--sig-proxy).
	sig := ctrName(t, "attachsig")
	runDetached(t, sig, nil, "sh", "-c", `trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.1; done`)
	waitLogs(t, sig, "ready", 30*time.Second)
	cmd = myctrCommand(ctx, "attach", sig)
	out.Reset()
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(out.String(), "got-int") {
		t.Errorf("attach after SIGINT: %v, stdout %q; want the container's trap's got-int and exit 3", err, out.String())
	}
}
