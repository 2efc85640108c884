package cli

import (
	"strings"
	"testing"
)

func TestFullOnly(t *testing.T) {
	for _, tc := range []struct {
		line string
		full bool
	}{
		{"myctr run --rm bb true", false},
		{"myctr --root /r --runroot /rr ps -a", false},
		{"myctr --version", false},
		{"myctr -v", false},
		{"myctr --version extra", true},
		{"myctr image ls", false},
		{"myctr container run bb", false},
		{"myctr system df", false},
		{"myctr import x.tar", true},
		{"myctr build -t x .", true},
		{"myctr --root /r build .", true},
		{"myctr buildx build .", true},
		{"myctr commit c img", true},
		{"myctr info", true},
		{"myctr completion bash", true},
		{"myctr help run", true},
		{"myctr", true},
		{"myctr --help", true},
		{"myctr --root /r --runroot=/rr --version", false},
		{"myctr --version --help", true},
		{"myctr --root /r --help --version", true},
		{"myctr frobnicate", true},
		{"myctr image build .", true},
		{"myctr image import x.tar", true},
		{"myctr image", true},
		{"myctr image --help", true},
		{"myctr container commit c", true},
		{"myctr system service", true},
		{"myctr system check", true},
		{"myctr system info", true},
		{"myctr system", true},
		{"myctr image frob", true},
		{"myctr container frob", true},
		// The registry client's commands; a pull runs in the pull stage.
		{"myctr login localhost:5000", true},
		{"myctr --root /r logout -a", true},
		{"myctr push img docker://r/img", true},
		{"myctr search bb", true},
		{"myctr manifest create l", true},
		{"myctr image push img", true},
		{"myctr image search bb", true},
		{"myctr pull bb", false},
		{"myctr image pull bb", false},
		{"myctr load -i https://example.com/a.tar", true},
		{"myctr load --input=http://example.com/a.tar", true},
		{"myctr load -i a.tar", false},
		{"myctr load", false},
	} {
		if got := fullOnly(strings.Fields(tc.line)); got != tc.full {
			t.Errorf("fullOnly(%q) = %v, want %v", tc.line, got, tc.full)
		}
	}
}

func TestCalledWords(t *testing.T) {
	for line, want := range map[string]string{
		"/usr/bin/myctr --root /r build -t x .": "myctr build",
		"myctr image build .":                   "myctr image build",
		"myctr system --help":                   "myctr system",
		"podman frobnicate x":                   "podman frobnicate x",
	} {
		if got := calledWords(strings.Fields(line)); got != want {
			t.Errorf("calledWords(%q) = %q, want %q", line, got, want)
		}
	}
}

// TestFullOnlyCommandsExist checks that every command fullOnly names is one
// of the command tree's, so that a renamed command is not silently left
// to the lean binary's stub.
func TestFullOnlyCommandsExist(t *testing.T) {
	app := App()
	for _, name := range fullOnlyCommands {
		if name == "help" {
			continue
		}
		if app.Command(name) == nil {
			t.Errorf("fullOnlyCommands names %q, which is no top-level command", name)
		}
	}
	for group, subs := range fullOnlySubcommands {
		g := app.Command(group)
		if g == nil {
			t.Fatalf("fullOnlySubcommands names group %q, which is no top-level command", group)
		}
		for _, s := range subs {
			if s != "help" && g.Command(s) == nil {
				t.Errorf("fullOnlySubcommands names %q %q, which %q does not have", group, s, group)
			}
		}
	}
}
