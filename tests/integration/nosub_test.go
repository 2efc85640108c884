//go:build integration

package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strings"
	"testing"
)

// hasSubRange reports whether /etc/subuid names the current user.
func hasSubRange(t *testing.T) bool {
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	f, err := os.Open("/etc/subuid")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) == 3 && (p[0] == u.Username || p[0] == u.Uid) {
			return true
		}
	}
	return false
}

// TestNoSubordinateRange: a user without /etc/subuid and /etc/subgid
// entries still runs containers, with only uid 0 mapped (to the user), and
// is told how to get a range. make test-integration runs this test alone as
// the user myctr-nosub.
func TestNoSubordinateRange(t *testing.T) {
	if hasSubRange(t) {
		t.Skip("needs a user without a subordinate range; as root, make test-integration runs it as myctr-nosub")
	}
	out, errOut, code := myctr(t, "run", "--rm", image, "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	want := fmt.Sprintf("0 %d 1", os.Getuid())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != want {
		t.Errorf("uid_map/gid_map = %q, want the single mapping %q", out, want)
	}
	if !strings.Contains(errOut, "Hint:") || !strings.Contains(errOut, "/etc/subuid") {
		t.Errorf("stderr = %q, want a Hint naming /etc/subuid", errOut)
	}
	// The range the hint proposes is no other user's.
	var lo, hi uint64
	if i := strings.Index(errOut, "--add-subuids "); i < 0 {
		t.Errorf("stderr = %q, want a usermod --add-subuids hint", errOut)
	} else if _, err := fmt.Sscanf(errOut[i:], "--add-subuids %d-%d", &lo, &hi); err != nil || hi-lo != 65535 {
		t.Errorf("the proposed range in %q: %v", errOut[i:], err)
	}
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(file)
		for _, line := range strings.Split(string(b), "\n") {
			var name string
			var start, n uint64
			if p := strings.Split(line, ":"); len(p) == 3 {
				name = p[0]
				fmt.Sscan(p[1], &start)
				fmt.Sscan(p[2], &n)
			}
			if n > 0 && lo <= start+n-1 && start <= hi {
				t.Errorf("the proposed range %d-%d overlaps %s's in %s (%s)", lo, hi, name, file, line)
			}
		}
	}
	// Files of the image all belong to root, the only mapped id.
	out = runOut(t, nil, "stat", "-c", "%u", "/home/app")
	if strings.TrimSpace(out) != "0" {
		t.Errorf("owner of /home/app = %q, want 0 (unpacked without a range)", out)
	}
	// A uid outside the mapping is refused before anything runs.
	_, errOut, code = myctr(t, "run", "--rm", "-u", "1000", image, "id")
	if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, "/etc/subuid") {
		t.Errorf("run -u 1000: exit %d, stderr %q; want 125 and an Error naming /etc/subuid", code, errOut)
	}
}
