// Package config reads the user's myctr configuration,
// $XDG_CONFIG_HOME/myctr/myctr.conf (else ~/.config/myctr/myctr.conf): a
// small TOML subset of `key = "value"` lines and # comments. Unknown keys
// are errors, so a typo never silently does nothing.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is what the file can set.
type Config struct {
	// Network is the default --network mode: "pasta", "slirp4netns",
	// "bridge", "none" or "host"; empty picks slirp4netns when installed,
	// else pasta.
	Network string
}

// ErrSyntax is a line the reader does not understand.
var ErrSyntax = errors.New("syntax error")

// Path is where the file is looked for.
func Path() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "myctr", "myctr.conf")
}

// Load reads the file at path; a missing file is an empty Config.
func Load(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" {
			return c, fmt.Errorf("%s:%d: %w: want key = \"value\"", path, n, ErrSyntax)
		}
		if i := strings.Index(val, " #"); i >= 0 && !strings.HasPrefix(val, "\"") {
			val = strings.TrimSpace(val[:i])
		}
		s, err := strconv.Unquote(val)
		if err != nil {
			return c, fmt.Errorf("%s:%d: %w: the value of %s must be a quoted string", path, n, ErrSyntax, key)
		}
		switch key {
		case "network":
			switch s {
			case "", "pasta", "slirp4netns", "bridge", "none", "host":
			default:
				return c, fmt.Errorf("%s:%d: network %q: want pasta, slirp4netns, bridge, none or host", path, n, s)
			}
			c.Network = s
		default:
			return c, fmt.Errorf("%s:%d: unknown key %q", path, n, key)
		}
	}
	return c, sc.Err()
}
