// Package names holds the rules myctr's stores share for what users name
// and what myctr identifies: containers, pods and volumes take Podman's
// name rule, and every object's id is 64 lowercase hex digits.
//
// The checks are written out rather than regular expressions: they run on
// every CLI start, where compiling a regexp costs more than the check.
package names

// MaxLen is the longest name Podman accepts.
const MaxLen = 253

// Valid reports whether n is a valid name: [a-zA-Z0-9][a-zA-Z0-9_.-]*,
// at most MaxLen bytes.
func Valid(n string) bool {
	if n == "" || len(n) > MaxLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// IsID reports whether s is a full id: 64 lowercase hex digits.
func IsID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
