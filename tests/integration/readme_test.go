//go:build integration

package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/myctr/myctr/tests/readme"
)

// TestReadme runs the README's user blocks (```sh) as written, in order,
// as this user with a home and runtime directory of their own: myctr from
// PATH, its default store, the registry the blocks start on 127.0.0.1:5000.
// Every command must succeed (bash -e), and nothing may be left running.
func TestReadme(t *testing.T) {
	src := srcDir(t)
	md, err := os.ReadFile(filepath.Join(src, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readme.Blocks(md)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	script, n := readme.Where(blocks, readme.User)
	if n == 0 {
		t.Fatal("README.md has no user blocks")
	}
	for _, port := range []string{"8080", "5000"} {
		if l, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
			t.Fatalf("the README's examples use 127.0.0.1:%s, which is taken here: %v", port, err)
		} else {
			l.Close()
		}
	}

	dir := t.TempDir()
	home, run, work := filepath.Join(dir, "home"), filepath.Join(dir, "run"), filepath.Join(dir, "work")
	for _, d := range []string{home, run, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// "From a checkout": tests/setup/... as the README calls it.
	if err := os.Symlink(filepath.Join(src, "tests"), filepath.Join(work, "tests")); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"PATH=" + filepath.Dir(bin) + ":/usr/local/bin:/usr/bin:/bin",
		"REGISTRY_DIR=" + filepath.Join(dir, "registry"),
		"LANG=C.UTF-8", "USER=" + os.Getenv("USER"), "LOGNAME=" + os.Getenv("LOGNAME"),
	}
	shell := func(timeout time.Duration, script string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-e", "-x", "-c", script)
		cmd.Dir, cmd.Env = work, env
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		out, _ := shell(2*time.Minute, `tests/setup/registry.sh stop
ids=$(myctr ps -aq); [ -z "$ids" ] || myctr rm -f $ids
myctr unshare rm -rf ~/.local/share/myctr`)
		t.Logf("clean-up:\n%s", out)
	})

	t.Logf("the README's %d user blocks:\n%s", n, script)
	out, err := shell(5*time.Minute, script)
	t.Logf("output:\n%s", out)
	if err != nil {
		t.Fatalf("the README's user blocks failed: %v", err)
	}
	for _, want := range []string{"hello from ", "pulled\n", "Loaded image: 127.0.0.1:5000/bb:1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// The curl line printed the container's hostname (its short id).
	if !regexp.MustCompile(`(?m)^\+ curl .*\n[0-9a-f]{12}$`).MatchString(out) {
		t.Errorf("curl of the published port did not print the container's hostname")
	}
	if left, err := shell(time.Minute, `myctr ps -aq`); err != nil || strings.TrimSpace(left) != "+ myctr ps -aq" {
		t.Errorf("the README's blocks leave containers behind: %v\n%s", err, left)
	}
}
