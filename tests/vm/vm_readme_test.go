//go:build vm

package vmtest

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myctr/myctr/tests/readme"
)

// TestReadmeSystemd runs the README's blocks marked ```sh systemd (resource
// limits, a bridged container) as written, as vmuser in its home with the
// installed myctr: every command must succeed (bash -e), the limits and
// the bridge must show where the comments say, and nothing may be left.
func TestReadmeSystemd(t *testing.T) {
	begin(t)
	path := os.Getenv("MYCTR_VM_README")
	if path == "" {
		t.Fatal("MYCTR_VM_README is not set (tests/vm/job.sh sets it)")
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readme.Blocks(md)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	script, n := readme.Where(blocks, readme.Systemd)
	if n == 0 {
		t.Fatal("README.md has no blocks marked sh systemd")
	}
	u := users[allowedUser]
	t.Cleanup(func() {
		if t.Failed() {
			u.Run(cmdTimeout, "rm", "-f", "web", "job")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-x", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups},
	}
	cmd.Dir = u.Home
	cmd.Env = []string{
		"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"XDG_RUNTIME_DIR=" + u.RuntimeDir(),
		"LANG=C.UTF-8",
	}
	cmd.WaitDelay = 5 * time.Second
	t.Logf("the README's %d systemd blocks:\n%s", n, script)
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	t.Logf("output:\n%s", out)
	if err != nil {
		t.Fatalf("the README's systemd blocks failed: %v", err)
	}
	// The comments' promises: the bridge and its address, the scope in
	// myctr.slice with the updated memory limit, the cgroup source.
	for _, re := range []string{
		`(?m)^myctr0 10\.88\.\d+\.\d+$`,
		`(?m)^/user\.slice/\S+/myctr\.slice/myctr-[0-9a-f]{64}\.scope/container 1073741824 false$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the output has no line matching %s", re)
		}
	}
	if left, _, _ := u.Run(cmdTimeout, "ps", "-aq"); strings.TrimSpace(left) != "" {
		t.Errorf("the README's blocks leave containers behind: %q", left)
	}
}
