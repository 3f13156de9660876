/*
 * test_memcg.c - unit tests of the memory cgroup's limit (src/memcg.c) and
 * of the default memory limit made from it, on fake trees: a temporary
 * directory holding proc/self/cgroup, proc/self/mountinfo and the cgroup
 * directories they name, read through the test hook upager__memcg_root().
 * Each case writes its limits and states the result by hand (the least
 * limit on the group's path up to the mount's root, "max" or a value near
 * 2^63 being no limit); test_memcg_live runs the same in a real cgroup.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include "helpers.h"
#include "internal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB ((uint64_t)1 << 20)
#define NO_LIMIT UINT64_MAX
/* What cgroup v1 shows for "no limit" with 4 KiB pages (LONG_MAX rounded
 * down to a page), and with 64 KiB pages. */
#define V1_NO_LIMIT "9223372036854771712"
#define V1_NO_LIMIT_64K "9223372036854710272"

/* The fake tree of the current case. */
static char g_root[4200];
static int g_case;

/* Write @text to @g_root/@rel, making its directories. */
static void put(const char *rel, const char *text)
{
	char path[4400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_root, rel);
	for (char *p = path + strlen(g_root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			T_REQUIRE(0, "mkdir %s: %s", path, strerror(errno));
			return;
		}
		*p = '/';
	}
	f = fopen(path, "w");
	T_REQUIRE(f != NULL, "fopen %s: %s", path, strerror(errno));
	if (!f)
		return;
	fputs(text, f);
	T_REQUIRE(fclose(f) == 0, "write %s: %s", path, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0)
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* A new empty tree for a case. */
static void tree_begin(void)
{
	snprintf(g_root, sizeof(g_root), "%s/memcg-%d", t_tmpdir(), ++g_case);
	T_REQUIRE(mkdir(g_root, 0700) == 0, "mkdir %s: %s", g_root, strerror(errno));
	upager__memcg_root(g_root);
}

/* Remove the tree; read the real files again. */
static void tree_end(void)
{
	upager__memcg_root(NULL);
	nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The limit the library reads from the current tree must be @want. */
#define LIMIT_IS(want, what)                                                             \
	do {                                                                             \
		uint64_t got_ = upager__memcg_limit(), want_ = (want);                    \
		T_CHECK(got_ == want_, "%s: limit %llu, expected %llu", what,             \
		        (unsigned long long)got_, (unsigned long long)want_);             \
	} while (0)

/* mountinfo lines of a typical system. */
#define MI_ROOT "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
#define MI_PROC "23 22 0:20 / /proc rw,nosuid shared:12 - proc proc rw\n"
#define MI_V2 "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
#define MI_V1_TMPFS "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
#define MI_V1_CPU "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
#define MI_V1_MEM "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
#define MI_V1_UNIFIED "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

static void test_v2(void)
{
	tree_begin();
	put("proc/self/cgroup", "0::/user.slice/app.scope\n");
	put("proc/self/mountinfo", MI_ROOT MI_PROC MI_V2);
	/* The root has no memory.max (the kernel makes none there). */
	put("sys/fs/cgroup/memory.current", "1000\n");
	put("sys/fs/cgroup/user.slice/memory.max", "max\n");
	put("sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n");
	LIMIT_IS(NO_LIMIT, "v2, max everywhere");

	put("sys/fs/cgroup/user.slice/app.scope/memory.max", "536870912\n");
	LIMIT_IS(512 * MiB, "v2, the group's own limit");

	put("sys/fs/cgroup/user.slice/memory.max", "314572800\n");
	LIMIT_IS(300 * MiB, "v2, the parent's lower limit");

	put("sys/fs/cgroup/user.slice/app.scope/memory.max", "104857600\n");
	LIMIT_IS(100 * MiB, "v2, the group's lower limit");

	/* A deeper group with no memory.max (its parent does not delegate the
	 * controller): the ancestors still count. */
	put("proc/self/cgroup", "0::/user.slice/app.scope/inner\n");
	put("sys/fs/cgroup/user.slice/app.scope/inner/cgroup.procs", "");
	LIMIT_IS(100 * MiB, "v2, a group without memory.max under limited ones");

	/* The process in the root group. */
	put("proc/self/cgroup", "0::/\n");
	LIMIT_IS(NO_LIMIT, "v2, the root group");
	tree_end();
}

static void test_v1(void)
{
	tree_begin();
	put("proc/self/cgroup", "12:pids:/\n4:memory:/batch/job7\n3:cpu,cpuacct:/\n"
	                        "1:name=systemd:/\n0::/\n");
	put("proc/self/mountinfo",
	    MI_ROOT MI_PROC MI_V1_TMPFS MI_V1_CPU MI_V1_MEM MI_V1_UNIFIED);
	put("sys/fs/cgroup/memory/memory.limit_in_bytes", V1_NO_LIMIT "\n");
	put("sys/fs/cgroup/memory/batch/memory.limit_in_bytes", V1_NO_LIMIT "\n");
	put("sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", V1_NO_LIMIT "\n");
	/* The cpu hierarchy's files never count. */
	put("sys/fs/cgroup/cpu,cpuacct/memory.limit_in_bytes", "4096\n");
	LIMIT_IS(NO_LIMIT, "v1, no limit (2^63 rounded down to a page) everywhere");

	put("sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", V1_NO_LIMIT_64K "\n");
	LIMIT_IS(NO_LIMIT, "v1, no limit with 64 KiB pages");

	put("sys/fs/cgroup/memory/batch/memory.limit_in_bytes", "268435456\n");
	LIMIT_IS(256 * MiB, "v1, the parent's limit");

	put("sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", "134217728\n");
	LIMIT_IS(128 * MiB, "v1, the group's lower limit");

	put("sys/fs/cgroup/memory/memory.limit_in_bytes", "67108864\n");
	LIMIT_IS(64 * MiB, "v1, the hierarchy root's lower limit");
	tree_end();

	/* The memory controller mounted with another ("memory,hugetlb"), the
	 * cgroup line listing both in another order. */
	tree_begin();
	put("proc/self/cgroup", "5:hugetlb,memory:/svc\n");
	put("proc/self/mountinfo", MI_ROOT "34 22 0:31 / /cg/mem+huge rw - cgroup cgroup "
	                                   "rw,memory,hugetlb\n");
	put("cg/mem+huge/memory.limit_in_bytes", V1_NO_LIMIT "\n");
	put("cg/mem+huge/svc/memory.limit_in_bytes", "1073741824\n");
	LIMIT_IS(1024 * MiB, "v1, memory co-mounted with hugetlb");
	tree_end();

	/* "memoryx" and "nomemory" are not the memory controller. */
	tree_begin();
	put("proc/self/cgroup", "5:memoryx:/svc\n");
	put("proc/self/mountinfo", MI_ROOT "34 22 0:31 / /cg/m rw - cgroup cgroup rw,nomemory\n");
	put("cg/m/svc/memory.limit_in_bytes", "1073741824\n");
	LIMIT_IS(NO_LIMIT, "v1, a controller whose name only contains \"memory\"");
	tree_end();
}

/* A container's view: the mount's root is the container's group, whose
 * ancestors are not visible; a cgroup namespace shows "/" for the group. */
static void test_mount_root(void)
{
	tree_begin();
	put("proc/self/cgroup", "4:memory:/docker/c1/worker\n");
	put("proc/self/mountinfo",
	    MI_ROOT MI_V1_TMPFS
	    "34 30 0:31 /docker/c1 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n");
	put("sys/fs/cgroup/memory/memory.limit_in_bytes", "2147483648\n");
	put("sys/fs/cgroup/memory/worker/memory.limit_in_bytes", V1_NO_LIMIT "\n");
	LIMIT_IS(2048 * MiB, "v1, the mount's root is the container's group");

	/* A group outside the mount's root ("/docker/c10" is not under
	 * "/docker/c1"): no limit found. */
	put("proc/self/cgroup", "4:memory:/docker/c10\n");
	LIMIT_IS(NO_LIMIT, "v1, the group is not below the mount's root");
	tree_end();

	/* Two mounts of the hierarchy: the first's root does not hold the
	 * group, the second's does. */
	tree_begin();
	put("proc/self/cgroup", "0::/a/b\n");
	put("proc/self/mountinfo", MI_ROOT "50 22 0:26 /other /mnt/other rw - cgroup2 cgroup2 rw\n"
	                                   "51 22 0:26 /a /mnt/a rw - cgroup2 cgroup2 rw\n");
	put("mnt/other/b/memory.max", "4096\n");
	put("mnt/a/memory.max", "max\n");
	put("mnt/a/b/memory.max", "777777777\n");
	LIMIT_IS(777777777, "v2, the second mount holds the group");
	tree_end();

	/* A mount point with a space (mountinfo writes it \040). */
	tree_begin();
	put("proc/self/cgroup", "0::/g\n");
	put("proc/self/mountinfo", MI_ROOT "51 22 0:26 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n");
	put("mnt/cg two/g/memory.max", "123456789\n");
	LIMIT_IS(123456789, "v2, a mount point with an escaped space");
	tree_end();
}

/* Hybrid (like systemd's): v1 holds the memory controller, v2 is mounted
 * without it; and both limiting, the lesser counts. */
static void test_hybrid(void)
{
	tree_begin();
	put("proc/self/cgroup", "4:memory:/system.slice/db.service\n0::/system.slice/db.service\n");
	put("proc/self/mountinfo",
	    MI_ROOT MI_V1_TMPFS MI_V1_MEM MI_V1_UNIFIED);
	put("sys/fs/cgroup/memory/system.slice/db.service/memory.limit_in_bytes", "805306368\n");
	put("sys/fs/cgroup/unified/system.slice/db.service/cgroup.procs", "");
	LIMIT_IS(768 * MiB, "hybrid, v1 memory limit, v2 without the controller");

	put("sys/fs/cgroup/unified/system.slice/memory.max", "402653184\n");
	LIMIT_IS(384 * MiB, "both hierarchies limit: the lesser");
	tree_end();
}

/* Missing or malformed files mean no limit, never a crash. */
static void test_bad_input(void)
{
	tree_begin();
	LIMIT_IS(NO_LIMIT, "no proc files at all");

	put("proc/self/cgroup", "0::/g\n");
	LIMIT_IS(NO_LIMIT, "no mountinfo");

	put("proc/self/mountinfo", MI_ROOT);
	LIMIT_IS(NO_LIMIT, "no cgroup mount");

	put("proc/self/mountinfo", MI_ROOT "garbage\n\n51 22 0:26 / /cg\n"
	                                   "52 22 0:26 / /cg rw -\n"
	                                   "53 22 0:26 / /cg rw - cgroup2\n");
	put("cg/g/memory.max", "1000\n");
	LIMIT_IS(NO_LIMIT, "truncated mountinfo lines");

	put("proc/self/mountinfo", MI_ROOT "54 22 0:26 / /cg rw - cgroup2 cgroup2 rw\n");
	LIMIT_IS(1000, "the same tree with a whole line");

	static const char *const bad[] = { "", "\n", "abc\n", "-1\n", "12abc\n", " 5\n",
		                           "99999999999999999999999\n", "max5\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[64];
		put("cg/g/memory.max", bad[i]);
		snprintf(what, sizeof(what), "memory.max \"%.20s\"", bad[i]);
		LIMIT_IS(NO_LIMIT, what);
	}
	put("cg/g/memory.max", "0\n");
	LIMIT_IS(0, "memory.max 0");

	static const char *const bad_lines[] = { "garbage\n", "0:\n", "0::\n", "0::relative\n",
		                                 ":::\n", "" };
	put("cg/g/memory.max", "1000\n");
	put("cg/memory.max", "2000\n");
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		char what[64];
		put("proc/self/cgroup", bad_lines[i]);
		snprintf(what, sizeof(what), "/proc/self/cgroup \"%.20s\"", bad_lines[i]);
		LIMIT_IS(NO_LIMIT, what);
	}
	/* A path long enough to overflow PATH_MAX with the root. */
	{
		char *line = malloc(8192);
		T_REQUIRE(line != NULL, "malloc");
		if (line) {
			strcpy(line, "0::/");
			memset(line + 4, 'x', 6000);
			strcpy(line + 6004, "\n");
			put("proc/self/cgroup", line);
			LIMIT_IS(NO_LIMIT, "a group path longer than PATH_MAX");
			free(line);
		}
	}
	tree_end();
}

/* The default memory limit made from the cgroup's limit: a quarter of the
 * lesser of physical memory and the limit, rounded down to whole pages, at
 * least UPAGER_MIN_FRAMES pages.  The expected values are written out. */
static void test_default(void)
{
	uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * t_sys_page();
	struct upager_config in = { 0 }, out;

	T_REQUIRE(phys > 1024 * MiB, "this test wants more than 1 GiB of memory (has %llu)",
	          (unsigned long long)phys);
	tree_begin();
	put("proc/self/cgroup", "0::/job\n");
	put("proc/self/mountinfo", MI_ROOT MI_V2);

	put("sys/fs/cgroup/job/memory.max", "268435456\n");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, 64 * MiB);
	T_EQ(out.page_size, t_default_page_size());

	/* Not a multiple of the page size: rounded down. */
	put("sys/fs/cgroup/job/memory.max", "268447801\n"); /* 256 MiB + 12345 */
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, 64 * MiB);
	in.page_size = 2 * MiB;
	put("sys/fs/cgroup/job/memory.max", "100000000\n"); /* a quarter: 23.8 MiB */
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, 22 * MiB);

	/* Tiny limits: at least UPAGER_MIN_FRAMES pages. */
	in.page_size = 4096;
	put("sys/fs/cgroup/job/memory.max", "40000\n");
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, UPAGER_MIN_FRAMES * 4096);
	put("sys/fs/cgroup/job/memory.max", "0\n");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, UPAGER_MIN_FRAMES * t_default_page_size());

	/* A limit above physical memory: physical memory counts. */
	put("sys/fs/cgroup/job/memory.max", "max\n");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, phys / 4 / t_default_page_size() * t_default_page_size());
	{
		char big[32];
		snprintf(big, sizeof(big), "%llu\n", (unsigned long long)(phys * 2));
		put("sys/fs/cgroup/job/memory.max", big);
		T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
		T_EQ(out.memory_limit, phys / 4 / t_default_page_size() * t_default_page_size());
	}

	/* An explicit limit, or UPAGER_MEMORY_LIMIT, is not the default: the
	 * cgroup does not change it. */
	put("sys/fs/cgroup/job/memory.max", "268435456\n");
	in = (struct upager_config){ .memory_limit = 512 * MiB };
	T_RET(upager_config_resolve(&in, sizeof(in), &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, 512 * MiB);
	t_env_set("UPAGER_MEMORY_LIMIT", "200M");
	T_RET(upager_config_resolve(NULL, 0, &out, sizeof(out)), 0);
	T_EQ(out.memory_limit, 200 * MiB);
	t_env_restore();
	tree_end();
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "v2: memory.max of the group and its ancestors", test_v2 },
		{ "v1: memory.limit_in_bytes, co-mounted controllers", test_v1 },
		{ "mount roots: containers, two mounts, escapes", test_mount_root },
		{ "hybrid v1 + v2", test_hybrid },
		{ "missing and malformed files", test_bad_input },
		{ "default memory_limit from the cgroup's limit", test_default },
		{ NULL, NULL },
	};

	t_init("test_memcg", 120);
	t_add_suite("memcg", tests);
	t_summary("memory cgroup limit on fake trees: v2, v1, container mounts, hybrid, bad "
	          "input; the default memory_limit made from it");
	return t_run_suite();
}
