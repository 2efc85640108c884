package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FreezeTimeout is how long Freeze waits for the kernel to report every
// process of the cgroup frozen (or thawed); a variable for tests.
var FreezeTimeout = 5 * time.Second

// ErrNoFreezer is a cgroup without cgroup.freeze: not a cgroup v2 one
// (or the root of the hierarchy, which cannot be frozen).
var ErrNoFreezer = errors.New("the cgroup has no cgroup.freeze (cgroup v2's freezer)")

// Freeze freezes (on) or thaws (!on) the cgroup dir and its descendants
// through cgroup v2's freezer: it writes cgroup.freeze, then waits until
// cgroup.events says "frozen 1" (or "frozen 0"), which the kernel reports
// once every process of the subtree has stopped (or may run again).
// Writing the value the cgroup already has is harmless.
func Freeze(dir string, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	if err := WriteFile(dir, "cgroup.freeze", v); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", dir, ErrNoFreezer)
		}
		return err
	}
	deadline := time.Now().Add(FreezeTimeout)
	for {
		ev, err := ReadKeyed(filepath.Join(dir, "cgroup.events"))
		if err != nil {
			return err
		}
		if (ev["frozen"] == 1) == on {
			return nil
		}
		if time.Now().After(deadline) {
			what := "thawed"
			if on {
				what = "frozen"
			}
			return fmt.Errorf("cgroup %s: not %s after %s (cgroup.events)", dir, what, FreezeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Frozen reports whether the cgroup dir is asked to be frozen (its
// cgroup.freeze is 1); false for a cgroup that is gone or has no freezer.
func Frozen(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
