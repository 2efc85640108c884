// Package container is myctr's container model: creating a container from
// an image and the run flags (an OCI runtime spec), its state on disk, and
// its lifecycle (start, the monitor, stop, kill, exec, logs, removal).
// There is no daemon: every command reads and writes state under a file
// lock, and a small monitor process per running container records its exit.
package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Dirs are the two roots of myctr's state.
type Dirs struct {
	Root    string // persistent: images and containers
	RunRoot string // volatile: locks, runtime files
}

// DefaultDirs follows XDG for users and /var/lib, /run for root.
func DefaultDirs() Dirs {
	if os.Geteuid() == 0 {
		return Dirs{Root: "/var/lib/myctr", RunRoot: "/run/myctr"}
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = filepath.Join(os.TempDir(), "myctr-home-"+strconv.Itoa(os.Getuid()))
		}
		data = filepath.Join(home, ".local", "share")
	}
	run := os.Getenv("XDG_RUNTIME_DIR")
	if run == "" {
		run = filepath.Join(os.TempDir(), "myctr-run-"+strconv.Itoa(os.Getuid()))
	} else {
		run = filepath.Join(run, "myctr")
	}
	return Dirs{Root: filepath.Join(data, "myctr"), RunRoot: run}
}

// Ensure creates both roots, private to the user.
func (d Dirs) Ensure() error {
	for _, p := range []string{d.Root, d.RunRoot, filepath.Join(d.Root, "containers")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// Storage is the image store's root.
func (d Dirs) Storage() string { return filepath.Join(d.Root, "storage") }
