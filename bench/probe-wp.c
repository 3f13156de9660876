/*
 * upager-probe-wp: can write tracking do without a fault?  A probe of the
 * kernel alone (no upager), for docs/design.md, "Write tracking without a
 * fault: a probe".
 *
 * upager tracks dirty pages by mapping clean pages read-only: the first
 * store to one costs a SIGSEGV, an mprotect that splits the chunk's VMA and,
 * later, one that merges it back.  userfaultfd's asynchronous write
 * protection (UFFD_FEATURE_WP_ASYNC, Linux 6.7) lets the kernel resolve
 * such a store itself and record it; the PAGEMAP_SCAN ioctl of
 * /proc/self/pagemap (Linux 6.7) reports the pages written since and
 * write-protects them again.  This program measures, on a memfd mapped
 * MAP_SHARED as upager maps its frames:
 *   - that PAGEMAP_SCAN reports exactly the pages stored to;
 *   - the cost of a store to a protected page, and of a one-page scan;
 *   - whether MADV_GUARD_INSTALL (upager's "no access") works on a page
 *     that is write-protected (run in a child with a 2 s alarm, since on
 *     Linux 6.18 it does not return), and the cost of the cycle that makes
 *     it work: read the written bit, un-protect, install the marker,
 *     remove it, protect again.
 * Output: one line per finding; exit status 0 if every check held, 1 if
 * one failed, 77 if the kernel lacks a feature (reported).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Newer than Debian 12's kernel headers. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1u << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1u << 15)
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
struct probe_page_region {
	uint64_t start, end, categories;
};
struct probe_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PROBE_PAGEMAP_SCAN _IOWR('f', 16, struct probe_pm_scan_arg)
#define PROBE_PM_SCAN_WP_MATCHING (1u << 0)
#define PROBE_PAGE_IS_WRITTEN (1u << 1)

#define NPAGES 16384u
#define TIMED 2000u

static long pgsz;
static int pagemap_fd, uffd;
static int failures;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void check(int ok, const char *what)
{
	printf("  %s  %s\n", ok ? "ok    " : "FAILED", what);
	failures += !ok;
}

/* Pages of [a, a + len) written since they were last protected; with
 * @protect, protect them again. */
static long written(char *a, size_t len, int protect)
{
	static struct probe_page_region vec[NPAGES];
	struct probe_pm_scan_arg s = {
		.size = sizeof(s), .flags = protect ? PROBE_PM_SCAN_WP_MATCHING : 0,
		.start = (uintptr_t)a, .end = (uintptr_t)a + len,
		.vec = (uintptr_t)vec, .vec_len = NPAGES,
		.category_mask = PROBE_PAGE_IS_WRITTEN, .return_mask = PROBE_PAGE_IS_WRITTEN,
	};
	long n = ioctl(pagemap_fd, PROBE_PAGEMAP_SCAN, &s), pages = 0;

	if (n < 0) {
		perror("upager-probe-wp: PAGEMAP_SCAN");
		exit(77);
	}
	for (long i = 0; i < n; i++)
		pages += (long)((vec[i].end - vec[i].start) / (uint64_t)pgsz);
	return pages;
}

static int set_wp(char *a, size_t len, int on)
{
	struct uffdio_writeprotect w = {
		.range = { (uintptr_t)a, len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w);
}

/*
 * A memfd of @len bytes mapped MAP_SHARED, registered for asynchronous
 * write protection; its address in *@a.  0, or an exit status.
 */
static int setup(size_t len, char **a)
{
	int mfd = memfd_create("upager-probe-wp", MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, (off_t)len) != 0) {
		perror("upager-probe-wp: memfd");
		return 1;
	}
	*a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (*a == MAP_FAILED) {
		perror("upager-probe-wp: mmap");
		return 1;
	}
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd < 0) {
		perror("upager-probe-wp: userfaultfd");
		return 77;
	}
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED |
		            UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	struct uffdio_register reg = { .range = { (uintptr_t)*a, len },
		                       .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(uffd, UFFDIO_API, &api) != 0 || ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
		perror("upager-probe-wp: UFFD_FEATURE_WP_ASYNC on a memfd mapping");
		return 77;
	}
	return 0;
}

/*
 * Does MADV_GUARD_INSTALL return on a mapped, write-protected page?  Tried
 * in a child with its own mapping and registration (a forked child does
 * not inherit the registration) and a 2 s alarm, which ends it on a kernel
 * where the call does not return.  1 yes, 0 no, -1 not tried.
 */
static int guard_on_protected_returns(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char *pg;

		/* Its own pagemap: the parent's descriptor reads the parent. */
		pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pagemap_fd < 0 || setup((size_t)pgsz, &pg) != 0)
			_exit(2);
		pg[0] = 1;
		written(pg, (size_t)pgsz, 1);
		alarm(2);
		_exit(madvise(pg, (size_t)pgsz, MADV_GUARD_INSTALL) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : -1;
}

int main(int argc, char **argv)
{
	size_t len;
	char *a;
	int rc;

	if (argc > 1) {
		fprintf(stderr, "usage: %s (no arguments; see the comment at the top of bench/probe-wp.c)\n",
		        argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pgsz = sysconf(_SC_PAGESIZE);
	len = (size_t)NPAGES * (size_t)pgsz;
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0) {
		perror("upager-probe-wp: /proc/self/pagemap");
		return 77;
	}
	rc = setup(len, &a);
	if (rc)
		return rc;

	/* Every page mapped, then every page protected. */
	for (size_t i = 0; i < NPAGES; i++)
		a[i * (size_t)pgsz] = 1;
	written(a, len, 1);
	check(written(a, len, 0) == 0, "no page is written right after protection");

	/* Stores to random pages: the scan reports exactly those. */
	static unsigned char want[NPAGES];
	long distinct = 0, agree = 0;
	double t_store = 0;
	srand(1);
	for (unsigned k = 0; k < 3000; k++) {
		size_t i = (size_t)rand() % NPAGES;
		double t0 = now_us();

		a[i * (size_t)pgsz + 8] = 2;
		t_store += now_us() - t0;
		distinct += !want[i];
		want[i] = 1;
	}
	for (size_t i = 0; i < NPAGES; i++)
		agree += (written(a + i * (size_t)pgsz, (size_t)pgsz, 0) > 0) == want[i];
	printf("  3000 stores to random pages (%ld distinct): %.2f us each, first stores' faults included\n",
	       distinct, t_store / 3000);
	check(written(a, len, 0) == distinct && agree == NPAGES,
	      "PAGEMAP_SCAN reports exactly the pages stored to");

	/* Costs: a store to a protected page; a one-page scan that protects. */
	double t_scan = 0, t_fault = 0;
	written(a, len, 1);
	for (size_t i = 0; i < TIMED; i++) {
		double t0 = now_us();

		a[i * (size_t)pgsz + 16] = 3;
		t_fault += now_us() - t0;
		t0 = now_us();
		written(a + i * (size_t)pgsz, (size_t)pgsz, 1);
		t_scan += now_us() - t0;
	}
	printf("  store to a protected page: %.2f us; one-page scan that protects again: %.2f us\n",
	       t_fault / TIMED, t_scan / TIMED);

	/* Guard markers on a protected page. */
	int r = guard_on_protected_returns();
	printf("  MADV_GUARD_INSTALL on a write-protected page %s\n",
	       r == 1 ? "returns" : r == 0 ? "does not return within 2 s (the child was killed)"
	                                  : "could not be tried");
	/* The cycle that works: read, un-protect, guard, unguard, protect. */
	double t[5] = { 0 };
	for (size_t k = 0; k < TIMED; k++) {
		char *pg = a + (4000 + k) * (size_t)pgsz;
		double s0 = now_us();

		written(pg, (size_t)pgsz, 0);
		double s1 = now_us();
		if (set_wp(pg, (size_t)pgsz, 0) != 0)
			failures++;
		double s2 = now_us();
		if (madvise(pg, (size_t)pgsz, MADV_GUARD_INSTALL) != 0)
			failures++;
		double s3 = now_us();
		madvise(pg, (size_t)pgsz, MADV_GUARD_REMOVE);
		double s4 = now_us();
		if (set_wp(pg, (size_t)pgsz, 1) != 0)
			failures++;
		double s5 = now_us();
		t[0] += s1 - s0, t[1] += s2 - s1, t[2] += s3 - s2, t[3] += s4 - s3, t[4] += s5 - s4;
	}
	printf("  per page: scan %.2f, un-protect %.2f, guard install %.2f, guard remove %.2f, "
	       "protect %.2f us\n",
	       t[0] / TIMED, t[1] / TIMED, t[2] / TIMED, t[3] / TIMED, t[4] / TIMED);
	long before = written(a + 4000 * (size_t)pgsz, TIMED * (size_t)pgsz, 0);
	volatile char x = a[4500 * (size_t)pgsz];
	(void)x;
	a[4600 * (size_t)pgsz + 1] = 9;
	check(before == 0 && written(a + 4000 * (size_t)pgsz, TIMED * (size_t)pgsz, 0) == 1,
	      "after the cycle a load is not a write and a store is");
	return failures ? 1 : 0;
}
