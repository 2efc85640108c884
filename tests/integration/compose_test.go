//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// composeFile is the three-service app of tests/compose.
var composeFile = filepath.Join("..", "compose", "compose.yml")

// podmanCompose runs Debian's podman-compose with myctr as its podman
// (through a wrapper that adds the test's private roots), and returns its
// combined output. Its exit code says little (1.0.3 reports a failed
// podman call and goes on), so the callers check myctr's state instead;
// a traceback, a crash of the tool, always fails.
func podmanCompose(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman-compose", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("podman-compose %s -> %v\n%s", strings.Join(args, " "), err, out)
	if strings.Contains(string(out), "Traceback") || ctx.Err() != nil {
		t.Fatalf("podman-compose %s failed: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestCompose: podman-compose brings up, lists, logs, execs into and
// tears down tests/compose/compose.yml on myctr: two named networks (api
// on both), a named volume, depends_on, environment and a published port.
// web's page, got from the host, is what api served to web by its service
// name, made with what db answered api by name on the other network; web
// does not reach db.
func TestCompose(t *testing.T) {
	if _, err := exec.LookPath("podman-compose"); err != nil {
		t.Fatalf("podman-compose is not installed (tests/setup/deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "myctr")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --root %s --runroot %s \"$@\"\n", bin, root, runRoot)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	project := ctrName(t, "")
	port := freePort(t)
	env := []string{"MYCTR_COMPOSE_IMAGE=localhost/" + image, "MYCTR_COMPOSE_PORT=" + strconv.Itoa(port)}
	compose := func(args ...string) string {
		t.Helper()
		return podmanCompose(t, env, append([]string{"--podman-path", wrapper, "-p", project, "-f", composeFile}, args...)...)
	}
	label := "label=io.podman.compose.project=" + project
	t.Cleanup(func() {
		for _, id := range strings.Fields(mustMyctr(t, "ps", "-a", "-q", "--filter", label)) {
			myctr(t, "rm", "-f", id)
		}
		myctr(t, "network", "rm", "-f", project+"_front", project+"_back")
		myctr(t, "volume", "rm", "-f", project+"_data")
	})

	compose("up", "-d")
	var page string
	waitFor(t, 30*time.Second, "web's page, fetched from api by name, with db's answer to api", func() bool {
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return strings.Contains(page, "api says hello-by-name and db-answer")
	})

	ps := compose("ps")
	for _, svc := range []string{"db", "api", "web"} {
		name := project + "_" + svc + "_1"
		if !strings.Contains(ps, name) {
			t.Errorf("compose ps does not list %s", name)
		}
		state := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.State.Status}} {{index .Config.Labels \"com.docker.compose.service\"}}", name))
		if state != "running "+svc {
			t.Errorf("%s: %q, want running and its service label", name, state)
		}
	}
	if logs := compose("logs", "api"); !strings.Contains(logs, "response:200") {
		t.Errorf("compose logs api shows no request served to web")
	}
	if out := compose("exec", "-T", "api", "cat", "/data/mark"); !strings.Contains(out, "stored") {
		t.Errorf("compose exec api cat /data/mark: no volume content")
	}
	if out, _, code := myctr(t, "exec", project+"_web_1", "nslookup", "db"); code == 0 {
		t.Errorf("web, on front only, resolves db of back: %q", out)
	}
	if nets := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", project+"_api_1")); nets != project+"_back "+project+"_front" {
		t.Errorf("api's networks: %q, want back and front", nets)
	}
	if vols := mustMyctr(t, "volume", "ls", "-q"); !strings.Contains(vols, project+"_data") {
		t.Errorf("no volume %s_data: %q", project, vols)
	}

	compose("down", "-t", "1")
	if left := mustMyctr(t, "ps", "-a", "-q", "--filter", label); strings.TrimSpace(left) != "" {
		t.Errorf("compose down left containers: %q", left)
	}
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
		t.Errorf("port %d still answers after compose down", port)
	}
}
