/*
 * myctr-monitor: what stays on the host while a detached container runs.
 *
 * The monitor stage of myctr (Go, the whole CLI) starts the container,
 * records it as running and answers the CLI; then, so that each container
 * costs the host a small static program rather than the CLI's resident
 * pages, it executes this one in its place: the same process (pid, start
 * time, session, cgroup, systemd's MAINPID), the init still its child. It
 * keeps only what the container's life needs:
 *
 *   - the container's output (a pty master, or the stdout and stderr
 *     pipes) written to the log in the CRI format that the Go side writes
 *     (frontend/container/logfile.go), started afresh past max-size;
 *   - SIGTERM: the container's stop signal to the init (a unit's stop);
 *   - --timeout: SIGKILL at the deadline, the exit then reads -1;
 *   - the OOM killer's count in the container's memory.events;
 *   - the init's exit, through a pidfd, then the output's drain.
 *
 * Then it executes the exit command (myctr's monitor-exit stage, given
 * after "--") with four more arguments: the exit code, whether the OOM
 * killer struck, whether the timeout did, whether SIGTERM came. That
 * stage records the exit, releases the network and cgroup, removes an
 * --rm container or restarts it (and hands over to this program again).
 *
 * "myctr-monitor watch ..." is the second program here: the supervision
 * of a container's network tool (pasta or slirp4netns) and port
 * forwarder, which myctr's network watcher executes in its place once
 * both run (see watch_main). "myctr-monitor forward ..." is the third:
 * the port forwarder's relay, which the forwarder's Go stage executes in
 * its place once it has set up the container's network namespace
 * (forward.c).
 *
 * Arguments, all given by myctr: pid=N pidfd=FD out=FD err=FD log=FD
 * path=LOGPATH max=BYTES stop=SIGNAL timeout=MS oom=MEMORY.EVENTS term=0|1
 * -- EXIT-COMMAND ARGS... (term: a SIGTERM came already) (err, log: -1 for none; path, oom: empty for
 * none). It reads no environment and passes the environment on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define CHUNK (32 * 1024)
#define DRAIN_IDLE_MS 250 /* as drainIdle in relay_linux.go */
#define DRAIN_MAX_MS 2000 /* as running.wait's bound */

static int term_pipe[2] = {-1, -1};

static void on_term(int sig)
{
	int saved = errno;
	char c = (char)sig;
	if (write(term_pipe[1], &c, 1) < 0) {
		/* full: a stop is pending already */
	}
	errno = saved;
}

/* Caught, not ignored: a handler goes back to its default across exec,
 * an ignored signal would stay ignored in the exit stage. */
static void on_quiet(int sig) { (void)sig; }

static void die(const char *what)
{
	fprintf(stderr, "myctr-monitor: %s: %s\n", what, strerror(errno));
	exit(125);
}

/* catch_signals makes the self-pipe that on_term writes to, catches the
 * signals of term (0-terminated) with on_term and those of quiet with
 * on_quiet, and blocks none. */
static void catch_signals(const int *term, const int *quiet)
{
	if (pipe2(term_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe");
	struct sigaction sa = {0};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_term;
	for (; *term; term++)
		sigaction(*term, &sa, NULL);
	sa.sa_handler = on_quiet;
	for (; *quiet; quiet++)
		sigaction(*quiet, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the log ------------------------------------------------------------ */

struct log {
	int fd;           /* -1: the output is kept nowhere */
	const char *path; /* for a new file past max */
	int64_t max;      /* 0: no bound */
	int64_t size;
	char *buf;
	size_t len, cap;
};

static void buf_put(struct log *l, const char *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n)
			cap *= 2;
		char *b = realloc(l->buf, cap);
		if (!b)
			die("memory");
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk: the output is lost, the container is not held */
		p += w;
		n -= (size_t)w;
	}
}

/* Go's time.RFC3339Nano of now, in UTC: the fraction without its trailing
 * zeros, none at all for a whole second. */
static size_t timestamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ts.tv_nsec > 0) {
		char frac[24];
		snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
		size_t f = strlen(frac);
		while (frac[f - 1] == '0')
			f--;
		memcpy(out + n, frac, f);
		n += f;
	}
	out[n++] = 'Z';
	out[n] = 0;
	return n;
}

/* rotate starts the log afresh as logWriter.rotate does: a new empty file
 * renamed over the old one. */
static int rotate(struct log *l)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", l->path) >= (int)sizeof tmp)
		return -1;
	int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (rename(tmp, l->path) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
	return 0;
}

/* log_write records one chunk of a stream as logWriter.write does: each
 * complete line as F, a trailing part as P, one timestamp for the chunk. */
static void log_write(struct log *l, const char *stream, const char *p, size_t n)
{
	if (l->fd < 0)
		return;
	char ts[64];
	size_t tslen = timestamp(ts, sizeof ts);
	l->len = 0;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		const char *tag = "P";
		size_t line = n, used = n;
		if (nl) {
			tag = "F";
			line = (size_t)(nl - p);
			used = line + 1;
		}
		size_t before = l->len;
		buf_put(l, ts, tslen);
		buf_put(l, " ", 1);
		buf_put(l, stream, strlen(stream));
		buf_put(l, " ", 1);
		buf_put(l, tag, 1);
		buf_put(l, " ", 1);
		buf_put(l, p, line);
		buf_put(l, "\n", 1);
		if (l->max > 0 && l->size + (int64_t)l->len > l->max && l->size + (int64_t)before > 0) {
			/* What comes before this record goes to the old file, the
			 * record to a new one; a record larger than max is still
			 * written whole. */
			write_all(l->fd, l->buf, before);
			if (rotate(l) < 0)
				l->max = 0; /* keep writing the old file rather than lose output */
			memmove(l->buf, l->buf + before, l->len - before);
			l->len -= before;
		}
		p += used;
		n -= used;
	}
	write_all(l->fd, l->buf, l->len);
	l->size += (int64_t)l->len;
}

/* ---- the OOM count -------------------------------------------------------- */

static uint64_t oom_kills(const char *path, uint64_t seen)
{
	char b[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return seen;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return seen;
	b[n] = 0;
	for (char *line = b; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "oom_kill ", 9) == 0) {
			uint64_t v = strtoull(line + 9, NULL, 10);
			return v > seen ? v : seen;
		}
	}
	return seen;
}

/* ---- arguments ---------------------------------------------------------- */

static const char *arg(int argc, char **argv, const char *key, int *end)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			*end = i;
			break;
		}
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return argv[i] + k + 1;
	}
	fprintf(stderr, "myctr-monitor: missing %s= (this program is started by myctr)\n", key);
	exit(125);
}

static int num(int argc, char **argv, const char *key)
{
	int end = 0;
	return atoi(arg(argc, argv, key, &end));
}

/* ---- watch: a container's network tool and port forwarder --------------- */

void rfc3339_now(char *ts, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (cap < 32 || strftime(ts, cap - 1, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0) {
		if (cap > 0)
			ts[0] = 0;
		return;
	}
	/* Go's RFC3339 writes the zone as +01:00, or Z for UTC. */
	size_t n = strlen(ts);
	if (n >= 5 && strcmp(ts + n - 5, "+0000") == 0) {
		strcpy(ts + n - 5, "Z");
	} else if (n >= 5) {
		memmove(ts + n - 1, ts + n - 2, 3);
		ts[n - 2] = ':';
	}
}

static void watch_log(const char *fmt, const char *a, const char *b)
{
	char ts[64];
	rfc3339_now(ts, sizeof ts);
	fprintf(stderr, "%s network-watch[%d]: ", ts, (int)getpid());
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

/* how says how a child ended, as Go's exec.ExitError prints it. */
static const char *how(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "signal: %s", WTERMSIG(st) == SIGKILL ? "killed" : strsignal(WTERMSIG(st)));
	else
		snprintf(buf, cap, "status %d", st);
	return buf;
}

static int pidfd_of(pid_t pid)
{
	return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

/* stop ends the forwarder (SIGKILL) and the tool (SIGTERM, SIGKILL after
 * 2 s), and reaps both, as the Go watcher's stopAll and proc.stop. */
static void stop_children(pid_t tool, int toolfd, pid_t fwd)
{
	if (fwd > 0) {
		kill(fwd, SIGKILL);
		waitpid(fwd, NULL, 0);
	}
	kill(tool, SIGTERM);
	struct pollfd p = {.fd = toolfd, .events = POLLIN};
	int64_t until = now_ms() + 2000;
	while (toolfd >= 0) {
		int64_t left = until - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) > 0)
			break;
	}
	if (waitpid(tool, NULL, WNOHANG) == 0) {
		kill(tool, SIGKILL);
		waitpid(tool, NULL, 0);
	}
}

/* watch_main is the network watcher's supervision (frontend/netwatch's
 * supervise), for the container's life: init=FD (a pidfd of the init, or
 * anything that polls readable when it is gone), tool=PID and fwd=PID (0:
 * none), both its children, name=MODE for the log (its stderr, the
 * network log). The descriptors it inherits stay open until it exits:
 * slirp4netns's exit pipe among them, whose close ends the tool. It ends
 * both children and exits 0 when the init exits or SIGTERM, SIGINT or
 * SIGHUP comes; 1 when the tool exits first. A forwarder that exits
 * leaves the rest of the network up. */
static int watch_main(int argc, char **argv)
{
	int end = 0;
	int initfd = num(argc, argv, "init");
	pid_t tool = num(argc, argv, "tool"), fwd = num(argc, argv, "fwd");
	const char *name = arg(argc, argv, "name", &end);
	int toolfd = pidfd_of(tool), fwdfd = pidfd_of(fwd);
	if (toolfd < 0)
		die("pidfd_open of the tool");
	catch_signals((int[]){SIGTERM, SIGINT, SIGHUP, 0}, (int[]){0});
	char buf[64];
	for (;;) {
		struct pollfd p[4] = {
			{.fd = initfd, .events = POLLIN},
			{.fd = term_pipe[0], .events = POLLIN},
			{.fd = toolfd, .events = POLLIN},
			{.fd = fwdfd, .events = POLLIN},
		};
		if (poll(p, fwdfd >= 0 ? 4 : 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents) {
			watch_log("container exited: stopping %s%s", name, "");
			stop_children(tool, toolfd, fwd);
			return 0;
		}
		if (p[1].revents & POLLIN) {
			char c = 0;
			if (read(term_pipe[0], &c, 1) < 0)
				c = SIGTERM;
			const char *what = c == SIGINT ? "interrupt" : c == SIGHUP ? "hangup" : "terminated";
			watch_log("%s: stopping %s", what, name);
			stop_children(tool, toolfd, fwd);
			return 0;
		}
		if (p[2].revents) {
			int st = 0;
			waitpid(tool, &st, 0);
			watch_log("%s exited while the container runs: %s", name, how(st, buf, sizeof buf));
			if (fwd > 0) {
				kill(fwd, SIGKILL);
				waitpid(fwd, NULL, 0);
			}
			return 1;
		}
		if (fwdfd >= 0 && p[3].revents) {
			int st = 0;
			waitpid(fwd, &st, 0);
			watch_log("port forwarder exited while the container runs: %s%s", how(st, buf, sizeof buf), "");
			close(fwdfd);
			fwdfd = -1;
			fwd = 0;
		}
	}
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return watch_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "forward") == 0)
		return forward_main(argc, argv);
	int end = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			end = i;
	if (end == 0 || end + 1 >= argc) {
		fprintf(stderr, "myctr-monitor: no exit command (this program is started by myctr)\n");
		return 125;
	}
	pid_t pid = num(argc, argv, "pid");
	int pidfd = num(argc, argv, "pidfd");
	int fds[2] = {num(argc, argv, "out"), num(argc, argv, "err")};
	const char *streams[2] = {"stdout", "stderr"};
	struct log lg = {.fd = num(argc, argv, "log"), .path = arg(argc, argv, "path", &end)};
	lg.max = atoll(arg(argc, argv, "max", &end));
	int stopsig = num(argc, argv, "stop");
	int64_t timeout = atoll(arg(argc, argv, "timeout", &end));
	const char *oom = arg(argc, argv, "oom", &end);
	struct stat st;
	if (lg.fd >= 0 && fstat(lg.fd, &st) == 0)
		lg.size = st.st_size;
	if (lg.path[0] == 0)
		lg.max = 0;

	catch_signals((int[]){SIGTERM, 0}, (int[]){SIGHUP, SIGINT, SIGPIPE, 0});

	int ino = -1;
	uint64_t kills = 0;
	if (oom[0]) {
		kills = oom_kills(oom, 0);
		ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ino >= 0 && inotify_add_watch(ino, oom, IN_MODIFY) < 0) {
			close(ino);
			ino = -1;
		}
	}

	int64_t deadline = timeout > 0 ? now_ms() + timeout : 0;
	int exited = 0, terminated = num(argc, argv, "term"), timedout = 0, status = 0;
	int64_t exit_at = 0, last_out = 0;
	static char chunk[CHUNK];
	for (;;) {
		struct pollfd p[5];
		int np = 0, at[2] = {-1, -1};
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0) {
				at[i] = np;
				p[np++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
			}
		int pidx = -1, tidx = np, iidx = -1;
		p[np++] = (struct pollfd){.fd = term_pipe[0], .events = POLLIN};
		if (!exited) {
			pidx = np;
			p[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}
		if (ino >= 0) {
			iidx = np;
			p[np++] = (struct pollfd){.fd = ino, .events = POLLIN};
		}
		int wait_ms = -1;
		int64_t t = now_ms();
		if (exited) {
			if (at[0] < 0 && at[1] < 0)
				break;
			int64_t idle = last_out + DRAIN_IDLE_MS - t, cap = exit_at + DRAIN_MAX_MS - t;
			int64_t w = idle < cap ? idle : cap;
			if (w <= 0)
				break;
			wait_ms = (int)w;
		} else if (deadline && !timedout) {
			wait_ms = deadline > t ? (int)(deadline - t) : 0;
		}
		int n = poll(p, (nfds_t)np, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (deadline && !timedout && !exited && now_ms() >= deadline) {
			timedout = 1;
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		}
		if (p[tidx].revents & POLLIN) {
			char b[16];
			while (read(term_pipe[0], b, sizeof b) > 0)
				;
			terminated = 1;
			if (!exited)
				syscall(SYS_pidfd_send_signal, pidfd, stopsig, NULL, 0);
		}
		if (iidx >= 0 && (p[iidx].revents & POLLIN)) {
			char b[4096];
			while (read(ino, b, sizeof b) > 0)
				;
			kills = oom_kills(oom, kills);
		}
		for (int i = 0; i < 2; i++) {
			if (at[i] < 0 || !(p[at[i]].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(fds[i], chunk, sizeof chunk);
			if (r > 0) {
				log_write(&lg, streams[i], chunk, (size_t)r);
				last_out = now_ms();
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* end of file (a pty reads EIO once its last writer is gone) */
				close(fds[i]);
				fds[i] = -1;
			}
		}
		if (pidx >= 0 && (p[pidx].revents & POLLIN)) {
			siginfo_t si = {0};
			if (waitid(P_PID, (id_t)pid, &si, WEXITED) == 0) {
				status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
			} else {
				status = 125;
			}
			exited = 1;
			exit_at = last_out = now_ms();
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (lg.fd >= 0)
		close(lg.fd);
	close(pidfd);
	if (oom[0])
		kills = oom_kills(oom, kills);
	if (ino >= 0)
		close(ino);
	if (timedout)
		status = -1; /* as Podman: a container killed at its --timeout exits -1 */

	/* The exit command, with the outcome after its own arguments. */
	char code[16], oomk[2] = {kills > 0 ? '1' : '0', 0}, tmo[2] = {timedout ? '1' : '0', 0},
		 trm[2] = {terminated ? '1' : '0', 0};
	snprintf(code, sizeof code, "%d", status);
	int nargs = argc - end - 1;
	char **av = calloc((size_t)nargs + 5, sizeof *av);
	if (!av)
		die("memory");
	for (int i = 0; i < nargs; i++)
		av[i] = argv[end + 1 + i];
	av[nargs] = code;
	av[nargs + 1] = oomk;
	av[nargs + 2] = tmo;
	av[nargs + 3] = trm;
	execv(av[0], av);
	fprintf(stderr, "myctr-monitor: execute %s: %s\n", av[0], strerror(errno));
	return status >= 0 && status < 256 ? status : 125;
}
