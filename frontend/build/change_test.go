package build

import (
	"errors"
	"slices"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestImportChanges checks the --change instructions import applies,
// among them a shell-form CMD that spans lines (one command line, as
// Podman reads it).
func TestImportChanges(t *testing.T) {
	tests := []struct {
		change string
		check  func(v1.ImageConfig) bool
	}{
		{"CMD ls -l", func(c v1.ImageConfig) bool { return slices.Equal(c.Cmd, []string{"/bin/sh", "-c", "ls -l"}) }},
		{`CMD ["ls", "-l"]`, func(c v1.ImageConfig) bool { return slices.Equal(c.Cmd, []string{"ls", "-l"}) }},
		{"CMD sh -c \"trap 'exit 33' 2;\n  while true; do sleep 1; done\"", func(c v1.ImageConfig) bool {
			return slices.Equal(c.Cmd, []string{"/bin/sh", "-c", "sh -c \"trap 'exit 33' 2;\n  while true; do sleep 1; done\""})
		}},
		{"ENTRYPOINT a\nb", func(c v1.ImageConfig) bool { return slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c", "a\nb"}) }},
		{"ENV A=1", func(c v1.ImageConfig) bool { return slices.Contains(c.Env, "A=1") }},
		{"WORKDIR=/srv", func(c v1.ImageConfig) bool { return c.WorkingDir == "/srv" }},
	}
	for _, tt := range tests {
		f, err := ImportChanges([]string{tt.change})
		if err != nil {
			t.Errorf("%q: %v", tt.change, err)
			continue
		}
		var c v1.ImageConfig
		f(&c)
		if !tt.check(c) {
			t.Errorf("%q: config %+v", tt.change, c)
		}
	}
	if _, err := ImportChanges([]string{"RUN ls"}); !errors.Is(err, ErrChange) {
		t.Errorf("RUN: %v, want ErrChange", err)
	}
}
