package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/nsexec"
)

// TestEveryStageAndWorkExists reads the tree's Go sources for every
// internal stage a process is started with (_MYCTR_STAGE=X) and every
// user-namespace work one is asked for (UserNSCommand{Sub: X}), and
// checks that each is a declared stage (nsexec.InitStages or MainStages,
// which the tests of cmd/myctr and cmd/myctr-init hold their tables to)
// or a work of usernsWork. A stage started but run by no binary would
// otherwise only show as a failed container start.
func TestEveryStageAndWorkExists(t *testing.T) {
	s := scanSources(t, "../..", "frontend", "cmd")
	if len(s.stages) < 5 || len(s.works) < 5 {
		t.Fatalf("the scan found too little (stages %v, works %v): is it still reading the right files?", s.stages, s.works)
	}
	declared := append(slices.Clone(nsexec.InitStages), nsexec.MainStages...)
	for _, st := range s.stages {
		if !slices.Contains(declared, st) {
			t.Errorf("a process is started as stage %q, which is in neither nsexec.InitStages nor nsexec.MainStages", st)
		}
	}
	for _, st := range declared {
		if !slices.Contains(s.stages, st) {
			t.Errorf("stage %q is declared but nothing starts it", st)
		}
	}
	for _, w := range s.works {
		if _, ok := usernsWork[w]; !ok {
			t.Errorf("user-namespace work %q is asked for but not in usernsWork", w)
		}
	}
	for w := range usernsWork {
		if !slices.Contains(s.works, w) {
			t.Errorf("user-namespace work %q is in usernsWork but nothing asks for it", w)
		}
	}
}

// TestScanSourcesFindsStages: the scanner itself sees a stage and a work
// in code written the ways the tree writes them.
func TestScanSourcesFindsStages(t *testing.T) {
	dir := t.TempDir()
	src := `package p

const alias = other.Name
const own = "own-stage"

func f() {
	_ = []string{nsexec.EnvStage + "=" + own, EnvStage+"="+"literal"}
	_ = &nsexec.UserNSCommand{Sub: "work", Args: nil}
	_ = []string{nsexec.EnvStage + "=" + alias}
}
`
	other := "package other\n\nconst Name = \"aliased\"\n"
	for name, body := range map[string]string{"p/p.go": src, "other/o.go": other} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	s := scanSources(t, dir, "p", "other")
	if want := []string{"aliased", "literal", "own-stage"}; !slices.Equal(s.stages, want) {
		t.Errorf("stages = %v, want %v", s.stages, want)
	}
	if want := []string{"work"}; !slices.Equal(s.works, want) {
		t.Errorf("works = %v, want %v", s.works, want)
	}
}

type scanned struct{ stages, works []string }

// scanSources parses the non-test Go files under root/dirs and returns the
// stage and work names they use, constants resolved, sorted and unique.
// A name it cannot resolve to a string constant fails the test: the
// check must not pass by not seeing.
func scanSources(t *testing.T, root string, dirs ...string) scanned {
	t.Helper()
	fset := token.NewFileSet()
	type use struct {
		pkg  string
		expr ast.Expr
		kind *[]string
	}
	consts := map[string]ast.Expr{} // "pkg.Name" → value
	constPkg := map[string]string{} // "pkg.Name" → pkg
	var uses []use
	var out scanned
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			pkg := f.Name.Name
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GenDecl:
					if n.Tok == token.CONST {
						for _, sp := range n.Specs {
							vs := sp.(*ast.ValueSpec)
							for i, name := range vs.Names {
								if i < len(vs.Values) {
									consts[pkg+"."+name.Name] = vs.Values[i]
									constPkg[pkg+"."+name.Name] = pkg
								}
							}
						}
					}
				case *ast.BinaryExpr:
					if inner, ok := n.X.(*ast.BinaryExpr); ok && n.Op == token.ADD && isEnvStage(inner.X) && isLit(inner.Y, "=") {
						uses = append(uses, use{pkg, n.Y, &out.stages})
					}
				case *ast.CompositeLit:
					if isNamed(n.Type, "UserNSCommand") {
						for _, el := range n.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok && isNamed(kv.Key, "Sub") {
								uses = append(uses, use{pkg, kv.Value, &out.works})
							}
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var resolve func(pkg string, e ast.Expr, depth int) (string, bool)
	resolve = func(pkg string, e ast.Expr, depth int) (string, bool) {
		if depth > 5 {
			return "", false
		}
		key := ""
		switch e := e.(type) {
		case *ast.BasicLit:
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		case *ast.Ident:
			key = pkg + "." + e.Name
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				key = x.Name + "." + e.Sel.Name
			}
		}
		v, ok := consts[key]
		if !ok {
			return "", false
		}
		return resolve(constPkg[key], v, depth+1)
	}
	for _, u := range uses {
		v, ok := resolve(u.pkg, u.expr, 0)
		if !ok {
			t.Errorf("%s: cannot resolve the stage or work name to a string constant", fset.Position(u.expr.Pos()))
			continue
		}
		if !slices.Contains(*u.kind, v) {
			*u.kind = append(*u.kind, v)
		}
	}
	slices.Sort(out.stages)
	slices.Sort(out.works)
	return out
}

func isEnvStage(e ast.Expr) bool { return isNamed(e, "EnvStage") }

// isNamed: the identifier name, or a selector X.name.
func isNamed(e ast.Expr, name string) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == name
	case *ast.SelectorExpr:
		return e.Sel.Name == name
	}
	return false
}

func isLit(e ast.Expr, v string) bool {
	l, ok := e.(*ast.BasicLit)
	return ok && l.Value == strconv.Quote(v)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
