package helper

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// Confine drops, for the rest of the process's life, what the helper does
// not need once it has started (configuration read, network namespace
// opened, ledger locked and read, bus connected, Landlock applied):
//
//   - capabilities: only CAP_NET_ADMIN (links, addresses, nftables, net
//     sysctls) and CAP_NET_BIND_SERVICE (low host ports) stay, and
//     CAP_SYS_ADMIN when netns= names a namespace to enter (setns); the
//     bounding, inheritable and ambient sets are emptied. dbus-daemon's
//     launch helper starts the helper as root with every capability, and
//     no unit is there to drop them;
//   - no_new_privs;
//   - a seccomp filter (seccomp_*.go): the system calls the helper makes,
//     some only with the arguments it uses; any other fails with ENOSYS
//     (EPERM for a refused argument), and the kernel logs it.
//
// Capabilities, the bounding set and no_new_privs belong to each thread:
// they are set on every thread at once (psx); the filter is installed on
// all threads by the kernel (TSYNC).
//
// The helper stays uid 0 on purpose: polkit answers only uid 0 about
// another process's authorization, and the ledger and /proc/sys/net are
// root's files. What uid 0 alone still allows (writing root's files,
// signalling root's processes) is closed by Landlock (only state_dir and
// /proc/sys/net) and by the filter (no kill but of itself, no ptrace, no
// exec). It returns one line for the log.
//
// With cgroupFS (the helper makes cgroups itself) it keeps CAP_SYS_NICE
// too: moving a process into a cgroup with the cpuset controller asks
// for it when the process holds capabilities the mover does not (a
// container's init holds all of them in its user namespace); the filter
// allows no call that changes scheduling.
func Confine(enterNetns, cgroupFS bool) (string, error) {
	// CAP_CHOWN: DelegateCgroup hands a scope's directory and its three
	// delegation files to the caller (through descriptors of files that
	// Landlock lets it open: only below /sys/fs/cgroup and the state dir).
	keep := uint64(1)<<unix.CAP_NET_ADMIN | 1<<unix.CAP_NET_BIND_SERVICE | 1<<unix.CAP_CHOWN
	if enterNetns {
		keep |= 1 << unix.CAP_SYS_ADMIN
	}
	if cgroupFS {
		keep |= 1 << unix.CAP_SYS_NICE
	}
	// Empty the bounding set while CAP_SETPCAP is still effective.
	for c := uintptr(0); ; c++ {
		in, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0)
		if e == unix.EINVAL {
			break // past the kernel's last capability
		}
		if e == 0 && in == 1 {
			if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); err != nil {
				return "", fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return "", fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		data[i].Effective = uint32(keep >> (32 * i))
		data[i].Permitted = data[i].Effective
	}
	err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if err != nil {
		return "", fmt.Errorf("capset: %w", err)
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return "", fmt.Errorf("no_new_privs: %w", err)
	}
	filter := "no seccomp filter on " + runtime.GOARCH
	if auditArch != 0 {
		prog := seccompProgram(os.Getpid())
		fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_LOG, uintptr(unsafe.Pointer(&fp)))
		runtime.KeepAlive(prog)
		if e != 0 {
			return "", fmt.Errorf("seccomp: %w", e)
		}
		filter = fmt.Sprintf("seccomp filter: %d system calls, others ENOSYS", len(allowedSyscalls)+len(argRules(0)))
	}
	return fmt.Sprintf("capabilities: effective=permitted=%s, bounding, inheritable, ambient empty; no_new_privs; %s",
		capNames(keep), filter), nil
}

// allThreads makes a system call on every thread of the process and
// fails if it fails on any (the arguments not given are zero, as prctl
// wants them).
func allThreads(nr, a1, a2, a3 uintptr) error {
	if _, _, e := psx.Syscall6(nr, a1, a2, a3, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

func capNames(set uint64) string {
	names := map[int]string{unix.CAP_CHOWN: "chown", unix.CAP_SYS_NICE: "sys_nice", unix.CAP_NET_ADMIN: "net_admin", unix.CAP_NET_BIND_SERVICE: "net_bind_service", unix.CAP_SYS_ADMIN: "sys_admin"}
	var out []string
	for c := range 64 {
		if set&(1<<c) != 0 {
			out = append(out, names[c])
		}
	}
	return strings.Join(out, ",")
}

// argRule lets a system call through only when the low 32 bits of one
// argument are one of values, or have all of mask's bits set and none of
// deny's.
type argRule struct {
	nr         uint32
	arg        uint32 // index
	values     []uint32
	mask, deny uint32
}

// seccompProgram assembles the filter: a wrong architecture kills the
// process (a 32-bit call would bypass the numbers below); an allowed call
// passes; a call with a rule passes if its argument does, else EPERM;
// anything else is ENOSYS (so that glibc falls back from clone3 to clone,
// whose flags can be checked).
func seccompProgram(pid int) []unix.SockFilter {
	const (
		ld    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		allow = unix.SECCOMP_RET_ALLOW
		eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enos  = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	// struct seccomp_data: nr at 0, arch at 4, args (u64) from 16; the
	// low half of an argument comes first on a little-endian machine.
	p := []unix.SockFilter{
		{Code: ld, K: 4},
		{Code: jeq, K: auditArch, Jt: 1},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: 0},
	}
	for _, nr := range allowedSyscalls {
		p = append(p, unix.SockFilter{Code: jeq, K: nr, Jf: 1}, unix.SockFilter{Code: ret, K: allow})
	}
	for _, r := range argRules(pid) {
		body := []unix.SockFilter{{Code: ld, K: 16 + 8*r.arg}}
		for _, v := range r.values {
			body = append(body, unix.SockFilter{Code: jeq, K: v, Jf: 1}, unix.SockFilter{Code: ret, K: allow})
		}
		if r.deny != 0 { // set: to the EPERM at the end, past the mask test
			body = append(body, unix.SockFilter{Code: jset, K: r.deny, Jt: 2})
		}
		if r.mask != 0 {
			body = append(body, unix.SockFilter{Code: jset, K: r.mask, Jf: 1}, unix.SockFilter{Code: ret, K: allow})
		}
		body = append(body, unix.SockFilter{Code: ret, K: eperm})
		p = append(p, unix.SockFilter{Code: jeq, K: r.nr, Jf: uint8(len(body))})
		p = append(p, body...)
	}
	return append(p, unix.SockFilter{Code: ret, K: enos})
}
