package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/urfave/cli/v2"
)

// formatFlag is a --format flag that takes a Go template over values of
// type of (a command's rows, or the objects it inspects): completion
// (`myctr __complete CMD --format '{{.'`) offers of's fields, and so says
// that the flag takes a template. of is nil where the type depends on
// what the arguments name (inspect of a container or an image).
type formatFlag struct {
	*cli.StringFlag
	of reflect.Type
}

// templateFlag is --format (and its aliases) over values of type T.
func templateFlag[T any](usage string, aliases ...string) *formatFlag {
	return &formatFlag{StringFlag: &cli.StringFlag{Name: "format", Aliases: aliases, Usage: usage}, of: reflect.TypeFor[T]()}
}

// formatFuncs are the functions a --format template may call, as in
// Podman and Docker: {{json .X}}, {{join .Args " "}}, {{upper .Name}},
// {{lower .Name}}.
var formatFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

// parseFormat parses a --format template; a template that does not parse
// is a usage error (exit 125) that names the problem.
func parseFormat(s string) (*template.Template, error) {
	s = unescapeText(s)
	t, err := template.New("format").Funcs(formatFuncs).Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, withCode(125, hint(fmt.Errorf("--format: %w", err), "use a Go template such as '{{.State.Pid}}' or '{{json .Config}}'"))
	}
	return t, nil
}

// inspectFormat is an inspect command's --format: nil for JSON (none
// given, or "json"), else the parsed template.
func inspectFormat(ctx *cli.Context) (*template.Template, error) {
	f := ctx.String("format")
	if f == "" || f == "json" {
		return nil, nil
	}
	return parseFormat(f)
}

// unescapeText turns the escapes \t and \n written literally in a
// template's text (outside {{ }}) into a tab and a newline, as Podman
// does. Inside an action they stay: a quoted string there has Go's own
// escapes ({{"\n"}}), which a raw newline would break.
func unescapeText(s string) string {
	return mapText(s, func(rest string) (string, int) {
		switch {
		case strings.HasPrefix(rest, `\t`):
			return "\t", 2
		case strings.HasPrefix(rest, `\n`):
			return "\n", 2
		}
		return "", 0
	})
}

// mapText copies the template s, letting f replace what starts at each
// byte of its text outside {{ }}: f returns the replacement and how many
// bytes it stands for (0: the byte is kept).
func mapText(s string, f func(rest string) (string, int)) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			depth++
			b.WriteString("{{")
			i += 2
			continue
		case strings.HasPrefix(s[i:], "}}") && depth > 0:
			depth--
			b.WriteString("}}")
			i += 2
			continue
		case depth == 0:
			if out, n := f(s[i:]); n > 0 {
				b.WriteString(out)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// writeFormat writes v through t, then a newline; fields says where the
// user finds the fields a template may name.
func writeFormat(w io.Writer, t *template.Template, v any, fields string) error {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return withCode(125, hint(fmt.Errorf("--format: %w", err), "%s", fields))
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// listFormat is a --format template of a listing (ps, images): with the
// "table" prefix, a header line first and the columns aligned, as Podman.
type listFormat struct {
	t         *template.Template
	table     bool
	noHeading bool // --noheading: no header line
}

// parseListFormat parses a listing's --format; after "table", the spaces
// between the template's actions separate columns.
func parseListFormat(s string) (*listFormat, error) {
	rest, table := strings.CutPrefix(s, "table")
	if table && rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		rest, table = s, false // a template that begins with the word, such as "tableau {{.ID}}"
	}
	if table {
		rest = columns(strings.TrimLeft(rest, " \t"))
	}
	t, err := parseFormat(rest)
	if err != nil {
		return nil, err
	}
	return &listFormat{t: t, table: table}, nil
}

// columns turns the runs of spaces outside {{ }} into tabs.
func columns(s string) string {
	return mapText(s, func(rest string) (string, int) {
		n := len(rest) - len(strings.TrimLeft(rest, " "))
		if n == 0 {
			return "", 0
		}
		return "\t", n
	})
}

// write writes rows through the template, after the header (the template
// over headers, which names each field's column) when it is a table;
// fields says where the user finds the fields a template may name.
func (f *listFormat) write(w io.Writer, headers map[string]string, rows []any, fields string) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
		if !f.noHeading {
			if err := writeFormat(out, f.t, headers, fields); err != nil {
				return err
			}
		}
	}
	for _, r := range rows {
		if err := writeFormat(out, f.t, r, fields); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// upperHeaders gives each field its name in upper case as its column
// header, except where Podman calls it otherwise (extra).
func upperHeaders(fields []string, extra map[string]string) map[string]string {
	h := map[string]string{}
	for _, f := range fields {
		h[f] = strings.ToUpper(f)
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}
