package names

import (
	"regexp"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	for _, n := range []string{"", "a", "A9", "_a", ".a", "-a", "a_b.c-d", "a/b", "a b", "é", "a\x00", strings.Repeat("a", MaxLen), strings.Repeat("a", MaxLen+1)} {
		want := re.MatchString(n) && len(n) <= MaxLen
		if got := Valid(n); got != want {
			t.Errorf("Valid(%q) = %v, want %v", n, got, want)
		}
	}
}

func TestIsID(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	for s, want := range map[string]bool{id: true, id[:63]: false, id + "0": false, strings.ToUpper(id): false, id[:63] + "g": false, "": false} {
		if got := IsID(s); got != want {
			t.Errorf("IsID(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	f.Add("web-1")
	f.Fuzz(func(t *testing.T, n string) {
		if Valid(n) != (re.MatchString(n) && len(n) <= MaxLen) {
			t.Fatalf("Valid(%q) disagrees with the rule", n)
		}
	})
}
