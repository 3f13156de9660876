/*
 * test_alloc.c - upager_alloc() scratch memory larger than the memory
 * limit: zero everywhere at first, written data survives eviction to the
 * scratch file, several allocations at once stay independent, and the
 * scratch files are unlinked (nothing is left in $UPAGER_TMPDIR).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

/* A private directory for UPAGER_TMPDIR; it must stay empty. */
static const char *g_scratch;

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void alloc_scenario(size_t ps, size_t limit, size_t len, uint64_t seed)
{
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	struct upager_stats st;
	double t0 = t_now();
	unsigned char *m = upager_alloc(p, len);

	T_REQUIRE(m != NULL, "upager_alloc(%zu): %s", len, strerror(errno));
	T_EQ((uintptr_t)m % ps, 0);
	T_EQ(count_entries(g_scratch), 0); /* the scratch file is unlinked */
	const size_t rlen = (len + ps - 1) / ps * ps;

	/* zero everywhere, the rounded-up tail included */
	T_VERIFIED(t_verify_zero(m, rlen, 0, "fresh alloc"));
	t_stats(p, &st);
	T_GE(st.pgfault, 1);
	T_EQ(st.pgpgout, 0); /* nothing was written yet */
	T_LE(st.nr_resident_peak, st.nr_frames);

	/* write the pattern, sequentially */
	for (size_t i = 0; i + 8 <= len; i += 8)
		*(volatile uint64_t *)(m + i) = t_pattern_u64(seed, i);
	for (size_t i = len & ~(size_t)7; i < len; i++)
		m[i] = t_pattern(seed, i);
	t_stats(p, &st);
	/* all but nr_frames dirty pages were evicted: written to the scratch
	 * file, the backing file of upager_alloc() memory */
	T_GE(st.pgsteal, rlen / ps - st.nr_frames);
	T_GE(st.pgpgout, rlen / ps - st.nr_frames);
	/* read back after eviction, in order then in random page order */
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "alloc read back"));
	uint64_t *perm = t_permutation(rlen / ps, seed);
	T_REQUIRE(perm != NULL, "malloc");
	int64_t bad = -1;
	for (size_t k = 0; k < rlen / ps && bad < 0; k++) {
		size_t o = perm[k] * ps, n = o + ps <= len ? ps : len - o;
		bad = t_verify_buf(m + o, n, seed, o, "alloc random page order");
	}
	free(perm);
	T_VERIFIED(bad);
	/* sync of scratch memory returns 0 at once; DONTNEED keeps the data */
	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_advise(p, m, rlen / 2, UPAGER_ADV_DONTNEED), 0);
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "alloc after DONTNEED"));
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_RET(upager_unmap(p, m), 0);
	t_stats(p, &st);
	T_EQ(st.nr_resident, 0);
	T_RET(upager_destroy(p), 0);
	T_EQ(count_entries(g_scratch), 0);
	t_summary("alloc %zu bytes, page %zu, limit %zu: zero, pattern read back after "
	          "eviction (sequential and random page order), after DONTNEED (%.1f s)",
	          len, ps, limit, t_now() - t0);
}

static void test_alloc_4k(void)
{
	alloc_scenario(4096, 256 * KiB, 4 * MiB, 0x10);
}

static void test_alloc_16k_odd(void)
{
	alloc_scenario(16384, 256 * KiB, 4 * MiB + 1234, 0x20);
}

/* Several allocations at once, written interleaved page by page. */
static void test_alloc_many(void)
{
	enum { N = 5 };
	const size_t ps = 4096, limit = 128 * KiB;
	const size_t lens[N] = { 1 * MiB, 512 * KiB + 5, 4096, 1, 2 * MiB - 8 };
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	unsigned char *m[N];
	size_t maxlen = 0;

	for (int i = 0; i < N; i++) {
		m[i] = upager_alloc(p, lens[i]);
		T_REQUIRE(m[i] != NULL, "upager_alloc(%zu): %s", lens[i], strerror(errno));
		if (lens[i] > maxlen)
			maxlen = lens[i];
	}
	/* no overlap */
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++) {
			uintptr_t a = (uintptr_t)m[i], b = (uintptr_t)m[j];
			size_t la = (lens[i] + ps - 1) / ps * ps, lb = (lens[j] + ps - 1) / ps * ps;
			T_CHECK(a + la <= b || b + lb <= a, "allocs %d and %d overlap", i, j);
		}
	T_EQ(count_entries(g_scratch), 0);
	for (size_t o = 0; o < maxlen; o += ps)
		for (int i = 0; i < N; i++)
			if (o < lens[i]) {
				size_t n = o + ps <= lens[i] ? ps : lens[i] - o;
				T_VERIFIED(t_verify_zero(m[i] + o, n, o, "fresh alloc"));
				t_fill(m[i] + o, n, 0x30 + (uint64_t)i, o);
			}
	for (int i = 0; i < N; i++)
		T_VERIFIED(t_verify_buf(m[i], lens[i], 0x30 + (uint64_t)i, 0, "one of many"));
	/* free some, allocate again: the new memory is zero, the rest intact */
	T_RET(upager_unmap(p, m[1]), 0);
	T_RET(upager_unmap(p, m[3]), 0);
	m[1] = upager_alloc(p, lens[1]);
	T_REQUIRE(m[1] != NULL, "upager_alloc: %s", strerror(errno));
	T_VERIFIED(t_verify_zero(m[1], lens[1], 0, "re-allocated"));
	t_fill(m[1], lens[1], 0x99, 0);
	for (int i = 0; i < N; i++) {
		if (i == 3)
			continue;
		T_VERIFIED(t_verify_buf(m[i], lens[i], i == 1 ? 0x99 : 0x30 + (uint64_t)i, 0,
		                        "after re-allocation"));
	}
	struct upager_stats st;
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_RET(upager_unmap(p, m[4]), 0);
	T_RET(upager_unmap(p, m[0]), 0);
	T_RET(upager_unmap(p, m[1]), 0);
	T_RET(upager_unmap(p, m[2]), 0);
	T_RET(upager_destroy(p), 0);

	/* destroy frees allocations that were never unmapped */
	p = t_create(&c);
	for (int i = 0; i < 3; i++) {
		unsigned char *x = upager_alloc(p, 256 * KiB);
		T_REQUIRE(x != NULL, "upager_alloc: %s", strerror(errno));
		t_fill(x, 256 * KiB, 0x40 + (uint64_t)i, 0);
	}
	T_RET(upager_destroy(p), 0);
	T_EQ(count_entries(g_scratch), 0);
	t_summary("%d allocs at once (1 byte .. 2 MiB) independent, zero when re-allocated; "
	          "destroy with live allocs; no file left in UPAGER_TMPDIR",
	          N);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "alloc 16x the limit, 4 KiB pages", test_alloc_4k },
		{ "alloc 16x the limit, 16 KiB pages, odd length", test_alloc_16k_odd },
		{ "several allocs", test_alloc_many },
		{ NULL, NULL },
	};

	t_init("test_alloc", 240);
	g_scratch = t_make_subdir("scratch");
	t_env_set("UPAGER_TMPDIR", g_scratch);
	t_add_suite("alloc", tests);
	return t_run_suite(); /* restores UPAGER_TMPDIR */
}
