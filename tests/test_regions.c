/*
 * test_regions.c - region size and count: a 1 TiB mapping whose metadata
 * grows with the pages touched, thousands of regions at once, and the
 * documented cap on regions (vm.max_map_count / 8, at most 65,536).
 *
 * The cap is computed here from /proc/sys/vm/max_map_count by the
 * documented rule (expected_region_cap), which is checked against
 * hand-computed values for the kernel's default and the larger values
 * distributions ship (Fedora and Arch: 1,048,576, where the 65,536 clamp
 * applies), then against the library on this machine.  As root, the
 * program also runs itself as a helper (--region-cap) in a private mount
 * namespace where a file bind-mounted over /proc/sys/vm/max_map_count
 * shows another value, so that the library's reading of the limit is
 * checked for values this machine's sysctl does not hold; the sysctl itself
 * is never changed.  (Values above the real limit cannot be checked live:
 * the kernel would refuse the mappings before the cap.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "helpers.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIB ((uint64_t)1 << 40)
#define PAGE 65536u

/*
 * A 1 TiB SHARED mapping of a 1 MiB file: the file's bytes read back, bytes
 * past EOF read as zero, a store half a terabyte in is written back and
 * extends the file to exactly the end of that page, and the process grows
 * by little (descriptors are sparse).
 */
static void test_one_tib(void)
{
	const uint64_t seed = 11, fsize = 1 << 20, far = TIB / 2 + 12345 * 8;
	struct upager_config cfg = t_config(PAGE, 64 * PAGE);
	char path[4096];
	int fd = t_make_file(fsize, seed, path, sizeof(path));
	long rss0 = t_status_kb("VmRSS");
	upager_t *p = t_create(&cfg);
	uint64_t *m = upager_map(p, fd, 0, TIB, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	uint64_t value = 0x0123456789abcdefull;

	T_REQUIRE(m != NULL, "map 1 TiB: %s", strerror(errno));
	T_VERIFIED(t_verify_buf(m, fsize, seed, 0, "first MiB"));
	T_VERIFIED(t_verify_zero((char *)m + fsize, PAGE, fsize, "past EOF"));
	T_EQ(((volatile uint8_t *)m)[TIB - 1], 0);
	m[far / 8] = value;
	T_RET(upager_sync(p, m, 0), 0);
	T_EQ(t_file_size(fd), (int64_t)((far / PAGE + 1) * PAGE));
	uint64_t got = 0;
	T_EQ(pread(fd, &got, 8, (off_t)far), 8);
	T_EQ(got, value);
	T_VERIFIED(t_verify_fd(fd, 0, fsize, seed));
	long grown = t_status_kb("VmRSS") - rss0;
	T_CHECK(grown < 32 * 1024, "RSS grew by %ld KiB for a 1 TiB mapping", grown);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	t_summary("1 TiB mapping: RSS grew %ld KiB; store at 512 GiB written back", grown);
	T_CHECK(ftruncate(fd, 0) == 0, "truncate");
}

/* Thousands of regions of one pager at once, each with its own data. */
static void test_thousands(void)
{
	enum { NALLOC = 3000, NFILE = 1200 };
	struct upager_config cfg = t_config(4096, 256 * 4096);
	upager_t *p = t_create(&cfg);
	static uint64_t *a[NALLOC];
	static uint64_t *f[NFILE];
	const size_t len = 16 * 4096;
	struct rlimit rl;
	int nfile = NFILE;

	for (int i = 0; i < NALLOC; i++) {
		a[i] = upager_alloc(p, len);
		T_REQUIRE(a[i] != NULL, "alloc %d: %s", i, strerror(errno));
		a[i][0] = t_pattern_word(i, 0);
		a[i][len / 8 - 1] = t_pattern_word(i, 1);
	}
	for (int i = 0; i < NALLOC; i++)
		T_CHECK(a[i][0] == t_pattern_word(i, 0) && a[i][len / 8 - 1] == t_pattern_word(i, 1) &&
		        a[i][1] == 0,
		        "region %d holds its own data", i);

	/* File mappings hold a descriptor each: make room if the limit allows. */
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < NFILE + 64 && rl.rlim_max >= NFILE + 64) {
		rl.rlim_cur = NFILE + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < NFILE + 64)
		nfile = (int)rl.rlim_cur - 64;
	int fd = t_make_file(len, 3, NULL, 0);
	for (int i = 0; i < nfile; i++) {
		f[i] = upager_map(p, fd, 0, len, PROT_READ, UPAGER_PRIVATE);
		T_REQUIRE(f[i] != NULL, "map %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < nfile; i++)
		T_CHECK(f[i][i % (len / 8)] == t_pattern_u64(3, (uint64_t)(i % (len / 8)) * 8),
		        "file mapping %d", i);
	for (int i = 0; i < NALLOC; i++)
		T_RET(upager_unmap(p, a[i]), 0);
	for (int i = 0; i < nfile; i++)
		T_RET(upager_unmap(p, f[i]), 0);
	struct upager_stats st;
	t_stats(p, &st);
	T_EQ(st.nr_resident, 0);
	T_LE(st.nr_resident_peak, 256);
	T_RET(upager_destroy(p), 0);
	t_summary("%d alloc regions and %d file mappings at once, each verified", NALLOC, nfile);
}

/*
 * The region cap for a vm.max_map_count of @maps, by the documented rule,
 * not by the library's code: vm.max_map_count / 8 regions (rounded down),
 * but never more than 65,536, the size of the process-wide region table
 * (UPAGER_MAX_REGIONS); a value below 1,024 (or none) is not believed and
 * the kernel's default, 65,530, stands for it.
 */
static long expected_region_cap(long maps)
{
	long cap;

	if (maps < 1024)
		maps = 65530;
	cap = maps / 8;
	return cap < 65536 ? cap : 65536;
}

/* expected_region_cap against values worked out by hand. */
static void test_region_cap_rule(void)
{
	static const struct {
		long maps, cap;
	} cases[] = {
		{ 65530, 8191 },       /* the kernel's default: 65530 / 8 = 8191.25 */
		{ 262144, 32768 },     /* Ubuntu's and SteamOS's */
		{ 524288, 65536 },     /* exactly the table: 2^19 / 8 = 2^16 */
		{ 524295, 65536 },     /* 65536.875, rounded down */
		{ 524296, 65536 },     /* 65537: clamped */
		{ 1048576, 65536 },    /* Fedora and Arch: 131072, clamped */
		{ 2147483647, 65536 }, /* INT_MAX, the sysctl's ceiling: 268435455, clamped */
		{ 1024, 128 },         /* the smallest value believed */
		{ 1023, 8191 },        /* not believed: the default stands for it */
		{ 0, 8191 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECK(expected_region_cap(cases[i].maps) == cases[i].cap,
		        "region cap for vm.max_map_count %ld: %ld, expected %ld", cases[i].maps,
		        expected_region_cap(cases[i].maps), cases[i].cap);
	t_summary("region cap rule: %zu values of vm.max_map_count (65530, 262144, 524288, "
	          "1048576, 2147483647, the clamp's edges, below 1024) give the hand-computed "
	          "caps",
	          sizeof(cases) / sizeof(cases[0]));
}

/* The outcome of filling the region table. */
struct cap_run {
	long regions;  /* allocs that worked before the first failure */
	int err;       /* errno of that failure */
	int again;     /* an alloc worked after an unmap */
	int unmapped;  /* every unmap returned 0 */
};

/*
 * One-page allocs until one fails (at most @limit + 1), an unmap and one
 * more alloc, then all unmapped.  Unmapped newest first: upager finds a
 * region by a walk of the pager's list, newest first, and 65,536 regions
 * unmapped oldest first would take billions of steps.
 */
static struct cap_run fill_regions(upager_t *p, long limit)
{
	struct cap_run res = { 0, 0, 0, 1 };
	void **r = calloc((size_t)limit + 2, sizeof(void *));
	long n = 0;

	if (!r)
		return res;
	for (; n <= limit; n++) {
		r[n] = upager_alloc(p, 4096);
		if (!r[n]) {
			res.err = errno;
			break;
		}
	}
	res.regions = n;
	if (n > 0) {
		if (upager_unmap(p, r[n - 1]) != 0)
			res.unmapped = 0;
		r[n - 1] = upager_alloc(p, 4096);
		res.again = r[n - 1] != NULL;
		if (r[n - 1]) {
			/* the new region works: a store, read back */
			((volatile unsigned char *)r[n - 1])[100] = 0xa7;
			res.again = ((volatile unsigned char *)r[n - 1])[100] == 0xa7;
		}
	}
	for (long i = n - 1; i >= 0; i--)
		if (r[i] && upager_unmap(p, r[i]) != 0)
			res.unmapped = 0;
	free(r);
	return res;
}

/* The helper (--region-cap): a fresh process, so the library reads
 * vm.max_map_count anew.  Prints "maps M regions N errno E again A
 * unmapped U". */
static int region_cap_helper(void)
{
	struct upager_config cfg = t_config(4096, 64 * 4096);
	upager_t *p = NULL;
	long maps = t_max_map_count();
	struct cap_run res;

	if (upager_create(&p, &cfg, sizeof(cfg)) != 0)
		return 2;
	res = fill_regions(p, expected_region_cap(maps) + 16);
	if (upager_destroy(p) != 0)
		res.unmapped = 0;
	printf("maps %ld regions %ld errno %d again %d unmapped %d\n", maps, res.regions, res.err,
	       res.again, res.unmapped);
	return 0;
}

/*
 * Run the helper where /proc/sys/vm/max_map_count reads @fake (a private
 * mount namespace, a file bind-mounted over it); 1 and its figures in
 * @out, or 0 if the namespace or the mount is refused here.
 */
static int run_cap_helper(long fake, long *maps, struct cap_run *out)
{
	char path[4300], text[32], buf[256];
	size_t len = 0;
	int pfd[2], st;

	snprintf(path, sizeof(path), "%s/max_map_count.%ld", t_tmpdir(), fake);
	snprintf(text, sizeof(text), "%ld\n", fake);
	T_REQUIRE(pipe2(pfd, O_CLOEXEC) == 0, "pipe2");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ok;

		ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
		if (fd >= 0)
			close(fd);
		ok = ok && unshare(CLONE_NEWNS) == 0 &&
		     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		     mount(path, "/proc/sys/vm/max_map_count", NULL, MS_BIND, NULL) == 0;
		unlink(path);
		if (!ok)
			_exit(3);
		dup2(pfd[1], 1);
		execl("/proc/self/exe", "test_regions", "--region-cap", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (ssize_t n; (n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0;)
		len += (size_t)n;
	buf[len] = 0;
	close(pfd[0]);
	st = t_wait_child(pid, 120);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3)
		return 0;
	T_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "region cap helper: %s",
	        t_status_str(st));
	T_REQUIRE(sscanf(buf, "maps %ld regions %ld errno %d again %d unmapped %d", maps,
	                 &out->regions, &out->err, &out->again, &out->unmapped) == 5,
	          "region cap helper printed \"%s\"", buf);
	return 1;
}

/*
 * The region cap, live: as many regions as expected_region_cap gives for
 * this machine's vm.max_map_count, then ENOMEM, then room again after an
 * unmap.  As root, the same with other values shown in place of the
 * sysctl's, up to the real one.
 */
static void test_region_cap(void)
{
	long maps = t_max_map_count(), cap = expected_region_cap(maps);
	struct upager_config cfg = t_config(4096, 64 * 4096);
	upager_t *p = t_create(&cfg);
	struct cap_run res = fill_regions(p, cap);
	char more[256] = "";

	T_EQ(res.regions, cap);
	T_EQ(res.err, ENOMEM);
	T_CHECK(res.again, "a region fits again after an unmap, and works");
	T_CHECK(res.unmapped, "every unmap returned 0");
	T_RET(upager_destroy(p), 0);

	/* Other values, as far as the real limit allows: a small one, the
	 * smallest believed, one not believed (the default stands for it). */
	static const long fakes[] = { 20000, 1024, 1000 };
	int ran = 0;
	for (size_t i = 0; geteuid() == 0 && i < sizeof(fakes) / sizeof(fakes[0]); i++) {
		long seen = 0, want = expected_region_cap(fakes[i]);
		struct cap_run f = { 0 };

		if (want * 4 > maps) /* 3 mappings a region, and room */
			continue;
		if (!run_cap_helper(fakes[i], &seen, &f))
			break;
		ran++;
		T_EQ(seen, fakes[i]);
		T_CHECK(f.regions == want && f.err == ENOMEM,
		        "vm.max_map_count shown as %ld: %ld regions (errno %d), expected %ld then "
		        "ENOMEM",
		        fakes[i], f.regions, f.err, want);
		T_CHECK(f.again && f.unmapped, "vm.max_map_count shown as %ld: room again %d, "
		                               "unmaps %d",
		        fakes[i], f.again, f.unmapped);
		snprintf(more + strlen(more), sizeof(more) - strlen(more), "; %ld -> %ld regions",
		         fakes[i], f.regions);
	}
	t_summary("region cap: vm.max_map_count %ld -> %ld regions reached, then ENOMEM%s%s", maps,
	          res.regions, ran ? "; shown in a mount namespace" : "",
	          ran ? more : " (other values not tried: needs root and a mount namespace)");
}

int main(int argc, char **argv)
{
	static const struct t_test tests[] = {
		{ "1 TiB mapping, sparse metadata", test_one_tib },
		{ "thousands of regions at once", test_thousands },
		{ "region cap rule", test_region_cap_rule },
		{ "region cap and ENOMEM", test_region_cap },
		{ NULL, NULL },
	};

	if (argc > 1 && !strcmp(argv[1], "--region-cap"))
		return region_cap_helper();
	t_init("test_regions", 240);
	t_add_suite("regions", tests);
	return t_run_suite();
}
