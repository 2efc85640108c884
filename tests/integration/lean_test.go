//go:build integration

package integration

import (
	"context"
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLeanBinary: make's myctr is the lean build, without the
// Containerfile builder (buildkit, protobuf), the API server and the
// registry client (net/http), and the command lines that need them run in
// myctr-full, which it executes in its own place (same process, same
// argv[0]); a pull runs in myctr-full's pull stage, a child. Without
// myctr-full, such a command is refused with the fix, and every other
// command still runs.
func TestLeanBinary(t *testing.T) {
	full := filepath.Join(filepath.Dir(bin), "myctr-full")
	t.Run("builds", func(t *testing.T) {
		for p, wantLean := range map[string]bool{bin: true, full: false} {
			deps, settings := buildInfo(t, p)
			tags := settings["-tags"]
			if lean := strings.Contains(","+tags+",", ",lean,"); lean != wantLean {
				t.Errorf("%s: -tags %q, want lean %v", p, tags, wantLean)
			}
			buildkit := false
			for _, m := range deps {
				buildkit = buildkit || m.Path == "github.com/moby/buildkit"
			}
			if buildkit == wantLean {
				t.Errorf("%s: links buildkit %v, want %v", p, buildkit, !wantLean)
			}
			if http := linksPackage(t, p, "net/http."); http == wantLean {
				t.Errorf("%s: links net/http %v, want %v", p, http, !wantLean)
			}
		}
	})
	t.Run("pulls", func(t *testing.T) {
		// The lean myctr pulls through myctr-full: a run of an image
		// that is not here, and pull itself.
		reg := startRegistry(t, false)
		src := newImage(t, "it-lean-src:1")
		archive := filepath.Join(t.TempDir(), "src.tar")
		mustMyctr(t, "save", "--format", "oci-archive", "-o", archive, "it-lean-src:1")
		remote := reg + "/it/lean:1"
		skopeoPush(t, archive, remote, "")
		mustMyctr(t, "rmi", "it-lean-src:1")
		out, errOut, code := myctr(t, "run", "--rm", remote, "cat", "/etc/passwd")
		if code != 0 || !strings.Contains(out, "root:x:0:0") || !strings.Contains(errOut, "Copying blob sha256:") {
			t.Fatalf("run of an image to pull: exit %d\n%s\n%s", code, out, errOut)
		}
		if got := mustFindImage(t, remote); got.Id != src.Id {
			t.Errorf("pulled %s, want %s", got.Id, src.Id)
		}
		mustMyctr(t, "rmi", remote)
		if out := mustMyctr(t, "pull", "-q", remote); strings.TrimSpace(out) != src.Id {
			t.Errorf("pull -q printed %q, want %s", out, src.Id)
		}
		// An error of the pull stage comes back as pull's own: its
		// message, its hint, its exit code.
		_, errOut, code = myctr(t, "run", "--rm", reg+"/it/none:1", "true")
		if code != 125 || !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, "Hint: check the name and tag") {
			t.Errorf("run of an image the registry lacks: exit %d\n%s", code, errOut)
		}
	})
	t.Run("delegates", func(t *testing.T) {
		// info is myctr-full's (the API socket's path is in it).
		out := mustMyctr(t, "info", "--format", "{{.Host.RemoteSocket.Path}}")
		if want := filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "myctr", "myctr.sock"); strings.TrimSpace(out) != want {
			t.Errorf("info's socket = %q, want %q", out, want)
		}
		// myctr-full reports the myctr the user runs as the OCI runtime,
		// and takes it as --runtime (Podman's 030-run reads it from info).
		out = mustMyctr(t, "info", "--format", "{{.Host.OCIRuntime.Path}}")
		if strings.TrimSpace(out) != bin {
			t.Errorf("info's OCI runtime = %q, want %q", out, bin)
		}
		ctxDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte("FROM "+imageFull+"\nLABEL lean=yes\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustMyctr(t, "build", "-q", "--runtime", bin, "-t", "localhost/lean-runtime", ctxDir)
		myctr(t, "rmi", "localhost/lean-runtime")
		// The API service is myctr-full, executed in myctr's process.
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(dir, "lean.sock")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := myctrCommand(ctx, "system", "service", "--time", "1", "unix://"+sock)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		waitFor(t, 15*time.Second, "the API socket", func() bool {
			c, err := net.Dial("unix", sock)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "exe"))
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(exe) != "myctr-full" {
			t.Errorf("myctr system service runs %s, want myctr-full", exe)
		}
	})
	t.Run("without-full", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		lone := filepath.Join(dir, "myctr")
		if err := os.WriteFile(lone, data, 0o755); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) (string, int) {
			out, err := exec.Command(lone, globalArgs(args)...).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return string(out), code
		}
		out, code := run("build", "-t", "lean-nofull", dir)
		if code != 125 || !strings.Contains(out, "Error: myctr build runs in myctr-full, which is neither beside "+lone) ||
			!strings.Contains(out, "Hint: install myctr with make install") {
			t.Errorf("build without myctr-full: exit %d, %q", code, out)
		}
		out, code = run("pull", "localhost:1/it/none:1")
		if code != 125 || !strings.Contains(out, "Error: pulling localhost:1/it/none:1 runs in myctr-full, which is neither beside "+lone) ||
			!strings.Contains(out, "Hint: install myctr with make install") {
			t.Errorf("pull without myctr-full: exit %d, %q", code, out)
		}
		if out, code = run("login", "localhost:1"); code != 125 || !strings.Contains(out, "Error: myctr login runs in myctr-full") {
			t.Errorf("login without myctr-full: exit %d, %q", code, out)
		}
		if out, code := run("ps", "-a", "--format", "{{.ID}}"); code != 0 {
			t.Errorf("ps without myctr-full: exit %d, %q", code, out)
		}
	})
}

// linksPackage says whether the binary at path has a function of the
// package whose symbols start with prefix ("net/http.").
func linksPackage(t *testing.T, path, prefix string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, s := range syms {
		if strings.HasPrefix(s.Name, prefix) {
			return true
		}
	}
	return false
}
