//go:build ociroot

package ociroot

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRuntimeToolsValidation runs the runtime-tools validation programs
// (tests/ocivalidation/run.sh) against myctr-runtime, runc and crun side
// by side, as root and as the test user, logs each run's table and totals,
// and fails when a program listed in tests/ocivalidation/passing-root.txt
// or passing-rootless.txt no longer passes for myctr-runtime. Why each
// other program fails is in tests/ocivalidation/README.md.
func TestRuntimeToolsValidation(t *testing.T) {
	script, _ := filepath.Abs("../ocivalidation/run.sh")
	for _, tc := range []struct {
		name, passing string
		args          []string
	}{
		{"root", "passing-root.txt", nil},
		{"rootless", "passing-rootless.txt", []string{"--user", "myctr-test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			// The test user reads the programs' output there.
			if err := os.Chmod(out, 0o755); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{}, tc.args...), "--out", out, runtime, "runc", "crun")
			cmd := exec.Command(script, args...)
			start := time.Now()
			b, err := cmd.CombinedOutput()
			summary, _ := os.ReadFile(filepath.Join(out, "summary.txt"))
			t.Logf("run.sh %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), summary)
			if err != nil && len(summary) == 0 {
				t.Fatalf("run.sh: %v\n%s", err, b)
			}
			if !strings.Contains(string(b), "isolation: nothing new") {
				t.Errorf("run.sh did not report the host's cgroups untouched:\n%s", b)
			}
			got := map[string]string{}
			f, err := os.Open(filepath.Join(out, "myctr-runtime", "results.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if c := strings.Split(sc.Text(), "\t"); len(c) > 2 {
					got[c[0]] = c[2]
				}
			}
			want, err := os.ReadFile(filepath.Join("../ocivalidation", tc.passing))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range strings.Fields(string(want)) {
				if got[p] != "pass" {
					tap, _ := os.ReadFile(filepath.Join(out, "myctr-runtime", p+".tap"))
					errOut, _ := os.ReadFile(filepath.Join(out, "myctr-runtime", p+".err"))
					t.Errorf("%s: %q, was passing\n%s%s", p, got[p], tap, errOut)
				}
			}
		})
	}
}
