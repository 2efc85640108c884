package security

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capsOf returns the capability numbers of names; a name not known is
// left out (names are checked by NormalizeCap when the spec is made).
func capsOf(names []string) []capability.Cap {
	out := make([]capability.Cap, 0, len(names))
	for _, n := range names {
		if v, ok := capNames[n]; ok {
			out = append(out, v)
		}
	}
	return out
}

// DropBounding removes from the bounding set every capability not in keep,
// so that nothing the container executes can regain it.
//
// moby/sys/capability asks the kernel for the last capability with
// PR_CAPBSET_READ rather than reading /proc/sys/kernel/cap_last_cap, so
// this works under a Landlock ruleset that denies /proc. Its Apply drops
// nothing without CAP_SETPCAP, so the result is read back: a capability
// left in the bounding set is an error, never a silent success.
//
// Preconditions: the calling goroutine is locked to its thread, and that
// thread will execve; capability sets are per thread.
func DropBounding(keep []string) error {
	c, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	c.Set(capability.BOUNDING, capsOf(keep)...)
	if err := c.Apply(capability.BOUNDS); err != nil {
		return fmt.Errorf("drop capabilities from the bounding set: %w", err)
	}
	last, err := capability.LastCap()
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	for v := capability.Cap(0); v <= last; v++ {
		if c.Get(capability.BOUNDING, v) {
			continue
		}
		if in, err := capability.GetBound(v); err != nil || in {
			return fmt.Errorf("capability %s is still in the bounding set (%v)", v, err)
		}
	}
	return nil
}

// SetCaps sets the effective, permitted and inheritable sets, and the
// ambient set, of the calling thread.
//
// Preconditions: as DropBounding; call it after the final setuid.
func SetCaps(sets *specs.LinuxCapabilities) error {
	c, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	c.Set(capability.EFFECTIVE, capsOf(sets.Effective)...)
	c.Set(capability.PERMITTED, capsOf(sets.Permitted)...)
	c.Set(capability.INHERITABLE, capsOf(sets.Inheritable)...)
	c.Set(capability.AMBIENT, capsOf(sets.Ambient)...)
	if err := c.Apply(capability.CAPS | capability.AMBS); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	return nil
}

// NoNewPrivileges sets no_new_privs on the calling thread.
func NoNewPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// Load installs the filter on the calling thread, which keeps it across
// execve and passes it to every process it starts. Without no_new_privs
// the kernel asks for CAP_SYS_ADMIN in the thread's user namespace, which
// the container's init and an exec stage hold until they set the
// process's own capabilities (see startProcess).
//
// Preconditions: the calling goroutine is locked to its thread, and that
// thread will execve.
func (f *SeccompFilter) Load() error {
	prog, err := DecodeBPF(f.Program)
	if err != nil {
		return err
	}
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return fmt.Errorf("seccomp program of %d instructions", len(prog))
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(f.Flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("load seccomp filter: %w", errno)
	}
	return nil
}
