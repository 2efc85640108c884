// Namespace work that must happen before the Go runtime starts threads:
// Go cannot unshare(2) or setns(2) a user or mount namespace once it is
// multi-threaded, so this constructor runs first, in every process of
// myctr's binaries, and does nothing unless myctr's own environment asks.
// It uses no C library (nsenter_sys.h): in myctr, myctr-runtime and the
// tests it is a constructor that the C library's start-up calls (cgo); in
// myctr-init, a pure Go program, the ELF entry point calls it before the
// Go runtime's own (frontend/nsexec/preinit), and there is no C library.
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
#include <stddef.h>
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/sched.h>

#include "nsenter_sys.h"

// Where run --init's myctr-init runs as the container's PID 1 (nsexec.InitPath).
#define MYCTR_INIT_PATH "/run/myctr-init"

// myctr_fail reports a failed step of the join path on stderr and exits.
static __attribute__((noreturn)) void myctr_fail(const char *step, int err)
{
	char msg[768];
	struct my_buf b;
	my_buf_init(&b, msg, sizeof(msg));
	my_buf_add(&b, "Error: join container namespaces: ");
	my_buf_add(&b, step);
	my_buf_add(&b, ": ");
	my_buf_strerror(&b, err);
	my_buf_add(&b, "\n");
	sys_write(2, msg, b.len);
	sys_exit(125);
}

// myctr_ns_flag returns the CLONE_NEW* flag of the namespace name s (n
// bytes), or 0 for an unknown name.
static int myctr_ns_flag(const char *s, size_t n)
{
	if (n == 4 && my_memeq(s, "user", 4))
		return CLONE_NEWUSER;
	if (n == 3 && my_memeq(s, "mnt", 3))
		return CLONE_NEWNS;
	if (n == 3 && my_memeq(s, "pid", 3))
		return CLONE_NEWPID;
	if (n == 3 && my_memeq(s, "ipc", 3))
		return CLONE_NEWIPC;
	if (n == 3 && my_memeq(s, "uts", 3))
		return CLONE_NEWUTS;
	if (n == 3 && my_memeq(s, "net", 3))
		return CLONE_NEWNET;
	if (n == 6 && my_memeq(s, "cgroup", 6))
		return CLONE_NEWCGROUP;
	return 0;
}

// myctr_ns_flags returns the CLONE_NEW* flags of a comma-separated list of
// namespace names (empty names are skipped), or -EINVAL for an unknown
// name or a list too long to be one of ours.
static int myctr_ns_flags(const char *list)
{
	int flags = 0;
	if (my_strlen(list) >= 128)
		return -EINVAL;
	while (*list != '\0') {
		size_t n = 0;
		while (list[n] != '\0' && list[n] != ',')
			n++;
		if (n > 0) {
			int f = myctr_ns_flag(list, n);
			if (f == 0)
				return -EINVAL;
			flags |= f;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return flags;
}

// myctr_keep_net_admin drops every capability but CAP_NET_ADMIN.
static void myctr_keep_net_admin(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		int r = sys_prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0);
		if (r == -EINVAL)
			break; // past the kernel's last capability
		if (r < 0)
			myctr_fail("drop bounding capabilities", -r);
	}
	int r = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (r < 0 && r != -EINVAL)
		myctr_fail("clear ambient capabilities", -r);
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	my_memzero(&hdr, sizeof(hdr));
	my_memzero(data, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	if ((r = sys_capset(&hdr, data)) < 0)
		myctr_fail("set capabilities", -r);
	if ((r = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
		myctr_fail("set no_new_privs", -r);
}

// myctr_fd parses a descriptor number from the environment: decimal
// digits only, no sign, no trailing text, within int; -EINVAL for
// anything else. atoi would turn "", "x" or "3x" into a descriptor the
// process never meant.
static int myctr_fd(const char *s)
{
	unsigned long v;
	if (s == NULL || my_parse_uint(s, 0x7fffffff, &v) < 0)
		return -EINVAL;
	return (int)v;
}

static int myctr_send(int fd, const char *msg)
{
	return sys_sendto(fd, msg, my_strlen(msg), MYCTR_MSG_NOSIGNAL) < 0 ? -1 : 0;
}

// myctr_send_error sends the parent a StepError (sync.go) of step, with
// errno err and the message msg1 msg2 (msg2 may be NULL).
static void myctr_send_error(int fd, const char *step, int err, const char *msg1, const char *msg2)
{
	char buf[1536];
	struct my_buf b;
	my_buf_init(&b, buf, sizeof(buf));
	my_buf_add(&b, "{\"Type\":\"error\",\"Error\":{\"Step\":\"");
	my_buf_json(&b, step, 640);
	my_buf_add(&b, "\",\"Errno\":");
	my_buf_int(&b, err);
	my_buf_add(&b, ",\"Msg\":\"");
	my_buf_json(&b, msg1, sizeof(buf) - 32);
	if (msg2 != NULL)
		my_buf_json(&b, msg2, sizeof(buf) - 32);
	my_buf_add(&b, "\",\"Exit\":125}}");
	myctr_send(fd, buf);
}

// myctr_init_fail reports a failed step to the parent as a StepError
// (sync.go), with errno err, and exits.
static __attribute__((noreturn)) void myctr_init_fail(int fd, const char *step, int err)
{
	char msg[640];
	struct my_buf b;
	my_buf_init(&b, msg, sizeof(msg));
	my_buf_add(&b, step);
	my_buf_add(&b, ": ");
	my_buf_strerror(&b, err);
	myctr_send_error(fd, step, err, msg, NULL);
	sys_exit(125);
}

// myctr_dup2 is dup2(2): new becomes a copy of old.
static int myctr_dup2(int old, int new)
{
	if (old == new) {
		int r = sys_fcntl(old, F_GETFD, 0);
		return r < 0 ? r : new;
	}
	return sys_dup3(old, new, 0);
}

// A child that runs newuidmap or newgidmap on the user namespace this
// process makes (_MYCTR_INIT_UIDMAP, _MYCTR_INIT_GIDMAP).
struct myctr_mapper {
	int pid;	// the child
	int out;	// the read end of its output
	char line[1024];	// the variable's words, cut apart in place
	char step[1152];	// its command line, for a report
};

// MYCTR_MAX_EXTENTS bounds the extents of one map (newuidmap takes at most
// 340; myctr writes two, Podman's --uidmap a few).
#define MYCTR_MAX_EXTENTS 64

// myctr_mapper_start forks the child for env's command line: the tool's
// absolute path, then the numbers of each extent (container id, host id,
// size), separated by spaces. The child waits for a byte on go[0], then
// executes the tool with this process's pid before the numbers, its
// output on a pipe, no environment, nothing else open.
// Forked before the user namespace is made, as the tool is set-user-ID:
// executed by a process of the new namespace, where the tool's owner is
// not mapped, it would run as that process's own user.
static void myctr_mapper_start(int sync_fd, struct myctr_mapper *m, const char *name, const char *env, const int go[2])
{
	char *argv[2 + 3 * MYCTR_MAX_EXTENTS + 1];
	char pid[16];
	int argc = 0, words = 0;
	const char *bad = my_strcmp(name, "newuidmap") == 0 ? "bad _MYCTR_INIT_UIDMAP" : "bad _MYCTR_INIT_GIDMAP";
	size_t n = my_strlen(env);
	if (n >= sizeof(m->line) || env[0] != '/')
		myctr_init_fail(sync_fd, bad, EINVAL);
	for (size_t i = 0; i <= n; i++)
		m->line[i] = env[i];
	struct my_buf pb, sb;
	my_buf_init(&pb, pid, sizeof(pid));
	my_buf_int(&pb, sys_getpid());
	argv[argc++] = (char *)name;
	argv[argc++] = pid;
	my_buf_init(&sb, m->step, sizeof(m->step));
	my_buf_add(&sb, name);
	my_buf_add(&sb, " ");
	my_buf_add(&sb, pid);
	// Words apart at spaces, in place; empty words are skipped.
	char *path = NULL;
	for (char *p = m->line; *p != '\0';) {
		if (*p == ' ') {
			p++;
			continue;
		}
		char *tok = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (*p == ' ')
			*p++ = '\0';
		if (path == NULL) {
			path = tok;
			continue;
		}
		unsigned long v;
		if (my_parse_uint(tok, 0xffffffffUL, &v) < 0 || words >= 3 * MYCTR_MAX_EXTENTS)
			myctr_init_fail(sync_fd, bad, EINVAL);
		argv[argc++] = tok;
		words++;
		my_buf_add(&sb, " ");
		my_buf_add(&sb, tok);
	}
	argv[argc] = NULL;
	if (words == 0 || words % 3 != 0)
		myctr_init_fail(sync_fd, bad, EINVAL);
	int out[2];
	int r = sys_pipe2(out, O_CLOEXEC);
	if (r < 0)
		myctr_init_fail(sync_fd, "pipe for the id mappers", -r);
	m->pid = sys_fork(MYCTR_SIGCHLD);
	if (m->pid < 0)
		myctr_init_fail(sync_fd, "fork the id mappers", -m->pid);
	if (m->pid == 0) {
		char b;
		sys_close(go[1]); // the parent's end: its exit is our end of file
		sys_close(out[0]);
		myctr_ssize got;
		while ((got = sys_read(go[0], &b, 1)) == -EINTR)
			;
		if (got != 1)
			sys_exit(125); // no user namespace was made
		if (myctr_dup2(out[1], 1) < 0 || myctr_dup2(out[1], 2) < 0)
			sys_exit(125);
		sys_close_range(3, ~0U, 0);
		char *envp[] = {NULL};
		r = sys_execve(path, argv, envp);
		char msg[1200];
		struct my_buf eb;
		my_buf_init(&eb, msg, sizeof(msg));
		my_buf_add(&eb, "execute ");
		my_buf_add(&eb, path);
		my_buf_add(&eb, ": ");
		my_buf_strerror(&eb, -r);
		sys_write(2, msg, eb.len);
		sys_exit(127);
	}
	sys_close(out[1]);
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
		myctr_ssize r = sys_read(m->out, dst, room);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		if (dst != scratch)
			n += (size_t)r;
	}
	sys_close(m->out);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
		out[--n] = '\0';
	int st = 0, r;
	while ((r = sys_wait4(m->pid, &st, 0)) == -EINTR)
		;
	if (r == m->pid && MYCTR_WIFEXITED(st) && MYCTR_WEXITSTATUS(st) == 0)
		return 0;
	char status[64];
	struct my_buf b;
	my_buf_init(&b, status, sizeof(status));
	if (r < 0) {
		// Its status is lost (SIGCHLD ignored by whoever started us):
		// the maps cannot be taken for written.
		my_buf_add(&b, "wait: ");
		my_buf_strerror(&b, -r);
		my_buf_add(&b, ": ");
	} else if (MYCTR_WIFSIGNALED(st)) {
		my_buf_add(&b, "signal ");
		my_buf_int(&b, MYCTR_WTERMSIG(st));
		my_buf_add(&b, ": ");
	} else {
		my_buf_add(&b, "exit status ");
		my_buf_int(&b, MYCTR_WEXITSTATUS(st));
		my_buf_add(&b, ": ");
	}
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
	int joined = 0;
	int user_listed = my_contains(list, "user=");
	if (my_strlen(list) >= 256)
		myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS", EINVAL);
	while (*list != '\0') {
		size_t n = 0;
		while (list[n] != '\0' && list[n] != ',')
			n++;
		if (n == 0) {
			list++;
			continue;
		}
		char tok[256];
		for (size_t i = 0; i < n; i++)
			tok[i] = list[i];
		tok[n] = '\0';
		list += n;
		if (*list == ',')
			list++;
		size_t eq = 0;
		while (tok[eq] != '\0' && tok[eq] != '=')
			eq++;
		if (tok[eq] != '=')
			myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS", EINVAL);
		tok[eq] = '\0';
		int flag = myctr_ns_flag(tok, eq);
		int nsfd = myctr_fd(tok + eq + 1);
		if (flag == 0 || nsfd < 0 || (flag & (joined | unshared)) != 0 ||
		    (flag != CLONE_NEWUSER && joined == 0 && user_listed))
			myctr_init_fail(sync_fd, "bad _MYCTR_INIT_NSFDS", EINVAL);
		int r = sys_setns(nsfd, flag);
		if (r < 0) {
			char step[64];
			struct my_buf b;
			my_buf_init(&b, step, sizeof(step));
			my_buf_add(&b, "join the spec's ");
			my_buf_add(&b, tok);
			my_buf_add(&b, " namespace");
			myctr_init_fail(sync_fd, step, -r);
		}
		sys_close(nsfd);
		joined |= flag;
	}
	return joined;
}

static void myctr_init(char **envp)
{
	const char *sync_env = my_getenv(envp, "_MYCTR_SYNC_FD");
	if (sync_env == NULL)
		return;
	int fd = myctr_fd(sync_env);
	if (fd < 0) {
		// No socket to report on: the parent sees the end of the stream.
		char msg[256];
		struct my_buf b;
		my_buf_init(&b, msg, sizeof(msg));
		my_buf_add(&b, "Error: container init: bad _MYCTR_SYNC_FD ");
		my_buf_add(&b, sync_env);
		my_buf_add(&b, "\n");
		sys_write(2, msg, b.len);
		sys_exit(125);
	}
	int r;

	// What to make: the parent names it from the spec. No cgroup
	// namespace yet: the parent first moves the init into the container's
	// own cgroup, and the Go init unshares it then, so that its root is
	// that cgroup. The user namespace is made here (or joined) whatever
	// the list says: the rest belongs to it.
	// myctr-runtime's containers (either variable set) may share the
	// caller's PID namespace; myctr's always have their own.
	const char *nsfds_env = my_getenv(envp, "_MYCTR_INIT_NSFDS");
	const char *user_env = my_getenv(envp, "_MYCTR_INIT_USER");
	int oci = nsfds_env != NULL || user_env != NULL;
	const char *ns_env = my_getenv(envp, "_MYCTR_INIT_NS");
	int flags = myctr_ns_flags(ns_env ? ns_env : "");
	if (ns_env == NULL || flags < 0 || (flags & (CLONE_NEWUSER | CLONE_NEWCGROUP)) != 0 ||
	    (flags & CLONE_NEWNS) == 0 || (!oci && (flags & CLONE_NEWPID) == 0))
		myctr_init_fail(fd, "bad _MYCTR_INIT_NS", EINVAL);
	const char *join_env = my_getenv(envp, "_MYCTR_INIT_JOIN_FD");
	// newuidmap and newgidmap, where the parent names them: started
	// now, from the host's user namespace, told to run once this process
	// has made its own, and waited for after the clone, so that they run
	// beside the other namespaces' making and the Go runtime's start.
	const char *uidmap_env = my_getenv(envp, "_MYCTR_INIT_UIDMAP");
	const char *gidmap_env = my_getenv(envp, "_MYCTR_INIT_GIDMAP");
	int mapping = uidmap_env != NULL || gidmap_env != NULL;
	struct myctr_mapper mappers[2];
	int go[2] = {-1, -1};
	if (mapping) {
		if (uidmap_env == NULL || gidmap_env == NULL || join_env != NULL || user_env != NULL)
			myctr_init_fail(fd, "bad _MYCTR_INIT_UIDMAP", EINVAL);
		if ((r = sys_pipe2(go, O_CLOEXEC)) < 0)
			myctr_init_fail(fd, "pipe for the id mappers", -r);
		myctr_mapper_start(fd, &mappers[0], "newuidmap", uidmap_env, go);
		myctr_mapper_start(fd, &mappers[1], "newgidmap", gidmap_env, go);
		sys_close(go[0]);
	}
	int made_user = 0;
	if (oci) {
		// The OCI runtime: namespaces joined by path (opened by the
		// parent, user first), and the user namespace the caller's own
		// when the spec has none ("host").
		if (join_env != NULL || (user_env != NULL && my_strcmp(user_env, "host") != 0))
			myctr_init_fail(fd, "bad _MYCTR_INIT_USER", EINVAL);
		int joined = myctr_init_join_fds(fd, nsfds_env ? nsfds_env : "", flags);
		if ((joined & CLONE_NEWUSER) == 0 && user_env == NULL) {
			if ((r = sys_unshare(CLONE_NEWUSER)) < 0)
				myctr_init_fail(fd, "unshare user namespace", -r);
			made_user = 1;
		}
	} else if (join_env != NULL) {
		// --network container:NAME: NAME's namespaces (a pidfd of its
		// init, checked by the parent), not new ones; their id maps
		// exist already. The descriptor goes at once, so the container's
		// process never holds it.
		const char *join_ns = my_getenv(envp, "_MYCTR_INIT_JOIN_NS");
		int join_flags = myctr_ns_flags(join_ns ? join_ns : "");
		if (join_ns == NULL || join_flags < 0 || (join_flags & CLONE_NEWUSER) == 0 || (join_flags & flags) != 0)
			myctr_init_fail(fd, "bad _MYCTR_INIT_JOIN_NS", EINVAL);
		int join = myctr_fd(join_env);
		if (join < 0)
			myctr_init_fail(fd, "join the network container's namespaces", EINVAL);
		if ((r = sys_setns(join, join_flags)) < 0)
			myctr_init_fail(fd, "join the network container's namespaces", -r);
		sys_close(join);
	} else {
		if ((r = sys_unshare(CLONE_NEWUSER)) < 0)
			myctr_init_fail(fd, "unshare user namespace", -r);
		made_user = 1;
	}
	if (mapping) {
		// Maps only for a namespace made here; each mapper takes one byte.
		if (!made_user)
			myctr_init_fail(fd, "bad _MYCTR_INIT_UIDMAP", EINVAL);
		myctr_ssize w = sys_write(go[1], "go", 2);
		if (w != 2)
			myctr_init_fail(fd, "start the id mappers", w < 0 ? (int)-w : EIO);
		sys_close(go[1]);
	}
	if ((r = sys_unshare(flags)) < 0)
		myctr_init_fail(fd, "unshare namespaces", -r);

	int pid = sys_fork(CLONE_PARENT | MYCTR_SIGCHLD);
	if (pid < 0)
		myctr_init_fail(fd, "clone the container's init", -pid);
	if (pid == 0) {
		if (mapping) {
			sys_close(mappers[0].out);
			sys_close(mappers[1].out);
		}
		return; // PID 1: on into the Go runtime, which waits for its config
	}
	// The maps are written when the parent hears of PID 1: it starts no
	// mapper of its own.
	if (mapping) {
		int failed = myctr_mapper_wait(fd, &mappers[0], 1) < 0;
		failed |= myctr_mapper_wait(fd, &mappers[1], !failed) < 0;
		if (failed) {
			sys_kill(pid, MYCTR_SIGKILL);
			sys_exit(125);
		}
	}
	char buf[64];
	struct my_buf b;
	my_buf_init(&b, buf, sizeof(buf));
	my_buf_add(&b, "{\"Type\":\"pid\",\"Pid\":");
	my_buf_int(&b, pid);
	my_buf_add(&b, "}");
	if (myctr_send(fd, buf) < 0)
		sys_kill(pid, MYCTR_SIGKILL);
	sys_exit(0);
}

// myctr_forward waits for child, sending it the signals a caller sends
// to us (SIGINT, SIGTERM and the rest that a shell's job control and a
// terminal send), and exits with its status.
static __attribute__((noreturn)) void myctr_forward(int child)
{
	const unsigned long set = MYCTR_SIGBIT(MYCTR_SIGINT) | MYCTR_SIGBIT(MYCTR_SIGTERM) | MYCTR_SIGBIT(MYCTR_SIGHUP) |
				  MYCTR_SIGBIT(MYCTR_SIGQUIT) | MYCTR_SIGBIT(MYCTR_SIGUSR1) | MYCTR_SIGBIT(MYCTR_SIGUSR2) |
				  MYCTR_SIGBIT(MYCTR_SIGWINCH) | MYCTR_SIGBIT(MYCTR_SIGCONT) | MYCTR_SIGBIT(MYCTR_SIGTSTP) |
				  MYCTR_SIGBIT(MYCTR_SIGCHLD);
	// Blocked, they wait for sigtimedwait below: no handler runs.
	sys_rt_sigprocmask(MYCTR_SIG_BLOCK, &set, NULL);
	for (;;) {
		int st = 0;
		int r = sys_wait4(child, &st, MYCTR_WNOHANG);
		if (r == child) {
			if (MYCTR_WIFEXITED(st))
				sys_exit(MYCTR_WEXITSTATUS(st));
			sys_exit(128 + MYCTR_WTERMSIG(st));
		}
		if (r < 0 && r != -EINTR)
			myctr_fail("wait", -r);
		unsigned long info[16]; // a siginfo_t
		int sig = sys_rt_sigtimedwait(&set, info);
		if (sig > 0 && sig != MYCTR_SIGCHLD)
			sys_kill(child, sig);
	}
}

static void myctr_nsenter(int argc, char **argv, char **envp)
{
	const char *stage = my_getenv(envp, "_MYCTR_STAGE");
	const char *name = argc > 0 && argv[0] != NULL ? argv[0] : "";
	if (stage != NULL || my_strcmp(name, MYCTR_INIT_PATH) == 0) {
		// The name after the last slash, as the C library's
		// program_invocation_short_name.
		const char *base = name;
		for (const char *p = name; *p != '\0'; p++)
			if (*p == '/')
				base = p + 1;
		sys_prctl(PR_SET_NAME, (unsigned long)base, 0, 0, 0);
	}
	if (stage != NULL && my_strcmp(stage, "init") == 0) {
		myctr_init(envp);
		return;
	}
	const char *pidfd_env = my_getenv(envp, "_MYCTR_JOIN_PIDFD");
	if (pidfd_env == NULL)
		return;
	const char *ns_env = my_getenv(envp, "_MYCTR_JOIN_NS");
	const char *sync_env = my_getenv(envp, "_MYCTR_SYNC_FD");
	int pidfd = myctr_fd(pidfd_env);
	if (pidfd < 0)
		myctr_fail("bad _MYCTR_JOIN_PIDFD", EINVAL);
	int sync_fd = -1;
	if (sync_env != NULL && (sync_fd = myctr_fd(sync_env)) < 0)
		myctr_fail("bad _MYCTR_SYNC_FD", EINVAL);
	int flags = myctr_ns_flags(ns_env ? ns_env : "");
	if (flags < 0)
		myctr_fail("unknown namespace name", EINVAL);

	int r = sys_setns(pidfd, flags);
	if (r < 0)
		myctr_fail("setns", -r);
	// Before anything else runs in the container's namespaces: see the
	// note at the top.
	if ((r = sys_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) < 0)
		myctr_fail("clear dumpable", -r);
	// The pidfd stays open: the Go stage uses it (signal) or closes it.

	const char *caps_env = my_getenv(envp, "_MYCTR_JOIN_CAPS");
	if (caps_env != NULL) {
		if (my_strcmp(caps_env, "net_admin") != 0)
			myctr_fail("unknown _MYCTR_JOIN_CAPS", EINVAL);
		myctr_keep_net_admin();
	}

	const char *wait_env = my_getenv(envp, "_MYCTR_JOIN_WAIT");
	if (wait_env != NULL && my_strcmp(wait_env, "1") == 0) {
		// The parent moves us into the container's cgroup: the child
		// forked below starts there. Only the exact packet Go's
		// Conn.Send makes of Message{Type: MsgJoined} will do (the
		// golden test of sync.go pins it).
		static const char joined[] = "{\"Type\":\"joined\"}";
		char pkt[256];
		myctr_ssize n = sync_fd < 0 ? -EBADF : sys_recvfrom(sync_fd, pkt, sizeof(pkt), MYCTR_MSG_TRUNC);
		if (n <= 0)
			myctr_fail("wait to be put in the container's cgroup", n == 0 ? EPIPE : (int)-n);
		if ((size_t)n != sizeof(joined) - 1 || !my_memeq(pkt, joined, sizeof(joined) - 1))
			myctr_fail("wait to be put in the container's cgroup: not a \"joined\" message", EPROTO);
	}

	if (!(flags & CLONE_NEWPID))
		return;

	int child = sys_fork(MYCTR_SIGCHLD);
	if (child < 0)
		myctr_fail("fork into the PID namespace", -child);
	if (child == 0)
		return;

	// Keep no copy of the sync socket: its end-of-file tells the caller
	// that the child's execve succeeded.
	if (sync_fd >= 0)
		sys_close(sync_fd);
	sys_close(pidfd);
	myctr_forward(child);
}

#ifdef MYCTR_PREINIT_ENTRY
// myctr_preinit_entry is called by myctr-init's ELF entry point
// (preinit/entry_linux_amd64.s) with the process's first stack pointer,
// where the kernel put argc, then argv's pointers and a NULL, then
// envp's and a NULL; the Go runtime starts once it returns.
void myctr_preinit_entry(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	myctr_nsenter(argc, argv, argv + argc + 1);
}
#else
// The C library calls its constructors with argc, argv and envp.
__attribute__((constructor)) static void myctr_nsenter_constructor(int argc, char **argv, char **envp)
{
	myctr_nsenter(argc, argv, envp);
}
#endif
