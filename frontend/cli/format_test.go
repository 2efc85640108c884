package cli

import (
	"bytes"
	"testing"
)

func TestListFormat(t *testing.T) {
	row := map[string]string{"A": "a1", "B": "b1"}
	headers := map[string]string{"A": "AAAA", "B": "B"}
	for _, tc := range []struct{ format, want string }{
		{"{{.A}} {{.B}}", "a1 b1\n"},                          // no table: spaces are the user's
		{"table {{.A}} {{.B}}", "AAAA  B\na1    b1\n"},        // header, columns aligned
		{`table {{.A}}\t{{.B}}`, "AAAA  B\na1    b1\n"},       // an escaped tab separates columns too
		{`table {{printf "%s %s" .A .B}}`, "AAAA B\na1 b1\n"}, // spaces inside an action stay
		{"tableau {{.A}}", "tableau a1\n"},                    // only the word table is the prefix
	} {
		f, err := parseListFormat(tc.format)
		if err != nil {
			t.Fatalf("parseListFormat(%q): %v", tc.format, err)
		}
		var b bytes.Buffer
		if err := f.write(&b, headers, []any{row}, ""); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if b.String() != tc.want {
			t.Errorf("%q printed %q, want %q", tc.format, b.String(), tc.want)
		}
	}
}

// TestFormatEscapes: \t and \n written literally are a tab and a newline
// in a template's text, and Go's own escapes inside a quoted string of an
// action ({{"\n"}}, Podman's test of every --format) still parse.
func TestFormatEscapes(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{`{{.A}}\t{{.B}}`, "a1\tb1\n"},
		{`{{.A}}\n{{.B}}`, "a1\nb1\n"},
		{`{{"\n"}}`, "\n\n"},
		{`{{"x\ty"}}`, "x\ty\n"},
		{`{{printf "%s\t%s" .A .B}}\n`, "a1\tb1\n\n"},
		{`\\`, "\\\\\n"},
	} {
		tmpl, err := parseFormat(tc.format)
		if err != nil {
			t.Fatalf("parseFormat(%q): %v", tc.format, err)
		}
		var b bytes.Buffer
		if err := writeFormat(&b, tmpl, map[string]string{"A": "a1", "B": "b1"}, ""); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if b.String() != tc.want {
			t.Errorf("%q printed %q, want %q", tc.format, b.String(), tc.want)
		}
	}
}

func TestTemplateText(t *testing.T) {
	for in, want := range map[string]string{
		`{{.ID}}\t{{.Name}}\n`: "{{.ID}}\t{{.Name}}\n",
		`{{"\n"}}`:             `{{"\n"}}`,
		`a\tb {{ "\t" }} c\n`:  "a\tb {{ \"\\t\" }} c\n",
		`}} \n`:                "}} \n",
		`{{if .X}}\t{{end}}\\`: "{{if .X}}\t{{end}}\\\\",
	} {
		if got := unescapeText(in); got != want {
			t.Errorf("unescapeText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"{{.ID}}   {{.Name}}":         "{{.ID}}\t{{.Name}}",
		`{{printf "%s  %s" .A .B}} x`: "{{printf \"%s  %s\" .A .B}}\tx",
		"a b":                         "a\tb",
	} {
		if got := columns(in); got != want {
			t.Errorf("columns(%q) = %q, want %q", in, got, want)
		}
	}
}
