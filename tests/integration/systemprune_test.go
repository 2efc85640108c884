//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSystemPrune prunes a store of its own (in the shared one it would
// remove other tests' containers and images): without -f and no answer
// nothing goes; a --filter selects; each kind removed is listed under its
// heading; used objects stay; --volumes and -a widen it.
func TestSystemPrune(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp(tmpRoot, "sysprune-")
	if err != nil {
		t.Fatal(err)
	}
	own := func(stdin []byte, args ...string) (string, string, int) {
		t.Helper()
		// The last --root and --runroot win over the harness's.
		all := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}, args...)
		out, errOut, code := runMyctr(2*time.Minute, stdin, all...)
		t.Logf("myctr %s -> exit %d", strings.Join(args, " "), code)
		return out, errOut, code
	}
	mustOwn := func(args ...string) string {
		t.Helper()
		out, errOut, code := own(nil, args...)
		if code != 0 {
			t.Fatalf("myctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	mustOwn("import", filepath.Join(tmpRoot, "bb.tar"), "bb")
	t.Cleanup(func() {
		own(nil, "rm", "-f", "-a")
		own(nil, "unshare", "rm", "-rf", filepath.Join(dir, "root"))
	})
	bbID := strings.TrimSpace(mustOwn("image", "inspect", "--format", "{{.Id}}", "bb"))

	mustOwn("run", "--name", "stopped", "-v", "stoppedvol:/k", "bb", "sh", "-c", "echo 123456789 > /k/f; echo x > /f")
	stopped := strings.TrimSpace(mustOwn("inspect", "--format", "{{.Id}}", "stopped"))
	dangling := strings.TrimSpace(mustOwn("commit", "-q", "stopped"))
	mustOwn("run", "-d", "--name", "up", "-v", "usedvol:/u", "bb", "sleep", "100")
	mustOwn("volume", "create", "lonely")
	mustOwn("network", "create", "lonenet")
	mustOwn("network", "create", "--label", "keep=1", "labnet")
	pod := strings.TrimSpace(mustOwn("pod", "create", "--infra=false", "--name", "idlepod"))
	ps := func() string { return mustOwn("ps", "-a", "--format", "{{.Names}}") }

	out, errOut, code := own(nil, "system", "prune")
	if code != 125 || !strings.Contains(out, "WARNING! This command removes:\n\t- all stopped containers\n") ||
		!strings.Contains(errOut, "Error: no answer on standard input: nothing removed") || !strings.Contains(errOut, "Hint: pass -f") {
		t.Errorf("system prune with no answer: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out, _, code := own([]byte("n\n"), "system", "prune"); code != 0 || strings.Contains(out, "Deleted") {
		t.Errorf("system prune answered n: exit %d, %q", code, out)
	}
	if got := ps(); !strings.Contains(got, "stopped") {
		t.Fatalf("refused prunes removed a container: ps -a: %q", got)
	}

	if out := mustOwn("system", "prune", "-f", "--filter", "label=keep=1"); out != "Deleted Networks\nlabnet\nTotal reclaimed space: 0B\n" {
		t.Errorf("system prune --filter label=keep=1:\n%s", out)
	}
	if _, errOut, code := own(nil, "system", "prune", "-f", "--filter", "bogus=1"); code != 125 || !strings.Contains(errOut, "Error: invalid filter") {
		t.Errorf("system prune --filter bogus=1: exit %d, %q", code, errOut)
	}

	out = mustOwn("system", "prune", "-f")
	want := regexp.MustCompile(`^Deleted Containers\n` + stopped + `\nDeleted Pods\n` + pod + `\nDeleted Images\n` + dangling + `\nDeleted Networks\nlonenet\nTotal reclaimed space: [1-9][0-9.]*[kM]?B\n$`)
	if !want.MatchString(out) {
		t.Errorf("system prune -f:\n%s\nwant %s", out, want)
	}
	if got := ps(); got != "up\n" {
		t.Errorf("after system prune -f: ps -a = %q, want the running one only", got)
	}
	if out := mustOwn("volume", "ls", "-q"); len(strings.Fields(out)) != 3 {
		t.Errorf("volumes went without --volumes: %q", out)
	}

	if out := mustOwn("system", "prune", "-f", "--volumes"); out != "Deleted Volumes\nlonely\nstoppedvol\nTotal reclaimed space: 10B\n" {
		t.Errorf("system prune -f --volumes:\n%s", out)
	}

	mustOwn("rm", "-f", "up")
	if out := mustOwn("system", "prune", "-af", "--volumes"); !strings.HasPrefix(out, "Deleted Volumes\nusedvol\nDeleted Images\n"+bbID+"\nTotal reclaimed space: ") {
		t.Errorf("system prune -af --volumes:\n%s", out)
	}
	if out := mustOwn("images", "-q"); out != "" {
		t.Errorf("images left after prune -a: %q", out)
	}
}
