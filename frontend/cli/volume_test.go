package cli

import (
	"slices"
	"testing"
)

func TestVolumeArgs(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"myctr", "volume", "rm", "v", "--force"}, []string{"myctr", "volume", "rm", "--force", "--", "v"}},
		{[]string{"myctr", "--root", "/r", "volume", "inspect", "v", "--format", "{{.Name}}"}, []string{"myctr", "--root", "/r", "volume", "inspect", "--format", "{{.Name}}", "--", "v"}},
		{[]string{"myctr", "volume", "create", "v", "--label", "mylabel"}, []string{"myctr", "volume", "create", "--label", "mylabel", "--", "v"}},
		{[]string{"myctr", "volume", "export", "v", "--output=/t"}, []string{"myctr", "volume", "export", "--output=/t", "--", "v"}},
		{[]string{"myctr", "volume", "import", "v", "-"}, []string{"myctr", "volume", "import", "--", "v", "-"}},
		{[]string{"myctr", "volume", "ls"}, []string{"myctr", "volume", "ls"}},
		{[]string{"myctr", "ps", "-a"}, []string{"myctr", "ps", "-a"}},
		{[]string{"myctr", "run", "-v", "/a:/a", "--volume", "/b:/b", "--volume=/c:/c", "--name", "x", "bb", "sh", "--volume", "y"},
			[]string{"myctr", "run", "-v", "/a:/a", "-v", "/b:/b", "-v=/c:/c", "--name", "x", "bb", "sh", "--volume", "y"}},
		{[]string{"myctr", "run", "--rm", "bb", "--volume"}, []string{"myctr", "run", "--rm", "bb", "--volume"}},
	}
	for _, tt := range tests {
		if got := volumeArgs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("volumeArgs(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
