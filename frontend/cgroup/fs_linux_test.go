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
	if !w.Stop(false) {
		t.Error("Stop() = false after oom_kill 1")
	}

	quiet := t.TempDir()
	os.WriteFile(filepath.Join(quiet, "memory.events"), []byte("oom 0\noom_kill 0\n"), 0o644)
	if w := WatchOOM(quiet); w.Stop(true) {
		t.Error("Stop() = true without an OOM kill")
	}
	// No memory controller: no watch, and no OOM.
	if w := WatchOOM(t.TempDir()); w != nil || w.Stop(true) {
		t.Error("a watch without memory.events")
	}
}

// TestOOMWatchGoneFirst: the cgroup (and its scope) went before the watch
// saw the kill; for an init that died of SIGKILL, the closest ancestor
// still there answers, by the OOM kills it counted since the watch began.
func TestOOMWatchGoneFirst(t *testing.T) {
	for _, tc := range []struct {
		name      string
		killed    bool
		sliceKill string
		want      bool
	}{
		{"SIGKILL, a kill in the slice", true, "6", true},
		{"SIGKILL, none in the slice", true, "5", false},
		{"no SIGKILL", false, "6", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slice := t.TempDir()
			scope := filepath.Join(slice, "x.scope")
			leaf := filepath.Join(scope, "container")
			if err := os.MkdirAll(leaf, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{slice, scope, leaf} {
				if err := os.WriteFile(filepath.Join(d, "memory.events"), []byte("oom 0\noom_kill "+map[bool]string{true: "5", false: "0"}[d == slice]+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w := WatchOOM(leaf)
			if w == nil {
				t.Fatal("no watch")
			}
			// systemd removes the scope with its leaf; the slice stays.
			if err := os.RemoveAll(scope); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(slice, "memory.events"), []byte("oom 1\noom_kill "+tc.sliceKill+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := w.Stop(tc.killed); got != tc.want {
				t.Errorf("Stop(%v) = %v, want %v", tc.killed, got, tc.want)
			}
		})
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
