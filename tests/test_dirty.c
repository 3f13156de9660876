/*
 * test_dirty.c - dirty pages across residencies: the page-in of a page
 * stored to in its last residency is writable and dirty at once
 * (pgdirty_predicted), and the write-amplification counters (pgdirtied
 * against pgpgout).
 *
 * What must hold, checked against the counters, upager_residency() and the
 * bytes (in memory and, after unmap, in the file, byte for byte against a
 * reference kept by the test):
 *  - a load of a page a store reached in its last residency takes one
 *    fault, and the store after it none; the page shows dirty;
 *  - a page paged in dirty that no store reaches is written back once and
 *    then comes back clean (the prediction does not feed itself);
 *  - a predicted page whose access the Clock revoked comes back read-only
 *    on a load, so a store faults (and renews the prediction);
 *  - read-modify-write passes over more pages than fit take one fault per
 *    page in every other pass (stores to a page paged in writable go
 *    unseen, so the pass after it is not predicted), and write each page
 *    once per residency: pgpgout == pgdirtied;
 *  - a sequential writer of new upager_alloc memory gets its zero-filled
 *    read-ahead runs writable and dirty: a few faults per run, not one a
 *    page, every page written back once, every byte read back; a writer
 *    that skips pages gets no run and no prediction.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h" /* UPAGER_WB_START_BYTES */
#include "testhooks.h"

#define PS 4096u

static unsigned state_of(upager_t *p, unsigned char *addr)
{
	unsigned char v = 0xee;

	T_RET(upager_residency(p, addr, 1, &v), 0);
	return v;
}

#define RDW (UPAGER_PAGE_RESIDENT | UPAGER_PAGE_REFERENCED | UPAGER_PAGE_DIRTY)

static void test_predict_and_stop(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	const size_t npages = 8;
	int fd = t_make_file(npages * PS, 41, NULL, 0);
	upager_t *p = t_create(&c);
	struct upager_stats a, b;
	unsigned char *ref = malloc(npages * PS), *m;
	volatile unsigned char *v;

	T_REQUIRE(fd >= 0 && p && ref, "setup");
	T_REQUIRE(pread(fd, ref, npages * PS, 0) == (ssize_t)(npages * PS), "reference");
	m = upager_map(p, fd, 0, npages * PS, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	T_RET(upager_advise(p, m, npages * PS, UPAGER_ADV_RANDOM), 0);
	v = m;

	/* A store, then the page leaves memory: written once. */
	v[3 * PS + 10] = ref[3 * PS + 10] = 0x11;
	t_stats(p, &a);
	T_EQ(a.pgdirtied, 1);
	T_EQ(a.pgdirty_predicted, 0);
	T_RET(upager_advise(p, m + 3 * PS, PS, UPAGER_ADV_DONTNEED), 0);
	T_EQ(state_of(p, m + 3 * PS), 0);

	/* A load: one major fault, dirty and writable at once. */
	t_stats(p, &a);
	T_EQ(v[3 * PS + 10], 0x11);
	t_stats(p, &b);
	T_EQ(b.pgfault - a.pgfault, 1);
	T_EQ(b.pgmajfault - a.pgmajfault, 1);
	T_EQ(b.pgdirty_predicted - a.pgdirty_predicted, 1);
	T_EQ(b.pgdirtied - a.pgdirtied, 1);
	T_EQ(state_of(p, m + 3 * PS) & RDW, RDW);
	/* The store after it takes no fault. */
	v[3 * PS + 20] = ref[3 * PS + 20] = 0x22;
	t_stats(p, &a);
	T_EQ(a.pgfault, b.pgfault);
	T_EQ(a.pgwritefault, b.pgwritefault);

	/* That store went unseen, so the next residency is not predicted:
	 * the page is written back (dirty), comes back clean, and a store
	 * faults. */
	T_RET(upager_advise(p, m + 3 * PS, PS, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &b);
	T_EQ(b.pgpgout - a.pgpgout, 1);
	T_EQ(v[3 * PS + 20], 0x22);
	t_stats(p, &a);
	T_EQ(a.pgdirty_predicted, b.pgdirty_predicted);
	T_EQ(state_of(p, m + 3 * PS) & UPAGER_PAGE_DIRTY, 0);
	v[3 * PS + 30] = ref[3 * PS + 30] = 0x33;
	t_stats(p, &b);
	T_EQ(b.pgwritefault - a.pgwritefault, 1);

	/* A page only read never comes back dirty. */
	T_EQ(v[5 * PS], ref[5 * PS]);
	T_RET(upager_advise(p, m + 5 * PS, PS, UPAGER_ADV_DONTNEED), 0);
	t_stats(p, &a);
	T_EQ(v[5 * PS + 1], ref[5 * PS + 1]);
	t_stats(p, &b);
	T_EQ(b.pgdirty_predicted, a.pgdirty_predicted);
	T_EQ(state_of(p, m + 5 * PS) & UPAGER_PAGE_DIRTY, 0);

	T_VERIFIED(t_verify_mem(m, ref, npages * PS, 0, "mapping"));
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);
	T_EQ(t_verify_fd_buf(fd, 0, ref, npages * PS), -1);
	free(ref);
	close(fd);
}

static void test_revoked_prediction(void)
{
	struct upager_config c = t_config(PS, 16 * PS);
	upager_t *p = t_create(&c);
	struct upager_stats a, b;
	volatile uint64_t *w;
	unsigned char *m;

	T_REQUIRE(p != NULL, "t_create");
	m = upager_alloc(p, 4 * PS);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	T_RET(upager_advise(p, m, 4 * PS, UPAGER_ADV_RANDOM), 0);
	w = (volatile uint64_t *)(m + PS);

	w[0] = 0x1234;
	T_RET(upager_advise(p, m + PS, PS, UPAGER_ADV_DONTNEED), 0); /* to scratch */
	T_EQ(w[0], 0x1234); /* predicted */
	T_RET(upager_advise(p, m, 4 * PS, UPAGER_ADV_COLD), 0);
	T_EQ(state_of(p, m + PS), UPAGER_PAGE_RESIDENT | UPAGER_PAGE_DIRTY);

	/* Revoked: a load makes it readable only, still dirty; the store
	 * faults and confirms the prediction. */
	t_stats(p, &a);
	T_EQ(w[0], 0x1234);
	t_stats(p, &b);
	T_EQ(b.pgminfault - a.pgminfault, 1);
	w[1] = 0x5678;
	t_stats(p, &a);
	T_EQ(a.pgwritefault - b.pgwritefault, 1);
	T_EQ(a.pgdirtied, b.pgdirtied); /* counted once per residency */

	/* Confirmed: predicted again at the next page-in. */
	T_RET(upager_advise(p, m + PS, PS, UPAGER_ADV_DONTNEED), 0);
	T_EQ(w[1], 0x5678);
	t_stats(p, &b);
	T_EQ(b.pgdirty_predicted - a.pgdirty_predicted, 1);
	T_EQ(w[0], 0x1234);
	T_RET(upager_destroy(p), 0);
}

static void test_rmw_amplification(void)
{
	const size_t npages = 64, nframes = 16;
	struct upager_config c = t_config(PS, nframes * PS);
	upager_t *p;
	struct upager_stats a, b;
	uint64_t *ref = calloc(npages * PS / 8, 8);
	uint64_t *m;

	T_REQUIRE(ref != NULL, "calloc");
	upager__pause_background_writeback(1);
	p = t_create(&c);
	T_REQUIRE(p != NULL, "t_create");
	m = upager_alloc(p, npages * PS);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	T_RET(upager_advise(p, m, npages * PS, UPAGER_ADV_RANDOM), 0);

	for (int pass = 0; pass < 4; pass++) {
		t_stats(p, &a);
		for (size_t i = 0; i < npages; i++) {
			size_t k = i * (PS / 8) + (size_t)pass * 7;
			volatile uint64_t *x = &m[k];
			*x = *x + 0x9e3779b97f4a7c15ull * (i + 1);
			ref[k] = ref[k] + 0x9e3779b97f4a7c15ull * (i + 1);
		}
		t_stats(p, &b);
		if (pass % 2) {
			/* Every page was stored to when last resident: one fault
			 * each, no write fault. */
			T_EQ(b.pgfault - a.pgfault, npages);
			T_EQ(b.pgwritefault - a.pgwritefault, 0);
			T_EQ(b.pgdirty_predicted - a.pgdirty_predicted, npages);
		} else if (pass > 0) {
			/* The stores of the last pass went unseen (the pages were
			 * writable from the start), so none is predicted: a load
			 * and a write fault each, and the prediction is renewed. */
			T_EQ(b.pgfault - a.pgfault, 2 * npages);
			T_EQ(b.pgwritefault - a.pgwritefault, npages);
			T_EQ(b.pgdirty_predicted - a.pgdirty_predicted, 0);
		}
	}
	/* Each residency wrote its page once: written == dirtied, counting
	 * the pages still dirty in memory. */
	t_stats(p, &b);
	T_EQ(b.pgpgout + b.nr_dirty, b.pgdirtied);
	T_VERIFIED(t_verify_mem(m, ref, npages * PS, 0, "scratch"));
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
	free(ref);
}

/* cachestat(2) (Linux 6.5): the page cache state of a file range. */
struct t_cachestat_range {
	uint64_t off, len;
};
struct t_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

/*
 * Where the scratch file's file system has O_DIRECT, eviction writes whole
 * pages past the page cache: after 64 MiB went through 4 MiB of memory,
 * none of the scratch file is cached.  Where it has not, eviction writes
 * dirty pages into its page cache; a memory cgroup (v1) cannot write them
 * back from reclaim, so upager starts their disk writes every
 * UPAGER_WB_START_BYTES: at most that much plus one write-back batch (the
 * bounce buffer) is dirty and not yet under writeback.
 */
static void test_dirty_cache_bounded(void)
{
	const size_t len = 64u << 20, limit = 4u << 20;
	struct upager_config c = t_config(PS, limit);
	struct t_cachestat_range all = { 0, 0 };
	struct t_cachestat cs;
	upager_t *p;
	uint64_t *m;
	long rc;

	upager__pause_background_writeback(1);
	p = t_create(&c);
	T_REQUIRE(p != NULL, "t_create");
	m = upager_alloc(p, len);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	for (size_t i = 0; i < len / 8; i += 64)
		m[i] = t_pattern_u64(0xd1, i * 8);
	T_GE(upager__scratch_fd(p), 0);
	rc = syscall(__NR_cachestat, upager__scratch_fd(p), &all, &cs, 0);
	if (rc != 0 && errno == ENOSYS) {
		T_CHECK(1, "cachestat");
		fprintf(stderr, "  cachestat(2) not available: dirty bytes not measured\n");
	} else {
		T_EQ(rc, 0);
		T_LE(cs.nr_dirty * PS, UPAGER_WB_START_BYTES + (2u << 20));
		if (upager__scratch_direct(p) == 1)
			T_EQ(cs.nr_cache, 0);
		else
			fprintf(stderr, "  the scratch file's file system refused O_DIRECT\n");
		fprintf(stderr, "  scratch file after 64 MiB through 4 MiB: %llu pages cached, "
		        "%llu dirty, %llu under writeback\n", (unsigned long long)cs.nr_cache,
		        (unsigned long long)cs.nr_dirty, (unsigned long long)cs.nr_writeback);
	}
	for (size_t i = 0; i < len / 8; i += 64)
		T_CHECK(m[i] == t_pattern_u64(0xd1, i * 8), "word %zu", i);
	T_RET(upager_destroy(p), 0);
	upager__pause_background_writeback(0);
}

/* A pager of @limit bytes with a read-ahead of 256 pages and @len bytes
 * of upager_alloc memory in it, whose counters go to @a; the memory. */
static uint64_t *writer_setup(size_t len, size_t limit, upager_t **pp, struct upager_stats *a)
{
	struct upager_config c = t_config(PS, limit);
	uint64_t *m;

	c.readahead = 256;
	*pp = t_create(&c);
	T_REQUIRE(*pp != NULL, "t_create");
	m = upager_alloc(*pp, len);
	T_REQUIRE(m != NULL, "upager_alloc: %s", strerror(errno));
	t_stats(*pp, a);
	return m;
}

/*
 * A sequential writer of new scratch memory: 64 MiB through 8 MiB of 4 KiB
 * pages, one word per page (the pages are zero-filled, so no run needs
 * I/O).  Read-ahead runs of up to 256 pages come read-write and dirty, so
 * the writer takes a few faults per run (the demanded page, the marker);
 * one fault a page would be 16,384.  Each page is written back once, and
 * every word, and the zeros around it, read back.
 */
static void test_sequential_writer(void)
{
	const size_t len = 64u << 20, npages = len / PS;
	struct upager_stats a, b;
	upager_t *p;
	uint64_t *m = writer_setup(len, 8u << 20, &p, &a);
	size_t bad = 0;

	for (size_t i = 0; i < npages; i++)
		m[i * (PS / 8)] = t_pattern_u64(0x5e, i);
	t_stats(p, &b);
	fprintf(stderr, "  %zu pages written: %llu faults, %llu write faults, %llu predicted dirty\n",
	        npages, (unsigned long long)(b.pgfault - a.pgfault),
	        (unsigned long long)(b.pgwritefault - a.pgwritefault),
	        (unsigned long long)(b.pgdirty_predicted - a.pgdirty_predicted));
	T_LE(b.pgfault - a.pgfault, npages / 16);
	T_GE(b.pgdirty_predicted - a.pgdirty_predicted, npages / 2);
	T_EQ(b.pgdirtied - a.pgdirtied, npages);
	/* Everything that left memory was written once, nothing twice. */
	T_EQ(b.pgpgout - a.pgpgout + b.nr_dirty, npages);
	for (size_t i = 0; i < npages; i++) {
		const uint64_t *w = &m[i * (PS / 8)];

		if (w[0] != t_pattern_u64(0x5e, i) || w[1] != 0 || w[PS / 8 - 1] != 0)
			bad++;
	}
	T_EQ(bad, 0);
	T_RET(upager_destroy(p), 0);
}

/* A writer that skips every other page is not sequential: no run, no
 * page dirty without a store. */
static void test_sparse_writer(void)
{
	const size_t len = 16u << 20, npages = len / PS;
	struct upager_stats a, b;
	upager_t *p;
	uint64_t *m = writer_setup(len, 4u << 20, &p, &a);
	size_t bad = 0;

	for (size_t i = 0; i < npages; i += 2)
		m[i * (PS / 8)] = t_pattern_u64(0x5f, i);
	t_stats(p, &b);
	T_EQ(b.pgdirty_predicted - a.pgdirty_predicted, 0);
	T_EQ(b.pgdirtied - a.pgdirtied, npages / 2);
	for (size_t i = 0; i < npages; i++)
		if (m[i * (PS / 8)] != (i % 2 ? 0 : t_pattern_u64(0x5f, i)))
			bad++;
	T_EQ(bad, 0);
	T_RET(upager_destroy(p), 0);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "a page stored to comes back dirty, once", test_predict_and_stop },
		{ "a revoked prediction is confirmed by a store", test_revoked_prediction },
		{ "read-modify-write: one fault a page, one write a residency",
		  test_rmw_amplification },
		{ "dirty page cache of the scratch file stays bounded", test_dirty_cache_bounded },
		{ "a sequential writer: one fault a run, each page written once",
		  test_sequential_writer },
		{ "a sparse writer: no run, nothing dirty unwritten", test_sparse_writer },
		{ NULL, NULL },
	};

	t_init("test_dirty", T_HANG_S);
	if (!t_io_uring_works())
		t_skip("io_uring is not available");
	t_add_suite("dirty", tests);
	return t_run_suite();
}
