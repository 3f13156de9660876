/*
 * test_regions.c - region size and count: a 1 TiB mapping whose metadata
 * grows with the pages touched, thousands of regions at once, and the
 * documented cap on regions (vm.max_map_count / 8).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

static long max_map_count(void)
{
	FILE *fp = fopen("/proc/sys/vm/max_map_count", "re");
	long v = 65530;

	if (fp) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = 65530;
		fclose(fp);
	}
	return v;
}

/* The region cap: max_map_count / 8 regions, then ENOMEM, then room again
 * after an unmap. */
static void test_region_cap(void)
{
	long cap = max_map_count() / 8;
	struct upager_config cfg = t_config(4096, 64 * 4096);
	upager_t *p = t_create(&cfg);
	void **r = calloc((size_t)cap + 1, sizeof(void *));
	long n = 0;

	T_REQUIRE(r != NULL, "calloc");
	for (; n <= cap; n++) {
		r[n] = upager_alloc(p, 4096);
		if (!r[n])
			break;
	}
	T_EQ(n, cap);
	T_EQ(errno, ENOMEM);
	T_RET(upager_unmap(p, r[0]), 0);
	r[0] = upager_alloc(p, 4096);
	T_CHECK(r[0] != NULL, "a region fits again after an unmap");
	for (long i = 0; i < n; i++)
		if (r[i])
			T_RET(upager_unmap(p, r[i]), 0);
	free(r);
	T_RET(upager_destroy(p), 0);
	t_summary("region cap %ld reached, then ENOMEM", cap);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "1 TiB mapping, sparse metadata", test_one_tib },
		{ "thousands of regions at once", test_thousands },
		{ "region cap and ENOMEM", test_region_cap },
		{ NULL, NULL },
	};

	t_init("test_regions", 240);
	t_add_suite("regions", tests);
	return t_run_suite();
}
