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
//      With _MYCTR_INIT_UIDMAP and _MYCTR_INIT_GIDMAP (the tool's path and
//      the extents' numbers), a child for each of newuidmap and newgidmap
//      is forked before step 1 (the tools are set-user-ID: run from the new
//      namespace, where their owner is not mapped, they would be the
//      user's), and told to run on our pid once the namespace exists.
//   3. clone(CLONE_PARENT): the child is PID 1 of the new PID namespace and a
//      child of myctr's monitor, not of us. With mappers, we wait for them
//      (a failure is reported with the tool's command line, status and
//      output, and PID 1 killed). We send its pid ("pid") and exit.
//      The child returns into the Go runtime, which starts while the maps
//      are written (by our mappers, or by the parent once it has the pid),
//      and reads its configuration (sent at once), then waits for
//      "proceed": the parent sends that only once the maps are written.
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
#include <fcntl.h>
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

// myctr_send_error sends the parent a StepError (sync.go) of step, with
// errno err and the message msg1 msg2 (msg2 may be NULL).
static void myctr_send_error(int fd, const char *step, int err, const char *msg1, const char *msg2)
{
	char buf[1536], num[64];
	snprintf(buf, sizeof(buf), "{\"Type\":\"error\",\"Error\":{\"Step\":\"");
	myctr_json_string(buf, 640, step);
	snprintf(num, sizeof(num), "\",\"Errno\":%d,\"Msg\":\"", err);
	strncat(buf, num, sizeof(buf) - strlen(buf) - 1);
	myctr_json_string(buf, sizeof(buf) - 32, msg1);
	if (msg2 != NULL)
		myctr_json_string(buf, sizeof(buf) - 32, msg2);
	strncat(buf, "\",\"Exit\":125}}", sizeof(buf) - strlen(buf) - 1);
	myctr_send(fd, buf);
}

// myctr_init_fail reports a failed step to the parent as a StepError
// (sync.go) and exits.
static void myctr_init_fail(int fd, const char *step)
{
	char msg[640];
	int err = errno;
	snprintf(msg, sizeof(msg), "%s: %s", step, strerror(err));
	myctr_send_error(fd, step, err, msg, NULL);
	_exit(125);
}

// A child that runs newuidmap or newgidmap on the user namespace this
// process makes (_MYCTR_INIT_UIDMAP, _MYCTR_INIT_GIDMAP).
struct myctr_mapper {
	pid_t pid;	// the child
	int out;	// the read end of its output
	char line[1024];	// the variable's words, cut apart in place
	char step[1152];	// its command line, for a report
};

// MYCTR_MAX_EXTENTS bounds the extents of one map (newuidmap takes at most
// 340; myctr writes two, Podman's --uidmap a few).
#define MYCTR_MAX_EXTENTS 64

// myctr_mapper_start forks the child for env's command line: the tool's
// absolute path, then the numbers of each extent (container id, host id,
// size), separated by single spaces. The child waits for a byte on
// go[0], then executes the tool with this process's pid before the
// numbers, its output on a pipe, no environment, nothing else open.
// Forked before the user namespace is made, as the tool is set-user-ID:
// executed by a process of the new namespace, where the tool's owner is
// not mapped, it would run as that process's own user.
static void myctr_mapper_start(int sync_fd, struct myctr_mapper *m, const char *name, const char *env, const int go[2])
{
	char *argv[2 + 3 * MYCTR_MAX_EXTENTS + 1];
	char pid[16];
	int argc = 0, words = 0;
	char bad[64];
	snprintf(bad, sizeof(bad), "bad %s", strcmp(name, "newuidmap") == 0 ? "_MYCTR_INIT_UIDMAP" : "_MYCTR_INIT_GIDMAP");
	if (snprintf(m->line, sizeof(m->line), "%s", env) >= (int)sizeof(m->line) || m->line[0] != '/') {
		errno = EINVAL;
		myctr_init_fail(sync_fd, bad);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	argv[argc++] = (char *)name;
	argv[argc++] = pid;
	snprintf(m->step, sizeof(m->step), "%s %s", name, pid);
	char *path = NULL;
	for (char *save = NULL, *tok = strtok_r(m->line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (path == NULL) {
			path = tok;
			continue;
		}
		char *end;
		errno = 0;
		unsigned long v = strtoul(tok, &end, 10);
		if (*tok < '0' || *tok > '9' || *end != '\0' || errno != 0 || v > 0xffffffffUL ||
		    words >= 3 * MYCTR_MAX_EXTENTS) {
			errno = EINVAL;
			myctr_init_fail(sync_fd, bad);
		}
		argv[argc++] = tok;
		words++;
		strncat(m->step, " ", sizeof(m->step) - strlen(m->step) - 1);
		strncat(m->step, tok, sizeof(m->step) - strlen(m->step) - 1);
	}
	argv[argc] = NULL;
	if (words == 0 || words % 3 != 0) {
		errno = EINVAL;
		myctr_init_fail(sync_fd, bad);
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		myctr_init_fail(sync_fd, "pipe for the id mappers");
	m->pid = fork();
	if (m->pid < 0)
		myctr_init_fail(sync_fd, "fork the id mappers");
	if (m->pid == 0) {
		char b;
		close(go[1]); // the parent's end: its exit is our end of file
		close(out[0]);
		ssize_t n;
		while ((n = read(go[0], &b, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(125); // no user namespace was made
		if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(125);
		syscall(SYS_close_range, 3, ~0U, 0);
		char *envp[] = {NULL};
		execve(path, argv, envp);
		dprintf(2, "execute %s: %s", path, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	m->out = out[0];
}

// myctr_mapper_wait waits for the child: 0 when its tool succeeded; else
// -1, after reporting (with report) the tool's command line, exit status
// and output to the parent, as sync.go's MapperError reads them.
static int myctr_mapper_wait(int sync_fd, struct myctr_mapper *m, int report)
{
	char out[512];
	size_t n = 0;
	for (;;) {
		char *dst = out + n;
		size_t room = sizeof(out) - 1 - n;
		char scratch[256];
		if (room == 0) {
			dst = scratch; // full: the rest is read and dropped
			room = sizeof(scratch);
		}
		ssize_t r = read(m->out, dst, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (dst != scratch)
			n += (size_t)r;
	}
	close(m->out);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
		out[--n] = '\0';
	int st = 0;
	while (waitpid(m->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char status[64];
	if (WIFSIGNALED(st))
		snprintf(status, sizeof(status), "signal %d: ", WTERMSIG(st));
	else
		snprintf(status, sizeof(status), "exit status %d: ", WEXITSTATUS(st));
	if (report)
		myctr_send_error(sync_fd, m->step, 0, status, out);
	return -1;
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
	// newuidmap and newgidmap, where the parent names them: started
	// now, from the host's user namespace, told to run once this process
	// has made its own, and waited for after the clone, so that they run
	// beside the other namespaces' making and the Go runtime's start.
	const char *uidmap_env = getenv("_MYCTR_INIT_UIDMAP");
	const char *gidmap_env = getenv("_MYCTR_INIT_GIDMAP");
	int mapping = uidmap_env != NULL || gidmap_env != NULL;
	struct myctr_mapper mappers[2];
	int go[2] = {-1, -1};
	if (mapping) {
		if (uidmap_env == NULL || gidmap_env == NULL || join_env != NULL || user_env != NULL) {
			errno = EINVAL;
			myctr_init_fail(fd, "bad _MYCTR_INIT_UIDMAP");
		}
		if (pipe2(go, O_CLOEXEC) < 0)
			myctr_init_fail(fd, "pipe for the id mappers");
		myctr_mapper_start(fd, &mappers[0], "newuidmap", uidmap_env, go);
		myctr_mapper_start(fd, &mappers[1], "newgidmap", gidmap_env, go);
		close(go[0]);
	}
	int made_user = 0;
	if (oci) {
		// The OCI runtime: namespaces joined by path (opened by the
		// parent, user first), and the user namespace the caller's own
		// when the spec has none ("host").
		if (join_env != NULL || (user_env != NULL && strcmp(user_env, "host") != 0)) {
			errno = EINVAL;
			myctr_init_fail(fd, "bad _MYCTR_INIT_USER");
		}
		int joined = myctr_init_join_fds(fd, nsfds_env ? nsfds_env : "", flags);
		if ((joined & CLONE_NEWUSER) == 0 && user_env == NULL) {
			if (unshare(CLONE_NEWUSER) < 0)
				myctr_init_fail(fd, "unshare user namespace");
			made_user = 1;
		}
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
	} else {
		if (unshare(CLONE_NEWUSER) < 0)
			myctr_init_fail(fd, "unshare user namespace");
		made_user = 1;
	}
	if (mapping) {
		// Maps only for a namespace made here; each mapper takes one byte.
		if (!made_user) {
			errno = EINVAL;
			myctr_init_fail(fd, "bad _MYCTR_INIT_UIDMAP");
		}
		if (write(go[1], "go", 2) != 2)
			myctr_init_fail(fd, "start the id mappers");
		close(go[1]);
	}
	if (unshare(flags) < 0)
		myctr_init_fail(fd, "unshare namespaces");

	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		myctr_init_fail(fd, "clone the container's init");
	if (pid == 0) {
		if (mapping) {
			close(mappers[0].out);
			close(mappers[1].out);
		}
		return; // PID 1: on into the Go runtime, which waits for its config
	}
	// The maps are written when the parent hears of PID 1: it starts no
	// mapper of its own.
	if (mapping) {
		int failed = myctr_mapper_wait(fd, &mappers[0], 1) < 0;
		failed |= myctr_mapper_wait(fd, &mappers[1], !failed) < 0;
		if (failed) {
			kill(pid, SIGKILL);
			_exit(125);
		}
	}
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
