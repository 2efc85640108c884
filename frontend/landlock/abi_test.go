package landlock

import (
	"errors"
	"strings"
	"testing"
)

// TestDecide: what a start does on kernels with each Landlock ABI (faked:
// this host has one), best effort and strict.
func TestDecide(t *testing.T) {
	fs, _ := Parse("ro:/,rw:/tmp,exec:/bin")
	ro, _ := Parse("ro:/,exec:/bin")
	net, _ := Parse("net:connect=443")
	both, _ := Parse("ro:/,rw:/tmp,net:bind=80")
	cases := []struct {
		name    string
		abi     int
		r       *Ruleset
		warning string // "" none; else a part of the warning
		need    int    // with strict: 0 no error, else the ABI the error names
	}{
		{"fs on 7", 7, fs, "", 0},
		{"fs on 3", 3, fs, "", 0},
		{"fs on 2", 2, fs, "Landlock ABI 2: truncation not restricted", 3},
		{"fs on 1", 1, fs, "Landlock ABI 1: files cannot be renamed or linked between directories, even under rw paths; truncation not restricted", 3},
		{"ro on 1", 1, ro, "Landlock ABI 1: truncation not restricted", 3},
		{"fs without Landlock", 0, fs, "Landlock is not available on this kernel: filesystem rules not enforced", 3},
		{"net on 4", 4, net, "", 0},
		{"net on 3", 3, net, "Landlock ABI 3: TCP rules not enforced", 4},
		{"net without Landlock", 0, net, "not available on this kernel: TCP rules not enforced", 4},
		{"both on 5", 5, both, "", 0},
		{"both on 3", 3, both, "Landlock ABI 3: TCP rules not enforced", 4},
		{"both on 0", 0, both, "filesystem rules not enforced; TCP rules not enforced", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			warning, err := Decide(c.abi, c.r, false)
			if err != nil {
				t.Fatalf("best effort: %v", err)
			}
			if (c.warning == "") != (warning == "") || !strings.Contains(warning, c.warning) || strings.Contains(warning, "\n") {
				t.Errorf("warning %q, want one line with %q", warning, c.warning)
			}
			warning, err = Decide(c.abi, c.r, true)
			if warning != "" {
				t.Errorf("strict: warning %q, want none", warning)
			}
			if c.need == 0 {
				if err != nil {
					t.Errorf("strict: %v, want no error", err)
				}
				return
			}
			var se *StrictError
			if !errors.Is(err, ErrUnsupported) || !errors.As(err, &se) || se.Need != c.need {
				t.Fatalf("strict: %v, want a StrictError needing ABI %d", err, c.need)
			}
			if h := se.Hint(); !strings.Contains(h, abiLinux[c.need]) || !strings.Contains(h, "landlock-strict") {
				t.Errorf("hint %q, want the Linux release of ABI %d and landlock-strict", h, c.need)
			}
		})
	}
}

func TestNeed(t *testing.T) {
	for in, want := range map[string]int{"ro:/": 3, "exec:/bin": 3, "net:bind=1": 4, "rw:/,net:connect=1": 4} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Need(r); got != want {
			t.Errorf("Need(%s) = %d, want %d", in, got, want)
		}
	}
	if Need(nil) != 0 {
		t.Error("Need(nil) != 0")
	}
}
