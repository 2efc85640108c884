//go:build !amd64

package helper

// No list of system calls is kept for this architecture yet: Confine
// installs no filter and says so.
const auditArch = 0

var allowedSyscalls []uint32

func argRules(pid int) []argRule { return nil }
