//go:build integration

package integration

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunForwardsSignals: SIGTERM and SIGINT sent to a foreground
// `myctr run` reach the container's process, whose exit code becomes
// myctr's.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "TERM", 7}, {syscall.SIGINT, "INT", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			script := "trap 'echo got-" + tc.name + "; exit " + string(rune('0'+tc.code)) + "' " + tc.name +
				"; echo ready; while true; do sleep 0.1; done"
			cmd := myctrCommand(ctx, "run", "--rm", "--network", "none", image, "sh", "-c", script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			if !sc.Scan() || strings.TrimSpace(sc.Text()) != "ready" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("container did not start: %q", sc.Text())
			}
			start := time.Now()
			cmd.Process.Signal(tc.sig)
			var rest strings.Builder
			for sc.Scan() {
				rest.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Errorf("myctr run exited with %v, want exit code %d", err, tc.code)
			}
			if !strings.Contains(rest.String(), "got-"+tc.name) {
				t.Errorf("the container did not see SIG%s: output %q", tc.name, rest.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s to stop", d)
			}
		})
	}
}
