package landlock

import (
	"fmt"
	"strings"
)

// The Landlock ABI versions the rules need, and the Linux release that
// brought each.
const (
	// abiRefer (Linux 5.19) lets rw paths rename and link files between
	// directories; before it the kernel denies that everywhere.
	abiRefer = 2
	// abiTruncate (Linux 6.2) restricts truncate(2) and O_TRUNC; before
	// it a file a process can open for reading it can truncate.
	abiTruncate = 3
	// abiNet (Linux 6.7) restricts TCP bind and connect.
	abiNet = 4
)

var abiLinux = map[int]string{1: "5.13", 2: "5.19", 3: "6.2", 4: "6.7"}

// Need is the Landlock ABI that enforces every rule of r: 3 for
// filesystem groups, 4 for net groups, 0 for none.
func Need(r *Ruleset) int {
	switch {
	case r.Net():
		return abiNet
	case r.FS():
		return abiTruncate
	}
	return 0
}

// Missing says what a kernel with Landlock ABI abi (0: none, or disabled)
// does not enforce of r: nothing when it enforces everything.
func Missing(abi int, r *Ruleset) []string {
	var m []string
	if abi < 1 {
		if r.FS() {
			m = append(m, "filesystem rules not enforced")
		}
		if r.Net() {
			m = append(m, "TCP rules not enforced")
		}
		return m
	}
	if r.FS() && abi < abiRefer && len(r.RW) > 0 {
		m = append(m, "files cannot be renamed or linked between directories, even under rw paths")
	}
	if r.FS() && abi < abiTruncate {
		m = append(m, "truncation not restricted")
	}
	if r.Net() && abi < abiNet {
		m = append(m, "TCP rules not enforced")
	}
	return m
}

// Decide is what a start does with r on a kernel with Landlock ABI abi:
// a warning line to print (best effort), or, with strict, an error (a
// Hinter, with the fix) when the kernel does not enforce all of it.
func Decide(abi int, r *Ruleset, strict bool) (warning string, err error) {
	m := Missing(abi, r)
	if len(m) == 0 {
		return "", nil
	}
	what := fmt.Sprintf("Landlock ABI %d", abi)
	if abi < 1 {
		what = "Landlock is not available on this kernel"
	}
	if strict {
		return "", &StrictError{ABI: abi, Need: Need(r), Missing: m}
	}
	return what + ": " + strings.Join(m, "; ") + " (landlock-strict makes this an error)", nil
}

// StrictError is a kernel that does not enforce all of a landlock-strict
// container's rules.
type StrictError struct {
	ABI, Need int
	Missing   []string
}

func (e *StrictError) Error() string {
	have := fmt.Sprintf("Landlock ABI %d", e.ABI)
	if e.ABI < 1 {
		have = "no Landlock"
	}
	return fmt.Sprintf("%s: this kernel has %s, the rules need ABI %d: %s", ErrUnsupported, have, e.Need, strings.Join(e.Missing, "; "))
}

func (e *StrictError) Unwrap() error { return ErrUnsupported }

// Hint is the fix (container.Hinter).
func (e *StrictError) Hint() string {
	if e.ABI < 1 {
		return fmt.Sprintf("Landlock needs Linux %s or later built with CONFIG_SECURITY_LANDLOCK and \"landlock\" in the lsm= boot parameter; or drop landlock-strict to run without it", abiLinux[e.Need])
	}
	return fmt.Sprintf("ABI %d comes with Linux %s; or drop landlock-strict to run with what this kernel enforces", e.Need, abiLinux[e.Need])
}
