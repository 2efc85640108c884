package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeFreezer stands in for the kernel on a directory that stands in for
// a cgroup: once cgroup.freeze holds a value, after delay it writes that
// value as "frozen" into cgroup.events (never, with report false).
func fakeFreezer(t *testing.T, dir string, delay time.Duration, report bool) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		last := ""
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
			v := strings.TrimSpace(string(b))
			if v == last || !report {
				continue
			}
			last = v
			time.Sleep(delay)
			os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen "+v+"\n"), 0o644)
		}
	}()
}

func fakeCgroup(t *testing.T, freeze, frozen string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte(freeze+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen "+frozen+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFreeze(t *testing.T) {
	old := FreezeTimeout
	FreezeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { FreezeTimeout = old })
	for _, tc := range []struct {
		name           string
		freeze, frozen string // the cgroup's files before
		on             bool
		report         bool // the fake kernel reports the change
		wantErr        bool
		wantFile       string // cgroup.freeze after
	}{
		{name: "freeze", freeze: "0", frozen: "0", on: true, report: true, wantFile: "1"},
		{name: "thaw", freeze: "1", frozen: "1", on: false, report: true, wantFile: "0"},
		{name: "already frozen", freeze: "1", frozen: "1", on: true, wantFile: "1"},
		{name: "never frozen", freeze: "0", frozen: "0", on: true, report: false, wantErr: true, wantFile: "1"},
		{name: "never thawed", freeze: "1", frozen: "1", on: false, report: false, wantErr: true, wantFile: "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeCgroup(t, tc.freeze, tc.frozen)
			fakeFreezer(t, dir, 50*time.Millisecond, tc.report)
			start := time.Now()
			err := Freeze(dir, tc.on)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Freeze(%v) = %v, want error %v", tc.on, err, tc.wantErr)
			}
			if tc.report && time.Since(start) < 50*time.Millisecond {
				t.Errorf("Freeze returned after %s, before cgroup.events said so", time.Since(start))
			}
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
			if got := strings.TrimSpace(string(b)); got != tc.wantFile {
				t.Errorf("cgroup.freeze = %q, want %q", got, tc.wantFile)
			}
			if Frozen(dir) != (tc.wantFile == "1") {
				t.Errorf("Frozen() = %v with cgroup.freeze %q", Frozen(dir), tc.wantFile)
			}
		})
	}
}

func TestFreezeNoFreezer(t *testing.T) {
	dir := t.TempDir() // no cgroup.freeze: not a cgroup v2 directory
	if err := Freeze(dir, true); !errors.Is(err, ErrNoFreezer) {
		t.Errorf("Freeze on a directory without cgroup.freeze = %v, want ErrNoFreezer", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.freeze")); err == nil {
		t.Error("Freeze created cgroup.freeze")
	}
	if Frozen(dir) || Frozen(filepath.Join(dir, "gone")) {
		t.Error("Frozen() = true without cgroup.freeze")
	}
}
