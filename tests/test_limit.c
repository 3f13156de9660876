/*
 * test_limit.c - the memory limit holds: over sequential and random passes
 * (reads and writes) on data 16x the limit, stats.nr_resident_peak never
 * exceeds stats.nr_frames and the process's peak RSS grows by less than the
 * limit plus a slack; the vmstat-like counters are consistent with the
 * work done.
 *
 * The slack: 8 MiB for upager's metadata, io_uring rings, thread stacks,
 * libraries and the test's own buffers (bitmap of 512 KiB, 64 KiB I/O
 * buffers).  The data is 16x the limit and larger than limit + slack, so a
 * pager that never gave frames back would fail.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define SLACK (8 * MiB)

static uint64_t hist_sum(const struct upager_stats *st)
{
	uint64_t s = 0;

	for (int i = 0; i < UPAGER_HIST_BUCKETS; i++)
		s += st->fault_ns_hist[i];
	return s;
}

/* Invariants that hold at any quiescent point. */
static void check_invariants(const struct upager_stats *st, const char *when)
{
	T_CHECK(st->nr_resident_peak <= st->nr_frames, "%s: nr_resident_peak %llu > nr_frames %llu",
	        when, (unsigned long long)st->nr_resident_peak,
	        (unsigned long long)st->nr_frames);
	T_CHECK(st->nr_resident <= st->nr_resident_peak, "%s: nr_resident %llu > peak %llu", when,
	        (unsigned long long)st->nr_resident, (unsigned long long)st->nr_resident_peak);
	T_CHECK(st->nr_dirty <= st->nr_resident, "%s: nr_dirty %llu > nr_resident %llu", when,
	        (unsigned long long)st->nr_dirty, (unsigned long long)st->nr_resident);
	/* upager.h: pgfault counts "major + minor + write" faults; it may be
	 * larger (a fault that only found its race lost counts in none of the
	 * three), never smaller (no fault counts twice) */
	T_CHECK(st->pgfault >= st->pgmajfault + st->pgminfault + st->pgwritefault,
	        "%s: pgfault %llu < major %llu + minor %llu + write %llu", when,
	        (unsigned long long)st->pgfault, (unsigned long long)st->pgmajfault,
	        (unsigned long long)st->pgminfault, (unsigned long long)st->pgwritefault);
	T_CHECK(st->readahead_used <= st->readahead, "%s: readahead_used %llu > readahead %llu",
	        when, (unsigned long long)st->readahead_used, (unsigned long long)st->readahead);
	T_CHECK(st->pgsteal <= st->pgscan, "%s: pgsteal %llu > pgscan %llu", when,
	        (unsigned long long)st->pgsteal, (unsigned long long)st->pgscan);
	T_CHECK(st->pgdeactivate <= st->pgscan, "%s: pgdeactivate %llu > pgscan %llu", when,
	        (unsigned long long)st->pgdeactivate, (unsigned long long)st->pgscan);
	T_CHECK(st->pgpgin <= st->pgmajfault + st->readahead,
	        "%s: pgpgin %llu > pgmajfault %llu + readahead %llu", when,
	        (unsigned long long)st->pgpgin, (unsigned long long)st->pgmajfault,
	        (unsigned long long)st->readahead);
	/* Each refault consumes the shadow of one eviction by the Clock, and
	 * is one of the pages paged in. */
	T_CHECK(st->workingset_activate <= st->workingset_refault &&
	                st->workingset_refault <= st->pgsteal &&
	                st->workingset_refault <= st->pgpgin + st->pgzerofill,
	        "%s: workingset_activate %llu, workingset_refault %llu, pgsteal %llu, "
	        "pages paged in %llu",
	        when, (unsigned long long)st->workingset_activate,
	        (unsigned long long)st->workingset_refault, (unsigned long long)st->pgsteal,
	        (unsigned long long)(st->pgpgin + st->pgzerofill));
	T_CHECK(hist_sum(st) > 0 && hist_sum(st) <= st->pgfault,
	        "%s: fault_ns_hist sums to %llu, pgfault %llu", when,
	        (unsigned long long)hist_sum(st), (unsigned long long)st->pgfault);
	T_CHECK(st->io_errors == 0 && st->sigbus == 0, "%s: io_errors %llu sigbus %llu", when,
	        (unsigned long long)st->io_errors, (unsigned long long)st->sigbus);
}

static void limit_scenario(size_t ps, size_t limit, size_t len, uint64_t seed)
{
	const uint64_t s0 = seed, s1 = seed + 1, s2 = seed + 2;
	const size_t npages = len / ps, nwords = len / 8;
	/* random reads and random writes: nearly each one faults */
	const unsigned nrandom = (unsigned)t_scale(4000, 20000);
	int fd = t_make_file(len, s0, NULL, 0);
	uint8_t *written = calloc(nwords / 8 + 1, 1); /* words of the random write pass */
	struct upager_stats st, prev;
	struct t_rng rng = { seed };
	double t0 = t_now();

	T_REQUIRE(written != NULL, "calloc");
	memset(written, 0, nwords / 8 + 1); /* resident before the baseline */
	int hwm_reset = t_reset_hwm();
	long rss0 = t_status_kb("VmRSS"), hwm0 = t_status_kb("VmHWM");
	T_REQUIRE(rss0 > 0 && hwm0 > 0, "/proc/self/status VmRSS/VmHWM");
	long base = hwm_reset == 0 ? rss0 : hwm0; /* without a reset, the old peak */

	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	unsigned char *m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));

	/* 1. sequential read pass */
	T_VERIFIED(t_verify_buf(m, len, s0, 0, "sequential read pass"));
	t_stats(p, &st);
	check_invariants(&st, "after sequential reads");
	T_EQ(st.nr_frames, limit / ps);
	T_GE(st.pgmajfault, 1);
	T_GE(st.pgpgin, npages); /* every page was read at least once */
	T_GE(st.pgsteal, npages - st.nr_frames);
	T_EQ(st.pgpgout, 0);     /* nothing was dirty */
	T_EQ(st.pgzerofill, 0);  /* every page lies inside the file */
	T_EQ(st.nr_dirty, 0);
	prev = st;

	/* 2. random reads */
	unsigned bad = 0;
	for (unsigned k = 0; k < nrandom; k++) {
		uint64_t w = t_rand_below(&rng, nwords);
		bad += *(volatile uint64_t *)(m + w * 8) != t_pattern_u64(s0, w * 8);
	}
	T_EQ(bad, 0);
	t_stats(p, &st);
	check_invariants(&st, "after random reads");
	T_GE(st.pgmajfault, prev.pgmajfault + 1);
	T_GE(st.pgsteal, prev.pgsteal + 1);
	T_EQ(st.pgpgout, 0);
	prev = st;

	/* 3. sequential writes: every page dirtied once */
	for (size_t i = 0; i < len; i += 8)
		*(volatile uint64_t *)(m + i) = t_pattern_u64(s1, i);
	t_stats(p, &st);
	check_invariants(&st, "after sequential writes");
	/* all but nr_frames of the dirty pages had to be written to be evicted */
	T_GE(st.pgpgout, npages - st.nr_frames);
	T_GE(st.pgsteal, prev.pgsteal + npages - st.nr_frames);
	T_GE(st.pgfault, prev.pgfault + npages);
	prev = st;

	/* 4. random writes */
	for (unsigned k = 0; k < nrandom; k++) {
		uint64_t w = t_rand_below(&rng, nwords);
		*(volatile uint64_t *)(m + w * 8) = t_pattern_u64(s2, w * 8);
		written[w / 8] |= (uint8_t)(1u << (w % 8));
	}
	t_stats(p, &st);
	check_invariants(&st, "after random writes");
	T_GE(st.pgpgout, prev.pgpgout + 1);
	T_RET(upager_sync(p, m, 0), 0);
	t_stats(p, &st);
	T_EQ(st.nr_dirty, 0);
	T_GE(st.pgpgout, npages); /* every page was written at least once */
	check_invariants(&st, "after sync");
	long hwm = t_status_kb("VmHWM");
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	long rss_end = t_status_kb("VmRSS");

	/* the file, word by word */
	uint64_t *buf = malloc(64 * KiB);
	T_REQUIRE(buf != NULL, "malloc");
	int64_t first_bad = -1;
	for (size_t off = 0; off < len && first_bad < 0; off += 64 * KiB) {
		T_REQUIRE(pread(fd, buf, 64 * KiB, (off_t)off) == (ssize_t)(64 * KiB), "pread");
		for (size_t j = 0; j < 64 * KiB / 8; j++) {
			uint64_t w = off / 8 + j;
			int wr = (written[w / 8] >> (w % 8)) & 1;
			if (buf[j] != t_pattern_u64(wr ? s2 : s1, w * 8)) {
				fprintf(stderr, "  file word at %llu: %016llx, expected %s pattern\n",
				        (unsigned long long)(w * 8), (unsigned long long)buf[j],
				        wr ? "random-pass" : "sequential-pass");
				first_bad = (int64_t)(w * 8);
				break;
			}
		}
	}
	T_VERIFIED(first_bad);
	free(buf);
	free(written);
	close(fd);

	long growth = hwm - base;
	T_CHECK(growth >= 0 && (uint64_t)growth * KiB < limit + SLACK,
	        "VmHWM grew by %ld KiB (baseline %ld KiB, peak %ld KiB); allowed: limit %zu KiB "
	        "+ slack %llu KiB; data %zu KiB",
	        growth, base, hwm, limit / 1024, SLACK / 1024, len / 1024);
	T_CHECK(rss_end - rss0 < (long)(4 * MiB / KiB),
	        "VmRSS after destroy %ld KiB, before create %ld KiB: frames not freed?", rss_end,
	        rss0);
	t_summary("page %zu, limit %zu KiB, data %zu MiB: peak resident %llu <= %llu frames; "
	          "VmHWM +%ld KiB (< limit + 8 MiB%s); pgmajfault %llu pgpgin %llu pgpgout %llu "
	          "pgsteal %llu; file word-exact (%.1f s)",
	          ps, limit / 1024, len / (size_t)MiB, (unsigned long long)st.nr_resident_peak,
	          (unsigned long long)st.nr_frames, growth,
	          hwm_reset ? ", HWM not resettable" : "", (unsigned long long)st.pgmajfault,
	          (unsigned long long)st.pgpgin, (unsigned long long)st.pgpgout,
	          (unsigned long long)st.pgsteal, t_now() - t0);
}

/* Quick tier: 1 MiB limit, 16 MiB data (the least above limit + slack);
 * soak tier: 2 MiB and 32 MiB. */
static void test_limit_16k(void)
{
	limit_scenario(16384, t_scale(1, 2) * MiB, t_scale(16, 32) * MiB, 0x7100);
}

static void test_limit_4k(void)
{
	limit_scenario(4096, 1 * MiB, 16 * MiB, 0x7200);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "16 KiB pages, data 16x the limit", test_limit_16k },
		{ "4 KiB pages, 1 MiB limit, 16 MiB data", test_limit_4k },
		{ NULL, NULL },
	};

	t_init("test_limit", 240);
	t_add_suite("limit", tests);
	return t_run_suite();
}
