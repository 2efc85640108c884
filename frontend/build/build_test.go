package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseErrorNamesFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line string
	}{
		{"FROM bb\nRUN true\nBOGUS x\n", "Containerfile:3:"},
		{"FROM bb\n\nCOPY\n", "Containerfile:3:"},
		{"RUN true\n", "Containerfile:1:"},
		{"FROM bb\nHEALTHCHECK --interval=x CMD true\n", "Containerfile:2:"},
	} {
		_, err := Parse("Containerfile", []byte(tc.src))
		if err == nil || !errors.Is(err, ErrParse) || !strings.HasPrefix(err.Error(), tc.line) {
			t.Errorf("Parse(%q) = %v, want an ErrParse starting with %q", tc.src, err, tc.line)
		}
	}
	cf, err := Parse("Containerfile", []byte("ARG V=1\nFROM bb AS one\nRUN true\nFROM one\nCOPY --from=one /a /b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Stages) != 2 || len(cf.MetaArgs) != 1 || cf.Stages[0].Name != "one" {
		t.Fatalf("parsed %+v", cf)
	}
}

func TestSubstitute(t *testing.T) {
	env := []string{"A=x", "EMPTY=", "SP=a b"}
	for _, tc := range []struct{ in, want string }{
		{"$A", "x"},
		{"${A}y", "xy"},
		{"${B:-def}", "def"},
		{"${EMPTY:-def}", "def"},
		{"${A:-def}", "x"},
		{"${A:+alt}", "alt"},
		{"${B:+alt}", ""},
		{`\$A`, "$A"},
		{"'$A'", "$A"}, // quotes are removed, single quotes stop substitution
		{`"$A"`, "x"},
		{"$SP", "a b"},
		{"pre-${A}-post", "pre-x-post"},
		{"$UNSET", ""},
	} {
		got, err := Substitute(tc.in, env)
		if err != nil || got != tc.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestArgScope(t *testing.T) {
	// Global ARGs are visible to FROM only; a stage sees an ARG once it
	// declares it; ENV wins over ARG; --build-arg overrides a default.
	cf, err := Parse("Containerfile", []byte("ARG BASE=bb\nARG V=global\nFROM $BASE\nARG V\nARG W=w\nENV W=env\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{file: cf, meta: newArgScope(), o: Options{BuildArgs: map[string]string{"BASE": "other"}}}
	for _, a := range cf.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := r.o.BuildArgs[kv.Key]; ok {
				r.meta.set(kv.Key, v)
			} else if kv.Value != nil {
				r.meta.set(kv.Key, *kv.Value)
			}
		}
	}
	base, _ := newExpander('\\', r.meta.env()).Expand(cf.Stages[0].BaseName)
	if base != "other" {
		t.Errorf("FROM $BASE with --build-arg BASE=other = %q", base)
	}
	st := &stageState{args: newArgScope()}
	if got := mergeEnv(st.args.env(), nil); len(got) != 0 {
		t.Errorf("a stage starts with ARGs %v, want none", got)
	}
	for _, c := range cf.Stages[0].Commands {
		if err := r.exec(st, c, "test"); err != nil && !strings.Contains(err.Error(), "nil") {
			// exec needs no stores for ARG and ENV.
			t.Fatal(err)
		}
	}
	env := mergeEnv(st.args.env(), st.cfg.Config.Env)
	want := map[string]string{"V": "global", "W": "env"}
	for k, v := range want {
		if !containsEnv(env, k+"="+v) {
			t.Errorf("env %v lacks %s=%s", env, k, v)
		}
	}
	if containsEnv(env, "BASE=other") {
		t.Errorf("global ARG BASE leaked into the stage: %v", env)
	}
}

func containsEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func TestIgnore(t *testing.T) {
	ig, err := ParseIgnore([]byte("# comment\n*.log\n!keep.log\nbuild/\n**/secret\n/tmp?\ndocs/**/*.md\n!docs/README.md\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"a.log", true},
		{"keep.log", false},
		{"sub/a.log", false}, // "*" does not cross "/"
		{"build", true},
		{"build/x/y", true},
		{"secret", true},
		{"a/b/secret", true},
		{"a/b/secret/inner", true},
		{"tmp1", true},
		{"tmp12", false},
		{"docs/a/b/x.md", true},
		{"docs/x.md", true},
		{"docs/README.md", false},
		{"src/main.go", false},
	} {
		if got := ig.Excluded(tc.path); got != tc.want {
			t.Errorf("Excluded(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// hostileContext makes a context with symlinks out of it.
func hostileContext(t *testing.T) (ctx, outside string) {
	base := t.TempDir()
	ctx = filepath.Join(base, "ctx")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{ctx, outside, filepath.Join(ctx, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("SECRET"), 0o644))
	must(os.WriteFile(filepath.Join(ctx, "ok"), []byte("ok"), 0o644))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ctx, "abs-out")))
	must(os.Symlink("../outside/secret", filepath.Join(ctx, "rel-out")))
	must(os.Symlink("../outside", filepath.Join(ctx, "dir-out")))
	must(os.Symlink("ok", filepath.Join(ctx, "in")))
	must(os.Symlink("../../outside/secret", filepath.Join(ctx, "dir", "nested-out")))
	return ctx, outside
}

func TestCopySourceSafety(t *testing.T) {
	ctx, _ := hostileContext(t)
	src, err := newContextSource(ctx, &Ignore{})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(srcs ...string) (*copyPlan, error) {
		r := &copyRequest{sources: srcs, dest: "/dst/", workdir: "/", src: src}
		return r.plan()
	}
	for _, bad := range []string{"../outside/secret", "..", "abs-out", "rel-out", "dir-out/secret", "dir/../../outside/secret"} {
		_, err := plan(bad)
		if !errors.Is(err, ErrUnsafeSource) || !strings.Contains(err.Error(), bad) {
			t.Errorf("COPY %s: got %v, want ErrUnsafeSource naming the source", bad, err)
		}
	}
	if _, err := plan("missing"); !errors.Is(err, ErrNoSource) {
		t.Errorf("COPY missing: got %v, want ErrNoSource", err)
	}
	// A symlink inside the context, and one inside a copied directory,
	// are fine: the first is followed within the context, the second is
	// copied as a link and never read.
	p, err := plan("in", "dir")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.write(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "SECRET") {
		t.Fatal("the layer holds a file from outside the context")
	}
	got := tarNames(t, buf.Bytes())
	for _, want := range []string{"dst/", "dst/in", "dst/nested-out"} {
		if got[want] == 0 {
			t.Errorf("layer lacks %s: %v", want, got)
		}
	}
	if got["dst/nested-out"] != tar.TypeSymlink {
		t.Errorf("dst/nested-out is type %c, want a symlink", got["dst/nested-out"])
	}
}

func TestCopyDestSemantics(t *testing.T) {
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "f"), []byte("f"), 0o640)
	os.MkdirAll(filepath.Join(ctx, "d", "sub"), 0o755)
	os.WriteFile(filepath.Join(ctx, "d", "sub", "x"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(ctx, "a.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(ctx, "b.txt"), nil, 0o644)
	src, _ := newContextSource(ctx, &Ignore{})
	for _, tc := range []struct {
		srcs    []string
		dest    string
		workdir string
		want    []string
		err     bool
	}{
		{[]string{"f"}, "/out", "/", []string{"out"}, false},
		{[]string{"f"}, "/out/", "/", []string{"out/", "out/f"}, false},
		{[]string{"f"}, "rel/", "/w", []string{"w/", "w/rel/", "w/rel/f"}, false},
		{[]string{"f"}, ".", "/w", []string{"w/", "w/f"}, false},
		{[]string{"d"}, "/o", "/", []string{"o/", "o/sub/", "o/sub/x"}, false},
		{[]string{"*.txt"}, "/t/", "/", []string{"t/", "t/a.txt", "t/b.txt"}, false},
		{[]string{"*.txt"}, "/t", "/", nil, true},
		{[]string{"f", "d"}, "/t", "/", nil, true},
	} {
		r := &copyRequest{sources: tc.srcs, dest: tc.dest, workdir: tc.workdir, src: src}
		p, err := r.plan()
		if tc.err {
			if err == nil {
				t.Errorf("COPY %v %s: no error", tc.srcs, tc.dest)
			}
			continue
		}
		if err != nil {
			t.Errorf("COPY %v %s: %v", tc.srcs, tc.dest, err)
			continue
		}
		var names []string
		for _, e := range p.entries {
			names = append(names, e.hdr.Name)
		}
		if strings.Join(names, " ") != strings.Join(tc.want, " ") {
			t.Errorf("COPY %v %s (WORKDIR %s) = %v, want %v", tc.srcs, tc.dest, tc.workdir, names, tc.want)
		}
	}
}

func tarNames(t *testing.T, b []byte) map[string]byte {
	t.Helper()
	out := map[string]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h.Typeflag
	}
}

func TestWriteDiffWhiteouts(t *testing.T) {
	upper := t.TempDir()
	if err := unix.Mknod(filepath.Join(upper, "gone"), unix.S_IFCHR, 0); err != nil {
		t.Skipf("cannot make a 0/0 character device as this user (%v): overlay whiteouts can only be faked with privilege", err)
	}
	opq := filepath.Join(upper, "opq")
	os.Mkdir(opq, 0o755)
	if err := unix.Setxattr(opq, "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("the filesystem of %s refuses user xattrs: %v", upper, err)
	}
	os.WriteFile(filepath.Join(opq, "new"), []byte("n"), 0o600)
	os.Mkdir(filepath.Join(upper, "d"), 0o755)
	unix.Mknod(filepath.Join(upper, "d", "old"), unix.S_IFCHR, 0)
	os.WriteFile(filepath.Join(upper, "d", "a"), []byte("a"), 0o644)
	os.Link(filepath.Join(upper, "d", "a"), filepath.Join(upper, "d", "b"))
	var buf bytes.Buffer
	if err := WriteDiff(upper, &buf); err != nil {
		t.Fatal(err)
	}
	got := tarNames(t, buf.Bytes())
	want := map[string]byte{
		".wh.gone": tar.TypeReg, "opq/": tar.TypeDir, "opq/.wh..wh..opq": tar.TypeReg, "opq/new": tar.TypeReg,
		"d/": tar.TypeDir, "d/.wh.old": tar.TypeReg, "d/a": tar.TypeReg, "d/b": tar.TypeLink,
	}
	for n, typ := range want {
		if got[n] != typ {
			t.Errorf("diff entry %s: type %q, want %q (all: %v)", n, got[n], typ, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("diff has %v, want %v", got, want)
	}
}

func TestCacheKey(t *testing.T) {
	base := cacheKey("image:abc", "RUN date > /stamp", "", "")
	for name, k := range map[string]string{
		"parent":      cacheKey("image:abd", "RUN date > /stamp", "", ""),
		"instruction": cacheKey("image:abc", "RUN date > /stamp2", "", ""),
		"args":        cacheKey("image:abc", "RUN date > /stamp", "A=1", ""),
		"inputs":      cacheKey("image:abc", "RUN date > /stamp", "", "h"),
		"shifted":     cacheKey("image:abc", "RUN date > /stam", "p", ""),
	} {
		if k == base {
			t.Errorf("changing the %s does not change the key", name)
		}
	}
	if cacheKey("image:abc", "RUN date > /stamp", "", "") != base {
		t.Error("the key is not stable")
	}
	// A changed copied file changes the plan digest.
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "f"), []byte("one"), 0o644)
	src, _ := newContextSource(ctx, &Ignore{})
	digestOf := func() string {
		p, err := (&copyRequest{sources: []string{"f"}, dest: "/f", workdir: "/", src: src}).plan()
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := digestOf()
	os.WriteFile(filepath.Join(ctx, "f"), []byte("two"), 0o644)
	if d2 := digestOf(); d2 == d1 {
		t.Error("changing a copied file does not change the input digest")
	}
	os.Chmod(filepath.Join(ctx, "f"), 0o600)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("one"), 0o600)
	if d3 := digestOf(); d3 == d1 {
		t.Error("changing a copied file's mode does not change the input digest")
	}
}
