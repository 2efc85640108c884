//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSystemCheck damages a store of its own (other tests share the main
// one, and a check sees everything in it) the way a disk fault or a crash
// would, and repairs it with `system check --repair`.
func TestSystemCheck(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp(tmpRoot, "syscheck-")
	if err != nil {
		t.Fatal(err)
	}
	own := func(args ...string) (string, string, int) {
		t.Helper()
		// The last --root and --runroot win over the harness's.
		all := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}, args...)
		return myctrT(t, 2*time.Minute, all...)
	}
	mustOwn := func(args ...string) string {
		t.Helper()
		out, errOut, code := own(args...)
		if code != 0 {
			t.Fatalf("myctr %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	mustOwn("import", filepath.Join(tmpRoot, "bb.tar"), "bb")
	t.Cleanup(func() { own("unshare", "rm", "-rf", filepath.Join(dir, "root")) })

	if out := mustOwn("system", "check"); !strings.Contains(out, "The store is whole: 1 image, 0 containers") {
		t.Fatalf("check of a new store: %q", out)
	}

	// A layer directory lost.
	layers, err := filepath.Glob(filepath.Join(dir, "root", "storage", "layers", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var layer string
	for _, l := range layers {
		if regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(filepath.Base(l)) {
			layer = l
		}
	}
	if layer == "" {
		t.Fatalf("no layer directory among %q", layers)
	}
	short := filepath.Base(layer)[:12]
	// A container made before the loss.
	mustOwn("create", "--name", "made", "bb", "echo", "started-after-repair")
	mustOwn("unshare", "rm", "-rf", layer)

	out, errOut, code := own("run", "--rm", "bb", "true")
	if code == 0 || !strings.Contains(errOut, "localhost/bb:latest") || !strings.Contains(errOut, short) ||
		!strings.Contains(errOut, "Hint: run `myctr system check --repair`") || strings.Contains(errOut, "mount overlay") {
		t.Fatalf("run of the damaged image: exit %d, want an error naming the image, layer %s and the hint\nstdout: %s\nstderr: %s", code, short, out, errOut)
	}
	for _, attach := range []string{"--attach", "--interactive=false"} {
		out, errOut, code = own("start", attach, "made")
		if code != 125 || !strings.Contains(errOut, "container made: layer directory missing") || !strings.Contains(errOut, short) ||
			!strings.Contains(errOut, "Hint: run `myctr system check --repair`") || strings.Contains(errOut, "mount overlay") {
			t.Fatalf("start %s of a container whose layer is gone: exit %d, want 125 naming it, layer %s and the hint\nstdout: %s\nstderr: %s", attach, code, short, out, errOut)
		}
	}
	for _, quick := range [][]string{nil, {"--quick"}} {
		out, errOut, code = own(append([]string{"system", "check"}, quick...)...)
		if code == 0 || !strings.Contains(out, "layer "+short+": its directory is missing (image localhost/bb:latest)") ||
			!strings.Contains(errOut, "Error: the store is not whole") || !strings.Contains(errOut, "Hint: run `myctr system check --repair`") {
			t.Fatalf("system check %v: exit %d, want the layer and image named\nstdout: %s\nstderr: %s", quick, code, out, errOut)
		}
	}
	out = mustOwn("system", "check", "--repair")
	if !strings.Contains(out, "layer "+short) || !strings.Contains(out, "re-extracted from its blob") {
		t.Fatalf("repair: %q", out)
	}
	if got := strings.TrimSpace(mustOwn("run", "--rm", "bb", "cat", "/etc/group")); !strings.HasPrefix(got, "root:x:0:") {
		t.Fatalf("run after the repair: %q", got)
	}
	if got := strings.TrimSpace(mustOwn("start", "--attach", "made")); got != "started-after-repair" {
		t.Fatalf("start of the container after the repair: %q", got)
	}
	mustOwn("rm", "made")
	mustOwn("system", "check")

	// A container record cut short.
	id := strings.TrimSpace(mustOwn("create", "--name", "cut", "bb", "true"))
	if !isFullID(id) {
		t.Fatalf("create printed %q", id)
	}
	record := filepath.Join(dir, "root", "containers", id, "container.json")
	if err := os.WriteFile(record, []byte(`{"ID":"`+id[:10]), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = own("system", "check", "--format", "json")
	var res struct {
		Findings []struct{ Kind, Object, Problem, Action string }
		Whole    bool
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("system check --format json: %v\n%s", err, out)
	}
	if code == 0 || res.Whole || len(res.Findings) != 1 || res.Findings[0].Kind != "container" ||
		res.Findings[0].Object != id[:12] || !strings.Contains(res.Findings[0].Problem, "container.json does not parse") {
		t.Fatalf("check of a cut record: exit %d, %+v\nstderr: %s", code, res, errOut)
	}
	out = mustOwn("system", "check", "--repair")
	if !strings.Contains(out, "container "+id[:12]+": container.json does not parse") || !strings.Contains(out, ": removed") {
		t.Fatalf("repair of a cut record: %q", out)
	}
	if _, err := os.Lstat(filepath.Dir(record)); !os.IsNotExist(err) {
		t.Errorf("the container's directory is still there: %v", err)
	}
	if ps := mustOwn("ps", "-a", "-q"); strings.TrimSpace(ps) != "" {
		t.Errorf("ps -a after the repair: %q", ps)
	}
	if out := mustOwn("system", "check"); !strings.Contains(out, "The store is whole") {
		t.Errorf("check after the repairs: %q", out)
	}
}
