package systemd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// A UnitFile is a parsed systemd unit file (systemd.syntax(7)): its
// sections in the order they first appear, each entry with its line, so
// that errors about a value can name where it was written. A section
// that appears twice is one section, as systemd merges them.
type UnitFile struct {
	Path     string // for error messages only
	Sections []*Section
}

// A Section is one [Name] of a unit file.
type Section struct {
	Name    string
	Line    int
	Entries []Entry
}

// An Entry is one Key=Value assignment. Value has its surrounding white
// space removed and continuation lines joined, and is otherwise as written
// (quotes, escapes and specifiers are the reader's business).
type Entry struct {
	Key   string
	Value string
	Line  int
}

// A ParseError names a place in a unit file and what is wrong there.
type ParseError struct {
	Path string
	Line int // 0: the file as a whole
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Path + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// maxUnitFileSize bounds what ParseUnitFile reads; systemd's own limit on
// a unit file's line is 1 MiB (LONG_LINE_MAX), and a generator should not
// be made to hold more than a few of those.
const maxUnitFileSize = 4 << 20

// ParseUnitFile reads a unit file. The rules are systemd's: lines whose
// first non-blank character is '#' or ';' are comments; "[Name]" opens a
// section; every other line is Key=Value; a line ending in a backslash
// goes on with the next line, the backslash becoming a space, and comment
// lines between continued lines are skipped. Unlike systemd, which logs
// and skips a bad line, every malformed line is an error here: a unit a
// generator half-understood is worse than none.
func ParseUnitFile(r io.Reader, path string) (*UnitFile, error) {
	u := &UnitFile{Path: path}
	bad := func(line int, format string, args ...any) error {
		return &ParseError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	sc := bufio.NewScanner(io.LimitReader(r, maxUnitFileSize+1))
	sc.Buffer(make([]byte, 0, 4096), maxUnitFileSize+1)
	var (
		sec     *Section
		n       int             // line number of the current physical line
		pending strings.Builder // a logical line being continued
		start   int             // where the pending line began
		read    int
	)
	for sc.Scan() {
		n++
		raw := sc.Text()
		read += len(raw) + 1
		if read > maxUnitFileSize {
			return nil, bad(0, "larger than %d bytes", maxUnitFileSize)
		}
		if n == 1 {
			raw = strings.TrimPrefix(raw, "\ufeff")
		}
		l := strings.TrimLeft(raw, whitespace)
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue // also inside a continuation, as systemd
		}
		if start == 0 {
			start = n
		} else if l == "" {
			// systemd ends a continuation at an empty line.
			if err := u.addLine(&sec, pending.String(), start, bad); err != nil {
				return nil, err
			}
			pending.Reset()
			start = 0
			continue
		}
		l = strings.TrimRight(l, whitespace)
		if oddBackslashes(l) {
			pending.WriteString(strings.TrimSuffix(l, "\\"))
			pending.WriteByte(' ')
			continue
		}
		pending.WriteString(l)
		if err := u.addLine(&sec, pending.String(), start, bad); err != nil {
			return nil, err
		}
		pending.Reset()
		start = 0
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, bad(0, "larger than %d bytes", maxUnitFileSize)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if start != 0 {
		return nil, bad(start, "the line continued with a backslash goes on past the end of the file")
	}
	return u, nil
}

// whitespace is systemd's WHITESPACE.
const whitespace = " \t\n\r"

// oddBackslashes says whether s ends in an odd number of backslashes: the
// last one is then not itself escaped, and continues the line.
func oddBackslashes(s string) bool {
	k := 0
	for k < len(s) && s[len(s)-1-k] == '\\' {
		k++
	}
	return k%2 == 1
}

// addLine takes one logical line (comments already gone).
func (u *UnitFile) addLine(sec **Section, l string, line int, bad func(int, string, ...any) error) error {
	l = strings.Trim(l, whitespace)
	if l == "" {
		return nil
	}
	if strings.HasPrefix(l, "[") {
		if !strings.HasSuffix(l, "]") || len(l) < 3 {
			return bad(line, "bad section header %q", l)
		}
		name := l[1 : len(l)-1]
		if strings.ContainsAny(name, "[]\n") {
			return bad(line, "bad section header %q", l)
		}
		*sec = u.Section(name)
		if *sec == nil {
			*sec = &Section{Name: name, Line: line}
			u.Sections = append(u.Sections, *sec)
		}
		return nil
	}
	k, v, ok := strings.Cut(l, "=")
	if !ok {
		return bad(line, "%q is neither a [section] nor Key=Value", l)
	}
	k = strings.Trim(k, whitespace)
	if k == "" || strings.ContainsAny(k, whitespace) {
		return bad(line, "bad key %q", k)
	}
	if *sec == nil {
		return bad(line, "%s= is outside any [section]", k)
	}
	(*sec).Entries = append((*sec).Entries, Entry{Key: k, Value: strings.Trim(v, whitespace), Line: line})
	return nil
}

// Section returns the section called name, or nil.
func (u *UnitFile) Section(name string) *Section {
	for _, s := range u.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Last returns the last assignment of key (systemd's rule for keys that
// take one value) and whether there is one.
func (s *Section) Last(key string) (Entry, bool) {
	if s == nil {
		return Entry{}, false
	}
	for i := len(s.Entries) - 1; i >= 0; i-- {
		if s.Entries[i].Key == key {
			return s.Entries[i], true
		}
	}
	return Entry{}, false
}

// List returns the assignments of a key that takes a list, after
// systemd's rule that an empty assignment ("Key=") drops all earlier ones.
// Empty assignments are not in the result.
func (s *Section) List(key string) []Entry {
	if s == nil {
		return nil
	}
	var out []Entry
	for _, e := range s.Entries {
		if e.Key != key {
			continue
		}
		if e.Value == "" {
			out = out[:0]
			continue
		}
		out = append(out, e)
	}
	return out
}

// Add appends Key=Value to the section.
func (s *Section) Add(key, value string) {
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
}

// String writes the unit back as text. Values that hold a newline (which
// the parser never makes) are not representable and are written as
// continued lines.
func (u *UnitFile) String() string {
	var b strings.Builder
	for i, s := range u.Sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s=%s\n", e.Key, strings.ReplaceAll(e.Value, "\n", "\\\n"))
		}
	}
	return b.String()
}
