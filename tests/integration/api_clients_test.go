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
# Again and again: a container that ends at once exits while its monitor
# hands over to myctr-monitor, and is removed as soon as wait answers,
# before the stream is read; each run must still give its exit and output.
ok = 0
for i in range(20):
    try:
        ok += c.containers.run(%[1]q, ["sh", "-c", "echo again"], remove=True) == b"again\n"
    except docker.errors.ContainerError:
        pass
print("runs", ok)
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
		"runs":    "20",
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

// TestAPITestcontainers: testcontainers-go, as Go projects use it in
// their tests, starts a container from a local image, waits for its port
// (from the host through the mapped port, and inside through an exec),
// sends a request through the mapped port, execs with an exit code and
// terminates it. The library is a module of its own
// (tests/clients/testcontainers); run-integration.sh builds its test
// binary beside the integration tests'.
//
// Two settings, as for any rootless engine: Ryuk, the library's reaper,
// is a container that needs the engine's socket and an image from Docker
// Hub, so it is turned off (Terminate removes the container); and the
// host to dial is given, because the library, finding itself in a
// container, would otherwise dial the network's gateway, which is inside
// the user's network namespace.
func TestAPITestcontainers(t *testing.T) {
	bin := filepath.Join(filepath.Dir(os.Getenv("MYCTR_BIN")), "testcontainers.test")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the testcontainers-go test binary is missing (run-integration.sh builds it from tests/clients/testcontainers; see its output for why it did not): %v", err)
	}
	a := startAPIService(t)
	name := ctrName(t, "tc")
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.v", "-test.run", "^TestHTTPServer$", "-test.timeout", "3m")
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"DOCKER_HOST=unix://"+a.sock,
		"TESTCONTAINERS_RYUK_DISABLED=true",
		"TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1",
		"TC_IMAGE="+imageFull,
		"TC_NAME="+name,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("testcontainers-go:\n%s", out)
	if err != nil {
		t.Fatalf("testcontainers-go test: %v", err)
	}
	// A skip inside would be a pass here: insist the test ran.
	if !strings.Contains(string(out), "--- PASS: TestHTTPServer") || !strings.Contains(string(out), "terminated") {
		t.Errorf("testcontainers-go's TestHTTPServer did not run to its end")
	}
	assertGone(t, name)
}
