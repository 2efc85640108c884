//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestLogs(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	runDetached(t, name, nil, "sh", "-c",
		`i=0; while true; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.2; done`)
	waitLogs(t, name, "out 5", 15*time.Second)

	t.Run("streams kept apart", func(t *testing.T) {
		out, errOut, code := myctr(t, "logs", name)
		if code != 0 {
			t.Fatalf("logs: exit %d: %s", code, errOut)
		}
		outLines, errLines := nonEmptyLines(out), nonEmptyLines(errOut)
		if len(outLines) < 5 || len(errLines) < 4 {
			t.Errorf("logs: %d stdout lines, %d stderr lines; want at least 5 and 4", len(outLines), len(errLines))
		}
		for _, l := range outLines {
			if !strings.HasPrefix(l, "out ") {
				t.Errorf("stdout of logs has %q", l)
			}
		}
		for _, l := range errLines {
			if !strings.HasPrefix(l, "err ") {
				t.Errorf("stderr of logs has %q", l)
			}
		}
		if len(outLines) > 0 && outLines[0] != "out 1" {
			t.Errorf("first stdout line %q, want %q", outLines[0], "out 1")
		}
	})

	t.Run("tail", func(t *testing.T) {
		out, errOut, code := myctr(t, "logs", "--tail", "2", name)
		if code != 0 {
			t.Fatalf("logs --tail 2: exit %d: %s", code, errOut)
		}
		if n := len(nonEmptyLines(out)) + len(nonEmptyLines(errOut)); n != 2 {
			t.Errorf("logs --tail 2 gave %d lines:\nstdout: %s\nstderr: %s", n, out, errOut)
		}
	})

	t.Run("timestamps", func(t *testing.T) {
		out, errOut, code := myctr(t, "logs", "-t", name)
		if code != 0 {
			t.Fatalf("logs -t: exit %d: %s", code, errOut)
		}
		ts := regexp.MustCompile(`^(\S+) (out|err) \d+$`)
		lines := append(nonEmptyLines(out), nonEmptyLines(errOut)...)
		if len(lines) == 0 {
			t.Fatal("logs -t printed nothing")
		}
		for _, l := range lines {
			m := ts.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("line %q is not TIMESTAMP LINE", l)
				continue
			}
			tm, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Errorf("timestamp %q: %v", m[1], err)
			} else if d := time.Since(tm); d < -time.Minute || d > 5*time.Minute {
				t.Errorf("timestamp %s is %s away from now", m[1], d)
			}
		}
	})

	t.Run("since", func(t *testing.T) {
		cut := time.Now().Add(500 * time.Millisecond)
		// The container writes every 0.2 s: wait until the log holds
		// lines stamped after the cut, so that --since has some to print.
		waitFor(t, 15*time.Second, "log lines stamped after "+cut.Format(time.RFC3339Nano), func() bool {
			return loggedAfter(t, name, cut)
		})
		out, errOut, code := myctr(t, "logs", "-t", "--since", cut.Format(time.RFC3339Nano), name)
		if code != 0 {
			t.Fatalf("logs --since: exit %d: %s", code, errOut)
		}
		lines := append(nonEmptyLines(out), nonEmptyLines(errOut)...)
		if len(lines) == 0 {
			t.Errorf("logs --since %s printed nothing, want the last second's lines", cut.Format(time.RFC3339Nano))
		}
		for _, l := range lines {
			stamp, _, _ := strings.Cut(l, " ")
			tm, err := time.Parse(time.RFC3339Nano, stamp)
			if err == nil && tm.Before(cut.Add(-100*time.Millisecond)) {
				t.Errorf("logs --since %s printed an older line %q", cut.Format(time.RFC3339Nano), l)
			}
		}
	})
}

// loggedAfter reports whether logs -t of the container shows a line
// stamped after cut.
func loggedAfter(t *testing.T, name string, cut time.Time) bool {
	out, errOut, code := myctr(t, "logs", "-t", name)
	if code != 0 {
		t.Fatalf("logs -t: exit %d: %s", code, errOut)
	}
	for _, l := range append(nonEmptyLines(out), nonEmptyLines(errOut)...) {
		stamp, _, _ := strings.Cut(l, " ")
		if tm, err := time.Parse(time.RFC3339Nano, stamp); err == nil && tm.After(cut) {
			return true
		}
	}
	return false
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	runDetached(t, name, nil, "sh", "-c", `i=0; while true; do i=$((i+1)); echo "line $i"; sleep 1; done`)

	waitLogs(t, name, "line 1", 10*time.Second)
	// A line numbered two above what plain logs shows now is written after
	// logs -f started: receiving it proves lines stream as they are written.
	before := len(nonEmptyLines(mustMyctr(t, "logs", name)))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := myctrCommand(ctx, "logs", "-f", name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	first := time.After(3 * time.Second)
	deadline := time.After(5 * time.Second)
	for got, streamed := false, false; !streamed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("logs -f ended while the container runs; stderr: %s", stderr.String())
			}
			var n int
			if _, err := fmt.Sscanf(l, "line %d", &n); err != nil {
				t.Errorf("logs -f printed %q", l)
			}
			// One more line may have been written before logs -f started.
			got, streamed = true, n > before+1
		case <-first:
			if !got {
				t.Fatalf("logs -f printed nothing within 3s; stderr: %s", stderr.String())
			}
		case <-deadline:
			t.Fatalf("logs -f printed no new line within 5s (the container writes one a second); stderr: %s", stderr.String())
		}
	}

	mustMyctr(t, "stop", "-t", "1", name)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f ended with %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("logs -f did not end within 10s after the container stopped")
		cancel()
		<-done
	}
}
