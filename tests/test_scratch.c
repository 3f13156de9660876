/*
 * test_scratch.c - the slots of the scratch file (src/scratch.c): a page's
 * first write-back takes its home slot, each rewrite a new slot and frees
 * the old, rewrites take consecutive slots from the cursor, read-ahead
 * across pages whose slots lie apart, and over resident pages, reads every
 * byte right, no two pages
 * ever share a slot, the file never takes more disk than the region's
 * slots, and unmapping gives the disk back.
 *
 * Every byte is checked against a copy of the data kept in ordinary
 * memory, updated beside each store.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

/* Slots of a region of @npages pages: npages + npages / 4 + 1 (scratch.c,
 * upager__slots_needed). */
static uint64_t slots_of(uint64_t npages)
{
	return npages + npages / 4 + 1;
}

/* Bytes of disk the scratch file holds. */
static uint64_t disk_bytes(upager_t *p)
{
	struct stat st;

	if (fstat(upager__scratch_fd(p), &st) != 0)
		return UINT64_MAX;
	return (uint64_t)st.st_blocks * 512;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/*
 * Every page with a slot has one of its own, inside the region's slots;
 * return the number of pages with a slot (-1 after a failed check).
 */
static long check_slots(upager_t *p, const unsigned char *m, size_t npages, size_t ps, long *slot)
{
	long *sorted = malloc(npages * sizeof(long));
	long n = 0;

	T_REQUIRE(sorted != NULL, "malloc");
	for (size_t i = 0; i < npages; i++) {
		slot[i] = upager__page_slot(p, m + i * ps);
		if (!T_CHECK(slot[i] >= -1 && slot[i] < (long)slots_of(npages),
		             "page %zu: slot %ld of %llu", i, slot[i],
		             (unsigned long long)slots_of(npages)))
			n = -1;
		if (slot[i] >= 0 && n >= 0)
			sorted[n++] = slot[i];
	}
	if (n > 0) {
		qsort(sorted, (size_t)n, sizeof(long), cmp_long);
		for (long k = 1; k < n; k++)
			if (!T_CHECK(sorted[k] != sorted[k - 1], "slot %ld held by two pages",
			             sorted[k]))
				break;
	}
	free(sorted);
	return n;
}

/*
 * Fill a region of 2,048 pages under 256 frames sequentially, then rewrite
 * random pages in rounds, each flushed with DONTNEED; check the slots and
 * the disk after each round, and every byte in page order (read-ahead
 * over pages whose slots lie apart) and in random page order at the end.
 */
static void test_rewrites(void)
{
	const size_t ps = 4 * KiB, npages = 2048, len = npages * ps;
	struct upager_config c = t_config(ps, 1 * MiB);
	unsigned char *ref = malloc(len);
	long *slot = malloc(npages * sizeof(long));
	struct t_rng rng = { t_seed() };
	struct upager_stats st;
	upager_t *p;
	unsigned char *m;
	unsigned rounds = (unsigned)t_scale(24, 200), runs0 = 0;
	uint64_t written = 0, written0 = 0;

	T_REQUIRE(ref && slot, "malloc");
	upager__pause_background_writeback(1); /* write-back only by us */
	p = t_create(&c);
	m = upager_alloc(p, len);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	t_fill(ref, len, 0x5c, 0);
	for (size_t i = 0; i < len; i += 8) /* in order, each page once */
		memcpy(m + i, ref + i, 8);
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	/* Written once: every page in its home slot. */
	T_EQ(check_slots(p, m, npages, ps, slot), (long)npages);
	for (size_t i = 0; i < npages; i++)
		if (!T_CHECK(slot[i] == (long)i, "page %zu in slot %ld, not its home", i, slot[i]))
			break;

	for (unsigned round = 0; round < rounds; round++) {
		size_t k = 64 + t_rand_below(&rng, 256), dirty = 0;
		long *old = malloc(npages * sizeof(long));

		T_REQUIRE(old != NULL, "malloc");
		memcpy(old, slot, npages * sizeof(long));
		t_stats(p, &st);
		written = st.pgpgout;
		for (size_t j = 0; j < k; j++) {
			size_t off = t_rand_below(&rng, len / 8) * 8;
			uint64_t v = t_rand(&rng);

			memcpy(ref + off, &v, 8);
			memcpy(m + off, &v, 8);
		}
		T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
		T_EQ(check_slots(p, m, npages, ps, slot), (long)npages);
		/* A rewritten page moved; the others kept their slot. */
		for (size_t i = 0; i < npages; i++)
			if (slot[i] != old[i])
				dirty++;
		T_GE(dirty, 1);
		T_LE(dirty, k);
		if (round == 0) {
			/* Every page has its home slot, and the cursor starts
			 * in the spare slots, all free: the round's write-backs
			 * (the Clock's while the stores ran, then the flush's)
			 * take slots npages, npages + 1, ... in turn.  A page
			 * written twice in the round leaves a hole where its
			 * first new slot was. */
			long *moved = malloc(dirty * sizeof(long));
			size_t nm = 0;

			t_stats(p, &st);
			written = st.pgpgout - written;
			written0 = written;
			T_LE(written, npages / 4);
			T_REQUIRE(moved != NULL, "malloc");
			for (size_t i = 0; i < npages; i++)
				if (slot[i] != old[i]) {
					T_GE(slot[i], (long)npages);
					T_LE(slot[i], (long)(npages + written) - 1);
					moved[nm++] = slot[i];
				}
			qsort(moved, nm, sizeof(long), cmp_long);
			runs0 = 1;
			for (size_t j = 1; j < nm; j++)
				runs0 += moved[j] != moved[j - 1] + 1;
			free(moved);
		}
		/* Never more disk than the region's slots. */
		T_LE(disk_bytes(p), slots_of(npages) * ps);
		free(old);
	}
	T_VERIFIED(t_verify_mem(m, ref, len, 0, "rewritten pages, in page order"));
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	{
		uint64_t *perm = t_permutation(npages, t_seed());
		int64_t bad = -1;

		T_REQUIRE(perm != NULL, "malloc");
		for (size_t k = 0; k < npages && bad < 0; k++)
			bad = t_verify_mem(m + perm[k] * ps, ref + perm[k] * ps, ps, perm[k] * ps,
			                   "rewritten pages, in random page order");
		T_EQ(bad, -1);
		free(perm);
	}
	t_stats(p, &st);
	T_GE(st.readahead, 1); /* runs were read, not single pages only */
	T_EQ(st.io_errors, 0);
	T_RET(upager_unmap(p, m), 0);
	T_EQ(disk_bytes(p), 0); /* the unmap punched the region's slots */
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
	t_summary("%zu pages under 256 frames, %u rounds of random rewrites: home slots "
	          "first, round 0's %llu write-backs in the next %llu spare slots (%u "
	          "run(s)), slots unique, disk <= the slots, every byte right; %llu pages "
	          "read ahead",
	          npages, rounds, (unsigned long long)written0, (unsigned long long)written0, runs0,
	          (unsigned long long)st.readahead);
	free(ref);
	free(slot);
}

/*
 * The Clock's own write-back (no flush): random read-modify-writes of a
 * region 8 times the limit, with background write-back on, then every byte
 * against the copy, and the slots unique.
 */
static void test_clock_rewrites(void)
{
	const size_t ps = 4 * KiB, npages = 4096, len = npages * ps;
	struct upager_config c = t_config(ps, 2 * MiB);
	uint64_t *ref = malloc(len);
	long *slot = malloc(npages * sizeof(long));
	struct t_rng rng = { t_seed() ^ 0x77 };
	size_t ops = (size_t)t_scale(60000, 600000);
	struct upager_stats st;
	upager_t *p = t_create(&c);
	uint64_t *m = upager_alloc(p, len);

	T_REQUIRE(ref && slot && m, "upager_alloc: %s", strerror(errno));
	t_fill(ref, len, 0x6d, 0);
	memcpy(m, ref, len);
	for (size_t j = 0; j < ops; j++) {
		/* Skewed: half the operations in an eighth of the pages. */
		size_t w = (j & 1) ? t_rand_below(&rng, len / 64) : t_rand_below(&rng, len / 8);

		ref[w] += j;
		m[w] += j;
	}
	T_VERIFIED(t_verify_mem(m, ref, len, 0, "after Clock write-back"));
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	T_VERIFIED(t_verify_mem(m, ref, len, 0, "after DONTNEED"));
	T_EQ(check_slots(p, (unsigned char *)m, npages, ps, slot), (long)npages);
	T_LE(disk_bytes(p), slots_of(npages) * ps);
	t_stats(p, &st);
	T_EQ(st.io_errors, 0);
	T_RET(upager_destroy(p), 0);
	t_summary("%zu skewed read-modify-writes of %zu pages under 512 frames: every byte "
	          "right, slots unique, %llu pages written",
	          ops, npages, (unsigned long long)st.pgpgout);
	free(ref);
	free(slot);
}

/*
 * A region of 3 pages has 4 slots (3 + 0 + 1): rewrites cycle through
 * them and never reach past them, on disk or in the map.
 */
static void test_small_region(void)
{
	const size_t ps = 4 * KiB, npages = 3, len = npages * ps;
	struct upager_config c = t_config(ps, 1 * MiB);
	unsigned char ref[3 * 4096];
	long slot[3], seen = 0;
	upager_t *p = t_create(&c);
	unsigned char *m = upager_alloc(p, len);
	unsigned rounds = 40;

	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	for (unsigned round = 0; round < rounds; round++) {
		for (size_t i = 0; i < len; i++)
			ref[i] = t_pattern(round, i);
		memcpy(m, ref, len);
		T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
		T_EQ(check_slots(p, m, npages, ps, slot), (long)npages);
		for (size_t i = 0; i < npages; i++)
			seen |= 1l << slot[i];
		T_LE(disk_bytes(p), slots_of(npages) * ps);
		T_VERIFIED(t_verify_mem(m, ref, len, 0, "small region"));
		T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0);
	}
	T_EQ(seen, (1l << slots_of(npages)) - 1); /* every slot used, no other */
	T_RET(upager_destroy(p), 0);
	t_summary("3 pages rewritten %u times: slots within the 4 of the region, all used, "
	          "disk within them, every byte right",
	          rounds);
}

/*
 * Fill @m (@npages pages of @ps bytes of upager_alloc memory) with @ref,
 * filled from @seed, write every page back (DONTNEED), then touch every
 * 8th page so that it alone is resident again.
 */
static void write_back_every_8th_resident(upager_t *p, unsigned char *m, unsigned char *ref,
                                          size_t ps, size_t npages, uint64_t seed)
{
	const size_t len = npages * ps;
	volatile unsigned char sink = 0;

	t_fill(ref, len, seed, 0);
	for (size_t i = 0; i < len; i += 8)
		memcpy(m + i, ref + i, 8);
	T_RET(upager_advise(p, m, len, UPAGER_ADV_DONTNEED), 0); /* all written */
	for (size_t i = 0; i < npages; i += 8)
		sink += m[i * ps + 1];
	(void)sink;
}

/*
 * A sequential scan over pages of which every 8th is resident: the
 * resident pages must not reset the read-ahead window (readahead.c), so
 * the scan takes at most one major fault per gap, not about three.
 */
static void test_scan_past_resident(void)
{
	const size_t ps = 4 * KiB, npages = 2048, len = npages * ps;
	struct upager_config c = t_config(ps, 16 * MiB); /* room for all */
	unsigned char *ref = malloc(len);
	struct upager_stats st0, st1;
	upager_t *p = t_create(&c);
	unsigned char *m = upager_alloc(p, len);

	T_REQUIRE(ref && m, "upager_alloc: %s", strerror(errno));
	write_back_every_8th_resident(p, m, ref, ps, npages, 0x3e);
	t_stats(p, &st0);
	T_VERIFIED(t_verify_mem(m, ref, len, 0, "scan past resident pages"));
	t_stats(p, &st1);
	/* 1,792 pages to read in 256 gaps of 7: with the window reset at each
	 * resident page the scan took 707 major faults, about 3 per gap;
	 * going on past them, 98-221 when a run still ended at a resident
	 * page (the scan waited for I/O whenever it outran the pager's
	 * thread: at most once per gap), 106-128 since runs pass over them
	 * (this test's window is 8 pages: test_run_over_gaps has the full
	 * one).  The bound, 1.5 per gap, splits reset from no reset. */
	T_LE(st1.pgmajfault - st0.pgmajfault, npages / 8 + npages / 16);
	T_GE(st1.pgpgin - st0.pgpgin, npages - npages / 8);
	T_RET(upager_destroy(p), 0);
	t_summary("scan of %zu pages, every 8th resident: %llu major faults for %llu pages "
	          "read, every byte right",
	          npages, (unsigned long long)(st1.pgmajfault - st0.pgmajfault),
	          (unsigned long long)(st1.pgpgin - st0.pgpgin));
	free(ref);
}

/*
 * One read-ahead run passes over resident pages (filemap.c): with every
 * 8th page resident and the region advised sequential (the full window at
 * the first fault), one major fault reads the pages of many gaps, not the
 * 7 up to the first resident page.  The pages in between keep their
 * state, and every byte is right.
 */
static void test_run_over_gaps(void)
{
	const size_t ps = 4 * KiB, npages = 512, len = npages * ps;
	struct upager_config c = t_config(ps, 16 * MiB); /* room for all */
	unsigned char *ref = malloc(len);
	struct upager_stats st0, st1;
	upager_t *p;
	unsigned char *m;
	volatile unsigned char sink = 0;
	size_t resident = 0;

	c.readahead = 256; /* the window: 256 pages, 32 gaps */
	p = t_create(&c);
	m = upager_alloc(p, len);

	T_REQUIRE(ref && m, "upager_alloc: %s", strerror(errno));
	write_back_every_8th_resident(p, m, ref, ps, npages, 0x5a);
	T_RET(upager_advise(p, m, len, UPAGER_ADV_SEQUENTIAL), 0);
	t_stats(p, &st0);
	sink += m[1 * ps + 1]; /* page 1: one major fault */
	t_stats(p, &st1);
	T_EQ(st1.pgmajfault - st0.pgmajfault, 1);
	for (size_t i = 1; i < npages; i++)
		if (upager__page_state(p, m + i * ps) & UPAGER_PAGE_RESIDENT)
			resident++;
		else
			break;
	/* 8 gaps at least: before runs passed over resident pages, 7 pages
	 * (1..7) and then the resident page 8. */
	T_CHECK(resident >= 8 * 8, "pages 1..%zu resident after one fault (want >= 64)",
	        resident);
	T_CHECK(st1.pgpgin - st0.pgpgin >= 7 * 8, "pages read by the fault: %llu",
	        (unsigned long long)(st1.pgpgin - st0.pgpgin));
	T_VERIFIED(t_verify_mem(m, ref, len, 0, "run over gaps"));
	T_RET(upager_destroy(p), 0);
	t_summary("one fault read %llu pages over the gaps: pages 1..%zu resident",
	          (unsigned long long)(st1.pgpgin - st0.pgpgin), resident);
	(void)sink;
	free(ref);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "rewrites move to new slots, batches in runs", test_rewrites },
		{ "one read-ahead run passes over resident pages", test_run_over_gaps },
		{ "Clock write-back of random read-modify-writes", test_clock_rewrites },
		{ "a region of 3 pages has 4 slots", test_small_region },
		{ "a scan goes on past resident pages", test_scan_past_resident },
		{ NULL, NULL },
	};

	t_init("test_scratch", 240);
	t_env_set("UPAGER_TMPDIR", t_make_subdir("scratch"));
	t_add_suite("scratch", tests);
	return t_run_suite();
}
