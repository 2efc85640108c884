//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runWithFiles runs myctr with files as its descriptors 3, 4, ...
func runWithFiles(t *testing.T, files []*os.File, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := myctrCommand(ctx, args...)
	cmd.ExtraFiles = files
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("myctr %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// TestRunMoreFlags: run's --timeout, --preserve-fds, --runtime,
// --runtime-flag, --conmon-pidfile and --rmi, inspect --latest, a short
// flag with its value attached (-t0), /etc/mtab, and signals a shell in a
// detached container traps, as Podman has them. (Not parallel: --latest
// is the container made last.)
func TestRunMoreFlags(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		name := ctrName(t, "t")
		start := time.Now()
		_, e, code := myctr(t, "run", "--name", name, "--timeout", "2", image, "sleep", "60")
		took := time.Since(start)
		if code != 255 || took < 2*time.Second || took > 10*time.Second {
			t.Fatalf("--timeout 2: exit %d after %s (%q); want 255 after about 2 s", code, took, e)
		}
		if got := mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name); got != "exited -1\n" {
			t.Errorf("after --timeout: %q, want exited -1", got)
		}
		// A container that ends in time keeps its own code.
		if _, _, code := myctr(t, "run", "--rm", "--timeout", "20", image, "sh", "-c", "exit 3"); code != 3 {
			t.Errorf("--timeout not reached: exit %d, want 3", code)
		}
	})
	t.Run("preserve-fds", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "f")
		os.WriteFile(file, []byte("from fd 4\n"), 0o644)
		f3, _ := os.Open("/dev/null")
		f4, _ := os.Open(file)
		defer f3.Close()
		defer f4.Close()
		out, e, code := runWithFiles(t, []*os.File{f3, f4}, "run", "--rm", "--preserve-fds=2", image, "sh", "-c", "cat <&4; echo ${LISTEN_FDS:-none} ${LISTEN_PID:-none}")
		if code != 0 || out != "from fd 4\nnone none\n" {
			t.Errorf("--preserve-fds=2: exit %d, %q (%q); want fd 4's content and no LISTEN_FDS", code, out, e)
		}
		// Without the flag the descriptors stay out.
		out, _, _ = runWithFiles(t, []*os.File{f3, f4}, "run", "--rm", image, "sh", "-c", "cat <&4 2>/dev/null || echo closed")
		if out != "closed\n" {
			t.Errorf("no --preserve-fds: fd 4 gave %q, want closed", out)
		}
		// A directory would be a way out of the root: refused.
		d, _ := os.Open(dir)
		defer d.Close()
		_, e, code = runWithFiles(t, []*os.File{d}, "run", "--rm", "--preserve-fds=1", "-w", "/proc/self/fd/3", image, "ls")
		if code != 125 || !strings.Contains(e, "descriptor 3 is a directory") {
			t.Errorf("--preserve-fds with a directory: exit %d, %q; want 125, refused", code, e)
		}
	})
	t.Run("runtime", func(t *testing.T) {
		_, e, code := myctr(t, "--runtime-flag", "invalidflag", "run", "--rm", image, "true")
		if code != 126 || !strings.Contains(e, "invalidflag") {
			t.Errorf("--runtime-flag: exit %d, %q; want 126 naming the flag", code, e)
		}
		copyBin := filepath.Join(t.TempDir(), "myruntime")
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(copyBin, data, 0o755)
		name := ctrName(t, "rt")
		mustMyctr(t, "create", "--name", name, "--runtime", copyBin, image, "true")
		if got := mustMyctr(t, "inspect", "--format", "{{.OCIRuntime}}", name); got != copyBin+"\n" {
			t.Errorf("inspect OCIRuntime: %q, want %q", got, copyBin)
		}
		if _, e, code := myctr(t, "run", "--rm", "--runtime", hostBusybox, image, "true"); code != 125 || !strings.Contains(e, "no other runtime") {
			t.Errorf("--runtime of another program: exit %d, %q; want 125", code, e)
		}
	})
	t.Run("conmon-pidfile", func(t *testing.T) {
		name := ctrName(t, "p")
		pidfile := filepath.Join(t.TempDir(), "pid")
		runDetached(t, name, []string{"--conmon-pidfile", pidfile}, "sleep", "60")
		data, err := os.ReadFile(pidfile)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.ConmonPid}}", name))
		if string(data) != want || want == "0" {
			t.Errorf("--conmon-pidfile holds %q, inspect's ConmonPid is %q", data, want)
		}
		if pid, _ := strconv.Atoi(want); pid > 0 {
			if _, _, _, ok := procStat(pid); !ok {
				t.Errorf("monitor %d is not running", pid)
			}
		}
	})
	t.Run("rmi", func(t *testing.T) {
		src := ctrName(t, "src")
		mustMyctr(t, "run", "--name", src, image, "true")
		img := "localhost/it-rmi-" + strconv.Itoa(os.Getpid())
		mustMyctr(t, "commit", src, img)
		keep := ctrName(t, "keep")
		mustMyctr(t, "create", "--name", keep, img, "true")
		mustMyctr(t, "run", "--rmi", img, "true")
		if _, _, code := myctr(t, "image", "exists", img); code != 0 {
			t.Fatalf("--rmi removed an image that a container uses")
		}
		mustMyctr(t, "rm", keep)
		mustMyctr(t, "run", "--rmi", img, "true")
		if _, _, code := myctr(t, "image", "exists", img); code != 1 {
			t.Errorf("--rmi left the image (image exists: %d)", code)
		}
		if _, e, code := myctr(t, "run", "-d", "--rmi", image, "true"); code != 125 || !strings.Contains(e, "--rmi") {
			t.Errorf("--rmi with -d: exit %d, %q", code, e)
		}
	})
	t.Run("short-value", func(t *testing.T) {
		name := ctrName(t, "s")
		runDetached(t, name, nil, "sleep", "60")
		if got := mustMyctr(t, "inspect", "-l", "--format", "{{.Name}}"); got != name+"\n" {
			t.Errorf("inspect -l: %q, want %s", got, name)
		}
		mustMyctr(t, "rm", "-f", "-t0", name)
		if _, _, code := myctr(t, "container", "exists", name); code != 1 {
			t.Errorf("rm -f -t0 left the container")
		}
	})
	t.Run("latest", func(t *testing.T) {
		// --latest on rm, start and stop: the container made last only.
		older, newer := ctrName(t, "old"), ctrName(t, "new")
		mustMyctr(t, "create", "--name", older, image, "sleep", "60")
		mustMyctr(t, "create", "--name", newer, image, "sleep", "60")
		mustMyctr(t, "start", "-l")
		if got := mustMyctr(t, "ps", "--format", "{{.Names}}", "--filter", "name="+ctrName(t, "")); got != newer+"\n" {
			t.Errorf("start -l started %q, want %s only", got, newer)
		}
		mustMyctr(t, "stop", "-l", "-t0")
		id := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Id}}", newer))
		if got := mustMyctr(t, "rm", "-l"); got != id+"\n" {
			t.Errorf("rm -l printed %q, want %s", got, id)
		}
		if _, _, code := myctr(t, "container", "exists", newer); code != 1 {
			t.Errorf("rm -l left %s", newer)
		}
		if _, _, code := myctr(t, "container", "exists", older); code != 0 {
			t.Errorf("rm -l removed %s, not the latest", older)
		}
		if _, e, code := myctr(t, "rm", "-l", older); code != 125 || !strings.Contains(e, "--latest and containers cannot be used together") {
			t.Errorf("rm -l NAME: exit %d, %q", code, e)
		}
		mustMyctr(t, "rm", older)
		out := filepath.Join(t.TempDir(), "a.tar")
		if o, e, code := myctr(t, "save", "--quiet", "-o", out, image); code != 0 || o != "" {
			t.Errorf("save --quiet: exit %d, stdout %q, stderr %q", code, o, e)
		} else if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
			t.Errorf("save --quiet wrote no archive: %v", err)
		}
	})
	t.Run("mtab", func(t *testing.T) {
		// The test image has no /etc/mtab: a container gets one.
		if got := runOut(t, nil, "readlink", "/etc/mtab"); got != "/proc/mounts\n" {
			t.Errorf("/etc/mtab -> %q, want /proc/mounts", got)
		}
		// Not a build's RUN step: it would end up in the layer.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM "+image+"\nRUN test ! -e /etc/mtab\n"), 0o644)
		tag := "localhost/it-mtab-" + strconv.Itoa(os.Getpid())
		mustMyctr(t, "build", "-q", "-t", tag, dir)
		mustMyctr(t, "rmi", tag)
	})
	t.Run("signals-reach-sh", func(t *testing.T) {
		// A detached container's shell can trap SIGHUP and SIGINT: the
		// monitor did not leave them ignored (which a shell cannot undo).
		name := ctrName(t, "sig")
		runDetached(t, name, nil, "sh", "-c", `trap "echo got 1" 1; trap "echo got 2" 2; echo READY; while :; do sleep 0.05; done`)
		waitLogs(t, name, "READY", 10*time.Second)
		mustMyctr(t, "kill", "-s", "HUP", name)
		waitLogs(t, name, "got 1", 10*time.Second)
		mustMyctr(t, "kill", "-s", "INT", name)
		waitLogs(t, name, "got 2", 10*time.Second)
	})
}
