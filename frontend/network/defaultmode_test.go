package network

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPastaVersionTrusted(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{"pasta unknown version\nCopyright Red Hat\n", false}, // Debian 12's 0.0~git20230309
		{"pasta 0.0~git20230309.7c7625d-1\n", false},
		{"pasta 0.0~git20230625.32660ce-1\n", true},
		{"pasta 2024_06_24.1ee2eca\nCopyright Red Hat\n", true},
		{"pasta 2023_03_09.abcdef\n", false},
		{"pasta 2025_01_21.4f2c8e7-1.fc41\n", true},
		{"passt 2024_06_24.1ee2eca\n", false},
		{"pasta\n", false},
		{"pasta 2024\n", false},
		{"", false},
	} {
		if got := pastaVersionTrusted(tc.out); got != tc.want {
			t.Errorf("pastaVersionTrusted(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

// TestDefaultMode runs DefaultMode against stand-in tools in PATH.
func TestDefaultMode(t *testing.T) {
	tool := func(dir, name, version string) {
		t.Helper()
		script := "#!/bin/sh\necho '" + version + "'\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name         string
		pasta, slirp string // version output; "" = not installed
		want         string
		wantErr      error
	}{
		{"new pasta and slirp4netns", "pasta 2024_06_24.1ee2eca", "slirp4netns version 1.2.0", ModePasta, nil},
		{"new pasta only", "pasta 2024_06_24.1ee2eca", "", ModePasta, nil},
		{"old pasta and slirp4netns", "pasta unknown version", "slirp4netns version 1.2.0", ModeSlirp4netns, nil},
		{"old pasta only", "pasta unknown version", "", ModePasta, nil},
		{"slirp4netns only", "", "slirp4netns version 1.2.0", ModeSlirp4netns, nil},
		{"neither", "", "", "", ErrNoNetworkTool},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.pasta != "" {
				tool(dir, ModePasta, tc.pasta)
			}
			if tc.slirp != "" {
				tool(dir, ModeSlirp4netns, tc.slirp)
			}
			t.Setenv("PATH", dir)
			t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
			got, err := DefaultMode()
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("DefaultMode() = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestPastaVerdictCache: pasta's --version is asked once per binary and
// session; a replaced binary, a damaged file or no runtime directory
// asks again.
func TestPastaVerdictCache(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	tool := func(name, version string) {
		t.Helper()
		script := "#!/bin/sh\necho x >> " + calls + "\necho '" + version + "'\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	asked := func() int {
		b, _ := os.ReadFile(calls)
		return len(b) / 2
	}
	check := func(want string, wantAsked int) {
		t.Helper()
		if got, err := DefaultMode(); got != want || err != nil {
			t.Fatalf("DefaultMode() = %q, %v; want %q", got, err, want)
		}
		if n := asked(); n != wantAsked {
			t.Fatalf("pasta --version run %d times, want %d", n, wantAsked)
		}
	}
	tool(ModePasta, "pasta 2024_06_24.1ee2eca")
	tool(ModeSlirp4netns, "slirp4netns version 1.2.0")
	t.Setenv("PATH", dir)
	rt := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", rt)
	check(ModePasta, 1)
	check(ModePasta, 1)
	// Replaced by an old build (its identity changes).
	tool(ModePasta, "pasta unknown version and more")
	check(ModeSlirp4netns, 2)
	check(ModeSlirp4netns, 2)
	// A file this code did not write.
	if err := os.WriteFile(filepath.Join(rt, "myctr", "pasta-verdict"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(ModeSlirp4netns, 3)
	check(ModeSlirp4netns, 3)
	t.Setenv("XDG_RUNTIME_DIR", "")
	check(ModeSlirp4netns, 4)
	check(ModeSlirp4netns, 5)
}
