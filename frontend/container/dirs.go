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
	"strings"
)

// Dirs are the two roots of myctr's state.
type Dirs struct {
	Root    string // persistent: images and containers
	RunRoot string // volatile: locks, runtime files
	// Driver is the storage driver asked for (--storage-driver): ""
	// or DriverOverlay, myctr's store; DriverVFS names the same store
	// (layers unpacked to plain directories, as vfs keeps them) for
	// image work, but Create refuses it: a container's root is always an
	// overlay of those layers, never a copy.
	Driver string
}

// The storage drivers --storage-driver accepts.
const (
	DriverOverlay = "overlay"
	DriverVFS     = "vfs"
)

// DefaultDirs follows XDG for users and /var/lib, /run for root (not
// for the user's root of `myctr unshare`, which keeps the user's). Without
// HOME or XDG_RUNTIME_DIR it falls back to TMPDIR/myctr-home-UID and
// TMPDIR/myctr-run-UID, which Ensure insists on making itself (see
// dirs_linux.go).
func DefaultDirs() Dirs {
	if os.Geteuid() == 0 && os.Getenv("MYCTR_UNSHARE") == "" {
		return Dirs{Root: "/var/lib/myctr", RunRoot: "/run/myctr"}
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = fallbackHome()
		}
		data = filepath.Join(home, ".local", "share")
	}
	run := os.Getenv("XDG_RUNTIME_DIR")
	if run == "" {
		run = fallbackRunRoot()
	} else {
		run = filepath.Join(run, "myctr")
	}
	return Dirs{Root: filepath.Join(data, "myctr"), RunRoot: run}
}

// Ensure creates both roots, private to the user. A run root at the
// fallback path in the shared temporary directory must be a directory the
// user made (owner, mode 0700, not a symlink), and so must the fallback
// home; any other run root must be the user's. Otherwise the error is an
// *UnsafeDirError (ErrUnsafeRunRoot) naming the path.
func (d Dirs) Ensure() error {
	switch d.Driver {
	case "", DriverOverlay, "overlay2", DriverVFS:
	default:
		return fmt.Errorf("%w: %q (myctr's store is overlay; vfs is accepted for image commands)", ErrStorageDriver, d.Driver)
	}
	if h := fallbackHome(); strings.HasPrefix(filepath.Clean(d.Root), h+string(filepath.Separator)) {
		if err := privateDir("fallback home", h, "set HOME (or XDG_DATA_HOME, or pass --root) to a directory of your own, or have "+h+" removed"); err != nil {
			return err
		}
	}
	for _, p := range []string{d.Root, filepath.Join(d.Root, "containers")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	if filepath.Clean(d.RunRoot) == fallbackRunRoot() {
		return privateDir("run root", d.RunRoot, "set XDG_RUNTIME_DIR (or pass --runroot) to a directory of your own, or have "+d.RunRoot+" removed")
	}
	return ownedDir("run root", d.RunRoot, "pass --runroot (or set XDG_RUNTIME_DIR to) a directory of your own")
}

// Storage is the image store's root.
func (d Dirs) Storage() string { return filepath.Join(d.Root, "storage") }
