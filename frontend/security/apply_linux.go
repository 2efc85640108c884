package security

import (
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// lastCap is the highest capability the running kernel knows: the last
// one PR_CAPBSET_READ accepts (it answers EINVAL past the end). Asked of
// the kernel, not read from /proc/sys/kernel/cap_last_cap: a Landlock
// ruleset enforced before the bounding set is dropped may deny /proc.
func lastCap() uint {
	c := uint(0)
	for ; c < 64; c++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			break
		}
	}
	if c == 0 {
		return 40
	}
	return c - 1
}

func mask(names []string) (lo, hi uint32) {
	for _, n := range names {
		if v, ok := capNames[n]; ok {
			if v < 32 {
				lo |= 1 << v
			} else {
				hi |= 1 << (v - 32)
			}
		}
	}
	return lo, hi
}

// DropBounding removes from the bounding set every capability not in keep,
// so that nothing the container executes can regain it.
//
// Preconditions: the calling goroutine is locked to its thread, and that
// thread will execve; capability sets are per thread.
func DropBounding(keep []string) error {
	lo, hi := mask(keep)
	last := lastCap()
	for c := uint(0); c <= last; c++ {
		var in bool
		if c < 32 {
			in = lo&(1<<c) != 0
		} else {
			in = hi&(1<<(c-32)) != 0
		}
		if in {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// SetCaps sets the effective, permitted and inheritable sets, and the
// ambient set, of the calling thread.
//
// Preconditions: as DropBounding; call it after the final setuid.
func SetCaps(c *specs.LinuxCapabilities) error {
	var data [2]unix.CapUserData
	set := func(names []string, f func(i int, v uint32)) {
		lo, hi := mask(names)
		f(0, lo)
		f(1, hi)
	}
	set(c.Effective, func(i int, v uint32) { data[i].Effective = v })
	set(c.Permitted, func(i int, v uint32) { data[i].Permitted = v })
	set(c.Inheritable, func(i int, v uint32) { data[i].Inheritable = v })
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, n := range c.Ambient {
		v, ok := capNames[n]
		if !ok {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(v), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w", n, err)
		}
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
