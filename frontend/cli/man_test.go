package cli

import "testing"

func TestRoff(t *testing.T) {
	for in, want := range map[string]string{
		`a\b`:                     `a\eb`,
		".hidden":                 `\&.hidden`,
		"'quoted":                 `\&'quoted`,
		"one\ntwo":                "one two",
		"ro:PATH,rw:PATH":         `ro:PATH,\:rw:PATH`,
		"a, b, c":                 "a, b, c",
		"trailing,":               "trailing,",
		"x=1,y=2,z=3 and a, list": `x=1,\:y=2,\:z=3 and a, list`,
	} {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
}
