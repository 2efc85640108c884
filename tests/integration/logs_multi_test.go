//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogsMulti is Podman's "podman logs - multi k8s-file" made faster:
// `logs -f` of two --rm containers interleaves their lines as they are
// written, each after its container's short id, and ends once both have
// exited and been removed.
func TestLogsMulti(t *testing.T) {
	t.Parallel()
	c1, c2 := ctrName(t, "c1"), ctrName(t, "c2")
	id1 := runDetached(t, c1, []string{"--rm"}, "sh", "-c", "echo a; sleep 4; echo d; sleep 1")
	id2 := runDetached(t, c2, []string{"--rm"}, "sh", "-c", "sleep 1; echo b; sleep 2; echo c; sleep 1")
	start := time.Now()
	out, errOut, code := myctrT(t, time.Minute, "logs", "-f", c1, c2)
	if code != 0 {
		t.Fatalf("logs -f: exit %d: %s", code, errOut)
	}
	want := fmt.Sprintf("%s a\n%s b\n%s c\n%s d\n", id1[:12], id2[:12], id2[:12], id1[:12])
	if out != want {
		t.Errorf("logs -f %s %s printed\n%q\nwant\n%q", c1, c2, out, want)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("logs -f took %s to end; the containers ran for about 5s", d)
	}

	t.Run("without follow", func(t *testing.T) {
		c3, c4 := ctrName(t, "c3"), ctrName(t, "c4")
		// The two take turns through a shared directory, so the order
		// the lines are written in does not hang on how fast the
		// second container starts. stdout and stderr are two pipes,
		// read apart: err comes a moment after two, or the log may
		// hold them either way round.
		turns := []string{"-v", t.TempDir() + ":/s"}
		id3 := runDetached(t, c3, turns, "sh", "-c", "echo one; touch /s/one; until [ -e /s/two ]; do sleep 0.05; done; sleep 0.2; echo three")
		id4 := runDetached(t, c4, turns, "sh", "-c", "until [ -e /s/one ]; do sleep 0.05; done; sleep 0.2; echo two; sleep 0.3; echo err >&2; touch /s/two")
		mustMyctr(t, "wait", c3, c4)
		out, errOut, code := myctr(t, "logs", c3, c4)
		if code != 0 {
			t.Fatalf("logs: exit %d: %s", code, errOut)
		}
		// The lines of both, in the order they were written.
		if want := fmt.Sprintf("%s one\n%s two\n%s three\n", id3[:12], id4[:12], id3[:12]); out != want {
			t.Errorf("logs stdout %q, want %q", out, want)
		}
		if want := id4[:12] + " err\n"; errOut != want {
			t.Errorf("logs stderr %q, want %q", errOut, want)
		}
		out = mustMyctr(t, "logs", "--names", "--tail", "1", c3, c4)
		if want := c3 + " three\n"; out != want {
			t.Errorf("logs --names --tail 1 stdout %q, want %q", out, want)
		}
		// One container: no prefix.
		if out := mustMyctr(t, "container", "logs", c3); out != "one\nthree\n" {
			t.Errorf("logs of one container %q, want no prefix", out)
		}
		if _, errOut, code := myctr(t, "logs", c3, "it-no-such-container"); code != 125 || !strings.Contains(errOut, "no such container") {
			t.Errorf("logs of a missing container: exit %d, %q; want 125 and no such container", code, errOut)
		}
	})
}

// TestLogsRestarted is Podman's "podman logs restarted - k8s-file": the
// log of a container started again holds both runs, and `logs -f` of the
// stopped container prints it and ends.
func TestLogsRestarted(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	script := "start=0; if test -s log; then start=`tail -n 1 log`; fi; seq `expr $start + 1` `expr $start + 10` | tee -a log"
	mustMyctr(t, "run", "--name", name, image, "sh", "-c", script)
	if out := mustMyctr(t, "container", "wait", "--condition=exited", "--condition=stopped", name); out != "0\n" {
		t.Errorf("wait --condition=exited --condition=stopped printed %q, want 0", out)
	}
	out := mustMyctr(t, "start", "-a", name)
	if !strings.HasPrefix(out, "11\n") {
		t.Errorf("start -a printed %q, want 11..20", out)
	}
	var want strings.Builder
	for i := 1; i <= 20; i++ {
		want.WriteString(strconv.Itoa(i) + "\n")
	}
	if out := mustMyctr(t, "logs", "-f", name); out != want.String() {
		t.Errorf("logs -f printed %q, want 1..20", out)
	}
}

func TestLogsWaitCondition(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	mustMyctr(t, "create", "--name", name, image, "sleep", "60")
	if out := mustMyctr(t, "wait", "--condition", "created", name); out != "-1\n" {
		t.Errorf("wait --condition created of a created container printed %q, want -1", out)
	}
	mustMyctr(t, "start", name)
	if out := mustMyctr(t, "wait", "--condition=running", "--interval", "100", name); out != "-1\n" {
		t.Errorf("wait --condition=running of a running container printed %q, want -1", out)
	}
	for _, tc := range []struct{ cond, msg string }{
		{"bogus", "unknown container state: bogus: invalid argument"},
		{"removing", "would never end"},
	} {
		if _, errOut, code := myctr(t, "wait", "--condition", tc.cond, name); code != 125 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("wait --condition %s: exit %d, %q; want 125 and %q", tc.cond, code, errOut, tc.msg)
		}
	}
	mustMyctr(t, "kill", name)
	if out := mustMyctr(t, "wait", "--condition=stopped", name); out != "137\n" {
		t.Errorf("wait --condition=stopped of a killed container printed %q, want 137", out)
	}
}

// TestLogsLogOpt covers run --log-opt: max-size as Podman's inspect shows
// it, the rotation of a log that outgrows it (logs -f follows the new
// file), path and tag, and the refusal of an option myctr does not know.
func TestLogsLogOpt(t *testing.T) {
	t.Parallel()
	t.Run("max-size in inspect", func(t *testing.T) {
		name := ctrName(t, "")
		runDetached(t, name, []string{"--rm", "--log-opt", "max-size=3.045m"}, "sleep", "5")
		out := mustMyctr(t, "inspect", "--format", "{{ .HostConfig.LogConfig.Size }}", name)
		if strings.TrimSpace(out) != "3.045MB" {
			t.Errorf("LogConfig.Size %q, want 3.045MB (Podman's test)", out)
		}
		mustMyctr(t, "rm", "-t", "0", "-f", name)
	})

	t.Run("rotation", func(t *testing.T) {
		name := ctrName(t, "")
		// About 40 bytes a record: 2000 lines are 80 kB, rotated every 4 kB.
		runDetached(t, name, []string{"--log-opt", "max-size=4k"}, "sh", "-c",
			"sleep 1; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo line $i; done; sleep 1; echo last")
		out, errOut, code := myctrT(t, time.Minute, "logs", "-f", name)
		if code != 0 {
			t.Fatalf("logs -f: exit %d: %s", code, errOut)
		}
		lines := nonEmptyLines(out)
		if len(lines) == 0 || lines[len(lines)-1] != "last" {
			t.Fatalf("logs -f across rotations ended with %q, want last", lines[max(0, len(lines)-3):])
		}
		prev := 0
		for _, l := range lines[:len(lines)-1] {
			var n int
			if _, err := fmt.Sscanf(l, "line %d", &n); err != nil || n <= prev {
				t.Fatalf("logs -f printed %q after line %d", l, prev)
			}
			prev = n
		}
		path := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.LogConfig.Path}}", name))
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 4000 {
			t.Errorf("the log has %d bytes, more than max-size=4k (4000)", st.Size())
		}
		if out := mustMyctr(t, "logs", "--tail", "1", name); out != "last\n" {
			t.Errorf("logs --tail 1 printed %q, want last", out)
		}
	})

	t.Run("path and tag", func(t *testing.T) {
		name := ctrName(t, "")
		file := filepath.Join(t.TempDir(), "my.log")
		mustMyctr(t, "run", "--name", name, "--log-opt", "path="+file, "--log-opt", "tag=mine", image, "echo", "hello")
		data, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(data), " stdout F hello\n") {
			t.Errorf("the log at --log-opt path holds %q (%v), want the line hello", data, err)
		}
		if out := mustMyctr(t, "logs", name); out != "hello\n" {
			t.Errorf("logs printed %q, want hello", out)
		}
		out := mustMyctr(t, "inspect", "--format", "{{.HostConfig.LogConfig.Path}} {{.HostConfig.LogConfig.Tag}} {{.LogPath}}", name)
		if want := file + " mine " + file; strings.TrimSpace(out) != want {
			t.Errorf("inspect printed %q, want %q", out, want)
		}
	})

	// An option myctr does not apply (Docker's max-file, which compose
	// files carry) is kept as Podman keeps it, with a warning rather
	// than in silence.
	t.Run("unknown kept", func(t *testing.T) {
		name := ctrName(t, "")
		_, errOut, code := myctr(t, "run", "--name", name, "--log-opt", "max-file=3", image, "true")
		if code != 0 || !strings.Contains(errOut, "Warning: log option max-file is kept but not applied") {
			t.Errorf("run --log-opt max-file=3: exit %d, %q; want 0 and a warning", code, errOut)
		}
		if out := mustMyctr(t, "inspect", "--format", "{{.HostConfig.LogConfig.Config}}", name); strings.TrimSpace(out) != "map[max-file:3]" {
			t.Errorf("inspect LogConfig.Config printed %q, want map[max-file:3]", out)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct{ opt, msg string }{
			{"max-file=", `invalid log option "max-file="`},
			{"max-size", `invalid log option "max-size"`},
			{"max-size=lots", "invalid log option max-size=lots"},
		} {
			_, errOut, code := myctr(t, "run", "--rm", "--log-opt", tc.opt, image, "true")
			if code != 125 || !strings.Contains(errOut, tc.msg) {
				t.Errorf("run --log-opt %s: exit %d, %q; want 125 and %q", tc.opt, code, errOut, tc.msg)
			}
		}
	})
}
