package cli

import "testing"

func TestSuggestCommand(t *testing.T) {
	cmds := App().Commands
	for _, tc := range []struct{ typed, want string }{
		{"rn", "rm"},        // one edit; rm sorts before run
		{"insp", "inspect"}, // a prefix beats two edits (info)
		{"imags", "image"},  // one edit
		{"gen", "generate"}, // a prefix
		{"exce", "exec"},    // two edits
		{"xyzzy", ""},       // nothing near
		{"generatex", "generate"},
	} {
		if got := suggestCommand(cmds, tc.typed); got != tc.want {
			t.Errorf("suggestCommand(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "ps", 2}, {"run", "run", 0}, {"rn", "run", 1}, {"kitten", "sitting", 3},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
