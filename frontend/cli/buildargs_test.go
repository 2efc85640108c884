package cli

import (
	"slices"
	"testing"
)

func TestBuildPullArgs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"myctr", "build", "--pull", "-t", "x", "."}, []string{"myctr", "build", "--pull=always", "-t", "x", "."}},
		{[]string{"myctr", "build", "-t", "x", ".", "--pull"}, []string{"myctr", "build", "-t", "x", ".", "--pull=always"}},
		{[]string{"myctr", "build", "--pull", "never", "."}, []string{"myctr", "build", "--pull", "never", "."}},
		{[]string{"myctr", "build", "--pull", "ctxdir"}, []string{"myctr", "build", "--pull=always", "ctxdir"}},
		{[]string{"myctr", "--root", "/r", "buildx", "build", "--pull", "."}, []string{"myctr", "--root", "/r", "buildx", "build", "--pull=always", "."}},
		{[]string{"myctr", "run", "--pull", "always", "bb"}, []string{"myctr", "run", "--pull", "always", "bb"}},
		{[]string{"myctr", "build", "--", "--pull"}, []string{"myctr", "build", "--", "--pull"}},
	} {
		if got := buildPullArgs(slices.Clone(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("buildPullArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
