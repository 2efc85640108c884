//go:build integration

package integration

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	const script = "echo from-main > /tmp/mainfile; echo ready; while true; do sleep 1; done"
	runDetached(t, name, nil, "sh", "-c", script)
	waitLogs(t, name, "ready", 10*time.Second)

	t.Run("same pid namespace", func(t *testing.T) {
		t.Parallel()
		out := mustMyctr(t, "exec", name, "sh", "-c", "echo $$; ls /proc")
		f := strings.Fields(out)
		if len(f) == 0 {
			t.Fatalf("no output")
		}
		self, err := strconv.Atoi(f[0])
		if err != nil || self <= 1 || self > 100 {
			t.Errorf("exec'd shell pid %q, want a small pid other than 1", f[0])
		}
		if !slices.Contains(f[1:], "1") {
			t.Errorf("/proc inside exec has no pid 1: %v", f[1:])
		}
		cmdline := mustMyctr(t, "exec", name, "cat", "/proc/1/cmdline")
		if got := strings.Split(strings.TrimRight(cmdline, "\x00"), "\x00"); !slices.Equal(got, []string{"sh", "-c", script}) {
			t.Errorf("/proc/1/cmdline seen by exec = %q, want the container's init", got)
		}
	})
	t.Run("sees the main process's files", func(t *testing.T) {
		t.Parallel()
		if out := mustMyctr(t, "exec", name, "cat", "/tmp/mainfile"); out != "from-main\n" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Parallel()
		if out := mustMyctr(t, "exec", "-e", "X=1", name, "sh", "-c", "echo $X"); out != "1\n" {
			t.Errorf("got %q, want 1", out)
		}
	})
	t.Run("workdir", func(t *testing.T) {
		t.Parallel()
		if out := mustMyctr(t, "exec", "-w", "/tmp", name, "pwd"); out != "/tmp\n" {
			t.Errorf("got %q, want /tmp", out)
		}
	})
	t.Run("user", func(t *testing.T) {
		t.Parallel()
		if out := mustMyctr(t, "exec", "-u", "1000", name, "id", "-u"); out != "1000\n" {
			t.Errorf("got %q, want 1000", out)
		}
	})
	t.Run("stdin with -i", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runMyctr(cmdTimeout, []byte("piped\n"), "exec", "-i", name, "cat")
		if code != 0 || out != "piped\n" {
			t.Errorf("exec -i cat: exit %d, stdout %q, stderr %q; want the piped line back", code, out, errOut)
		}
	})
	for _, c := range []struct {
		name string
		cmd  []string
		code int
	}{
		{"exit code", []string{"sh", "-c", "exit 7"}, 7},
		{"command not found", []string{"nonexistent-cmd"}, 127},
		{"not executable", []string{"/etc"}, 126},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, errOut, code := myctr(t, append([]string{"exec", name}, c.cmd...)...); code != c.code {
				t.Errorf("exit %d, want %d; stderr %s", code, c.code, errOut)
			}
		})
	}
}

func TestExecStopped(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	mustMyctr(t, "run", "--name", name, image, "true")
	_, errOut, code := myctr(t, "exec", name, "true")
	if code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("exec into a stopped container: exit %d, stderr %q; want 125 and an Error:", code, errOut)
	}
	_, errOut, code = myctr(t, "exec", "it-no-such-container", "true")
	if code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("exec into a missing container: exit %d, stderr %q; want 125 and an Error:", code, errOut)
	}
}
