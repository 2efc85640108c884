// Package config finds, reads and merges the configuration files myctr
// shares with Podman — registries.conf (and its drop-ins and short-name
// alias files), containers.conf, policy.json — and myctr's own
// $XDG_CONFIG_HOME/myctr/myctr.conf (else ~/.config/myctr/myctr.conf).
//
// Every TOML file goes through one library (github.com/pelletier/go-toml/v2),
// whose errors carry the line of the bad value and of each unknown key;
// errors here name the file and that line. Where each file is looked for,
// and in which order, is in files.go.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config is what myctr.conf can set.
type Config struct {
	// Network is the default --network mode: "pasta", "slirp4netns",
	// "bridge", "none" or "host"; empty picks slirp4netns when installed,
	// else pasta.
	Network string `toml:"network"`
}

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

// Load reads the file at path; a missing file is an empty Config. An
// unknown key is an error (a typo never silently does nothing), as is a
// value of the wrong type; both name the file and line.
func Load(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	unknown, data, err := decodeFile(path, &c)
	if err != nil {
		return Config{}, err
	}
	if len(unknown) > 0 {
		k := unknown[0]
		return Config{}, &FileError{File: path, Line: k.Line, Msg: fmt.Sprintf("unknown key %q", k.Name)}
	}
	switch c.Network {
	case "", "pasta", "slirp4netns", "bridge", "none", "host":
	default:
		return Config{}, &FileError{File: path, Line: lineOf(data, "", 0, "network"),
			Msg: fmt.Sprintf("network %q: want pasta, slirp4netns, bridge, none or host", c.Network)}
	}
	return c, nil
}
