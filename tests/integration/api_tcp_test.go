//go:build integration

package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAPITCP: tcp:// on loopback is served, with a warning; an address
// that is not loopback is refused without --tcp-any.
func TestAPITCP(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("needs the docker CLI at %s: %v", dockerCLI, err)
	}
	// A free port: bind port 0, read it, let it go.
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(pl.Addr().(*net.TCPAddr).Port)
	pl.Close()

	_, errOut, code := myctr(t, "system", "service", "--time", "0", "tcp://0.0.0.0:"+port)
	if code == 0 || !strings.Contains(errOut, "Hint:") {
		t.Errorf("tcp://0.0.0.0 without --tcp-any: exit %d, want non-zero with a Hint:\n%s", code, errOut)
	}

	// stdout goes to a file (what the service starts may outlive it);
	// stderr, which the test reads, to a buffer.
	logFile, err := os.Create(filepath.Join(t.TempDir(), "service.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	cmd := myctrCommand(ctx, "system", "service", "--time", "0", "tcp://127.0.0.1:"+port)
	cmd.Stdout, cmd.Stderr = logFile, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("start myctr system service: %v", err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		t.Logf("service stderr:\n%s", stderr.String())
	}()
	waitFor(t, 15*time.Second, "the API port", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if !strings.Contains(stderr.String(), "WARNING: serving the API on TCP 127.0.0.1:"+port) {
		t.Errorf("no TCP warning on the service's stderr:\n%s", stderr.String())
	}
	vctx, vcancel := context.WithTimeout(context.Background(), time.Minute)
	defer vcancel()
	dc := exec.CommandContext(vctx, dockerCLI, "-H", "tcp://127.0.0.1:"+port, "version", "--format", "{{.Server.Version}}|{{.Server.APIVersion}}")
	dc.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	dc.WaitDelay = 5 * time.Second
	out, err := dc.CombinedOutput()
	if err != nil {
		t.Fatalf("docker -H tcp://127.0.0.1:%s version: %v\n%s", port, err, out)
	}
	want, _, _ := myctr(t, "--version")
	parts := strings.Split(strings.TrimSpace(string(out)), "|")
	if len(parts) != 2 || parts[0] == "" || parts[1] != "1.41" {
		t.Errorf("docker version over TCP: %q, want VERSION|1.41", out)
	} else if !strings.Contains(want, parts[0]) {
		t.Errorf("server version %q, but myctr --version says %q", parts[0], want)
	}
}
