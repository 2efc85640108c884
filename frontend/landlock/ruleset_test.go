package landlock

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Ruleset
	}{
		{"ro:/,rw:/tmp:/data,exec:/bin:/usr/bin", Ruleset{RO: []string{"/"}, RW: []string{"/data", "/tmp"}, Exec: []string{"/bin", "/usr/bin"}}},
		{"ro:/", Ruleset{RO: []string{"/"}}},
		// Cleaned: .., //, trailing slashes; duplicates once.
		{"rw:/tmp/../data//x/:/data/x", Ruleset{RW: []string{"/data/x"}}},
		{"ro:/a,ro:/b", Ruleset{RO: []string{"/a", "/b"}}},
		{"exec:/..", Ruleset{Exec: []string{"/"}}},
		{"net:bind=8080:80,net:connect=53", Ruleset{Bind: []uint16{80, 8080}, Connect: []uint16{53}}},
		{"net:bind=0", Ruleset{Bind: []uint16{0}}},
		{"net:connect=65535:1:1", Ruleset{Connect: []uint16{1, 65535}}},
		{"ro:/,net:connect=443", Ruleset{RO: []string{"/"}, Connect: []uint16{443}}},
		// A path may hold anything but ',' ':' and NUL.
		{"ro:/with space/ü=x", Ruleset{RO: []string{"/with space/ü=x"}}},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, *got, c.want)
		}
		// What String prints, Parse reads back to the same rules.
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Parse(String(%q) = %q) = %+v, %v", c.in, got.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty group"},
		{",", "empty group"},
		{"ro:/,", "empty group"},
		{"ro:/,,rw:/tmp", "empty group"},
		{"ro:", `"ro:": no path`},
		{"ro:/a:", `"ro:/a:": empty path`},
		{"ro::/a", `"ro::/a": empty path`},
		{"rw:tmp", `"tmp" is not an absolute path`},
		{"exec:./bin", `"./bin" is not an absolute path`},
		{"ro:/a\x00b", "NUL"},
		{"ro:/" + strings.Repeat("a", 4100), "longer than"},
		{"RO:/", `"RO:/": unknown group`},
		{"write:/tmp", `"write:/tmp": unknown group`},
		{"net:listen=80", `"net:listen=80": unknown group`},
		{"net:bind", `"net:bind": unknown group`},
		{"net:bind=", `"net:bind=": no port`},
		{"net:connect=0", `"0" is not a TCP port (1-65535)`},
		{"net:connect=65536", `"65536" is not a TCP port`},
		{"net:bind=-1", `"-1" is not a TCP port (0-65535)`},
		{"net:bind=+80", `"+80" is not a TCP port`},
		{"net:bind=http", `"http" is not a TCP port`},
		{"net:bind=80:", `"" is not a TCP port`},
		{"ro:/ ,rw:/tmp", ""}, // a trailing space is part of the path: allowed
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if c.want == "" {
			if err != nil {
				t.Errorf("Parse(%q): %v, want no error", c.in, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrOption) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want ErrOption naming %q", c.in, err, c.want)
		}
	}
}

func TestParseOption(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules")
	if err := os.WriteFile(file, []byte("# the app's rules\nro:/\nrw:/tmp, rw:/data  # scratch\n\nexec:/bin\nnet:connect=443\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ParseOption(file)
	want := &Ruleset{RO: []string{"/"}, RW: []string{"/data", "/tmp"}, Exec: []string{"/bin"}, Connect: []uint16{443}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseOption(file) = %+v, %v; want %+v", got, err, want)
	}
	for _, c := range []struct{ body, want string }{
		{"# nothing\n\n", "no rules"},
		{"ro:/\nwrite:/tmp\n", `"write:/tmp": unknown group`},
	} {
		bad := filepath.Join(dir, "bad")
		if err := os.WriteFile(bad, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseOption(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseOption(file %q) = %v, want an error naming the file and %q", c.body, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "needs rules"},
		{filepath.Join(dir, "missing"), "no such file"},
		{"xx:/a", `"xx:/a": unknown group`},
		{"ro", "no such file"}, // no colon: a file name
	} {
		if _, err := ParseOption(c.in); err == nil || !errors.Is(err, ErrOption) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseOption(%q) = %v, want ErrOption with %q", c.in, err, c.want)
		}
	}
}

func TestIsRules(t *testing.T) {
	for in, want := range map[string]bool{
		"ro:/": true, "rw:/x": true, "exec:/": true, "net:bind=1": true, "xx:/a": true, "net:": true,
		"/etc/rules": false, "./rules:v2": false, "rules.txt": false, "/a:b": false, "dir/x:y": false,
	} {
		if got := IsRules(in); got != want {
			t.Errorf("IsRules(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	a, _ := Parse("ro:/,rw:/tmp,net:connect=80")
	b, _ := Parse("rw:/data:/tmp,exec:/bin,net:connect=443:80")
	got := Merge(a, b)
	want := &Ruleset{RO: []string{"/"}, RW: []string{"/data", "/tmp"}, Exec: []string{"/bin"}, Connect: []uint16{80, 443}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge = %+v, want %+v", got, want)
	}
	if Merge(nil, a) != a || Merge(a, nil) != a {
		t.Error("Merge with nil must return the other")
	}
}

func TestParseStrict(t *testing.T) {
	for _, c := range []struct {
		in              string
		strict, ok, bad bool
	}{
		{"landlock-strict", true, true, false},
		{"landlock-strict=true", true, true, false},
		{"landlock-strict:true", true, true, false},
		{"landlock-strict=false", false, true, false},
		{"landlock-strict=yes", false, true, true},
		{"landlock-strictly", false, true, true},
		{"landlock=ro:/", false, false, false},
		{"seccomp=unconfined", false, false, false},
	} {
		strict, ok, err := ParseStrict(c.in)
		if strict != c.strict || ok != c.ok || (err != nil) != c.bad {
			t.Errorf("ParseStrict(%q) = %v, %v, %v", c.in, strict, ok, err)
		}
	}
}

func TestAnnotations(t *testing.T) {
	r, _ := Parse("ro:/,rw:/tmp,net:bind=80")
	a := Annotate(map[string]string{"other": "x"}, r, true)
	if a[AnnotationRules] != "ro:/,rw:/tmp,net:bind=80" || a[AnnotationStrict] != "true" || a["other"] != "x" {
		t.Errorf("Annotate: %v", a)
	}
	got, strict, err := FromAnnotations(a)
	if err != nil || !strict || !reflect.DeepEqual(got, r) {
		t.Errorf("FromAnnotations = %+v, %v, %v", got, strict, err)
	}
	if got, _, err := FromAnnotations(Annotate(nil, nil, false)); got != nil || err != nil {
		t.Errorf("no ruleset: %+v, %v", got, err)
	}
	if _, _, err := FromAnnotations(map[string]string{AnnotationRules: "bogus:/"}); err == nil {
		t.Error("a corrupt recorded ruleset must be an error, not no rules")
	}
}

// FuzzParseLandlock: Parse never panics, and a ruleset it accepts prints
// as text it reads back to the same rules, with absolute clean paths.
func FuzzParseLandlock(f *testing.F) {
	for _, s := range []string{
		"ro:/,rw:/tmp:/data,exec:/bin:/usr/bin", "net:bind=80:443,net:connect=53", "ro:/a/../b//c/",
		"", ",", "ro:", "net:bind=65536", "ro:/\x00", "exec:/bin,,", "rw:relative",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		for _, l := range [][]string{r.RO, r.RW, r.Exec} {
			for _, p := range l {
				if !filepath.IsAbs(p) || filepath.Clean(p) != p {
					t.Fatalf("Parse(%q): path %q is not absolute and clean", s, p)
				}
			}
		}
		again, err := Parse(r.String())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("Parse(%q).String() = %q reads back as %+v, %v", s, r.String(), again, err)
		}
	})
}
