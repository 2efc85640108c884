package build

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// locatedRE is what Parse's errors start with: the file's name, then the
// line when the parser gave one.
var locatedRE = regexp.MustCompile(`^Containerfile(:([0-9]+))?: `)

// FuzzParse parses the fuzzer's Containerfile and then expands, as a
// build does, every instruction that supports word expansion against the
// ARG and ENV values set before it. It checks that nothing panics, that
// a refused file gives ErrParse with "FILE:LINE: " where LINE lies within
// the file, and that a parsed file has a stage and instructions whose
// lines lie within the file.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nRUN echo hi\n",
		"ARG BASE=busybox\nFROM ${BASE} AS b\nARG X\nENV A=$X B=\"${A:-d}\" C=${B:+alt}\nWORKDIR /w/$A\nCOPY --from=b --chown=$X:0 a* /d/\nLABEL k=\"v w\"\nEXPOSE $A/udp 80\nUSER ${X}\nCMD [\"sh\", \"-c\", \"echo $A\"]\n",
		"# escape=`\nFROM x\nRUN a `\n  b\nENV P=C:`\\dir\n",
		"FROM x\nONBUILD RUN echo\nHEALTHCHECK --interval=5s CMD true\nSHELL [\"/bin/sh\", \"-c\"]\nSTOPSIGNAL SIGTERM\nVOLUME [\"/v\"]\n",
		"FROM x\nENV A=${B:?need B}\n",
		"FROM x\nENV A=${\n",
		"FROM x\nRUN <<EOF\necho\nEOF\n",
		"RUN before from\n",
		"FROM\n",
		"FROM x\nBOGUS y\n",
		"FROM x\nCOPY --from= a b\nADD http://127.0.0.1/x /y\n",
		"\ufeffFROM x\r\nRUN \\\r\n true\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		cf, err := Parse("Containerfile", data)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("Parse: %v does not wrap ErrParse", err)
			}
			m := locatedRE.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("Parse: %q does not start with the file's name", err)
			}
			if m[2] != "" {
				if n, _ := strconv.Atoi(m[2]); n < 1 || n > lines {
					t.Fatalf("Parse: line %d of a file of %d lines: %v", n, lines, err)
				}
			}
			return
		}
		if len(cf.Stages) == 0 {
			t.Fatal("Parse succeeded without a stage")
		}
		env := []string{}
		for _, a := range cf.MetaArgs {
			for _, kv := range a.Args {
				if kv.Value != nil {
					env = append(env, kv.Key+"="+*kv.Value)
				}
			}
		}
		for _, st := range cf.Stages {
			for _, c := range st.Commands {
				if l := lineOf(c); l < 0 || l > lines {
					t.Fatalf("%T on line %d of a file of %d lines", c, l, lines)
				}
				ex := newExpander(cf.Escape, env)
				if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
					if err := e.Expand(ex.Expand); err != nil {
						continue // an expansion error is the build's to report
					}
				}
				switch c := c.(type) {
				case *instructions.EnvCommand:
					for _, kv := range c.Env {
						env = append(env, kv.Key+"="+kv.Value)
					}
				case *instructions.ArgCommand:
					for _, kv := range c.Args {
						if kv.Value != nil {
							env = append(env, kv.Key+"="+*kv.Value)
						}
					}
				}
			}
		}
	})
}

// FuzzSubstitute expands a word against an environment of one variable.
// A word of valid UTF-8 without "$", the escape character or quotes
// comes back unchanged (buildkit's lexer, like Docker's, turns invalid
// UTF-8 into U+FFFD); "$NAME" and "${NAME}" come back as the value.
func FuzzSubstitute(f *testing.F) {
	for _, s := range [][2]string{
		{"plain", "v"}, {"$A", "v"}, {"${A}", "v w"}, {"${A:-d}", ""}, {"${A:+x}", "v"},
		{"${A:?}", ""}, {"${A/x/y}", "xx"}, {"${A#x}", "xy"}, {"'$A'", "v"}, {"\"$A\"", "v"},
		{"\\$A", "v"}, {"${", "v"}, {"$", "v"}, {"${A", "v"}, {"${A:-${A:-${A}}}", "v"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, word, value string) {
		env := []string{"A=" + value}
		got, err := Substitute(word, env)
		if utf8.ValidString(word) && !strings.ContainsAny(word, "$\\'\"") {
			if err != nil || got != word {
				t.Fatalf("Substitute(%q) = %q, %v; want it unchanged", word, got, err)
			}
		}
		if !utf8.ValidString(value) || strings.ContainsAny(value, "$\\'\"") {
			return
		}
		for _, w := range []string{"$A", "${A}"} {
			if got, err := Substitute(w, env); err != nil || got != value {
				t.Fatalf("Substitute(%q) with A=%q = %q, %v", w, value, got, err)
			}
		}
	})
}

// FuzzIgnore parses the fuzzer's .containerignore and asks it about a
// path. Nothing panics, and a path below an excluded directory is
// excluded unless some "!" line exists; a file whose every line is a
// literal name (no pattern characters) excludes exactly those names and
// what is below them.
func FuzzIgnore(f *testing.F) {
	for _, s := range [][2]string{
		{"*.o\n!keep.o\n", "a/keep.o"},
		{"**/node_modules\n", "x/y/node_modules/z"},
		{"# c\n\n/abs\n./rel\n../up\n", "up"},
		{"[a-c]?\n", "b1"},
		{"[!a]\n", "b"},
		{"[\n", "["},
		{"a\\*b\n", "a*b"},
		{"dir\n!dir/keep\n", "dir/keep"},
		{"**\n", "any/thing"},
		{"a/**/b\n", "a/b"},
	} {
		f.Add([]byte(s[0]), s[1])
	}
	f.Fuzz(func(t *testing.T, file []byte, rel string) {
		ig, err := ParseIgnore(file)
		if err != nil {
			return
		}
		ex := ig.Excluded(rel)
		if ex && !ig.mayHaveExceptions() {
			if !ig.Excluded(rel + "/below") {
				t.Fatalf("%q excluded but %q below it is not", rel, rel+"/below")
			}
		}
		literal := map[string]bool{}
		for _, l := range strings.Split(string(file), "\n") {
			if !regexp.MustCompile(`^[a-z0-9]+(/[a-z0-9]+)*$`).MatchString(l) {
				return
			}
			literal[l] = true
		}
		want := false
		for p := rel; p != "" && p != "."; {
			if literal[p] {
				want = true
			}
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				break
			}
			p = p[:i]
		}
		if !strings.HasPrefix(rel, "/") && !strings.Contains(rel, "//") && !strings.Contains("/"+rel+"/", "/./") && !strings.Contains("/"+rel+"/", "/../") && !strings.HasSuffix(rel, "/") && ex != want {
			t.Fatalf("literal patterns %q: Excluded(%q) = %v, want %v", file, rel, ex, want)
		}
	})
}
