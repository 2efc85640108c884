package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name, text string
		want       Config
		err        string
	}{
		{"empty", "", Config{}, ""},
		{"network", "# defaults\nnetwork = \"slirp4netns\"\n", Config{Network: "slirp4netns"}, ""},
		{"bridge", "network = \"bridge\"\n", Config{Network: "bridge"}, ""},
		{"bad mode", "network = \"bridge0\"\n", Config{}, "myctr.conf:1: network \"bridge0\""},
		{"unknown key", "\nnetwrk = \"none\"\n", Config{}, "myctr.conf:2: unknown key \"netwrk\""},
		{"unquoted", "network = none\n", Config{}, "myctr.conf:1: "},
		{"wrong type", "\nnetwork = 1\n", Config{}, "myctr.conf:2: network: "},
		{"no equals", "network\n", Config{}, "myctr.conf:1: "},
		{"unknown table", "[net]\nmode = \"none\"\n", Config{}, "myctr.conf:1: unknown key \"net\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "myctr.conf")
			os.WriteFile(p, []byte(tt.text), 0o600)
			got, err := Load(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Load = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if c, err := Load(filepath.Join(t.TempDir(), "missing")); err != nil || c != (Config{}) {
		t.Errorf("missing file: %+v %v", c, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "x")); errors.Is(err, ErrBadConfig) {
		t.Errorf("missing file reported as syntax error")
	}
}
