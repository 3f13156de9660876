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
 * The group is made, joined and removed through lib/cgroup.c (which finds
 * the controller in /proc/self/mounts), and the child's membership is
 * checked in /proc/self/cgroup by this file: neither is the library's code
 * (src/memcg.c reads /proc/self/mountinfo).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include "helpers.h"
#include "internal.h"

#include "cgroup.h" /* lib/ */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((uint64_t)1 << 20)
#define GROUP_LIMIT (256 * MiB)

static struct cgroup g_cg;     /* the group; version 0 once removed */
static char g_group_name[64];  /* upager-test-memcg-PID */
static volatile pid_t g_child; /* the child in the group, until reaped */

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
	cgroup_remove(&g_cg);
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

/* Whether the line of /proc/self/cgroup for the hierarchy of g_cg.version
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
		if (g_cg.version == 2 ? strncmp(line, "0::", 3) == 0 : strstr(line, "memory") != NULL)
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

	r.join_err = cgroup_join(&g_cg);
	r.in_group = cgroup_file_names_group();
	r.resolve_rc = upager_config_resolve(NULL, 0, &out, sizeof(out));
	if (r.resolve_rc == 0) {
		r.page_size = out.page_size;
		r.memory_limit = out.memory_limit;
	}
	r.memcg = upager__memcg_limit();
	{
		upager_t *p = NULL;
		struct upager_stats st;

		r.create_rc = upager_create(&p, NULL, 0);
		if (r.create_rc == 0) {
			if (upager_stats(p, &st, sizeof(st)) == 0)
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
	T_EQ(r.page_size, t_default_page_size());
	T_EQ(r.memcg, GROUP_LIMIT);
	T_EQ(r.memory_limit, 64 * MiB);
	if (r.create_rc == -ENOSYS || r.create_rc == -EPERM) {
		printf("  io_uring unavailable (%s): a pager's frames not checked\n",
		       upager_strerror(r.create_rc));
	} else {
		T_RET(r.create_rc, 0);
		T_EQ(r.nr_frames, 64 * MiB / t_default_page_size());
	}

	/* The child is reaped: the group goes. */
	{
		char path[sizeof(g_cg.path)];
		int rc;

		snprintf(path, sizeof(path), "%s", g_cg.path);
		rc = cgroup_remove(&g_cg);
		T_CHECK(rc == 0, "rmdir %s: %s", path, strerror(-rc));
		T_CHECK(access(path, F_OK) != 0 && errno == ENOENT, "%s still exists", path);
	}
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "default memory_limit in a 256 MiB cgroup", test_default_in_group },
		{ NULL, NULL },
	};
	struct cgroup_mounts m;

	t_init("test_memcg_live", 120);
	if (geteuid() != 0)
		t_skip("not root: making a memory cgroup needs root");
	cgroup_find_mounts(&m);
	snprintf(g_group_name, sizeof(g_group_name), "upager-test-memcg-%d", (int)getpid());
	t_on_cleanup(remove_group_on_exit);
	if (cgroup_make(&g_cg, &m, g_group_name, GROUP_LIMIT) < 0)
		t_skip("no writable memory cgroup controller: %s", g_cg.why);
	printf("cgroup v%d: %s, limit %llu bytes\n", g_cg.version, g_cg.path,
	       (unsigned long long)GROUP_LIMIT);

	t_add_suite("memcg_live", tests);
	t_summary("in a real cgroup v%d limited to 256 MiB: the default memory_limit is 64 MiB, "
	          "and a default pager has 4096 frames; the group removed", g_cg.version);
	return t_run_suite();
}
