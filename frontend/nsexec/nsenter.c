// Namespace work that must happen before the Go runtime starts threads:
// Go cannot unshare(2) or setns(2) a user or mount namespace once it is
// multi-threaded, so this constructor runs first, in every process of the
// myctr binary, and does nothing unless myctr's own environment asks.
//
// Init stage (_MYCTR_STAGE=init): become the container's init.
//   1. unshare(CLONE_NEWUSER): this process now holds every capability in the
//      new user namespace, without an execve that would recompute them.
//   2. unshare the namespaces _MYCTR_INIT_NS lists (from the spec's
//      namespaces: mnt and pid always, ipc, uts and net as the spec says;
//      the cgroup namespace comes later, in Go: see nsexec.Init);
//      none of that needs the id maps yet.
//      With _MYCTR_INIT_JOIN_FD (--network container:NAME), step 1 is instead
//      one setns(2) of that pidfd into the namespaces _MYCTR_INIT_JOIN_NS
//      lists (user and net: rootless, NAME's network namespace belongs to
//      its user namespace, so both are joined, as Podman does).
//      For myctr-runtime (_MYCTR_INIT_NSFDS or _MYCTR_INIT_USER set), step
//      1 follows the OCI spec instead: the namespaces with a path are
//      joined from descriptors the parent opened ("TYPE=FD,...", the user
//      namespace first, so the others are joined as its root), a new user
//      namespace is made only when the spec has one without a path, and
//      none with _MYCTR_INIT_USER=host (root, or a user's own namespace,
//      running a spec without one); the PID namespace may be the caller's.
//   3. clone(CLONE_PARENT): the child is PID 1 of the new PID namespace and a
//      child of myctr's monitor, not of us. We send its pid ("pid") and exit.
//      The child returns into the Go runtime, which starts while the parent
//      runs newuidmap/newgidmap on it, and reads its configuration (sent at
//      once), then waits for "proceed": the parent sends that only once
//      the maps are written.
//
// Join stage (_MYCTR_JOIN_PIDFD set): join the namespaces listed in
// _MYCTR_JOIN_NS of the process behind that pidfd in one setns(2) call (pidfd
// form, Linux 5.8+), and at once become non-dumpable. Joining a PID
// namespace only affects children, so with "pid" it forks: the child
// returns into Go inside every namespace, and this parent forwards signals
// to it and exits with its status.
//
// Why this is safe: every join stage (exec, signal, network-forward) is
// myctr's own binary, executed on the host, now in the container's user
// namespace and (exec) in its PID namespace, where the container's processes
// see it. Non-dumpable, and with its memory still owned by the host's user
// namespace (it was executed there), it cannot be ptraced, and its
// /proc/PID/exe, mem, environ, fd, cwd and root cannot be opened, by any
// process of the container, whatever capabilities that process holds in its
// own namespace. The child inherits the flag through fork; the execve of the
// container's command resets it for the command's own image. (The init stage
// is not made non-dumpable: myctr writes its id maps and opens its
// namespaces through /proc/PID as the user, and no container process exists
// before it executes the command.) The binary itself is a sealed memfd
// copy for the stages in the container's PID namespace (sealed_linux.go).
//
// With _MYCTR_JOIN_CAPS=net_admin (the port forwarder of frontend/network,
// which joins only the user and network namespaces), the process then keeps
// CAP_NET_ADMIN alone, in every set and the bounding set, and sets
// no_new_privs, all before the Go runtime starts any thread.
//
// Every stage takes the name of its argv[0] (myctr-exec, myctr-init...):
// run from a memfd as /proc/self/fd/N, the kernel would name it "N".
//
// Messages on the sync socket are the same JSON packets the Go side speaks
// (see sync.go): this side writes "pid" and "error" (with every string
// escaped) and reads only "joined"; numbers from the environment are
// parsed strictly (myctr_fd), a bad one is an error. The tests in
// nsenter_linux_test.go drive both paths from a mock parent.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Where run --init's myctr-init runs as the container's PID 1 (nsexec.InitPath).
#define MYCTR_INIT_PATH "/run/myctr-init"

static pid_t myctr_child = -1;

static void myctr_forward(int sig)
{
	if (myctr_child > 0)
		kill(myctr_child, sig);
}

static void myctr_fail(const char *step)
{
	fprintf(stderr, "Error: join container namespaces: %s: %s\n", step, strerror(errno));
	_exit(125);
}

// myctr_ns_flags returns the CLONE_NEW* flags of a comma-separated list of
// namespace names, or -1 with errno EINVAL for an unknown name or a list
// too long to be one of ours.
static int myctr_ns_flags(const char *list)
{
	static const struct {
		const char *name;
		int flag;
	} table[] = {
		{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID},
		{"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
		{"cgroup", CLONE_NEWCGROUP},
	};
	int flags = 0;
	char buf[128];
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (strcmp(tok, table[i].name) == 0)
				break;
		if (i == sizeof(table) / sizeof(table[0])) {
			errno = EINVAL;
			return -1;
		}
		flags |= table[i].flag;
	}
	return flags;
}

// myctr_keep_net_admin drops every capability but CAP_NET_ADMIN.
static void myctr_keep_net_admin(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; // past the kernel's last capability
			myctr_fail("drop bounding capabilities");
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		myctr_fail("clear ambient capabilities");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &hdr, data) < 0)
		myctr_fail("set capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		myctr_fail("set no_new_privs");
}

// myctr_fd parses a descriptor number from the environment: decimal
// digits only, no sign, no trailing text, within int. atoi would turn
// "", "x" or "3x" into a descriptor the process never meant.
static int myctr_fd(const char *s)
{
	if (s == NULL || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 0x7fffffff)
		goto bad;
	return (int)v;
bad:
	errno = EINVAL;
	return -1;
}

static int myctr_send(int fd, const char *msg)
{
	return send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

// myctr_json_string appends s to buf (of size n, holding a string) as the
// inside of a JSON string: quote, backslash and control characters are
// escaped, and an escape is never cut in half when buf is full.
static void myctr_json_string(char *buf, size_t n, const char *s)
{
	size_t len = strlen(buf);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		size_t el = strlen(esc);
		if (len + el >= n)
			break;
		memcpy(buf + len, esc, el + 1);
		len += el;
	}
}

// myctr_init_fail reports a failed step to the parent as a StepError
// (sync.go) and exits.
static void myctr_init_fail(int fd, const char *step)
{
	char buf[768], num[64];
	int err = errno;
	snprintf(buf, sizeof(buf), "{\"Type\":\"error\",\"Error\":{\"Step\":\"");
	myctr_json_string(buf, sizeof(buf) - 96, step);
	snprintf(num, sizeof(num), "\",\"Errno\":%d,\"Msg\":\"", err);
	strncat(buf, num, sizeof(buf) - strlen(buf) - 1);
	myctr_json_string(buf, sizeof(buf) - 32, step);
	myctr_json_string(buf, sizeof(buf) - 32, ": ");
	myctr_json_string(buf, sizeof(buf) - 32, strerror(err));
	strncat(buf, "\",\"Exit\":125}}", sizeof(buf) - strlen(buf) - 1);
	myctr_send(fd, buf);
	_exit(125);
}

// myctr_init_join_fds joins the namespaces of a list "TYPE=FD,..." (the
// user namespace, when listed, comes first), closing each descriptor, and
// returns their CLONE_NEW* flags. A type also in unshared, a type listed
// twice, or a bad entry is an error.
static int myctr_init_join_fds(int sync_fd, const char *list, int unshared)
{
	char buf[256];
	int joined = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
		errno = EINVAL;
		myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS");
	}
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			errno = EINVAL;
			myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS");
		}
		*eq = '\0';
		int flag = myctr_ns_flags(tok);
		int nsfd = myctr_fd(eq + 1);
		if (flag <= 0 || nsfd < 0 || (flag & (joined | unshared)) != 0 ||
		    (flag != CLONE_NEWUSER && joined == 0 && strstr(list, "user=") != NULL)) {
			errno = EINVAL;
			myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS");
		}
		if (setns(nsfd, flag) < 0) {
			char step[64];
			snprintf(step, sizeof(step), "join the spec's %s namespace", tok);
			myctr_init_fail(sync_fd, step);
		}
		close(nsfd);
		joined |= flag;
	}
	return joined;
}

static void myctr_init(void)
{
	const char *sync_env = getenv("_MYCTR_SYNC_FD");
	if (sync_env == NULL)
		return;
	int fd = myctr_fd(sync_env);
	if (fd < 0) {
		// No socket to report on: the parent sees the end of the stream.
		fprintf(stderr, "Error: container init: bad _MYCTR_SYNC_FD %s\n", sync_env);
		_exit(125);
	}
	char buf[64];

	// What to make: the parent names it from the spec. No cgroup
	// namespace yet: the parent first moves the init into the container's
	// own cgroup, and the Go init unshares it then, so that its root is
	// that cgroup. The user namespace is made here (or joined) whatever
	// the list says: the rest belongs to it.
	// myctr-runtime's containers (either variable set) may share the
	// caller's PID namespace; myctr's always have their own.
	const char *nsfds_env = getenv("_MYCTR_INIT_NSFDS");
	const char *user_env = getenv("_MYCTR_INIT_USER");
	int oci = nsfds_env != NULL || user_env != NULL;
	const char *ns_env = getenv("_MYCTR_INIT_NS");
	int flags = myctr_ns_flags(ns_env ? ns_env : "");
	if (ns_env == NULL || flags < 0 || (flags & (CLONE_NEWUSER | CLONE_NEWCGROUP)) != 0 ||
	    (flags & CLONE_NEWNS) == 0 || (!oci && (flags & CLONE_NEWPID) == 0)) {
		errno = EINVAL;
		myctr_init_fail(fd, "bad _MYCTR_INIT_NS");
	}
	const char *join_env = getenv("_MYCTR_INIT_JOIN_FD");
	if (oci) {
		// The OCI runtime: namespaces joined by path (opened by the
		// parent, user first), and the user namespace the caller's own
		// when the spec has none ("host").
		if (join_env != NULL || (user_env != NULL && strcmp(user_env, "host") != 0)) {
			errno = EINVAL;
			myctr_init_fail(fd, "bad _MYCTR_INIT_USER");
		}
		int joined = myctr_init_join_fds(fd, nsfds_env ? nsfds_env : "", flags);
		if ((joined & CLONE_NEWUSER) == 0 && user_env == NULL && unshare(CLONE_NEWUSER) < 0)
			myctr_init_fail(fd, "unshare user namespace");
	} else if (join_env != NULL) {
		// --network container:NAME: NAME's namespaces (a pidfd of its
		// init, checked by the parent), not new ones; their id maps
		// exist already. The descriptor goes at once, so the container's
		// process never holds it.
		const char *join_ns = getenv("_MYCTR_INIT_JOIN_NS");
		int join_flags = myctr_ns_flags(join_ns ? join_ns : "");
		if (join_ns == NULL || join_flags < 0 || (join_flags & CLONE_NEWUSER) == 0 || (join_flags & flags) != 0) {
			errno = EINVAL;
			myctr_init_fail(fd, "bad _MYCTR_INIT_JOIN_NS");
		}
		int join = myctr_fd(join_env);
		if (join < 0 || setns(join, join_flags) < 0)
			myctr_init_fail(fd, "join the network container's namespaces");
		close(join);
	} else if (unshare(CLONE_NEWUSER) < 0)
		myctr_init_fail(fd, "unshare user namespace");
	if (unshare(flags) < 0)
		myctr_init_fail(fd, "unshare namespaces");

	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		myctr_init_fail(fd, "clone the container's init");
	if (pid == 0)
		return; // PID 1: on into the Go runtime, which waits for its config
	snprintf(buf, sizeof(buf), "{\"Type\":\"pid\",\"Pid\":%d}", (int)pid);
	if (myctr_send(fd, buf) < 0)
		kill(pid, SIGKILL);
	_exit(0);
}

__attribute__((constructor)) static void myctr_nsenter(void)
{
	const char *stage = getenv("_MYCTR_STAGE");
	if (stage != NULL || strcmp(program_invocation_name, MYCTR_INIT_PATH) == 0)
		prctl(PR_SET_NAME, program_invocation_short_name, 0, 0, 0);
	if (stage != NULL && strcmp(stage, "init") == 0) {
		myctr_init();
		return;
	}
	const char *pidfd_env = getenv("_MYCTR_JOIN_PIDFD");
	if (pidfd_env == NULL)
		return;
	const char *ns_env = getenv("_MYCTR_JOIN_NS");
	const char *sync_env = getenv("_MYCTR_SYNC_FD");
	int pidfd = myctr_fd(pidfd_env);
	if (pidfd < 0)
		myctr_fail("bad _MYCTR_JOIN_PIDFD");
	int sync_fd = -1;
	if (sync_env != NULL && (sync_fd = myctr_fd(sync_env)) < 0)
		myctr_fail("bad _MYCTR_SYNC_FD");
	int flags = myctr_ns_flags(ns_env ? ns_env : "");
	if (flags < 0)
		myctr_fail("unknown namespace name");

	if (setns(pidfd, flags) < 0)
		myctr_fail("setns");
	// Before anything else runs in the container's namespaces: see the
	// note at the top.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		myctr_fail("clear dumpable");
	// The pidfd stays open: the Go stage uses it (signal) or closes it.

	const char *caps_env = getenv("_MYCTR_JOIN_CAPS");
	if (caps_env != NULL) {
		if (strcmp(caps_env, "net_admin") != 0) {
			errno = EINVAL;
			myctr_fail("unknown _MYCTR_JOIN_CAPS");
		}
		myctr_keep_net_admin();
	}

	const char *wait_env = getenv("_MYCTR_JOIN_WAIT");
	if (wait_env != NULL && strcmp(wait_env, "1") == 0) {
		// The parent moves us into the container's cgroup: the child
		// forked below starts there. Only the exact packet Go's
		// Conn.Send makes of Message{Type: MsgJoined} will do (the
		// golden test of sync.go pins it).
		static const char joined[] = "{\"Type\":\"joined\"}";
		char pkt[256];
		errno = 0;
		ssize_t n = sync_fd < 0 ? -1 : recv(sync_fd, pkt, sizeof(pkt), MSG_TRUNC);
		if (n <= 0) {
			if (errno == 0)
				errno = EPIPE;
			myctr_fail("wait to be put in the container's cgroup");
		}
		if ((size_t)n != sizeof(joined) - 1 || memcmp(pkt, joined, sizeof(joined) - 1) != 0) {
			errno = EPROTO;
			myctr_fail("wait to be put in the container's cgroup: not a \"joined\" message");
		}
	}

	if (!(flags & CLONE_NEWPID))
		return;

	myctr_child = fork();
	if (myctr_child < 0)
		myctr_fail("fork into the PID namespace");
	if (myctr_child == 0)
		return;

	// Keep no copy of the sync socket: its end-of-file tells the caller
	// that the child's execve succeeded.
	if (sync_fd >= 0)
		close(sync_fd);
	close(pidfd);

	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = myctr_forward;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	int status;
	while (waitpid(myctr_child, &status, 0) < 0) {
		if (errno != EINTR)
			myctr_fail("wait");
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + WTERMSIG(status));
}
