//go:build integration

package integration

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// srcDir is the checkout's source tree (run-integration.sh points
// MYCTR_SRC_DIR at it; like go test, the binary runs in its package dir).
func srcDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MYCTR_SRC_DIR")
	if dir == "" {
		dir = "../.."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		t.Fatalf("the source tree is not at %s (MYCTR_SRC_DIR): %v", abs, err)
	}
	return abs
}

// copySources copies the checkout's sources, without .git and bin/, to a
// new directory.
func copySources(t testing.TB, dst string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `tar -C "$1" --exclude=./.git --exclude=./bin -cf - . | tar -C "$2" -xf -`, "sh", srcDir(t), dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy the sources: %v\n%s", err, out)
	}
}

// goModVersion is the Go version go.mod asks for (toolchain line first).
func goModVersion(t testing.TB, src string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^toolchain go(\S+)`).FindSubmatch(data); m != nil {
		return string(m[1])
	}
	m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

// bootstrapShell runs script with sh in new user and mount namespaces
// where /usr/local/go, and each of hide, is an empty tmpfs: a machine whose
// Go, if any, is apt's. The environment is env alone. With asUser the
// script runs as uid 1000 of a second user namespace, not as its root.
func bootstrapShell(t *testing.T, timeout time.Duration, hide []string, asUser bool, env []string, script string) (string, error) {
	t.Helper()
	mounts := ""
	for _, d := range append([]string{"/usr/local/go"}, hide...) {
		if _, err := os.Stat(d); err == nil {
			mounts += "mount -t tmpfs -o mode=0755 tmpfs '" + d + "' && "
		}
	}
	inner := "exec "
	if asUser {
		inner += "unshare --map-user=1000 --map-group=1000 "
	}
	inner += `env -i "$@"`
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--mount",
		"sh", "-c", mounts+inner+" sh -c '"+strings.ReplaceAll(script, "'", `'\''`)+"'", "sh")
	cmd.Args = append(cmd.Args, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestGoBootstrap: on a machine where the only Go is apt's (Debian 12:
// 1.19, older than go.mod asks), with an empty module cache, GOPATH and
// build cache, `make build` fetches the toolchain go.mod names through the
// module proxy (tests/setup/go.sh), keeps it for later runs, and builds
// bin/myctr with it. Without any Go, and not root, go.sh says what to do.
func TestGoBootstrap(t *testing.T) {
	aptGo, err := filepath.EvalSymlinks("/usr/bin/go")
	if err != nil {
		t.Fatalf("no /usr/bin/go: %v (tests/setup/deps.sh installs apt's golang-go, the Go a bare Debian machine has)", err)
	}
	aptRoot := filepath.Dir(filepath.Dir(aptGo))
	src := t.TempDir()
	copySources(t, src)
	want := goModVersion(t, src)
	home := t.TempDir()
	// The module cache is read-only; t.TempDir's removal needs it writable.
	t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", home).Run() })
	env := []string{
		"SRC=" + src,
		"HOME=" + home,
		"PATH=/usr/bin:/bin",
		"GOPATH=" + filepath.Join(home, "go"),
		"GOCACHE=" + filepath.Join(home, "go-build"),
	}
	if p := os.Getenv("GOPROXY"); p != "" {
		env = append(env, "GOPROXY="+p)
	}

	out, err := bootstrapShell(t, 10*time.Minute, nil, false, env, `set -e; cd "$SRC"; go version; make build`)
	t.Logf("make build where the only Go is apt's:\n%s", out)
	if err != nil {
		t.Fatalf("make build failed: %v", err)
	}
	if !strings.Contains(out, "go version go1.") || strings.Contains(out, "go version go"+want+" ") {
		t.Fatalf("the Go on PATH in the namespace is not apt's older one: the test proves nothing")
	}
	mod := "golang.org/toolchain@v0.0.1-go" + want + ".linux-" + runtime.GOARCH
	if !strings.Contains(out, "fetching "+mod+" through ") {
		t.Errorf("make build did not say it fetches %s", mod)
	}
	if strings.Contains(out, " direct") {
		t.Errorf("the toolchain's source list names \"direct\"; only the module proxy may serve it")
	}
	info, err := buildinfo.ReadFile(filepath.Join(src, "bin", "myctr"))
	if err != nil {
		t.Fatalf("bin/myctr: %v", err)
	}
	if info.GoVersion != "go"+want {
		t.Errorf("bin/myctr was built with %s, want go%s", info.GoVersion, want)
	}
	if out, err := exec.Command(filepath.Join(src, "bin", "myctr"), "--version").CombinedOutput(); err != nil {
		t.Errorf("bin/myctr --version: %v\n%s", err, out)
	}
	cached := filepath.Join(home, ".cache", "myctr", "go", "go"+want+".linux-"+runtime.GOARCH, "bin")
	if _, err := os.Stat(filepath.Join(cached, "go")); err != nil {
		t.Fatalf("the fetched toolchain is not kept for later runs: %v", err)
	}

	// A later run finds the kept toolchain and fetches nothing.
	out, err = bootstrapShell(t, time.Minute, nil, false, env, `cd "$SRC" && tests/setup/go.sh`)
	if err != nil || strings.TrimSpace(out) != cached {
		t.Errorf("go.sh again: %v, printed %q, want only %q", err, out, cached)
	}

	// No Go at all, and not root: an error that says what to do, exit 1.
	env[1] = "HOME=" + t.TempDir() // nothing fetched before
	out, err = bootstrapShell(t, time.Minute, []string{aptRoot}, true, env, `cd "$SRC" && id -u && tests/setup/go.sh`)
	t.Logf("go.sh with no Go, not root:\n%s", out)
	if err == nil || !strings.HasPrefix(out, "1000\n") || !strings.Contains(out, "Error: no Go "+want) || !strings.Contains(out, "Hint: ") {
		t.Errorf("go.sh with no Go as a user: %v; want exit 1 with Error: and Hint:", err)
	}
}
