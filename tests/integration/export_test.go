//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exportEntries reads the tar file at p.
func exportEntries(t *testing.T, p string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return cpTarEntries(t, b)
}

// checkExport checks an exported root: the image's files, the
// container's changes, and none of what was mounted on it.
func checkExport(t *testing.T, what string, e map[string]string, added, addedBody string) {
	t.Helper()
	if _, ok := e["bin/busybox"]; !ok {
		t.Errorf("%s: no bin/busybox (the image's layer) among %d entries", what, len(e))
	}
	if got, ok := e[added]; !ok || got != addedBody {
		t.Errorf("%s: %s = %q (present %v), want %q", what, added, got, ok, addedBody)
	}
	if _, ok := e["etc/group"]; ok {
		t.Errorf("%s: etc/group is there, the container deleted it", what)
	}
	for n := range e {
		if strings.HasPrefix(n, "/") || strings.HasPrefix(n, "./") || strings.HasPrefix(n, "..") {
			t.Errorf("%s: entry %q is not named from the root", what, n)
		}
		for _, mounted := range []string{"proc/", "sys/", "mnt/vol/"} {
			if strings.HasPrefix(n, mounted) {
				t.Errorf("%s: %q is below a mount, which export leaves out", what, n)
			}
		}
	}
}

// TestExport exports a stopped and a running container (the running one
// with a volume, and /proc and /sys mounted) and imports the archive back
// as an image that runs.
func TestExport(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "host-file"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	stopped := ctrName(t, "stopped")
	mustMyctr(t, "run", "--name", stopped, image, "sh", "-c", "echo stopped-data > /added.txt; rm /etc/group")
	out := filepath.Join(dir, "stopped.tar")
	mustMyctr(t, "export", "-o", out, stopped)
	checkExport(t, "stopped", exportEntries(t, out), "added.txt", "stopped-data\n")

	// Standard output, and `container export`.
	stdout := mustMyctr(t, "container", "export", stopped)
	checkExport(t, "stopped, to stdout", cpTarEntries(t, []byte(stdout)), "added.txt", "stopped-data\n")

	running := ctrName(t, "running")
	runDetached(t, running, []string{"-v", vol + ":/mnt/vol"}, "sh", "-c", "echo running-data > /run.txt; rm /etc/group; sleep 1000")
	waitFor(t, 10*time.Second, "the running container's file", func() bool {
		_, _, code := myctr(t, "exec", running, "test", "-f", "/run.txt")
		return code == 0
	})
	out = filepath.Join(dir, "running.tar")
	mustMyctr(t, "export", running, "-o", out)
	e := exportEntries(t, out)
	checkExport(t, "running", e, "run.txt", "running-data\n")
	if _, ok := e["proc"]; !ok {
		t.Errorf("running: no proc directory (the mount point itself is in the root)")
	}

	// The archive is an image again: without a name (-q prints only its
	// id), and named, with a --change given after the tarball.
	id := strings.TrimSpace(mustMyctr(t, "import", "-q", out))
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", id) })
	if !isFullID(id) {
		t.Errorf("import -q printed %q, want the image's id", id)
	}
	if got := mustMyctr(t, "run", "--rm", id, "cat", "/run.txt"); got != "running-data\n" {
		t.Errorf("cat /run.txt in the re-imported image: %q", got)
	}
	named := "localhost/it-export-reimport:t1"
	mustMyctr(t, "import", "-q", out, "--change", `CMD sh -c "cat /run.txt; echo changed"`, named)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", named) })
	if got := mustMyctr(t, "run", "--rm", named); got != "running-data\nchanged\n" {
		t.Errorf("the imported image's CMD from --change printed %q", got)
	}

	_, errOut, code := myctr(t, "export", "no-such-container-for-export")
	if code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("export of a missing container: exit %d %q, want 125 and an Error: line", code, errOut)
	}
	_, errOut, code = myctr(t, "export")
	if code != 125 || !strings.Contains(errOut, "requires exactly 1 argument") {
		t.Errorf("export without a container: exit %d %q", code, errOut)
	}
}

// TestAPIExport runs `docker export` against the service, of a running
// container.
func TestAPIExport(t *testing.T) {
	a := startAPIService(t)
	name := ctrName(t, "export")
	a.mustDocker(t, "run", "-d", "--name", name, "--network", "none", imageFull, "sh", "-c", "echo api-data > /api.txt; rm /etc/group; sleep 1000")
	t.Cleanup(func() { _, _, _ = a.docker(t, time.Minute, "rm", "-f", name) })
	waitFor(t, 10*time.Second, "the container's file", func() bool {
		_, _, code := a.docker(t, time.Minute, "exec", name, "test", "-f", "/api.txt")
		return code == 0
	})
	out := filepath.Join(t.TempDir(), "api.tar")
	a.mustDocker(t, "export", "-o", out, name)
	checkExport(t, "docker export", exportEntries(t, out), "api.txt", "api-data\n")

	_, errOut, code := a.docker(t, time.Minute, "export", "-o", out, "no-such-container-for-export")
	if code == 0 || !strings.Contains(errOut, "No such container") {
		t.Errorf("docker export of a missing container: exit %d %q", code, errOut)
	}
}
