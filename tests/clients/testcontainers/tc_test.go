//go:build integration

// Package testcontainers drives testcontainers-go against myctr's Docker
// API service: the library as Go projects use it in their tests. It is a
// module of its own so that myctr's go.mod does not take the library's
// dependencies. The integration tier (TestAPITestcontainers) runs its
// test binary as the test user, with DOCKER_HOST pointing at a service,
// TC_IMAGE naming a local busybox image and TC_NAME the container's name.
package testcontainers

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	tc "github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

func TestHTTPServer(t *testing.T) {
	img := os.Getenv("TC_IMAGE")
	if img == "" || os.Getenv("DOCKER_HOST") == "" {
		t.Skip("run by tests/integration's TestAPITestcontainers, which sets DOCKER_HOST and TC_IMAGE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ctr, err := tc.GenericContainer(ctx, tc.GenericContainerRequest{
		ContainerRequest: tc.ContainerRequest{
			Name:         os.Getenv("TC_NAME"),
			Image:        img,
			Cmd:          []string{"sh", "-c", "mkdir -p /www && echo hello-tc > /www/index.html && exec httpd -f -p 8080 -h /www"},
			ExposedPorts: []string{"8080/tcp"},
			Labels:       map[string]string{"it.testcontainers": "1"},
			WaitingFor:   wait.ForListeningPort("8080/tcp").WithStartupTimeout(time.Minute),
		},
		Started: true,
	})
	if err != nil {
		t.Fatalf("start the container: %v", err)
	}
	terminated := false
	t.Cleanup(func() {
		if !terminated {
			_ = ctr.Terminate(context.Background())
		}
	})

	host, err := ctr.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, err := ctr.MappedPort(ctx, "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + host + ":" + port.Port() + "/index.html"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "hello-tc" {
		t.Errorf("GET %s: %d %q, want 200 hello-tc", url, resp.StatusCode, body)
	}

	code, out, err := ctr.Exec(ctx, []string{"sh", "-c", "echo in-exec; exit 7"})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	b, _ := io.ReadAll(out)
	if code != 7 || !strings.Contains(string(b), "in-exec") {
		t.Errorf("exec: exit %d output %q, want 7 and in-exec", code, b)
	}

	id := ctr.GetContainerID()
	// httpd is PID 1 and, like under Docker, ignores SIGTERM: a short
	// stop timeout, then SIGKILL.
	if err := ctr.Terminate(ctx, tc.StopTimeout(time.Second)); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	terminated = true
	// Terminate removed it: the API no longer knows it.
	cli, err := tc.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil || !strings.Contains(err.Error(), "No such container") {
		t.Errorf("inspect after Terminate: %v, want No such container", err)
	}
	t.Logf("container %s terminated", id)
}
