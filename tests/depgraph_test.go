// Package tests holds repository-wide checks that are not about one package:
// the import rules of docs/ARCHITECTURE.md, checked on the real build graph.
// The integration tests live in tests/integration (build tag "integration").
package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/myctr/myctr"

// depRule says: no package matched by From may reach, through its imports,
// a package matched by Forbidden.
type depRule struct {
	name      string
	from      []string // import-path prefixes (a whole element: "a/b" matches a/b and a/b/c)
	forbidden []string // the same
	// withTests also follows the imports of _test.go files of the From
	// packages (test code must keep the layering too). Rules about what a
	// shipped binary contains leave it false.
	withTests bool
}

var depRules = []depRule{
	{
		name:      "frontend never imports helper",
		from:      []string{module + "/frontend"},
		forbidden: []string{module + "/helper"},
		withTests: true,
	},
	{
		name:      "helper never imports frontend",
		from:      []string{module + "/helper"},
		forbidden: []string{module + "/frontend"},
		withTests: true,
	},
	{
		name:      "protocol imports neither side",
		from:      []string{module + "/protocol"},
		forbidden: []string{module + "/frontend", module + "/helper"},
		withTests: true,
	},
	{
		name:      "polkit imports neither side",
		from:      []string{module + "/polkit"},
		forbidden: []string{module + "/frontend", module + "/helper"},
		withTests: true,
	},
	{
		name:      "systemd imports neither side",
		from:      []string{module + "/systemd"},
		forbidden: []string{module + "/frontend", module + "/helper"},
		withTests: true,
	},
	{
		// Both sides link them, so they must pull in neither side, nor
		// anything else of ours.
		name:      "atomicfile and flock import nothing of myctr's",
		from:      []string{module + "/protocol/atomicfile", module + "/protocol/flock"},
		forbidden: []string{module},
		withTests: true,
	},
	{
		name: "helper binary holds no CLI framework, image or build library",
		from: []string{module + "/cmd/myctr-helper", module + "/helper"},
		forbidden: []string{
			"github.com/urfave/cli",
			"github.com/google/go-containerregistry",
			"github.com/moby/buildkit",
			"github.com/opencontainers/image-spec",
		},
	},
	{
		// myctr-init is linked statically and runs inside containers: it
		// loads the compiled seccomp program, the frontend compiles it.
		name:      "myctr-init links no libseccomp and no profile library",
		from:      []string{module + "/cmd/myctr-init"},
		forbidden: []string{"github.com/seccomp/libseccomp-golang", "github.com/moby/profiles", module + "/frontend/seccomp"},
	},
	{
		// myctr-runtime is built without cgo: myctr-seccomp compiles the
		// profiles, once each, and the runtime keeps their programs.
		name:      "myctr-runtime links no libseccomp and no profile library",
		from:      []string{module + "/cmd/myctr-runtime"},
		forbidden: []string{"github.com/seccomp/libseccomp-golang", "github.com/moby/profiles"},
	},
	{
		// myctr-init is bound into every container that asks for --init and
		// starts before the container's command: what it links is start-up
		// time and attack surface inside the container.
		name: "myctr-init links no CLI framework, image or build library, D-Bus or HTTP",
		from: []string{module + "/cmd/myctr-init"},
		forbidden: []string{
			"github.com/urfave/cli",
			"github.com/google/go-containerregistry",
			"github.com/moby/buildkit",
			"github.com/godbus/dbus",
			"net/http",
		},
	},
	{
		// myctr-runtime is called once per container operation by
		// conmon and containerd's shim: what it links is start-up time.
		// It runs bundles on the core myctr run uses (nsexec, rootfs,
		// userns, seccomp, cgroup), never on the container store's
		// model. (D-Bus comes with frontend/cgroup, whose systemd client
		// --systemd-cgroup uses.)
		name: "myctr-runtime links no CLI framework, image or build library, HTTP or container store",
		from: []string{module + "/cmd/myctr-runtime"},
		forbidden: []string{
			"github.com/urfave/cli",
			"github.com/google/go-containerregistry",
			"github.com/moby/buildkit",
			"net/http",
			module + "/frontend/container",
			module + "/frontend/image",
			module + "/frontend/cli",
		},
	},
	{
		// The packages that do one kernel job each (and that myctr-init is
		// made of) sit below the ones that know about containers, images and
		// the command line: an import upwards would tangle the layers and
		// drag those into myctr-init.
		name:      "low-level packages import no container, image, build or cli",
		from:      lowLevel,
		forbidden: []string{module + "/frontend/container", module + "/frontend/image", module + "/frontend/build", module + "/frontend/cli"},
		withTests: true,
	},
}

// lowLevel are the frontend's packages that do one kernel job each.
var lowLevel = []string{
	module + "/frontend/nsexec",
	module + "/frontend/rootfs",
	module + "/frontend/netif",
	module + "/frontend/netplumb",
	module + "/frontend/security",
	module + "/frontend/userns",
}

// graph maps an import path to the import paths it imports directly.
type graph map[string][]string

// under reports whether path is prefix or lies below it.
func under(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// violations returns one message per (package, forbidden package) pair
// reachable by rule r in g, each naming the shortest import chain. The
// search stops at the first forbidden package on a path, so a violation is
// reported where it enters the forbidden area, not once per package inside.
func violations(g graph, r depRule) []string {
	var roots []string
	for p := range g {
		if under(p, r.from) {
			roots = append(roots, p)
		}
	}
	sort.Strings(roots)
	var out []string
	seen := map[string]bool{} // forbidden targets already reported
	for _, root := range roots {
		prev := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if p != root && under(p, r.forbidden) {
				chain := []string{p}
				for q := prev[p]; q != ""; q = prev[q] {
					chain = append(chain, q)
				}
				for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
					chain[i], chain[j] = chain[j], chain[i]
				}
				// Report each entry edge into the forbidden area once.
				key := chain[len(chain)-2] + " -> " + p
				if !seen[key] {
					seen[key] = true
					out = append(out, strings.Join(chain, " -> "))
				}
				continue
			}
			for _, q := range g[p] {
				if _, ok := prev[q]; !ok {
					prev[q] = p
					queue = append(queue, q)
				}
			}
		}
	}
	return out
}

// goListPackage is the part of `go list -json` output we read.
type goListPackage struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

// loadGraph runs `go list -deps` on the whole module. With tests, the
// test variants ("p [p.test]", external "p_test [p.test]") are folded into
// p, so test imports count as imports of p. Standard-library packages stay
// in the graph: a rule may forbid one (net/http), and they import nothing
// of ours, so the other rules' searches only pass through them.
func loadGraph(t *testing.T, tests bool) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	args := []string{"list", "-e", "-deps", "-json"}
	if tests {
		args = append(args, "-test")
	}
	args = append(args, module+"/...")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = ".." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goListPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if strings.HasSuffix(p.ImportPath, ".test") {
			continue // the generated test main
		}
		name := normalize(p.ImportPath)
		if p.Error != nil && !tests && under(name, []string{module}) {
			// An unloadable package of ours has unknown edges: the rules
			// cannot be checked for it, so say so.
			t.Errorf("cannot load %s, its imports are unchecked: %s", p.ImportPath, p.Error.Err)
		}
		for _, imp := range p.Imports {
			imp = normalize(imp)
			if imp == name || imp == "C" {
				continue
			}
			g[name] = appendUnique(g[name], imp)
		}
		if _, ok := g[name]; !ok {
			g[name] = nil
		}
	}
	return g
}

// normalize folds test variants into their package:
// "a/b [a/b.test]" and "a/b_test [a/b.test]" become "a/b".
func normalize(path string) string {
	if i := strings.Index(path, " ["); i >= 0 {
		path = path[:i]
	}
	return strings.TrimSuffix(path, "_test")
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func TestImportRules(t *testing.T) {
	prod := loadGraph(t, false)
	withTests := loadGraph(t, true)
	for _, r := range depRules {
		t.Run(r.name, func(t *testing.T) {
			g := prod
			if r.withTests {
				g = withTests
			}
			matched := false
			for p := range g {
				if under(p, r.from) {
					matched = true
					break
				}
			}
			if !matched {
				t.Fatalf("no package matches %v: the rule checks nothing (moved or renamed?)", r.from)
			}
			for _, v := range violations(g, r) {
				t.Errorf("forbidden import chain: %s", v)
			}
		})
	}
}

// TestImportRulesCanFail checks the checker: a graph with violating edges
// must be reported, with the chain, and a clean one must not.
func TestImportRulesCanFail(t *testing.T) {
	m := module
	bad := graph{
		m + "/cmd/myctr-helper":   {m + "/helper", m + "/protocol"},
		m + "/helper":             {m + "/helper/netns", m + "/protocol"},
		m + "/helper/netns":       {m + "/frontend/image"},
		m + "/frontend/image":     {"github.com/google/go-containerregistry/pkg/v1", m + "/frontend/archive"},
		m + "/frontend/cli":       {"github.com/urfave/cli/v2", m + "/helper"},
		m + "/protocol":           {m + "/frontend/cli"},
		m + "/polkit":             nil,
		m + "/systemd":            nil,
		m + "/cmd/myctr-init":     {m + "/frontend/nsexec"},
		m + "/frontend/nsexec":    {m + "/frontend/rootfs", "net/http"},
		m + "/frontend/rootfs":    {m + "/frontend/container"},
		m + "/frontend/container": {"github.com/godbus/dbus/v5"},
		m + "/protocol/flock":     {m + "/protocol"},
	}
	want := map[string][]string{
		"frontend never imports helper": {
			m + "/frontend/cli -> " + m + "/helper",
		},
		"helper never imports frontend": {
			m + "/helper -> " + m + "/helper/netns -> " + m + "/frontend/image",
		},
		"protocol imports neither side": {
			m + "/protocol -> " + m + "/frontend/cli",
		},
		"atomicfile and flock import nothing of myctr's": {
			m + "/protocol/flock -> " + m + "/protocol",
		},
		"helper binary holds no CLI framework, image or build library": {
			m + "/cmd/myctr-helper -> " + m + "/protocol -> " + m + "/frontend/cli -> github.com/urfave/cli/v2",
			m + "/cmd/myctr-helper -> " + m + "/helper -> " + m + "/helper/netns -> " + m + "/frontend/image -> github.com/google/go-containerregistry/pkg/v1",
		},
		"myctr-init links no CLI framework, image or build library, D-Bus or HTTP": {
			m + "/cmd/myctr-init -> " + m + "/frontend/nsexec -> net/http",
			m + "/cmd/myctr-init -> " + m + "/frontend/nsexec -> " + m + "/frontend/rootfs -> " + m + "/frontend/container -> github.com/godbus/dbus/v5",
		},
		"low-level packages import no container, image, build or cli": {
			m + "/frontend/nsexec -> " + m + "/frontend/rootfs -> " + m + "/frontend/container",
		},
	}
	for _, r := range depRules {
		got := violations(bad, r)
		for _, w := range want[r.name] {
			if !contains(got, w) {
				t.Errorf("rule %q: violation %q not reported; got %q", r.name, w, got)
			}
		}
		if len(want[r.name]) == 0 && len(got) != 0 {
			t.Errorf("rule %q: unexpected violations %q", r.name, got)
		}
	}

	clean := graph{
		m + "/cmd/myctr-helper":   {m + "/helper", m + "/protocol"},
		m + "/helper":             {m + "/protocol", "github.com/godbus/dbus/v5"},
		m + "/frontend/cli":       {m + "/protocol", "github.com/urfave/cli/v2", m + "/frontend/container"},
		m + "/protocol":           nil,
		m + "/cmd/myctr-init":     {m + "/frontend/nsexec", "os"},
		m + "/frontend/container": {m + "/frontend/rootfs", "net/http"},
		m + "/frontend/nsexec":    {m + "/frontend/rootfs", "golang.org/x/sys/unix"},
	}
	for _, r := range depRules {
		if got := violations(clean, r); len(got) != 0 {
			t.Errorf("rule %q on a clean graph: %q", r.name, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
