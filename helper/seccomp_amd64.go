package helper

import "golang.org/x/sys/unix"

// auditArch is the architecture the filter admits.
const auditArch = unix.AUDIT_ARCH_X86_64

// allowedSyscalls are the system calls the helper makes once confined
// (seen with strace over the whole helper tier, plus their close
// relatives), in groups: memory and threads (the Go runtime, and glibc's
// for cgo), signals, files (the ledger, net sysctls, the lock), polling,
// sockets (netlink, nftables, bind tests, the bus; never connect, so no
// new connection to anything), time. Absent on purpose: execve and every
// way to start a process, ptrace, mount, module and BPF calls, keyrings,
// io_uring, userfaultfd, unshare, prctl, capset, connect.
var allowedSyscalls = []uint32{
	unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MADVISE, unix.SYS_MREMAP, unix.SYS_BRK,
	unix.SYS_FUTEX, unix.SYS_SET_ROBUST_LIST, unix.SYS_RSEQ, unix.SYS_EXIT, unix.SYS_EXIT_GROUP,
	unix.SYS_GETTID, unix.SYS_GETPID, unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY,
	unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_CLOCK_GETRES,
	unix.SYS_GETTIMEOFDAY, unix.SYS_GETRANDOM, unix.SYS_RESTART_SYSCALL, unix.SYS_UNAME,
	unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID,
	unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_READV,
	unix.SYS_WRITEV, unix.SYS_LSEEK, unix.SYS_FCNTL, unix.SYS_DUP, unix.SYS_DUP3, unix.SYS_FSTAT,
	unix.SYS_NEWFSTATAT, unix.SYS_STATX, unix.SYS_OPENAT, unix.SYS_GETDENTS64, unix.SYS_FSYNC,
	unix.SYS_FDATASYNC, unix.SYS_FTRUNCATE, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_UNLINKAT,
	unix.SYS_MKDIRAT, unix.SYS_FCHMOD, unix.SYS_FLOCK, unix.SYS_FCHOWN, unix.SYS_STATFS,
	unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_CTL,
	unix.SYS_EPOLL_CREATE1, unix.SYS_EVENTFD2, unix.SYS_PIPE2,
	unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_ACCEPT4, unix.SYS_SENDMSG, unix.SYS_RECVMSG, unix.SYS_SENDTO,
	unix.SYS_RECVFROM, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_GETSOCKOPT,
	unix.SYS_SETSOCKOPT, unix.SYS_SHUTDOWN,
}

// argRules are the calls allowed only with some arguments: threads, not
// processes and no new namespaces (clone with CLONE_THREAD; clone3, whose flags a filter cannot
// read, is ENOSYS and glibc falls back to clone); sockets of the families
// the helper uses; setns into network namespaces only; the namespace
// ioctls; signals and resource limits for itself only (uid 0 may signal
// any root process).
func argRules(pid int) []argRule {
	self := uint32(pid)
	return []argRule{
		{nr: unix.SYS_CLONE, arg: 0, mask: unix.CLONE_THREAD, deny: unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP |
			unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET},
		{nr: unix.SYS_SOCKET, arg: 0, values: []uint32{unix.AF_NETLINK, unix.AF_INET, unix.AF_INET6}},
		{nr: unix.SYS_SETNS, arg: 1, values: []uint32{unix.CLONE_NEWNET}},
		{nr: unix.SYS_IOCTL, arg: 1, values: []uint32{unix.NS_GET_USERNS, unix.NS_GET_NSTYPE, unix.NS_GET_OWNER_UID}},
		{nr: unix.SYS_TGKILL, arg: 0, values: []uint32{self}},
		{nr: unix.SYS_KILL, arg: 0, values: []uint32{self}},
		{nr: unix.SYS_PRLIMIT64, arg: 0, values: []uint32{0, self}},
		// Whether a pidfd's process lives (DelegateCgroup): signal 0 only.
		{nr: unix.SYS_PIDFD_SEND_SIGNAL, arg: 1, values: []uint32{0}},
	}
}
