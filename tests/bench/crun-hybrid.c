/*
 * crun-hybrid.c: an LD_PRELOAD object that lets Debian's crun 1.8.1 run as
 * the user itself on this v1/v2 hybrid cgroup host, for tests/bench/run.sh.
 *
 * crun refuses a hybrid host whose /sys/fs/cgroup/unified lists any
 * controller (here: hugetlb) with "cgroups in hybrid mode not supported".
 * run.sh's other crun line hides that mount under a tmpfs in an
 * `unshare -rm` namespace; but there crun is uid 0 of a one-id user
 * namespace, so it can never call newuidmap/newgidmap (a set-uid program
 * gains nothing in a namespace where root is not mapped) and so can never
 * be given the user's subordinate range. This object makes crun see what
 * that tmpfs would show it, and nothing else: statfs() of exactly
 * /sys/fs/cgroup/unified reports a tmpfs, so crun takes the host for
 * cgroup v1 (which rootless crun cannot use and skips, as in the wrapper).
 * Every other call, and everything crun does with namespaces, mappings and
 * mounts, is crun's own; newuidmap/newgidmap are set-uid, so the dynamic
 * loader ignores LD_PRELOAD for them, and the container's process gets the
 * bundle's environment, not ours.
 *
 * Build: cc -shared -fPIC -O2 -o crun-hybrid.so crun-hybrid.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>

static const char hidden[] = "/sys/fs/cgroup/unified";

int statfs(const char *path, struct statfs *buf)
{
	static int (*real)(const char *, struct statfs *);
	int ret;

	if (!real)
		real = (int (*)(const char *, struct statfs *))dlsym(RTLD_NEXT, "statfs");
	ret = real(path, buf);
	if (ret == 0 && strcmp(path, hidden) == 0)
		buf->f_type = TMPFS_MAGIC;
	return ret;
}

int statfs64(const char *path, struct statfs64 *buf)
{
	static int (*real)(const char *, struct statfs64 *);
	int ret;

	if (!real)
		real = (int (*)(const char *, struct statfs64 *))dlsym(RTLD_NEXT, "statfs64");
	ret = real(path, buf);
	if (ret == 0 && strcmp(path, hidden) == 0)
		buf->f_type = TMPFS_MAGIC;
	return ret;
}
