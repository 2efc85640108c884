// Package build runs Containerfile (Dockerfile) builds: the buildkit parser
// reads the file, and this package executes it against the image store.
// RUN steps run in real containers (frontend/container) whose upper
// directory becomes the new layer; COPY and ADD build their layer tar
// straight from the build context; the rest only changes the image config.
// A layer cache keyed by the parent chain, the substituted instruction,
// the build arguments in scope and the content of copied inputs skips
// steps whose result is known.
package build

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Containerfile is a parsed file.
type Containerfile struct {
	Name     string // as given, for messages
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand // ARGs before the first FROM
	Escape   rune
}

// Parse parses a Containerfile. Errors name the file and line, as
// "FILE:LINE: message", and wrap ErrParse.
func Parse(name string, data []byte) (*Containerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, locate(name, err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, locate(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: %w: no FROM instruction", name, ErrParse)
	}
	return &Containerfile{Name: name, Stages: stages, MetaArgs: meta, Escape: res.EscapeToken}, nil
}

// locate turns a parser error into "FILE:LINE: message".
func locate(name string, err error) error {
	var le *parser.LocationError
	line := 0
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	// The parser's messages sometimes carry "dockerfile parse error on line N: ".
	if i := strings.Index(msg, "parse error on line "); i >= 0 {
		rest := msg[i+len("parse error on line "):]
		if j := strings.Index(rest, ": "); j > 0 {
			if n, e := strconv.Atoi(rest[:j]); e == nil {
				if line == 0 {
					line = n
				}
				msg = rest[j+2:]
			}
		}
	}
	if line > 0 {
		return fmt.Errorf("%s:%d: %w: %s", name, line, ErrParse, msg)
	}
	return fmt.Errorf("%s: %w: %s", name, ErrParse, msg)
}

// lineOf returns the first line of a command, 0 if unknown.
func lineOf(c instructions.Command) int {
	if l := c.Location(); len(l) > 0 {
		return l[0].Start.Line
	}
	return 0
}

// parseTrigger parses one ONBUILD trigger expression.
func parseTrigger(expr string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(expr))
	if err != nil {
		return nil, err
	}
	if len(res.AST.Children) != 1 {
		return nil, fmt.Errorf("ONBUILD trigger %q: want one instruction", expr)
	}
	c, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return nil, fmt.Errorf("ONBUILD trigger %q: %w", expr, err)
	}
	return c, nil
}

func quoteArgs(a []string) string {
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func itoa(n int) string { return strconv.Itoa(n) }
