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
 * "myctr-monitor attach ..." is the same watch for a foreground run,
 * which the CLI executes in place of the init stage and which starts the
 * stage, so that the init is its child: the output goes to the user's
 * stdout and stderr as well, and the end is the CLI's to record while it
 * lives, ours (the exit command) once it is gone (see attach_main).
 *
 * "myctr-monitor watch ..." is another program here: the supervision
 * of a container's network tool (pasta or slirp4netns) and port
 * forwarder, which myctr's network watcher executes in its place once
 * both run (see watch_main). "myctr-monitor forward ..." is the third:
 * the port forwarder's relay, which the forwarder's Go stage executes in
 * its place once it has set up the container's network namespace
 * (forward.c).
 *
 * Arguments, all given by myctr: pid=N pidfd=FD out=FD err=FD log=FD
 * path=LOGPATH max=BYTES stop=SIGNAL timeout=MS oom=MEMORY.EVENTS term=0|1
 * hc=MS -- EXIT-COMMAND ARGS... (term: a SIGTERM came already; hc: the
 * healthcheck's interval, 0 for none: every MS the exit command's program
 * runs, with its arguments and _MYCTR_STAGE=health, one at a time) (err, log: -1 for none; path, oom: empty for
 * none). It reads no environment and passes the environment on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
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

/* ---- the user's terminal (a foreground run) ------------------------------ */

/* A tee is the user's stdout or stderr in a foreground run, which the
 * output goes to besides the log. Writing to it never stalls the loop: a
 * chunk goes out PIPE_BUF bytes at a time, each once poll says the
 * descriptor takes it (a pipe then takes it whole), and its stream is not
 * read while some of it waits, so that the container waits for the user's
 * reader as it would writing to it directly, while signals, the timeout
 * and the init's exit are still seen. */
struct tee {
	int fd;     /* -1: none, or no more */
	char *buf;  /* the chunk read last */
	size_t off, len;
	int broken; /* a write failed: EPIPE, the reader went away */
};

#define TEE_STEP 4096 /* PIPE_BUF */

static int tee_pending(const struct tee *t) { return t->fd >= 0 && t->off < t->len; }

static void tee_put(struct tee *t, const char *p, size_t n)
{
	if (t->fd < 0)
		return;
	memcpy(t->buf, p, n);
	t->off = 0;
	t->len = n;
}

/* tee_write writes the next step of the waiting chunk. */
static void tee_write(struct tee *t)
{
	size_t n = t->len - t->off;
	if (n > TEE_STEP)
		n = TEE_STEP;
	ssize_t w = write(t->fd, t->buf + t->off, n);
	if (w > 0) {
		t->off += (size_t)w;
	} else if (w < 0 && errno != EINTR && errno != EAGAIN) {
		t->broken = 1;
		close(t->fd);
		t->fd = -1;
	}
}

static void tee_drop(struct tee *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* ---- the run ------------------------------------------------------------- */

/* A mon is one container's run as this program watches it. */
struct mon {
	pid_t pid;   /* the init, our child; 0 until the CLI names it */
	int pidfd;   /* -1 until then */
	int fds[2];  /* the output: a pty master, or the stdout and stderr pipes */
	struct tee tee[2];
	struct log lg;
	int stopsig;
	int64_t timeout, deadline;
	const char *oom; /* memory.events, "" for none */
	int ino;
	uint64_t kills;
	int ctl;     /* the CLI's socket in a foreground run, else -1 */
	int running; /* the CLI said the container runs */
	int bound;   /* the run ends with the CLI (a build's RUN step) */
	int exited, terminated, timedout, status;
	int64_t exit_at, last_out;
	/* The healthcheck: every hc_every ms (0: none) the exit command's
	 * program runs as the health stage (hc_argv, NULL-terminated), one at
	 * a time: hc_pid, watched through hc_fd, until it ends. */
	int64_t hc_every, hc_next;
	char **hc_argv;
	pid_t hc_pid;
	int hc_fd;
	/* The arguments of the log, the healthcheck and the exit command
	 * (after xend, "--"): ours, or, with later=1, the CLI's "ctr"
	 * message, until which later stays 1. */
	int later;
	int xargc, xend;
	char **xargv;
};

static void watch_oom(struct mon *m)
{
	if (!m->oom[0])
		return;
	m->kills = oom_kills(m->oom, 0);
	m->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (m->ino >= 0 && inotify_add_watch(m->ino, m->oom, IN_MODIFY) < 0) {
		close(m->ino);
		m->ino = -1;
	}
}

static void start_clock(struct mon *m)
{
	if (m->timeout > 0)
		m->deadline = now_ms() + m->timeout;
	if (m->hc_every > 0)
		m->hc_next = now_ms() + m->hc_every;
}

/* health_args sets up the healthcheck of hc=MS: the exit command's
 * program and its own arguments (ROOT RUNROOT ID), which the health stage
 * takes as they are. */
static void health_args(struct mon *m, int argc, char **argv, int end)
{
	int end2 = 0;
	m->hc_every = atoll(arg(argc, argv, "hc", &end2));
	m->hc_fd = -1;
	if (m->hc_every <= 0 || end == 0) {
		m->hc_every = 0;
		return;
	}
	int n = argc - end - 1;
	m->hc_argv = calloc((size_t)n + 1, sizeof *m->hc_argv);
	if (!m->hc_argv)
		die("memory");
	for (int i = 0; i < n; i++)
		m->hc_argv[i] = argv[end + 1 + i];
}

/* health_start runs the healthcheck once, in the background: myctr's
 * health stage, with none of our descriptors but stdio. */
static void health_start(struct mon *m)
{
	pid_t child = fork();
	if (child < 0) {
		m->hc_next = now_ms() + m->hc_every;
		return;
	}
	if (child == 0) {
		syscall(SYS_close_range, 3U, ~0U, 0U);
		setenv("_MYCTR_STAGE", "health", 1);
		execv(m->hc_argv[0], m->hc_argv);
		_exit(125);
	}
	m->hc_pid = child;
	m->hc_fd = (int)syscall(SYS_pidfd_open, child, 0);
	if (m->hc_fd < 0) {
		/* No pidfd (before Linux 5.3): wait for it here. */
		waitpid(child, NULL, 0);
		m->hc_pid = 0;
		m->hc_next = now_ms() + m->hc_every;
	}
}

/* health_reap waits for the healthcheck that ended; the next one is due
 * an interval after it. */
static void health_reap(struct mon *m)
{
	waitpid(m->hc_pid, NULL, 0);
	close(m->hc_fd);
	m->hc_fd = -1;
	m->hc_pid = 0;
	m->hc_next = now_ms() + m->hc_every;
}

/* reap_init waits for the init, which has exited, and keeps its status
 * (128+signal when killed, as shells report it). */
static void reap_init(struct mon *m)
{
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)m->pid, &si, WEXITED) == 0)
		m->status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	else
		m->status = 125;
	m->exited = 1;
	m->exit_at = m->last_out = now_ms();
}

static void ctl_message(struct mon *m);

/* run watches m until the init has exited and its output is drained. */
static void run(struct mon *m)
{
	static char chunk[CHUNK];
	const char *streams[2] = {"stdout", "stderr"};
	for (;;) {
		struct pollfd p[9];
		int np = 0, at[2] = {-1, -1}, tat[2] = {-1, -1}, pending = 0;
		for (int i = 0; i < 2; i++) {
			if (tee_pending(&m->tee[i])) {
				pending = 1;
				tat[i] = np;
				p[np++] = (struct pollfd){.fd = m->tee[i].fd, .events = POLLOUT};
			} else if (m->fds[i] >= 0) {
				at[i] = np;
				p[np++] = (struct pollfd){.fd = m->fds[i], .events = POLLIN};
			}
		}
		int pidx = -1, tidx = np, iidx = -1, cidx = -1;
		p[np++] = (struct pollfd){.fd = term_pipe[0], .events = POLLIN};
		/* Not reaped before the CLI has recorded it running (it reads
		 * the init's start time), nor before its pty is ours. */
		if (!m->exited && m->pidfd >= 0 && m->running) {
			pidx = np;
			p[np++] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
		}
		if (m->ino >= 0) {
			iidx = np;
			p[np++] = (struct pollfd){.fd = m->ino, .events = POLLIN};
		}
		if (m->ctl >= 0) {
			cidx = np;
			p[np++] = (struct pollfd){.fd = m->ctl, .events = POLLIN};
		}
		int hidx = -1;
		if (m->hc_fd >= 0) {
			hidx = np;
			p[np++] = (struct pollfd){.fd = m->hc_fd, .events = POLLIN};
		}
		int wait_ms = -1;
		int64_t t = now_ms();
		if (m->exited) {
			if (m->fds[0] < 0 && m->fds[1] < 0 && !pending)
				break;
			int64_t idle = m->last_out + DRAIN_IDLE_MS - t, cap = m->exit_at + DRAIN_MAX_MS - t;
			int64_t w = idle < cap ? idle : cap;
			if (w <= 0)
				break;
			wait_ms = (int)w;
		} else if (m->deadline && !m->timedout) {
			wait_ms = m->deadline > t ? (int)(m->deadline - t) : 0;
		}
		int health_due = m->hc_every > 0 && m->running && !m->exited && m->hc_pid == 0 && m->hc_next > 0;
		if (health_due) {
			int w = m->hc_next > t ? (int)(m->hc_next - t) : 0;
			if (wait_ms < 0 || w < wait_ms)
				wait_ms = w;
		}
		int n = poll(p, (nfds_t)np, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (m->deadline && !m->timedout && !m->exited && now_ms() >= m->deadline) {
			m->timedout = 1;
			syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0);
		}
		if (p[tidx].revents & POLLIN) {
			char b[16];
			while (read(term_pipe[0], b, sizeof b) > 0)
				;
			m->terminated = 1;
			if (!m->exited && m->pidfd >= 0)
				syscall(SYS_pidfd_send_signal, m->pidfd, m->stopsig, NULL, 0);
		}
		if (iidx >= 0 && (p[iidx].revents & POLLIN)) {
			char b[4096];
			while (read(m->ino, b, sizeof b) > 0)
				;
			m->kills = oom_kills(m->oom, m->kills);
		}
		for (int i = 0; i < 2; i++) {
			if (tat[i] >= 0 && p[tat[i]].revents) {
				tee_write(&m->tee[i]);
				m->last_out = now_ms();
				if (i == 0 && m->tee[0].broken && m->ctl >= 0 && !m->bound)
					/* The CLI ends with the error now; the run is
					 * ours to end. */
					send(m->ctl, "broken", 6, MSG_NOSIGNAL);
			}
			if (at[i] < 0 || !(p[at[i]].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(m->fds[i], chunk, sizeof chunk);
			if (r > 0) {
				log_write(&m->lg, streams[i], chunk, (size_t)r);
				tee_put(&m->tee[i], chunk, (size_t)r);
				m->last_out = now_ms();
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* end of file (a pty reads EIO once its last writer is gone) */
				close(m->fds[i]);
				m->fds[i] = -1;
			}
		}
		if (pidx >= 0 && (p[pidx].revents & POLLIN))
			reap_init(m);
		if (cidx >= 0 && p[cidx].revents)
			ctl_message(m);
		if (hidx >= 0 && (p[hidx].revents & POLLIN))
			health_reap(m);
		if (health_due && !m->exited && m->hc_pid == 0 && now_ms() >= m->hc_next)
			health_start(m);
	}
	for (int i = 0; i < 2; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		tee_drop(&m->tee[i]);
	}
	if (m->lg.fd >= 0)
		close(m->lg.fd);
	close(m->pidfd);
	if (m->oom[0])
		m->kills = oom_kills(m->oom, m->kills);
	if (m->ino >= 0)
		close(m->ino);
	if (m->timedout)
		m->status = -1; /* as Podman: a container killed at its --timeout exits -1 */
}

/* exit_command executes the exit command (the argv after "--") with the
 * outcome after its own arguments: the exit code, and 0 or 1 for whether
 * the OOM killer struck, the timeout did, a SIGTERM came. */
static int exit_command(int argc, char **argv, int end, const struct mon *m)
{
	char code[16], oomk[2] = {m->kills > 0 ? '1' : '0', 0}, tmo[2] = {m->timedout ? '1' : '0', 0},
		 trm[2] = {m->terminated ? '1' : '0', 0};
	snprintf(code, sizeof code, "%d", m->status);
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
	return m->status >= 0 && m->status < 256 ? m->status : 125;
}

/* exit_end is the index of the "--" before the exit command, 0 if none. */
static int exit_end(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i + 1 < argc ? i : 0;
	return 0;
}

static void init_log(struct mon *m, int argc, char **argv)
{
	int end = 0;
	m->lg = (struct log){.fd = num(argc, argv, "log"), .path = arg(argc, argv, "path", &end)};
	m->lg.max = atoll(arg(argc, argv, "max", &end));
	struct stat st;
	if (m->lg.fd >= 0 && fstat(m->lg.fd, &st) == 0)
		m->lg.size = st.st_size;
	if (m->lg.path[0] == 0)
		m->lg.max = 0;
	m->stopsig = num(argc, argv, "stop");
	m->timeout = atoll(arg(argc, argv, "timeout", &end));
}

/* ---- attach: a foreground run -------------------------------------------- */

/* In a foreground run the CLI execs this program in place of the init
 * stage ("myctr-monitor attach ..."), so that the init is our child, not
 * the CLI's, and the CLI's death loses nothing. We start the stage (the
 * descriptors below init=K and the env= arguments are its), keep the
 * output in the log and write it to the user's stdout and stderr (tout=,
 * terr=), and talk with the CLI on ctl=, a SOCK_SEQPACKET socket:
 *
 *   CLI -> us   with later=1 (an early start: the stage was started
 *               before the container existed), first "ctr" then the
 *               arguments the container has (log=, path=, max=, stop=,
 *               timeout=, hc=, "--" and the exit command), each ended by
 *               a NUL, with the log's descriptor;
 *               "pid N" with a pidfd of the init, once it exists;
 *               "run [MEMORY.EVENTS]" once the container runs, with the
 *               pty master when it has a terminal;
 *               "done" once it has recorded the exit, or "done DIR"
 *               when it leaves us DIR to delete: an --rm container's
 *               directory, already renamed out of every listing (.rm-ID),
 *               small and all of whose directories are the user's, so
 *               that its unlinks come after the CLI has ended. What we
 *               cannot delete stays for the CLI's next sweep.
 *   us -> CLI   "exit CODE OOM TIMEDOUT TERM OUTBROKEN ERRBROKEN" once the
 *               init has exited and its output is drained;
 *               "broken" when a write to the user's stdout failed (its
 *               reader went away: run ... | head -1): the CLI then ends
 *               at once with the error, as Podman does, and the container
 *               runs on, its output in the log alone.
 *
 * A CLI that goes before "run" had a start that failed: the init, if
 * any, is killed and we exit. One that goes later has been killed: the
 * output goes on to the log alone, and at the end we execute the exit
 * command (myctr's monitor-exit stage) ourselves, as for a detached
 * container; so does an exit the CLI never acknowledged. With bound=1 (a
 * build's RUN step, which ends with its build) the init is killed then,
 * and the exit command removes the step's container. */

static int recv_fd(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			for (size_t extra = 1; extra < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); extra++) {
				int more;
				memcpy(&more, CMSG_DATA(c) + extra * sizeof(int), sizeof more);
				close(more);
			}
			return fd;
		}
	return -1;
}

/* abandon ends a foreground start the CLI gave up (or died in): the init,
 * if it exists, is killed and reaped. */
static void abandon(struct mon *m)
{
	if (m->pidfd >= 0 && !m->exited) {
		syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0);
		waitid(P_PID, (id_t)m->pid, &(siginfo_t){0}, WEXITED);
	}
	exit(0);
}

/* has says whether key= is among argv's arguments before "--". */
static int has(int argc, char **argv, const char *key)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return 1;
	return 0;
}

/* container_args takes the "ctr" message's arguments (body, n bytes, each
 * ended by a NUL) and the log's descriptor log (-1 for none); 0 once
 * they are ours, -1 when they are not what myctr sends. */
static int container_args(struct mon *m, const char *body, size_t n, int log)
{
	if (n == 0 || body[n - 1] != 0)
		return -1;
	char *copy = malloc(n);
	char **av = calloc(n + 2, sizeof *av);
	if (!copy || !av)
		die("memory");
	memcpy(copy, body, n);
	int ac = 0;
	av[ac++] = "ctr";
	for (size_t i = 0; i < n; i += strlen(copy + i) + 1)
		av[ac++] = copy + i;
	int end = exit_end(ac, av);
	const char *keys[] = {"log", "path", "max", "stop", "timeout", "hc"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (end == 0 || !has(ac, av, keys[i])) {
			free(av);
			free(copy);
			return -1;
		}
	init_log(m, ac, av);
	m->lg.fd = log;
	if (log >= 0) {
		struct stat st;
		if (fstat(log, &st) == 0)
			m->lg.size = st.st_size;
	}
	health_args(m, ac, av, end);
	m->xargc = ac;
	m->xargv = av;
	m->xend = end;
	m->later = 0;
	return 0;
}

static void ctl_message(struct mon *m)
{
	char b[16384 + 8];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = b, .iov_len = sizeof b - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.space, .msg_controllen = sizeof cm.space};
	ssize_t n = recvmsg(m->ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	int fd = n > 0 ? recv_fd(&mh) : -1;
	if (n <= 0) {
		/* The CLI is gone. */
		if (!m->running)
			abandon(m);
		if (m->bound && !m->exited)
			syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0);
		close(m->ctl);
		m->ctl = -1;
		tee_drop(&m->tee[0]);
		tee_drop(&m->tee[1]);
		return;
	}
	b[n] = 0;
	if (m->later && n >= 4 && memcmp(b, "ctr", 4) == 0) {
		if ((mh.msg_flags & MSG_TRUNC) || container_args(m, b + 4, (size_t)n - 4, fd) < 0) {
			fprintf(stderr, "myctr-monitor: a container's arguments that are not myctr's\n");
			abandon(m);
		}
		return;
	}
	if (strncmp(b, "pid ", 4) == 0 && m->pidfd < 0 && fd >= 0) {
		m->pid = (pid_t)atoi(b + 4);
		m->pidfd = fd;
		return;
	}
	if ((strcmp(b, "run") == 0 || strncmp(b, "run ", 4) == 0) && !m->running && m->pidfd >= 0 && !m->later) {
		m->running = 1;
		if (fd >= 0) {
			if (m->fds[0] >= 0 || m->fds[1] >= 0) {
				close(fd);
			} else {
				m->fds[0] = fd; /* the pty master */
			}
		}
		static char oom[sizeof b];
		memcpy(oom, b[3] ? b + 4 : "", b[3] ? (size_t)n - 3 : 1);
		m->oom = oom;
		watch_oom(m);
		start_clock(m);
		return;
	}
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "myctr-monitor: unexpected message from myctr: %.40s\n", b);
}

static void keep_private(int fd)
{
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		die("close-on-exec");
}

/* start_stage forks the init stage: the executable at descriptor exe,
 * argv[0] myctr-init, the environment env; it returns once the stage's
 * first process (which clones the init as our child, CLONE_PARENT, and
 * exits) is gone, and the descriptors below k, the stage's, are closed
 * here. */
static void start_stage(int exe, char **env, int k)
{
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* Its own session, away from the terminal of myctr run. */
		setsid();
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", exe);
		execve(path, (char *[]){"myctr-init", NULL}, env);
		fprintf(stderr, "myctr-monitor: execute the init stage: %s\n", strerror(errno));
		_exit(125);
	}
	/* The stage's descriptors are its own: ours would keep its sync
	 * socket's end open, and the stdio pipes' write ends. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++)
		if (null < 0 || dup2(null, fd) < 0)
			close(fd);
	if (null > 2)
		close(null);
	for (int fd = 3; fd < k; fd++)
		close(fd);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
}

/* remove_tree deletes name in dirfd and all below it, without following
 * a symlink (each is unlinked as it is) and without leaving dirfd's
 * tree: every directory is opened O_NOFOLLOW from its parent's
 * descriptor (at). A directory we may not read but own (overlayfs's
 * work/work, mode 000) is given its owner's rights first. -1 when
 * something is left. */
static int remove_tree(int at, const char *name, int depth)
{
	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR || depth > 32)
		return -1;
	if (unlinkat(at, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(at, name, 0700, 0) == 0)
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && remove_tree(dirfd(d), e->d_name, depth + 1) < 0)
			rc = -1;
	closedir(d);
	if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

/* remove_dir deletes the directory at the absolute path p (see "done"). */
static void remove_dir(char *p)
{
	char *slash = strrchr(p, '/');
	if (p[0] != '/' || !slash || strncmp(slash + 1, ".rm-", 4) != 0)
		return; /* only what the CLI renamed away is ours to delete */
	*slash = 0;
	int parent = open(slash == p ? "/" : p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (parent < 0)
		return;
	(void)remove_tree(parent, slash + 1, 0);
	close(parent);
}

static int attach_main(int argc, char **argv)
{
	int later = has(argc, argv, "later") && num(argc, argv, "later") == 1;
	int end = exit_end(argc, argv);
	if (end == 0 && !later) {
		fprintf(stderr, "myctr-monitor: no exit command (this program is started by myctr)\n");
		return 125;
	}
	struct mon m = {.pidfd = -1, .ctl = num(argc, argv, "ctl"), .ino = -1, .oom = "", .bound = num(argc, argv, "bound")};
	int exe = num(argc, argv, "exe"), k = num(argc, argv, "init");
	m.fds[0] = num(argc, argv, "out");
	m.fds[1] = num(argc, argv, "err");
	m.tee[0].fd = num(argc, argv, "tout");
	m.tee[1].fd = num(argc, argv, "terr");
	if (later) {
		/* The container's own arguments come in "ctr". */
		m.later = 1;
		m.lg = (struct log){.fd = -1, .path = ""};
		m.stopsig = SIGTERM;
		m.hc_fd = -1;
		end = argc;
	} else {
		init_log(&m, argc, argv);
		health_args(&m, argc, argv, end);
		m.xargc = argc;
		m.xargv = argv;
		m.xend = end;
	}
	int own[] = {exe, m.ctl, m.fds[0], m.fds[1], m.tee[0].fd, m.tee[1].fd, m.lg.fd};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
		if (own[i] >= 0 && own[i] < k) {
			fprintf(stderr, "myctr-monitor: descriptor %d is the init's (this program is started by myctr)\n", own[i]);
			return 125;
		}
		keep_private(own[i]);
	}
	for (int i = 0; i < 2; i++)
		if (m.tee[i].fd >= 0 && !(m.tee[i].buf = malloc(CHUNK)))
			die("memory");
	char **env = calloc((size_t)argc, sizeof *env);
	if (!env)
		die("memory");
	for (int i = 1, n = 0; i < end; i++)
		if (strncmp(argv[i], "env=", 4) == 0)
			env[n++] = argv[i] + 4;

	catch_signals((int[]){SIGTERM, 0}, (int[]){SIGHUP, SIGINT, SIGPIPE, 0});
	start_stage(exe, env, k);
	close(exe);
	free(env);
	run(&m);

	if (m.ctl >= 0) {
		char msg[96];
		int n = snprintf(msg, sizeof msg, "exit %d %d %d %d %d %d", m.status, m.kills > 0, m.timedout,
				 m.terminated, m.tee[0].broken, m.tee[1].broken);
		if (send(m.ctl, msg, (size_t)n, MSG_NOSIGNAL) == n) {
			char b[PATH_MAX + 8];
			ssize_t r;
			while ((r = recv(m.ctl, b, sizeof b - 1, MSG_CMSG_CLOEXEC)) != 0) {
				if (r == 4 && memcmp(b, "done", 4) == 0)
					return 0;
				if (r > 5 && memcmp(b, "done ", 5) == 0) {
					b[r] = 0;
					close(m.ctl);
					remove_dir(b + 5);
					return 0;
				}
				if (r < 0 && errno != EINTR)
					break;
			}
		}
	}
	if (m.later)
		return 125; /* never told the container: nothing to record */
	return exit_command(m.xargc, m.xargv, m.xend, &m);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return watch_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "forward") == 0)
		return forward_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "attach") == 0)
		return attach_main(argc, argv);
	int end = exit_end(argc, argv);
	if (end == 0) {
		fprintf(stderr, "myctr-monitor: no exit command (this program is started by myctr)\n");
		return 125;
	}
	struct mon m = {.pid = num(argc, argv, "pid"), .pidfd = num(argc, argv, "pidfd"), .ctl = -1, .ino = -1,
			.running = 1, .terminated = num(argc, argv, "term"), .tee = {{.fd = -1}, {.fd = -1}}};
	m.fds[0] = num(argc, argv, "out");
	m.fds[1] = num(argc, argv, "err");
	init_log(&m, argc, argv);
	health_args(&m, argc, argv, end);
	m.oom = arg(argc, argv, "oom", &end);
	end = exit_end(argc, argv);

	catch_signals((int[]){SIGTERM, 0}, (int[]){SIGHUP, SIGINT, SIGPIPE, 0});
	watch_oom(&m);
	start_clock(&m);
	run(&m);
	return exit_command(argc, argv, end, &m);
}
