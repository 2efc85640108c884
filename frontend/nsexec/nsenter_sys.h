// The little that nsenter.c needs of a C library, without one: system
// calls made directly (each returns the kernel's value, a negative errno
// on failure, never touching a global errno), string helpers, and the C
// library's texts of the errors the constructor may report.
//
// Why no C library: myctr-init is a pure Go program whose ELF entry point
// runs the constructor before the Go runtime (frontend/nsexec/preinit), so
// that no container start pays for a C library's and cgo's start-up (about
// 0.5 ms per process here, most of it the C library's CPU feature probing
// and pthread-made threads). The same source is the constructor of the cgo
// builds (myctr, myctr-runtime, the tests), run by the C library's
// start-up, where it uses the C library for nothing either.
//
// Rules for this file and nsenter.c, which the freestanding build checks
// (preinit/build.sh): no writable global or static data (there is no
// writable section to put it in), no call the compiler would make to
// memcpy or memset (no struct copies, no large initialisers), no jump
// tables; everything static but the entry points.
#ifndef MYCTR_NSENTER_SYS_H
#define MYCTR_NSENTER_SYS_H

#include <stddef.h>
#include <asm/unistd.h>
#include <linux/errno.h>

typedef long myctr_ssize;

#if defined(__x86_64__)
static inline long myctr_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long myctr_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#else
#error "nsenter_sys.h: no system call wrapper for this architecture"
#endif

#define MYCTR_SYS(n, a, b, c, d, e, f) \
	myctr_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline myctr_ssize sys_read(int fd, void *buf, size_t n) { return MYCTR_SYS(__NR_read, fd, buf, n, 0, 0, 0); }
static inline myctr_ssize sys_write(int fd, const void *buf, size_t n) { return MYCTR_SYS(__NR_write, fd, buf, n, 0, 0, 0); }
static inline int sys_close(int fd) { return (int)MYCTR_SYS(__NR_close, fd, 0, 0, 0, 0, 0); }
static inline int sys_pipe2(int fds[2], int flags) { return (int)MYCTR_SYS(__NR_pipe2, fds, flags, 0, 0, 0, 0); }
static inline int sys_dup3(int old, int new, int flags) { return (int)MYCTR_SYS(__NR_dup3, old, new, flags, 0, 0, 0); }
static inline int sys_fcntl(int fd, int cmd, long arg) { return (int)MYCTR_SYS(__NR_fcntl, fd, cmd, arg, 0, 0, 0); }
static inline int sys_getpid(void) { return (int)MYCTR_SYS(__NR_getpid, 0, 0, 0, 0, 0, 0); }
static inline int sys_kill(int pid, int sig) { return (int)MYCTR_SYS(__NR_kill, pid, sig, 0, 0, 0, 0); }
static inline int sys_setns(int fd, int flags) { return (int)MYCTR_SYS(__NR_setns, fd, flags, 0, 0, 0, 0); }
static inline int sys_unshare(int flags) { return (int)MYCTR_SYS(__NR_unshare, flags, 0, 0, 0, 0, 0); }
static inline int sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return (int)MYCTR_SYS(__NR_prctl, op, a, b, c, d, 0);
}
static inline int sys_capset(void *hdr, void *data) { return (int)MYCTR_SYS(__NR_capset, hdr, data, 0, 0, 0, 0); }
static inline int sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)MYCTR_SYS(__NR_close_range, first, last, flags, 0, 0, 0);
}
static inline int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)MYCTR_SYS(__NR_execve, path, argv, envp, 0, 0, 0);
}
static inline int sys_wait4(int pid, int *status, int options) { return (int)MYCTR_SYS(__NR_wait4, pid, status, options, 0, 0, 0); }
static inline myctr_ssize sys_sendto(int fd, const void *buf, size_t n, int flags)
{
	return MYCTR_SYS(__NR_sendto, fd, buf, n, flags, 0, 0);
}
static inline myctr_ssize sys_recvfrom(int fd, void *buf, size_t n, int flags)
{
	return MYCTR_SYS(__NR_recvfrom, fd, buf, n, flags, 0, 0);
}
static inline int sys_rt_sigprocmask(int how, const unsigned long *set, unsigned long *old)
{
	return (int)MYCTR_SYS(__NR_rt_sigprocmask, how, set, old, sizeof(unsigned long), 0, 0);
}
// sys_rt_sigtimedwait waits for a signal of set, with no timeout; info is
// room for a siginfo_t (128 bytes).
static inline int sys_rt_sigtimedwait(const unsigned long *set, void *info)
{
	return (int)MYCTR_SYS(__NR_rt_sigtimedwait, set, info, 0, sizeof(unsigned long), 0, 0);
}
// sys_fork is fork(2) as clone(2) with flags (SIGCHLD, and CLONE_PARENT
// for the container's init): the child runs on a copy of this stack.
static inline int sys_fork(unsigned long flags) { return (int)MYCTR_SYS(__NR_clone, flags, 0, 0, 0, 0, 0); }
static inline __attribute__((noreturn)) void sys_exit(int code)
{
	for (;;)
		MYCTR_SYS(__NR_exit_group, code, 0, 0, 0, 0, 0);
}

// Signal numbers and masks as the kernel has them (the C library's
// sigset_t is larger; the kernel's is one word on every architecture
// Linux has for 64 bits).
#define MYCTR_SIGINT 2
#define MYCTR_SIGQUIT 3
#define MYCTR_SIGKILL 9
#define MYCTR_SIGUSR1 10
#define MYCTR_SIGUSR2 12
#define MYCTR_SIGTERM 15
#define MYCTR_SIGCHLD 17
#define MYCTR_SIGCONT 18
#define MYCTR_SIGTSTP 20
#define MYCTR_SIGWINCH 28
#define MYCTR_SIGHUP 1
#define MYCTR_SIG_BLOCK 0
#define MYCTR_SIG_SETMASK 2
#define MYCTR_SIGBIT(s) (1UL << ((s)-1))

// The wait status macros, as the C library defines them.
#define MYCTR_WIFEXITED(st) (((st)&0x7f) == 0)
#define MYCTR_WEXITSTATUS(st) (((st)&0xff00) >> 8)
#define MYCTR_WIFSIGNALED(st) (((signed char)(((st)&0x7f) + 1) >> 1) > 0)
#define MYCTR_WTERMSIG(st) ((st)&0x7f)
#define MYCTR_WNOHANG 1

// Socket flags (the kernel's values; no UAPI header has them).
#define MYCTR_MSG_TRUNC 0x20
#define MYCTR_MSG_NOSIGNAL 0x4000

static inline size_t my_strlen(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

static inline int my_strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static inline int my_memeq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static inline void my_memzero(void *p, size_t n)
{
	volatile unsigned char *b = p; // volatile: not turned into a memset call
	for (size_t i = 0; i < n; i++)
		b[i] = 0;
}

// my_contains reports whether needle occurs in s.
static inline int my_contains(const char *s, const char *needle)
{
	size_t n = my_strlen(needle);
	for (; *s != '\0'; s++)
		if (my_memeq(s, needle, n))
			return 1;
	return n == 0;
}

// my_getenv is getenv(3) over envp; the first definition wins, as the C
// library's getenv finds it.
static inline const char *my_getenv(char **envp, const char *name)
{
	size_t n = my_strlen(name);
	for (; envp != NULL && *envp != NULL; envp++)
		if (my_memeq(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

// my_parse_uint parses s, decimal digits only (no sign, space or other
// text), into *v; -EINVAL if s is not that or the value exceeds max.
static inline int my_parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned long d = (unsigned long)(*s - '0');
		if (x > (max - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	if (*s != '\0')
		return -EINVAL;
	*v = x;
	return 0;
}

// A string being built in a fixed buffer: what does not fit is dropped,
// the text stays terminated.
struct my_buf {
	char *p;
	size_t cap; // the buffer's size, terminator included
	size_t len;
};

static inline void my_buf_init(struct my_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	p[0] = '\0';
}

// my_buf_fits reports whether n more bytes fit.
static inline int my_buf_fits(const struct my_buf *b, size_t n) { return b->len + n < b->cap; }

static inline void my_buf_addn(struct my_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && b->len + 1 < b->cap; i++)
		b->p[b->len++] = s[i];
	b->p[b->len] = '\0';
}

static inline void my_buf_add(struct my_buf *b, const char *s) { my_buf_addn(b, s, my_strlen(s)); }

static inline void my_buf_int(struct my_buf *b, long v)
{
	char d[24];
	int i = (int)sizeof(d);
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	my_buf_addn(b, d + i, sizeof(d) - (size_t)i);
}

// my_buf_json adds s as the inside of a JSON string: quote, backslash and
// control characters escaped, an escape never cut in half, and never more
// than limit bytes in the buffer in all.
static inline void my_buf_json(struct my_buf *b, const char *s, size_t limit)
{
	static const char hex[] = "0123456789abcdef";
	if (limit > b->cap)
		limit = b->cap;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t el = 0;
		if (c == '"' || c == '\\') {
			esc[el++] = '\\';
			esc[el++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			esc[el++] = '\\';
			esc[el++] = 'u';
			esc[el++] = '0';
			esc[el++] = '0';
			esc[el++] = hex[c >> 4];
			esc[el++] = hex[c & 15];
		} else {
			esc[el++] = (char)c;
		}
		if (b->len + el >= limit)
			break;
		my_buf_addn(b, esc, el);
	}
}

// my_buf_strerror adds the C library's text for the errors the constructor can
// meet (glibc's wording, which the messages always had), else glibc's
// "Unknown error N".
static inline void my_buf_strerror(struct my_buf *b, int err)
{
	const char *s = NULL;
	switch (err) {
	case EPERM: s = "Operation not permitted"; break;
	case ENOENT: s = "No such file or directory"; break;
	case ESRCH: s = "No such process"; break;
	case EINTR: s = "Interrupted system call"; break;
	case EIO: s = "Input/output error"; break;
	case E2BIG: s = "Argument list too long"; break;
	case ENOEXEC: s = "Exec format error"; break;
	case EBADF: s = "Bad file descriptor"; break;
	case ECHILD: s = "No child processes"; break;
	case EAGAIN: s = "Resource temporarily unavailable"; break;
	case ENOMEM: s = "Cannot allocate memory"; break;
	case EACCES: s = "Permission denied"; break;
	case EFAULT: s = "Bad address"; break;
	case EBUSY: s = "Device or resource busy"; break;
	case EEXIST: s = "File exists"; break;
	case ENOTDIR: s = "Not a directory"; break;
	case EISDIR: s = "Is a directory"; break;
	case EINVAL: s = "Invalid argument"; break;
	case ENFILE: s = "Too many open files in system"; break;
	case EMFILE: s = "Too many open files"; break;
	case ETXTBSY: s = "Text file busy"; break;
	case ENOSPC: s = "No space left on device"; break;
	case EROFS: s = "Read-only file system"; break;
	case EPIPE: s = "Broken pipe"; break;
	case ERANGE: s = "Numerical result out of range"; break;
	case ENAMETOOLONG: s = "File name too long"; break;
	case ENOSYS: s = "Function not implemented"; break;
	case ELOOP: s = "Too many levels of symbolic links"; break;
	case EPROTO: s = "Protocol error"; break;
	case EUSERS: s = "Too many users"; break;
	case ENOTSOCK: s = "Socket operation on non-socket"; break;
	case EMSGSIZE: s = "Message too long"; break;
	case EOPNOTSUPP: s = "Operation not supported"; break;
	case ECONNRESET: s = "Connection reset by peer"; break;
	case ENOTCONN: s = "Transport endpoint is not connected"; break;
	case ECONNREFUSED: s = "Connection refused"; break;
	}
	if (s != NULL) {
		my_buf_add(b, s);
		return;
	}
	my_buf_add(b, "Unknown error ");
	my_buf_int(b, err);
}

#endif
