package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummarize runs tests/setup/summarize.sh, the summary line that CI's
// output ends with, over event streams of the shapes the tiers write. A
// tier that fails must never read "0 failed": in particular a test binary
// whose TestMain exits 1 before any test ran, for which test2json writes
// no final event and run-integration.sh adds a package-level one.
func TestSummarize(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("summarize.sh needs jq (tests/setup/deps.sh installs it)")
	}
	const (
		passA   = `{"Action":"run","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"pass","Package":"p","Test":"TestA"}` + "\n"
		skipB   = `{"Action":"output","Package":"p","Test":"TestB","Output":"    x_test.go:3: no cgroup here\n"}` + "\n" + `{"Action":"skip","Package":"p","Test":"TestB"}` + "\n"
		failC   = `{"Action":"fail","Package":"p","Test":"TestC"}` + "\n" + `{"Action":"fail","Package":"p"}` + "\n"
		mainErr = `{"Action":"start","Package":"h"}` + "\n" + `{"Action":"output","Package":"h","Output":"set-up: import failed\n"}` + "\n" +
			`{"Action":"output","Package":"h","Output":"the test binary exited with status 1\n"}` + "\n" + `{"Action":"fail","Package":"h"}` + "\n"
	)
	for _, c := range []struct {
		name    string
		streams []string // "" stands for a file that does not exist
		first   string
		want    []string
		fails   bool
	}{
		{"pass and skip", []string{passA + skipB}, "1 passed, 0 failed, 1 skipped", []string{"p TestB: x_test.go:3: no cgroup here"}, false},
		{"a failed test is counted once", []string{passA + failC}, "1 passed, 1 failed, 0 skipped", []string{"  p TestC"}, true},
		{"TestMain failed", []string{passA, mainErr}, "1 passed, 1 failed, 0 skipped", []string{"  h (package failed outside any test"}, true},
		{"a tier without results", []string{passA, ""}, "1 passed, 1 failed, 0 skipped", []string{"(no results: this tier did not run)"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var args []string
			for i, s := range c.streams {
				f := filepath.Join(dir, "tier"+string(rune('0'+i))+".json")
				if s != "" {
					if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				args = append(args, f)
			}
			out, err := exec.Command("setup/summarize.sh", args...).CombinedOutput()
			var exit *exec.ExitError
			if c.fails != (err != nil) || (err != nil && !errors.As(err, &exit)) {
				t.Fatalf("summarize.sh: err %v, want failure %v\n%s", err, c.fails, out)
			}
			first, _, _ := strings.Cut(string(out), "\n")
			if first != c.first {
				t.Errorf("first line %q, want %q\n%s", first, c.first, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
