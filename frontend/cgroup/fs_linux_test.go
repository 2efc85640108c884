package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOOMWatch(t *testing.T) {
	dir := t.TempDir()
	ev := filepath.Join(dir, "memory.events")
	if err := os.WriteFile(ev, []byte("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := WatchOOM(dir)
	if w == nil {
		t.Fatal("no watch on an existing memory.events")
	}
	if err := os.WriteFile(ev, []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The cgroup goes (systemd removes the scope) before the monitor
	// looks: the kill seen while it lived still counts.
	waitRead(t, w)
	os.Remove(ev)
	if !w.Stop() {
		t.Error("Stop() = false after oom_kill 1")
	}

	quiet := t.TempDir()
	os.WriteFile(filepath.Join(quiet, "memory.events"), []byte("oom 0\noom_kill 0\n"), 0o644)
	if w := WatchOOM(quiet); w.Stop() {
		t.Error("Stop() = true without an OOM kill")
	}
	// No memory controller: no watch, and no OOM.
	if w := WatchOOM(t.TempDir()); w != nil || w.Stop() {
		t.Error("a watch without memory.events")
	}
}

// waitRead waits until the watch has read the file once more.
func waitRead(t *testing.T, w *OOMWatch) {
	t.Helper()
	for i := 0; i < 200; i++ {
		w.mu.Lock()
		k := w.kills
		w.mu.Unlock()
		if k > 0 {
			return
		}
		if i == 199 {
			t.Fatal("the watch never saw the change")
		}
		sleepMs(10)
	}
}

func TestWriteFileRefusesPaths(t *testing.T) {
	if err := WriteFile(t.TempDir(), "../cgroup.procs", "1"); err == nil || !strings.Contains(err.Error(), "not a plain name") {
		t.Errorf("WriteFile with a path: %v", err)
	}
	// A file that is not there is never created.
	dir := t.TempDir()
	if err := WriteFile(dir, "memory.max", "1"); err == nil {
		t.Error("WriteFile created memory.max")
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.max")); !os.IsNotExist(err) {
		t.Errorf("memory.max exists: %v", err)
	}
}

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
