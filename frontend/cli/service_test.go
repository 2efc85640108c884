package cli

import "testing"

// TestIsService: the API service is found after global flags, and no
// other command is taken for it.
func TestIsService(t *testing.T) {
	for args, want := range map[string]bool{
		"myctr system service":                          true,
		"myctr --root /r system service -t 0 unix:///s": true,
		"myctr system df":                               false,
		"myctr run --rm IMG system service":             true, // a container's command: no prefault, nothing else
		"myctr run --rm IMG true":                       false,
		"myctr":                                         false,
	} {
		if got := IsService(splitWords(args)); got != want {
			t.Errorf("IsService(%q) = %v, want %v", args, got, want)
		}
	}
}

func splitWords(s string) []string {
	var out []string
	word := ""
	for _, r := range s + " " {
		if r == ' ' {
			if word != "" {
				out = append(out, word)
			}
			word = ""
			continue
		}
		word += string(r)
	}
	return out
}
