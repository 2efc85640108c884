package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
)

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
	// Like Podman, accept the escapes \t and \n written literally.
	s = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
	t, err := template.New("format").Funcs(formatFuncs).Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, withCode(125, hint(fmt.Errorf("--format: %w", err), "use a Go template such as '{{.State.Pid}}' or '{{json .Config}}'"))
	}
	return t, nil
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
