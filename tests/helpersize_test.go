package tests

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestHelperSizeInReadme keeps the README's figure for the privileged
// helper's size true. What a reviewer has to read is every package of
// myctr's that cmd/myctr-helper links, not helper/ alone, so the count is
// taken over the build graph: the non-test Go files of each of those
// packages, without blank lines and comment-only lines. The README's
// "under N lines" must be an upper bound, and a close one (within 20%),
// so that it neither lies nor flatters.
func TestHelperSizeInReadme(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`myctr-helper\x60 is a separate, small program \(under ([0-9,]+) lines`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md no longer says how many lines myctr-helper is; keep the figure, or drop this test with it")
	}
	bound, err := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "`+module+`"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .CgoFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "../cmd/myctr-helper").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines, pkgs := 0, map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		n, err := codeLines(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += n
		pkgs[filepath.Dir(f)] = true
	}
	t.Logf("myctr-helper links %d lines of myctr's Go (comments and blank lines aside) in %d packages", lines, len(pkgs))
	if lines >= bound || lines < bound*8/10 {
		t.Errorf("myctr-helper links %d lines of myctr's Go; README.md says under %d: say a bound within 20%% above it", lines, bound)
	}
}

// codeLines counts the lines of a Go file that are neither blank nor a
// line comment.
func codeLines(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "//") {
			n++
		}
	}
	return n, sc.Err()
}
