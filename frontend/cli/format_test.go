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
