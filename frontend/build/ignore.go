package build

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Ignore is the patterns of a .containerignore or .dockerignore file, with
// Docker's meaning: each line is a path pattern relative to the context
// root ("*" and "?" within one component, "**" any number of components,
// "[...]" classes), a line starting with "!" re-includes what an earlier
// line excluded, and the last matching line wins. A pattern that matches a
// directory matches everything below it.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	re      *regexp.Regexp
	exclude bool // false for "!" lines
	text    string
}

// ReadIgnore reads CONTEXT/.containerignore, else CONTEXT/.dockerignore.
// No file means nothing is ignored.
func ReadIgnore(contextDir string) (*Ignore, error) {
	for _, n := range []string{".containerignore", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(contextDir, n))
		if err == nil {
			return ParseIgnore(b)
		}
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("read %s: %w", n, err)
		}
	}
	return &Ignore{}, nil
}

// ParseIgnore parses ignore-file content.
func ParseIgnore(b []byte) (*Ignore, error) {
	ig := &Ignore{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exclude := true
		if strings.HasPrefix(line, "!") {
			exclude = false
			line = strings.TrimSpace(line[1:])
		}
		p := path.Clean(filepath.ToSlash(line))
		p = strings.TrimPrefix(p, "/")
		if p == "" || p == "." {
			continue
		}
		re, err := patternRegexp(p)
		if err != nil {
			return nil, fmt.Errorf("ignore file line %d %q: %w", n, line, err)
		}
		ig.rules = append(ig.rules, ignoreRule{re: re, exclude: exclude, text: line})
	}
	return ig, nil
}

// patternRegexp translates one pattern.
func patternRegexp(p string) (*regexp.Regexp, error) {
	var sb strings.Builder
	sb.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				i++
				sb.WriteString("(.*/)?") // "**/" : zero or more directories
			} else {
				sb.WriteString(".*")
			}
		case c == '*':
			sb.WriteString("[^/]*")
		case c == '?':
			sb.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [")
			}
			class := p[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			sb.WriteString("[" + class + "]")
			i += j
		case c == '\\' && i+1 < len(p):
			i++
			sb.WriteString(regexp.QuoteMeta(string(p[i])))
		default:
			sb.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	sb.WriteString("$")
	return regexp.Compile(sb.String())
}

// Excluded reports whether rel (slash-separated, relative to the context
// root) is excluded.
func (ig *Ignore) Excluded(rel string) bool {
	if ig == nil || len(ig.rules) == 0 {
		return false
	}
	rel = strings.TrimPrefix(path.Clean(filepath.ToSlash(rel)), "/")
	if rel == "." || rel == "" {
		return false
	}
	// rel and each of its parents: a pattern naming a directory covers
	// what is inside it.
	cands := []string{rel}
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		cands = append(cands, d)
	}
	excluded := false
	for _, r := range ig.rules {
		for _, c := range cands {
			if r.re.MatchString(c) {
				excluded = r.exclude
				break
			}
		}
	}
	return excluded
}

// mayHaveExceptions reports whether some "!" rule could re-include a path
// below the excluded directory rel, so a walk must still descend into it.
func (ig *Ignore) mayHaveExceptions() bool {
	if ig == nil {
		return false
	}
	for _, r := range ig.rules {
		if !r.exclude {
			return true
		}
	}
	return false
}
