//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDemo runs make demo's tour (tests/demo/demo.sh) as this user, as
// make demo does after its root part, and checks that every command it
// shows reads back, word for word, as what it ran: the lines can be copied
// and pasted.
func TestDemo(t *testing.T) {
	src := srcDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(src, "tests", "demo", "demo.sh"))
	cmd.Env = append(os.Environ(), "MYCTR_DEMO_STAGE=user", "MYCTR_BIN="+bin)
	cmd.WaitDelay = 5 * time.Second
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	t.Logf("demo:\n%s", out)
	if err != nil {
		t.Fatalf("the demo failed: %v", err)
	}
	if !strings.Contains(out, "\n### done\n") {
		t.Fatal("the demo did not get to its end")
	}
	// Each "$ myctr ..." line, read by bash with myctr a function that
	// prints its arguments one per line.
	var shown []string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "$ myctr "); ok {
			shown = append(shown, rest)
		}
	}
	if len(shown) < 10 {
		t.Fatalf("the demo showed %d myctr commands, want at least 10", len(shown))
	}
	parse := func(line string) []string {
		out, err := exec.Command("bash", "-c", "myctr() { printf '%s\\n' \"$#\" \"$@\"; }\nmyctr "+line).Output()
		if err != nil {
			t.Errorf("bash cannot read the shown line %q: %v", line, err)
			return nil
		}
		words := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		return words[1:]
	}
	for _, line := range shown {
		parse(line)
	}
	want := map[string][]string{
		"run --rm bb sh": {"run", "--rm", "bb", "sh", "-c", "echo PID=$$; hostname; cat /proc/self/uid_map"},
		"run -d --name web bb": {"run", "-d", "--name", "web", "bb", "sh", "-c",
			`trap "echo stopping; exit 0" TERM; while true; do date; sleep 1; done`},
	}
	for prefix, words := range want {
		found := false
		for _, line := range shown {
			if strings.HasPrefix(line, prefix) {
				found = true
				if got := parse(line); !reflect.DeepEqual(got, words) {
					t.Errorf("the shown line %q reads back as %q, want %q", line, got, words)
				}
			}
		}
		if !found {
			t.Errorf("the demo showed no %q line", prefix)
		}
	}
}
