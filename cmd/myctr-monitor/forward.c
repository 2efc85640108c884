/*
 * myctr-monitor forward: the port forwarder's relay (slirp4netns mode).
 *
 * myctr's network watcher (frontend/netwatch) executes it on the host, as
 * the watcher's child (PR_SET_PDEATHSIG), with a pidfd of the container's
 * init and the host's sockets. It enters the init's user and network
 * namespaces itself, keeps CAP_NET_ADMIN alone with no_new_privs, sets
 * the network namespace up (the marked packets' routing table and rule,
 * net.ipv4.tcp_fwmark_accept) and relays for the container's life: a
 * small static program rather than a Go runtime. Executed before the
 * join, its memory is the host user namespace's, and it is non-dumpable:
 * no process of the container may trace it or read its memory, whatever
 * its capabilities there. What it does is what the Go stage
 * (frontend/portfwd, which stays for hosts without this program) does;
 * the design is in package network's documentation, "The port
 * forwarder":
 *
 *   - TCP: each client accepted on a host socket is joined to a new
 *     connection to the container's server, made here from the client's
 *     own address and port (IP_TRANSPARENT, the mark); both directions
 *     are spliced through a pipe each, so no byte is copied through this
 *     process and its memory does not grow with the traffic. An end of
 *     stream is passed on (shutdown), a reset or an error ends both
 *     connections at once, the other with a reset too.
 *   - UDP: each client (address and port) has a flow: a socket here bound
 *     to its address, not connected, and for a client that is not on
 *     loopback a rule that routes the server's replies to it back here.
 *     A flow idle for a minute ends, with its rule.
 *
 * One thread, one epoll set, non-blocking sockets; each bound (dialing
 * connections, flows per port) is the Go relay's. Nothing here grows
 * without a bound but the connections themselves, each a small record
 * and six descriptors, which RLIMIT_NOFILE bounds.
 *
 * Arguments, all given by frontend/netwatch (portfwd.RelayArgs), each
 * once but port (one or more): init=FD (a pidfd of the container's init,
 * whose namespaces it joins; without it, it relays where it was started,
 * set up already: the tests) guest=A.B.C.D (where connections go) gateway=A.B.C.D (the
 * source of a client with no IPv4 address) mark=N (SO_MARK, and the
 * routing table of the flow rules) prio=N (the rules' priority)
 * parent=PID (the watcher) ready=FD (the one report: "ok" once every host
 * socket is taken over, or the error) port=FD:tcp|udp:CPORT (a host
 * socket, listening or bound, and the container's port). Anything else
 * is refused.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor.h"

/* The Go relay's bounds (tcp_linux.go, udp_linux.go, main_linux.go). */
#define CONNECT_TIMEOUT_MS 30000
#define MAX_DIALING 256
#define UDP_IDLE_MS 60000
#define MAX_FLOWS 1024
#define LOG_EVERY_MS 1000
/* How long a listener rests after accept ran out of descriptors or
 * memory: the client stays in the backlog, and a level-triggered epoll
 * would otherwise report it again at once. */
#define ACCEPT_PAUSE_MS 10
/* Accepts, datagrams or splices per wake-up and socket: one busy client
 * does not keep the others waiting. */
#define BATCH 64
#define FLOW_BUCKETS 64
#define SPLICE_CHUNK (64 * 1024)

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

enum kind { K_SIGNAL, K_LISTEN, K_UDP, K_FLOW, K_CONN };

/* ep is one descriptor in the epoll set, first in the record it belongs
 * to (a connection has two, end[0] and end[1]). */
struct ep {
	int fd;
	uint8_t kind;
	uint8_t side;  /* K_CONN: which end */
	uint32_t want; /* the events registered; 0: not in the set */
};

struct flow;

struct port {
	struct ep ep; /* the host's socket */
	bool udp;
	struct sockaddr_in target; /* guest:CPORT */
	char name[64];             /* the host socket's address, for the log */
	int64_t paused_until;      /* TCP: accept rests until then (0: not) */
	struct flow *flows[FLOW_BUCKETS];
	int nflows;
};

/* A client as a flow's key: its IPv4 address (unmapped) or IPv6 one, and
 * its port. */
struct key {
	uint8_t addr[16];
	uint16_t port;
	bool v4;
};

struct flow {
	struct ep ep; /* bound to the client's address, here */
	struct port *port;
	struct flow *next; /* in its bucket */
	struct key key;
	union sa client; /* as the host socket gave it, for the replies */
	socklen_t clen;
	bool rule;      /* a flow rule was added for it */
	uint8_t dst[4]; /* the rule's address and port: the socket's own */
	uint16_t dport;
	int64_t last; /* of the last datagram either way */
	bool dead;
	struct flow *grave;
};

/* A connection: end[0] the client's (host), end[1] ours to the server
 * (container). Direction d carries end[d]'s bytes to end[1-d] through
 * pipe[d]. */
struct conn {
	struct ep end[2];
	struct port *port;
	bool dialing;
	int64_t deadline;              /* dialing: connect gives up then */
	struct conn *prev, *next;      /* in the dialing list, oldest first */
	int pipe[2][2];                /* -1 until connected */
	size_t inpipe[2];              /* bytes in pipe[d] */
	size_t pipecap[2];             /* what pipe[d] holds at most */
	bool eof[2], done[2];          /* end[d] sent its end; passed on */
	char client[64];               /* for the log */
	bool dead;
	struct conn *grave;
};

static int epfd = -1, nlfd = -1;
static uint32_t mark, prio;
static struct in_addr gateway;
static struct port *ports;
static int nports;
static struct conn *dial_head, *dial_tail;
static int ndialing;
static int nflows_all;
/* Records closed during one round of events, freed after it: a later
 * event of the same round may still name them. */
static struct conn *conn_graves;
static struct flow *flow_graves;
static char dgram[65536];

/* ---- the log -------------------------------------------------------------- */

/* flog writes one line to the network log (stderr) as the Go stage's logf
 * does, in one write. */
static void flog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void flog(const char *fmt, ...)
{
	char line[1024], ts[64];
	rfc3339_now(ts, sizeof ts);
	int n = snprintf(line, sizeof line, "%s network-forward[%d]: ", ts, (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && n < (int)sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0) {
		/* the log is gone: nothing to tell it */
	}
}

/* conn_log logs a failed connection, at most one line per second (a
 * client that polls a server not listening yet would otherwise fill the
 * log for as long as the container runs); the lines left out are counted
 * in the next one. */
static void conn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void conn_log(const char *fmt, ...)
{
	static bool logged;
	static int64_t last;
	static unsigned long dropped;
	int64_t now = now_ms();
	if (logged && now - last < LOG_EVERY_MS) {
		dropped++;
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (dropped > 0)
		flog("%s (and %lu more since the last line)", msg, dropped);
	else
		flog("%s", msg);
	logged = true;
	last = now;
	dropped = 0;
}

/* errstr is strerror as Go writes errno values: the same words, lower
 * case first ("connection refused"). */
static const char *errstr(int err)
{
	static char b[128];
	snprintf(b, sizeof b, "%s", strerror(err));
	if (b[0] >= 'A' && b[0] <= 'Z' && !(b[1] >= 'A' && b[1] <= 'Z'))
		b[0] = (char)(b[0] - 'A' + 'a');
	return b;
}

/* addrstr writes an address and port as Go's netip.AddrPort does
 * (1.2.3.4:5, [::1]:5), an IPv4-mapped IPv6 address as IPv4. */
static const char *addrstr(const union sa *a, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, h, sizeof h);
		snprintf(out, cap, "%s:%u", h, ntohs(a->in.sin_port));
	} else if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		inet_ntop(AF_INET, &a->in6.sin6_addr.s6_addr[12], h, sizeof h);
		snprintf(out, cap, "%s:%u", h, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, h, sizeof h);
		snprintf(out, cap, "[%s]:%u", h, ntohs(a->in6.sin6_port));
	} else {
		snprintf(out, cap, "(family %d)", a->sa.sa_family);
	}
	return out;
}

/* ---- the epoll set ---------------------------------------------------------- */

/* set_events makes e's registered events want (0: out of the set). An end
 * that waits for nothing leaves the set: a socket shut down both ways
 * reports EPOLLHUP for as long as it is in it. */
static int set_events(struct ep *e, uint32_t want)
{
	if (want == e->want)
		return 0;
	struct epoll_event ev = {.events = want, .data.ptr = e};
	int op = want == 0 ? EPOLL_CTL_DEL : e->want == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(epfd, op, e->fd, &ev) < 0)
		return -1;
	e->want = want;
	return 0;
}

/* ---- the flow rules ---------------------------------------------------------- */

static void put_attr(char *buf, size_t *len, uint16_t type, const void *data, uint16_t n)
{
	struct rtattr *a = (struct rtattr *)(buf + *len);
	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(n);
	memcpy(RTA_DATA(a), data, n);
	*len += RTA_SPACE(n);
}

/* nl_request sends one rtnetlink request (type, flags, then the header
 * and attributes already in req from NLMSG_DATA on, len bytes in all) on
 * nlfd and waits for its answer. It returns 0 or an errno; "exists" for
 * a creation and "not found" for a deletion are the caller's to forgive. */
static int nl_request(char *req, size_t len, uint16_t type, uint16_t flags)
{
	static uint32_t seq;
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	h->nlmsg_len = (uint32_t)len;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++seq;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(nlfd, req, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return errno;
	for (;;) {
		union {
			char b[4096];
			struct nlmsghdr h;
		} reply;
		ssize_t n = recv(nlfd, reply.b, sizeof reply.b, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno; /* EAGAIN: no answer within SO_RCVTIMEO */
		for (struct nlmsghdr *r = &reply.h; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n)) {
			if (r->nlmsg_seq != seq || r->nlmsg_type != NLMSG_ERROR)
				continue; /* an answer to a request that timed out */
			if (r->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return EBADMSG;
			return -((struct nlmsgerr *)NLMSG_DATA(r))->error;
		}
	}
}

/* flow_rule adds (add) or deletes the rule "to DST ipproto udp sport
 * CPORT dport DPORT lookup MARK" at prio, as frontend/netif's FlowRule
 * does: it routes the server's replies to a flow's socket back here.
 * Adding one that exists or deleting one that does not is no error. It
 * returns 0 or an errno. */
static int flow_rule(bool add, const uint8_t dst[4], uint16_t cport, uint16_t dport)
{
	union {
		char buf[256];
		struct nlmsghdr h;
	} req;
	memset(&req, 0, sizeof req);
	size_t len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
	struct fib_rule_hdr *frh = NLMSG_DATA(&req.h);
	frh->family = AF_INET;
	frh->dst_len = 32;
	frh->table = RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	uint8_t proto = IPPROTO_UDP;
	struct fib_rule_port_range sport = {cport, cport}, dports = {dport, dport};
	put_attr(req.buf, &len, FRA_DST, dst, 4);
	put_attr(req.buf, &len, FRA_IP_PROTO, &proto, 1);
	put_attr(req.buf, &len, FRA_SPORT_RANGE, &sport, sizeof sport);
	put_attr(req.buf, &len, FRA_DPORT_RANGE, &dports, sizeof dports);
	put_attr(req.buf, &len, FRA_TABLE, &mark, 4);
	put_attr(req.buf, &len, FRA_PRIORITY, &prio, 4);
	int err = nl_request(req.buf, len, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	if ((add && err == EEXIST) || (!add && err == ENOENT))
		err = 0;
	return err;
}

/* marked_local sets the container's network namespace up for transparent
 * connections, as frontend/netif's MarkedLocal and the Go stage's
 * prepareNamespace do: lo up, every address local in table MARK
 * ("local 0.0.0.0/0 dev lo table MARK"), the rule "fwmark MARK lookup
 * MARK" at prio, and net.ipv4.tcp_fwmark_accept, so that the server's
 * accepted socket takes the mark of the relay's SYN and its replies
 * follow the rule. 0, or the exit code of a failure (reported). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int marked_local(void)
{
	unsigned lo = if_nametoindex("lo");
	if (lo == 0)
		return fail("find interface lo: %s", errstr(errno));
	union {
		char buf[256];
		struct nlmsghdr h;
	} req;

	memset(&req, 0, sizeof req);
	size_t len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi = NLMSG_DATA(&req.h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)lo;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	int err = nl_request(req.buf, len, RTM_NEWLINK, 0);
	if (err)
		return fail("set lo up: %s", errstr(err));

	memset(&req, 0, sizeof req);
	len = NLMSG_LENGTH(sizeof(struct rtmsg));
	struct rtmsg *rtm = NLMSG_DATA(&req.h);
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_UNSPEC; /* RTA_TABLE: above 255 */
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	uint32_t oif = lo;
	put_attr(req.buf, &len, RTA_TABLE, &mark, 4);
	put_attr(req.buf, &len, RTA_OIF, &oif, 4);
	err = nl_request(req.buf, len, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	if (err && err != EEXIST)
		return fail("add route local 0.0.0.0/0 dev lo table %u: %s", mark, errstr(err));

	memset(&req, 0, sizeof req);
	len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
	struct fib_rule_hdr *frh = NLMSG_DATA(&req.h);
	frh->family = AF_INET;
	frh->table = RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	put_attr(req.buf, &len, FRA_FWMARK, &mark, 4);
	put_attr(req.buf, &len, FRA_TABLE, &mark, 4);
	put_attr(req.buf, &len, FRA_PRIORITY, &prio, 4);
	err = nl_request(req.buf, len, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
	if (err && err != EEXIST)
		return fail("add rule fwmark %#x lookup %u: %s", mark, mark, errstr(err));

	/* /proc/sys/net is the namespace of the process that opens it. */
	int fd = open("/proc/sys/net/ipv4/tcp_fwmark_accept", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return fail("set net.ipv4.tcp_fwmark_accept: %s", errstr(err));
	}
	close(fd);
	return 0;
}

/* join enters the user and network namespaces of the container's init
 * (initfd, a pidfd) and keeps CAP_NET_ADMIN alone, in every set and the
 * bounding set, with no_new_privs, as the C constructor of the Go stages
 * does (frontend/nsexec/nsenter.c). The process was executed on the
 * host, so its memory stays the host user namespace's: non-dumpable, no
 * process of the container's namespace may trace it or read it, whatever
 * its capabilities there. 0, or the exit code of a failure (reported). */
static int join(int initfd)
{
	if (setns(initfd, CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return fail("join the container's user and network namespaces: %s", errstr(errno));
	close(initfd);
	for (int cap = 0; cap <= 63; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return fail("drop bounding capabilities: %s", errstr(errno));
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail("clear ambient capabilities: %s", errstr(errno));
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail("set capabilities: %s", errstr(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("set no_new_privs: %s", errstr(errno));
	return 0;
}

/* ---- sockets in the container's namespace --------------------------------- */

/* source is where a client's socket here is bound: the client's own IPv4
 * address and port, or, for a client with no IPv4 address, the gateway's
 * with any port (the container's network is IPv4). */
static struct sockaddr_in source(const union sa *client)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	if (client->sa.sa_family == AF_INET) {
		s.sin_addr = client->in.sin_addr;
		s.sin_port = client->in.sin_port;
	} else if (client->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&client->in6.sin6_addr)) {
		memcpy(&s.sin_addr, &client->in6.sin6_addr.s6_addr[12], 4);
		s.sin_port = client->in6.sin6_port;
	} else {
		s.sin_addr = gateway;
	}
	return s;
}

/* transparent makes a non-blocking socket of type typ bound to src, which
 * need not be an address of this namespace (IP_TRANSPARENT), with the
 * mark; any port of src when src's is taken here. -1 with the failure in
 * why. */
static int transparent(int typ, struct sockaddr_in src, char *why, size_t cap)
{
	int one = 1;
	int fd = socket(AF_INET, typ | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, cap, "socket: %s", errstr(errno));
		return -1;
	}
	const char *step = "IP_TRANSPARENT";
	if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0)
		goto fail;
	/* The address of a connection that ended may be in TIME_WAIT. */
	step = "SO_REUSEADDR";
	if (typ == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	step = "SO_MARK";
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
		if (errno != EADDRINUSE || src.sin_port == 0)
			goto bind_fail;
		src.sin_port = 0;
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
			goto bind_fail;
	}
	return fd;
fail:
	snprintf(why, cap, "%s: %s", step, errstr(errno));
	close(fd);
	return -1;
bind_fail:;
	char a[64];
	int err = errno;
	addrstr(&(union sa){.in = src}, a, sizeof a);
	snprintf(why, cap, "bind %s: %s", a, errstr(err));
	close(fd);
	return -1;
}

/* ---- TCP ---------------------------------------------------------------- */

static void conn_close(struct conn *k, bool reset)
{
	if (k->dead)
		return;
	if (k->dialing) {
		*(k->prev ? &k->prev->next : &dial_head) = k->next;
		*(k->next ? &k->next->prev : &dial_tail) = k->prev;
		k->dialing = false;
		ndialing--;
	}
	for (int i = 0; i < 2; i++) {
		if (k->end[i].fd < 0)
			continue;
		set_events(&k->end[i], 0);
		if (reset) {
			/* A reset on one side: the other sees one too. */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(k->end[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		close(k->end[i].fd);
		for (int j = 0; j < 2; j++)
			if (k->pipe[i][j] >= 0)
				close(k->pipe[i][j]);
	}
	k->dead = true;
	k->grave = conn_graves;
	conn_graves = k;
}

/* copy_in reads into the (empty) pipe w what splice cannot move from
 * socket src, through this process: an MPTCP connection on a kernel that
 * cannot splice from one. At most what the pipe holds, so that it all
 * goes in. */
static ssize_t copy_in(int src, int w, size_t cap)
{
	ssize_t n = read(src, dgram, cap < sizeof dgram ? cap : sizeof dgram);
	if (n <= 0)
		return n;
	if (write(w, dgram, (size_t)n) != n) {
		errno = EIO;
		return -1;
	}
	return n;
}

/* step moves what it can of direction d, from end[d] through pipe[d] to
 * end[1-d], and passes an end of stream on; -1 on an error of either
 * socket. It reads only into an empty pipe, so that an EAGAIN of the read
 * means the socket has nothing, never a full pipe. */
static int step(struct conn *k, int d)
{
	int src = k->end[d].fd, dst = k->end[1 - d].fd;
	for (int i = 0; i < BATCH && !k->done[d]; i++) {
		ssize_t n;
		if (k->inpipe[d] > 0) {
			n = splice(k->pipe[d][0], NULL, dst, NULL, k->inpipe[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN ? 0 : -1;
			}
			k->inpipe[d] -= (size_t)n;
			continue;
		}
		if (k->eof[d]) {
			shutdown(dst, SHUT_WR);
			k->done[d] = true;
			return 0;
		}
		n = splice(src, NULL, k->pipe[d][1], NULL, SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINVAL)
			n = copy_in(src, k->pipe[d][1], k->pipecap[d]);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (n == 0)
			k->eof[d] = true;
		else
			k->inpipe[d] += (size_t)n;
	}
	return 0;
}

/* relay moves both directions of k, then registers what each end waits
 * for; a connection done both ways is closed. */
static void relay(struct conn *k)
{
	if (step(k, 0) < 0 || step(k, 1) < 0) {
		conn_close(k, true);
		return;
	}
	if (k->done[0] && k->done[1]) {
		conn_close(k, false);
		return;
	}
	for (int s = 0; s < 2; s++) {
		uint32_t want = 0;
		if (!k->eof[s] && k->inpipe[s] == 0)
			want |= EPOLLIN;
		if (k->inpipe[1 - s] > 0)
			want |= EPOLLOUT;
		if (set_events(&k->end[s], want) < 0) {
			conn_close(k, true);
			return;
		}
	}
}

/* connected starts the relay of k, whose connection to the server is
 * made; err is that connection's error (0: none). */
static void connected(struct conn *k, int err)
{
	char target[64];
	addrstr(&(union sa){.in = k->port->target}, target, sizeof target);
	*(k->prev ? &k->prev->next : &dial_head) = k->next;
	*(k->next ? &k->next->prev : &dial_tail) = k->prev;
	k->dialing = false;
	ndialing--;
	if (err) {
		conn_log("%s -> %s: connect: %s", k->client, target, errstr(err));
		conn_close(k, false);
		return;
	}
	for (int d = 0; d < 2; d++) {
		int cap;
		if (pipe2(k->pipe[d], O_NONBLOCK | O_CLOEXEC) < 0 || (cap = fcntl(k->pipe[d][0], F_GETPIPE_SZ)) <= 0) {
			conn_log("%s -> %s: pipe: %s", k->client, target, errstr(errno));
			conn_close(k, false);
			return;
		}
		k->pipecap[d] = (size_t)cap;
	}
	relay(k);
}

/* dial makes the connection to the server for client c (a socket
 * accepted on p, from peer). */
static void dial(struct port *p, int c, const union sa *peer)
{
	char target[64], why[160];
	addrstr(&(union sa){.in = p->target}, target, sizeof target);
	struct conn *k = calloc(1, sizeof *k);
	if (!k) {
		close(c);
		return;
	}
	k->port = p;
	k->end[0] = (struct ep){.fd = c, .kind = K_CONN, .side = 0};
	k->end[1] = (struct ep){.fd = -1, .kind = K_CONN, .side = 1};
	memset(k->pipe, -1, sizeof k->pipe);
	addrstr(peer, k->client, sizeof k->client);
	k->dialing = true;
	k->deadline = now_ms() + CONNECT_TIMEOUT_MS;
	k->prev = dial_tail;
	*(dial_tail ? &dial_tail->next : &dial_head) = k;
	dial_tail = k;
	ndialing++;
	int s = transparent(SOCK_STREAM, source(peer), why, sizeof why);
	if (s < 0) {
		conn_log("%s -> %s: %s", k->client, target, why);
		conn_close(k, false);
		return;
	}
	k->end[1].fd = s;
	if (connect(s, (struct sockaddr *)&p->target, sizeof p->target) == 0) {
		connected(k, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		connected(k, errno);
		return;
	}
	if (set_events(&k->end[1], EPOLLOUT) < 0)
		connected(k, errno);
}

/* on_accept takes the clients waiting on p. */
static int on_accept(struct port *p)
{
	for (int i = 0; i < BATCH; i++) {
		union sa peer;
		socklen_t len = sizeof peer;
		int c = accept4(p->ep.fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			switch (errno) {
			case EAGAIN:
				return 0;
			case EINTR:
			/* Errors of the new connection that Linux reports here
			 * (accept(2), "Error handling"): the next one may be fine. */
			case ENETDOWN:
			case EPROTO:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
			case ECONNABORTED:
				p->paused_until = now_ms() + ACCEPT_PAUSE_MS;
				set_events(&p->ep, 0);
				return 0;
			default:
				flog("accept on %s: %s", p->name, errstr(errno));
				return -1;
			}
		}
		if (ndialing >= MAX_DIALING) {
			/* A server whose backlog is full would pile them up. */
			close(c);
			continue;
		}
		dial(p, c, &peer);
	}
	return 0;
}

/* ---- UDP ---------------------------------------------------------------- */

static struct key key_of(const union sa *a)
{
	struct key k = {0};
	if (a->sa.sa_family == AF_INET) {
		memcpy(k.addr, &a->in.sin_addr, 4);
		k.port = a->in.sin_port;
		k.v4 = true;
	} else if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		memcpy(k.addr, &a->in6.sin6_addr.s6_addr[12], 4);
		k.port = a->in6.sin6_port;
		k.v4 = true;
	} else {
		memcpy(k.addr, &a->in6.sin6_addr, 16);
		k.port = a->in6.sin6_port;
	}
	return k;
}

static unsigned bucket(const struct key *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	h = (h ^ k->port) * 16777619u;
	return h % FLOW_BUCKETS;
}

/* flow_end closes f and deletes its rule. */
static void flow_end(struct flow *f)
{
	struct port *p = f->port;
	struct flow **at = &p->flows[bucket(&f->key)];
	while (*at != f)
		at = &(*at)->next;
	*at = f->next;
	p->nflows--;
	nflows_all--;
	set_events(&f->ep, 0);
	close(f->ep.fd);
	if (f->rule) {
		int err = flow_rule(false, f->dst, ntohs(p->target.sin_port), f->dport);
		if (err) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, f->dst, a, sizeof a);
			flog("delete the rule for sport %u -> %s:%u: %s", ntohs(p->target.sin_port), a, f->dport, errstr(err));
		}
	}
	f->dead = true;
	f->grave = flow_graves;
	flow_graves = f;
}

/* flow_new makes the flow of client on p, or returns NULL (the failure
 * logged). */
static struct flow *flow_new(struct port *p, const union sa *client, socklen_t clen, const struct key *key)
{
	char who[64], target[64], why[160];
	addrstr(client, who, sizeof who);
	addrstr(&(union sa){.in = p->target}, target, sizeof target);
	int s = transparent(SOCK_DGRAM, source(client), why, sizeof why);
	if (s < 0) {
		conn_log("%s -> %s/udp: %s", who, target, why);
		return NULL;
	}
	struct flow *f = calloc(1, sizeof *f);
	if (!f) {
		close(s);
		return NULL;
	}
	*f = (struct flow){.ep = {.fd = s, .kind = K_FLOW}, .port = p, .key = *key, .clen = clen, .last = now_ms()};
	memcpy(&f->client, client, clen);
	struct sockaddr_in local;
	socklen_t llen = sizeof local;
	int err = getsockname(s, (struct sockaddr *)&local, &llen) < 0 ? errno : 0;
	if (!err && (ntohl(local.sin_addr.s_addr) >> 24) != 127) {
		/* The server's replies go to the client's address, which is
		 * not this namespace's: route this flow's back here. */
		memcpy(f->dst, &local.sin_addr, 4);
		f->dport = ntohs(local.sin_port);
		err = flow_rule(true, f->dst, ntohs(p->target.sin_port), f->dport);
		if (err) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, f->dst, a, sizeof a);
			conn_log("%s -> %s/udp: add the rule for sport %u -> %s:%u: %s", who, target,
				 ntohs(p->target.sin_port), a, f->dport, errstr(err));
			close(s);
			free(f);
			return NULL;
		}
		f->rule = true;
	}
	if (err || set_events(&f->ep, EPOLLIN) < 0) {
		if (!err)
			err = errno;
		conn_log("%s -> %s/udp: %s", who, target, errstr(err));
		if (f->rule)
			flow_rule(false, f->dst, ntohs(p->target.sin_port), f->dport);
		close(s);
		free(f);
		return NULL;
	}
	unsigned b = bucket(key);
	f->next = p->flows[b];
	p->flows[b] = f;
	p->nflows++;
	nflows_all++;
	return f;
}

/* on_datagrams relays the datagrams of p's clients, each through its
 * flow, to the server. */
static int on_datagrams(struct port *p)
{
	for (int i = 0; i < BATCH; i++) {
		union sa client;
		socklen_t clen = sizeof client;
		ssize_t n = recvfrom(p->ep.fd, dgram, sizeof dgram, 0, &client.sa, &clen);
		if (n < 0) {
			switch (errno) {
			case EAGAIN:
				return 0;
			case EINTR:
			case ECONNREFUSED: /* an ICMP error of an earlier reply */
			case EHOSTUNREACH:
			case ENETUNREACH:
			case ENOBUFS:
			case ENOMEM:
				continue;
			default:
				flog("read on %s: %s", p->name, errstr(errno));
				return -1;
			}
		}
		if (client.sa.sa_family != AF_INET && client.sa.sa_family != AF_INET6)
			continue;
		struct key key = key_of(&client);
		struct flow *f = p->flows[bucket(&key)];
		while (f && memcmp(&f->key, &key, sizeof key) != 0)
			f = f->next;
		if (!f) {
			if (p->nflows >= MAX_FLOWS)
				continue; /* too many flows: dropped, as on a full link */
			f = flow_new(p, &client, clen, &key);
			if (!f)
				continue;
		}
		f->last = now_ms();
		/* A datagram nobody listens for is lost, as on a network. */
		if (sendto(f->ep.fd, dgram, (size_t)n, 0, (struct sockaddr *)&p->target, sizeof p->target) < 0) {
		}
	}
	return 0;
}

/* on_replies relays what reaches f's socket (the server's replies) to its
 * client, through the host's socket. */
static void on_replies(struct flow *f)
{
	for (int i = 0; i < BATCH; i++) {
		ssize_t n = recv(f->ep.fd, dgram, sizeof dgram, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error reported once */
		}
		f->last = now_ms();
		if (sendto(f->port->ep.fd, dgram, (size_t)n, 0, &f->client.sa, f->clen) < 0) {
		}
	}
}

/* expire ends the flows idle for UDP_IDLE_MS, with their rules. */
static void expire(int64_t now, bool all)
{
	for (int i = 0; i < nports; i++)
		for (int b = 0; b < FLOW_BUCKETS; b++)
			for (struct flow *f = ports[i].flows[b], *next; f; f = next) {
				next = f->next;
				if (all || now - f->last >= UDP_IDLE_MS)
					flow_end(f);
			}
}

/* ---- arguments -------------------------------------------------------------- */

/* number parses decimal digits alone (no sign, no space, no leading zero
 * but "0") up to max; -1 otherwise. */
static int64_t number(const char *s, int64_t max)
{
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return -1;
	int64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

static int ready = -1;

/* fail reports msg on the ready descriptor (while there is one) and in
 * the log, and returns the exit code. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	flog("%s", msg);
	if (ready >= 0) {
		if (write(ready, msg, strlen(msg)) < 0) {
			/* the watcher is gone: it reads the exit instead */
		}
		close(ready);
		ready = -1;
	}
	return 1;
}

/* take_socket checks that fd is an IPv4 or IPv6 UDP socket (udp) or a
 * listening TCP one (Go's listeners are MPTCP ones, which accept plain
 * TCP clients as TCP sockets); a message in why otherwise. */
static bool take_socket(int fd, bool udp, char *why, size_t cap)
{
	int type = 0, proto = 0, domain = 0, listening = 0;
	socklen_t l1 = sizeof type, l2 = sizeof proto, l3 = sizeof domain, l4 = sizeof listening;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l2) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l3) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l4) < 0) {
		snprintf(why, cap, "fd %d is not a %s: %s", fd, udp ? "UDP socket" : "listening TCP socket",
			 errno ? errstr(errno) : "not a socket");
		return false;
	}
	if ((domain != AF_INET && domain != AF_INET6) ||
	    (udp ? type != SOCK_DGRAM || proto != IPPROTO_UDP : type != SOCK_STREAM || (proto != IPPROTO_TCP && proto != IPPROTO_MPTCP) || !listening)) {
		snprintf(why, cap, "fd %d is not a %s (family %d, type %d, protocol %d%s)", fd,
			 udp ? "UDP socket" : "listening TCP socket", domain, type, proto, listening ? ", listening" : "");
		return false;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(why, cap, "fd %d: %s", fd, errstr(errno));
		return false;
	}
	return true;
}

/* parse reads the arguments into the globals and ports; 0, or the exit
 * code of a failure (reported). */
static int parse(int argc, char **argv, struct in_addr *guest, pid_t *parent, int *initfd)
{
	/* ready= first, so that the other failures can be reported there. */
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "ready=", 6) != 0)
			continue;
		int64_t fd = number(argv[i] + 6, INT32_MAX);
		if (ready >= 0 || fd < 3)
			return fail("bad argument \"%s\"", argv[i]);
		ready = (int)fd;
		if (fcntl(ready, F_SETFD, FD_CLOEXEC) < 0) {
			ready = -1;
			return fail("bad argument \"%s\": %s", argv[i], errstr(errno));
		}
	}
	if (ready < 0)
		return fail("missing ready= (this program is started by myctr)");
	bool seen_guest = false, seen_gw = false, seen_mark = false, seen_prio = false, seen_parent = false;
	ports = calloc((size_t)argc, sizeof *ports);
	if (!ports)
		return fail("memory");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');
		if (!v)
			return fail("bad argument \"%s\"", a);
		size_t k = (size_t)(v - a);
		v++;
#define KEY(name) (k == strlen(name) && strncmp(a, name, k) == 0)
		if (KEY("ready"))
			continue;
		if (KEY("guest") || KEY("gateway")) {
			bool *seen = KEY("guest") ? &seen_guest : &seen_gw;
			struct in_addr *to = KEY("guest") ? guest : &gateway;
			if (*seen || inet_pton(AF_INET, v, to) != 1)
				return fail("bad argument \"%s\"", a);
			*seen = true;
		} else if (KEY("mark") || KEY("prio")) {
			bool *seen = KEY("mark") ? &seen_mark : &seen_prio;
			int64_t n = number(v, UINT32_MAX);
			if (*seen || n <= 0)
				return fail("bad argument \"%s\"", a);
			*(KEY("mark") ? &mark : &prio) = (uint32_t)n;
			*seen = true;
		} else if (KEY("init")) {
			int64_t fd = number(v, INT32_MAX);
			if (*initfd >= 0 || fd < 3 || fd == ready)
				return fail("bad argument \"%s\"", a);
			*initfd = (int)fd;
			if (fcntl(*initfd, F_SETFD, FD_CLOEXEC) < 0)
				return fail("bad argument \"%s\": %s", a, errstr(errno));
		} else if (KEY("parent")) {
			int64_t n = number(v, INT32_MAX);
			if (seen_parent || n <= 1)
				return fail("bad argument \"%s\"", a);
			*parent = (pid_t)n;
			seen_parent = true;
		} else if (KEY("port")) {
			/* FD:tcp|udp:CPORT */
			char fds[16] = "", proto[8] = "", cp[8] = "", extra;
			int64_t fd = -1, cport = -1;
			if (sscanf(v, "%15[0-9]:%7[a-z]:%7[0-9]%c", fds, proto, cp, &extra) == 3) {
				fd = number(fds, INT32_MAX);
				cport = number(cp, 65535);
			}
			bool udp = strcmp(proto, "udp") == 0;
			if (fd < 3 || fd == ready || fd == *initfd || cport < 1 || (!udp && strcmp(proto, "tcp") != 0))
				return fail("bad argument \"%s\"", a);
			for (int j = 0; j < nports; j++)
				if (ports[j].ep.fd == fd)
					return fail("bad argument \"%s\": fd %d given twice", a, (int)fd);
			struct port *p = &ports[nports++];
			p->ep = (struct ep){.fd = (int)fd, .kind = udp ? K_UDP : K_LISTEN};
			p->udp = udp;
			p->target = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)cport)};
		} else {
			return fail("bad argument \"%s\"", a);
		}
#undef KEY
	}
	if (!seen_guest || !seen_gw || !seen_mark || !seen_prio || !seen_parent || nports == 0)
		return fail("missing argument: guest=, gateway=, mark=, prio=, parent= and port= are needed");
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

int forward_main(int argc, char **argv)
{
	/* As the Go stage: no process of the container's user namespace may
	 * read this one's memory or descriptors. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct in_addr guest;
	pid_t parent = 0;
	int initfd = -1;
	int code = parse(argc, argv, &guest, &parent, &initfd);
	if (code)
		return code;
	for (int i = 0; i < nports; i++)
		if (ports[i].ep.fd == initfd)
			return fail("bad argument \"init=%d\": it is a port's fd", initfd);
	/* It dies with the watcher, its parent. The watcher set
	 * PR_SET_PDEATHSIG in the child it forked, which survives the execve
	 * of this program; it is set again here all the same, and the parent
	 * checked after: a watcher gone before that would go unnoticed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return fail("PR_SET_PDEATHSIG: %s", errstr(errno));
	if (getppid() != parent)
		return fail("the watcher (pid %d) is gone", (int)parent);
	/* Each connection holds six descriptors: take all the hard limit
	 * allows, as the Go runtime does. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	char why[160];
	for (int i = 0; i < nports; i++) {
		errno = 0;
		struct port *p = &ports[i];
		p->target.sin_addr = guest;
		if (!take_socket(p->ep.fd, p->udp, why, sizeof why))
			return fail("%s", why);
		union sa a;
		socklen_t len = sizeof a;
		if (getsockname(p->ep.fd, &a.sa, &len) < 0)
			return fail("fd %d: %s", p->ep.fd, errstr(errno));
		addrstr(&a, p->name, sizeof p->name);
	}

	/* SIGTERM, SIGINT and SIGHUP end it (with the flows' rules); a
	 * write to a connection that is gone is an error, not a signal. */
	/* Given the container's init, it enters its namespaces and sets the
	 * network namespace up itself (myctr's network watcher executes it
	 * on the host); without, it relays in the namespaces it was started
	 * in, set up already (the tests). The rtnetlink socket is the
	 * namespace's it is made in. */
	if (initfd >= 0 && (code = join(initfd)) != 0)
		return code;
	nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct timeval tv = {.tv_sec = 5};
	struct sockaddr_nl self = {.nl_family = AF_NETLINK};
	if (nlfd < 0 || bind(nlfd, (struct sockaddr *)&self, sizeof self) < 0 ||
	    setsockopt(nlfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		return fail("open rtnetlink socket: %s", errstr(errno));
	if (initfd >= 0 && (code = marked_local()) != 0)
		return code;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* An ignored signal would never reach the signalfd. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
		return fail("sigprocmask: %s", errstr(errno));
	struct ep sig = {.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), .kind = K_SIGNAL};
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sig.fd < 0 || epfd < 0)
		return fail("set up: %s", errstr(errno));
	if (set_events(&sig, EPOLLIN) < 0)
		return fail("epoll: %s", errstr(errno));
	for (int i = 0; i < nports; i++)
		if (set_events(&ports[i].ep, EPOLLIN) < 0)
			return fail("epoll: %s", errstr(errno));
	/* Serving: every host socket is ours. */
	if (write(ready, "ok", 2) < 0) {
		/* the watcher gave up waiting, and ends this process */
	}
	close(ready);
	ready = -1;

	int64_t next_sweep = now_ms() + UDP_IDLE_MS / 4;
	for (;;) {
		int64_t now = now_ms(), until = -1;
		if (dial_head)
			until = dial_head->deadline;
		if (nflows_all > 0 && (until < 0 || next_sweep < until))
			until = next_sweep;
		for (int i = 0; i < nports; i++)
			if (ports[i].paused_until && (until < 0 || ports[i].paused_until < until))
				until = ports[i].paused_until;
		int wait = until < 0 ? -1 : until <= now ? 0 : (int)(until - now);
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, wait);
		if (n < 0 && errno != EINTR) {
			flog("epoll: %s", errstr(errno));
			expire(0, true);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct ep *e = evs[i].data.ptr;
			struct conn *k;
			switch (e->kind) {
			case K_SIGNAL: {
				struct signalfd_siginfo si;
				if (read(sig.fd, &si, sizeof si) != sizeof si)
					break;
				expire(0, true);
				return 0;
			}
			case K_LISTEN:
				if (on_accept((struct port *)e) < 0) {
					expire(0, true);
					return 1;
				}
				break;
			case K_UDP:
				if (on_datagrams((struct port *)e) < 0) {
					expire(0, true);
					return 1;
				}
				break;
			case K_FLOW:
				if (!((struct flow *)e)->dead)
					on_replies((struct flow *)e);
				break;
			case K_CONN:
				k = (struct conn *)(e - e->side);
				if (k->dead)
					break;
				if (k->dialing) {
					int err = 0;
					socklen_t len = sizeof err;
					if (getsockopt(k->end[1].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
						err = errno;
					if (err == 0 && !(evs[i].events & EPOLLOUT))
						break;
					connected(k, err);
				} else {
					relay(k);
				}
				break;
			}
		}
		now = now_ms();
		while (dial_head && dial_head->deadline <= now)
			connected(dial_head, ETIMEDOUT);
		for (int i = 0; i < nports; i++) {
			struct port *p = &ports[i];
			if (p->paused_until && p->paused_until <= now) {
				p->paused_until = 0;
				set_events(&p->ep, EPOLLIN);
			}
		}
		if (now >= next_sweep) {
			expire(now, false);
			next_sweep = now + UDP_IDLE_MS / 4;
		}
		while (conn_graves) {
			struct conn *k = conn_graves;
			conn_graves = k->grave;
			free(k);
		}
		while (flow_graves) {
			struct flow *f = flow_graves;
			flow_graves = f->grave;
			free(f);
		}
	}
}
