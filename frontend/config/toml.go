package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"
)

// FileError is bad input at a place in a file.
type FileError struct {
	File string
	Line int // 0: the file as a whole
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Is makes errors.Is(err, ErrBadConfig) true.
func (e *FileError) Is(target error) bool { return target == ErrBadConfig }

// Key is a key of a file that was set but that the reader does not use.
type Key struct {
	File string
	Line int
	Name string // dotted: "engine.events_logger"
}

func (k Key) String() string { return fmt.Sprintf("%s:%d: %s", k.File, k.Line, k.Name) }

// decodeFile reads path into v (a struct with toml tags). Keys v has no
// field for come back as unknown (with their lines); a syntax error or a
// value of the wrong type is a FileError. The file's bytes come back too,
// for lines of later checks.
func decodeFile(path string, v any) (unknown []Key, data []byte, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	d := toml.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	err = d.Decode(v)
	var sm *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case err == nil:
	case errors.As(err, &sm):
		var generic map[string]any
		_ = toml.Unmarshal(data, &generic) // it decoded once already
		for _, e := range sm.Errors {
			if emptyTable(generic, e.Key()) {
				continue // a header with nothing in it sets nothing
			}
			line, _ := e.Position()
			unknown = append(unknown, Key{File: path, Line: line, Name: keyName(e.Key())})
		}
	case errors.As(err, &de):
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) > 0 {
			msg = strings.Join(k, ".") + ": " + msg
		}
		return nil, data, &FileError{File: path, Line: line, Msg: msg}
	default:
		return nil, data, &FileError{File: path, Msg: err.Error()}
	}
	return unknown, data, nil
}

// keyName writes a dotted key as TOML does: parts that are not bare keys
// (empty, or with dots, spaces or other characters) quoted, so that
// [""] or "a.b" cannot print as nothing or as two keys.
func keyName(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p
		if !bareKey().MatchString(p) {
			out[i] = strconv.Quote(p)
		}
	}
	return strings.Join(out, ".")
}

var bareKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]+$`) })

// emptyTable reports whether key names a table without keys in m.
func emptyTable(m map[string]any, key []string) bool {
	var v any = m
	for _, k := range key {
		t, ok := v.(map[string]any)
		if !ok {
			return false
		}
		v = t[k]
	}
	t, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, sub := range t {
		if st, ok := sub.(map[string]any); !ok || !emptyTable(st, nil) {
			return false
		}
	}
	return true
}

// tableKeys lists the keys set in m, the decoded table at path (and in
// its sub-tables, recursively), by dotted name, each with its line; a
// table with no keys sets nothing and gives none.
func tableKeys(file string, data []byte, path []string, m map[string]any) []Key {
	var out []Key
	table := strings.Join(path, ".") // as lineOf matches headers
	for k, v := range m {
		name := append(slices.Clip(path), k)
		switch v := v.(type) {
		case map[string]any:
			out = append(out, tableKeys(file, data, name, v)...)
			continue
		case []any:
			if len(v) > 0 {
				if _, ok := v[0].(map[string]any); ok { // [[table.k]]
					out = append(out, Key{File: file, Line: lineOf(data, table+"."+k, 1, ""), Name: keyName(name)})
					continue
				}
			}
		}
		out = append(out, Key{File: file, Line: lineOf(data, table, 0, k), Name: keyName(name)})
	}
	slices.SortFunc(out, func(a, b Key) int { return a.Line - b.Line })
	return out
}

// lineOf finds the line of a key in a TOML file whose values decoded
// (the library gives positions only for errors): the first line, inside
// the table named table ("" for the top level, "a.b" for [a.b] or
// [[a.b]]), that sets key; n > 0 picks the n-th [[table]] instead and
// key "" the header line itself. 0 when not found.
func lineOf(data []byte, table string, n int, key string) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	cur, count := "", 0
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(t, "[") {
			h := strings.Trim(t, "[] \t")
			if i := strings.Index(t, "#"); i > 0 {
				h = strings.Trim(t[:i], "[] \t")
			}
			h = strings.ReplaceAll(strings.ReplaceAll(h, " ", ""), `"`, "")
			cur = h
			if h == table && strings.HasPrefix(t, "[[") {
				count++
				if n == count && key == "" {
					return line
				}
			}
			continue
		}
		if cur != table || (n > 0 && count != n) || key == "" {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return line
		}
	}
	return 0
}
