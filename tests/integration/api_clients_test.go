//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianPython is the interpreter Debian's python3-docker is installed
// for (another python3 on PATH may not have it).
const debianPython = "/usr/bin/python3"

// dockerPyScript drives the service with docker-py the way a project's
// test suite does; it prints one "key value" line per result, and fails
// (an exception, exit 1) on anything unexpected. %[1]s is the image,
// %[2]s a name prefix.
const dockerPyScript = `import sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto", timeout=60)
print("ping", c.ping())
out = c.containers.run(%[1]q, ["sh", "-c", "echo hi-from-run; echo err >&2; exit 0"], remove=True)
print("run", out.decode().strip())
try:
    c.containers.run(%[1]q, ["sh", "-c", "exit 3"], remove=True)
    print("runfail none")
except docker.errors.ContainerError as e:
    print("runfail", e.exit_status)
ctr = c.containers.run(%[1]q, ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done; exec sleep 300"], detach=True, name=%[2]q + "-d", labels={"it.dockerpy": "1"})
got = []
for chunk in ctr.logs(stream=True, follow=True):
    got += chunk.decode().split()
    if "line3" in got:
        break
print("logs", " ".join(got))
res = ctr.exec_run(["sh", "-c", "echo in-exec; exit 7"])
print("exec", res.exit_code, res.output.decode().strip())
print("list", [x.name for x in c.containers.list(filters={"label": "it.dockerpy=1"})])
ctr.kill()
print("wait", ctr.wait(timeout=30)["StatusCode"])
ctr.remove(force=True)
print("gone", [x.name for x in c.containers.list(all=True, filters={"label": "it.dockerpy=1"})])
print("images", any(%[1]q in (i.tags or []) for i in c.images.list()))
`

// TestAPIDockerPy: Debian's docker-py (python3-docker) runs, streams
// logs, execs, waits and removes through the service.
func TestAPIDockerPy(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import docker").Run(); err != nil {
		t.Skipf("needs Debian's python3-docker for %s (tests/setup/deps.sh installs it): %v", debianPython, err)
	}
	a := startAPIService(t)
	prefix := ctrName(t, "py")
	script := filepath.Join(t.TempDir(), "dockerpy.py")
	if err := os.WriteFile(script, fmt.Appendf(nil, dockerPyScript, imageFull, prefix), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, script, "unix://"+a.sock)
	out, err := cmd.CombinedOutput()
	t.Logf("docker-py:\n%s", out)
	if err != nil {
		t.Fatalf("docker-py script: %v", err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, " ")
		got[k] = v
	}
	for k, want := range map[string]string{
		"ping":    "True",
		"run":     "hi-from-run",
		"runfail": "3",
		"logs":    "line1 line2 line3",
		"exec":    "7 in-exec",
		"list":    "['" + prefix + "-d']",
		"wait":    "137",
		"gone":    "[]",
		"images":  "True",
	} {
		if got[k] != want {
			t.Errorf("docker-py %s: %q, want %q", k, got[k], want)
		}
	}
	assertGone(t, prefix+"-d")
}
