/*
 * test_memcg_live.c - the default memory limit inside a real memory cgroup.
 *
 * As root, with a writable memory controller (cgroup v1's memory hierarchy,
 * else cgroup v2 whose root delegates "memory"), it makes the group
 * upager-test-memcg-PID at the hierarchy's root with a 256 MiB limit
 * (memory.limit_in_bytes or memory.max), forks a child into it, and checks
 * there that upager_config_resolve() gives a default memory_limit of a
 * quarter of that, 64 MiB (16 KiB pages: 4,096 of them), and that a pager
 * made with the defaults has 4,096 frames.  The group is removed after the
 * child is reaped, and at exit or on a fatal signal if the test did not get
 * that far.  Otherwise (not root, no controller, a read-only cgroup file
 * system) it is skipped (exit 77) with the reason.
 *
 * The controller is found through /proc/self/mounts (getmntent(3)), and
 * the child's membership through /proc/self/cgroup, by this file's own
 * code, not the library's (src/memcg.c reads /proc/self/mountinfo).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include "helpers.h"
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB ((uint64_t)1 << 20)
#define GROUP_LIMIT (256 * MiB)

static int g_version;          /* 1 or 2 */
static char g_group[PATH_MAX]; /* the group's directory; "" once removed */
static char g_group_name[64];  /* upager-test-memcg-PID */
static volatile pid_t g_child; /* the child in the group, until reaped */

/* Write @text to @dir/@file: 0 or -errno. */
static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	ssize_t n, len = (ssize_t)strlen(text);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, (size_t)len);
	if (n != len)
		err = n < 0 ? -errno : -EIO;
	if (close(fd) != 0 && !err)
		err = -errno;
	return err;
}

/* At exit or on a fatal signal (async-signal-safe): kill and reap the child,
 * remove the group. */
static void remove_group_on_exit(void)
{
	pid_t pid = g_child;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		g_child = 0;
	}
	if (!g_group[0])
		return;
	/* The kernel may take a moment to let go of a group whose last task
	 * has exited (EBUSY): up to 100 tries, 10 ms apart. */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		if (rmdir(g_group) == 0 || errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	g_group[0] = '\0';
}

static int group_removed(void *arg)
{
	(void)arg;
	return rmdir(g_group) == 0 || errno != EBUSY; /* done, or failed for good */
}

/* The memory controller's hierarchy, from /proc/self/mounts; its version
 * to g_version and mount point to @root, or skip. */
static void find_controller(char *root, size_t size)
{
	char v2[PATH_MAX] = "", ctl[PATH_MAX + 32], line[512] = "";
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!f)
		t_skip("cannot read /proc/self/mounts: %s", strerror(errno));
	while ((m = getmntent(f)) != NULL) {
		if (strcmp(m->mnt_type, "cgroup") == 0 && hasmntopt(m, "memory") && !g_version) {
			snprintf(root, size, "%s", m->mnt_dir);
			g_version = 1;
		} else if (strcmp(m->mnt_type, "cgroup2") == 0 && !v2[0]) {
			snprintf(v2, sizeof(v2), "%s", m->mnt_dir);
		}
	}
	endmntent(f);
	if (g_version)
		return;
	if (!v2[0])
		t_skip("no memory cgroup controller mounted (neither v1 nor v2)");
	snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", v2);
	f = fopen(ctl, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	if (!strstr(line, "memory"))
		t_skip("cgroup v2 at %s does not delegate the memory controller from its root", v2);
	snprintf(root, size, "%s", v2);
	g_version = 2;
}

/* What the child saw. */
struct report {
	int join_err;        /* writing cgroup.procs: 0 or -errno */
	int in_group;        /* /proc/self/cgroup names the group */
	int resolve_rc;      /* upager_config_resolve() */
	uint64_t page_size;  /* its defaults */
	uint64_t memory_limit;
	uint64_t memcg;      /* upager__memcg_limit() */
	int create_rc;       /* upager_create() with NULL config */
	uint64_t nr_frames;  /* its frames */
};

/* Whether the line of /proc/self/cgroup for the hierarchy of g_version
 * names the group: "N:...memory...:/NAME" (v1) or "0::/NAME" (v2). */
static int cgroup_file_names_group(void)
{
	char line[PATH_MAX + 64], want[80];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof(want), ":/%s\n", g_group_name);
	while (fgets(line, sizeof(line), f)) {
		char *tail = strstr(line, want);
		if (!tail || strlen(tail) != strlen(want))
			continue;
		if (g_version == 2 ? strncmp(line, "0::", 3) == 0 : strstr(line, "memory") != NULL)
			found = 1;
	}
	fclose(f);
	return found;
}

static int child_fn(void *arg)
{
	int fd = *(int *)arg;
	struct report r = { 0 };
	struct upager_config out;
	char pid[24];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	r.join_err = write_file(g_group, "cgroup.procs", pid);
	r.in_group = cgroup_file_names_group();
	r.resolve_rc = upager_config_resolve(NULL, &out);
	if (r.resolve_rc == 0) {
		r.page_size = out.page_size;
		r.memory_limit = out.memory_limit;
	}
	r.memcg = upager__memcg_limit();
	{
		upager_t *p = NULL;
		struct upager_stats st;

		r.create_rc = upager_create(&p, NULL);
		if (r.create_rc == 0) {
			if (upager_stats(p, &st) == 0)
				r.nr_frames = st.nr_frames;
			upager_destroy(p);
		}
	}
	return write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void test_default_in_group(void)
{
	uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * t_sys_page();
	struct report r = { 0 };
	int fds[2], status;
	ssize_t n;

	T_REQUIRE(phys > GROUP_LIMIT, "this test wants more than 256 MiB of memory");
	T_REQUIRE(pipe2(fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	g_child = t_fork(child_fn, &fds[1]);
	T_REQUIRE(g_child > 0, "fork: %s", strerror(errno));
	close(fds[1]);
	n = read(fds[0], &r, sizeof(r)); /* the child's end closes when it exits */
	close(fds[0]);
	status = t_wait_child(g_child, T_HANG_S);
	g_child = 0;
	T_CHECK(status == 0, "child: %s", t_status_str(status));
	T_REQUIRE(n == (ssize_t)sizeof(r), "no report from the child (%zd bytes)", n);

	T_CHECK(r.join_err == 0, "joining the group: %s", strerror(-r.join_err));
	T_CHECK(r.in_group, "/proc/self/cgroup of the child does not name %s", g_group_name);
	T_RET(r.resolve_rc, 0);
	T_EQ(r.page_size, 16 * 1024);
	T_EQ(r.memcg, GROUP_LIMIT);
	T_EQ(r.memory_limit, 64 * MiB);
	if (r.create_rc == -ENOSYS || r.create_rc == -EPERM) {
		printf("  io_uring unavailable (%s): a pager's frames not checked\n",
		       upager_strerror(r.create_rc));
	} else {
		T_RET(r.create_rc, 0);
		T_EQ(r.nr_frames, 64 * MiB / (16 * 1024));
	}

	/* The child is reaped: the group goes. */
	T_CHECK(t_wait_until(group_removed, NULL, "the test's cgroup to be removable") == 0,
	        "rmdir %s", g_group);
	T_CHECK(access(g_group, F_OK) != 0 && errno == ENOENT, "%s still exists", g_group);
	g_group[0] = '\0';
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "default memory_limit in a 256 MiB cgroup", test_default_in_group },
		{ NULL, NULL },
	};
	char root[PATH_MAX], val[32];
	int rc;

	t_init("test_memcg_live", 120);
	if (geteuid() != 0)
		t_skip("not root: making a memory cgroup needs root");
	find_controller(root, sizeof(root));
	snprintf(g_group_name, sizeof(g_group_name), "upager-test-memcg-%d", (int)getpid());
	if ((size_t)snprintf(g_group, sizeof(g_group), "%s/%s", root, g_group_name) >=
	    sizeof(g_group))
		t_skip("the cgroup mount's path is too long: %s", root);
	t_on_cleanup(remove_group_on_exit);
	if (mkdir(g_group, 0755) != 0) {
		int e = errno;
		g_group[0] = '\0';
		t_skip("no writable memory controller: mkdir in %s (cgroup v%d): %s", root, g_version,
		       strerror(e));
	}
	snprintf(val, sizeof(val), "%llu\n", (unsigned long long)GROUP_LIMIT);
	rc = write_file(g_group, g_version == 1 ? "memory.limit_in_bytes" : "memory.max", val);
	if (rc < 0)
		t_skip("cannot set the limit of %s: %s", g_group, strerror(-rc));
	printf("cgroup v%d: %s, limit %llu bytes\n", g_version, g_group,
	       (unsigned long long)GROUP_LIMIT);

	t_add_suite("memcg_live", tests);
	t_summary("in a real cgroup v%d limited to 256 MiB: the default memory_limit is 64 MiB, "
	          "and a default pager has 4096 frames; the group removed", g_version);
	return t_run_suite();
}
