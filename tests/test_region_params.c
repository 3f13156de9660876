/*
 * test_region_params.c - settings per region (upager_map_params,
 * upager_alloc_params, upager_region_page_size) and the memory limit in
 * bytes when a pager's regions have different page sizes.
 *
 *  - mixed sizes: regions of 4 KiB, 16 KiB, 64 KiB and 2 MiB pages in one
 *    pager (8 MiB limit, 4 MiB of file behind each file region plus 4 MiB
 *    of upager_alloc_params memory, 2 times the limit), touched by 4
 *    threads at once with random reads and writes of 8-byte words; every
 *    value read is checked against a model (the pattern of the word's
 *    seed, and which words were written); a sampler thread reads the
 *    statistics meanwhile and checks nr_resident_bytes against the limit
 *    at every sample.  Afterwards every byte is checked through the
 *    pointers, then in the files after sync and unmap.
 *  - pins counted in bytes: the reserve is two pages of the largest page
 *    size (2 MiB) of the pager's regions.
 *  - read-ahead per region: a region with readahead OFF reads no page ahead
 *    while a region of the same pager with the pager's readahead does,
 *    touched in turns.
 *  - advice at map time: RANDOM reads no page ahead, SEQUENTIAL reads the
 *    full window on the first fault.
 *  - direct I/O per region: UPAGER_DIRECT_IO on a pager without it, and
 *    UPAGER_BUFFERED_IO on a pager with it (skipped with a message where
 *    the file system refuses O_DIRECT).
 *  - every error of the new calls.
 *
 * CUnit is not thread-safe: the threads only count, the main thread
 * asserts.  Nothing depends on timing: the sampler runs until the workers
 * are done, whatever the scheduler does.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

static struct upager_region_params params(uint64_t page_size)
{
	struct upager_region_params rp;

	memset(&rp, 0, sizeof(rp));
	rp.page_size = page_size;
	return rp;
}

/* ---- mixed page sizes under one limit ----------------------------------- */

#define NREG 5     /* 4 file regions and one upager_alloc_params region */
#define NTHREADS 4

struct region {
	unsigned char *m;
	size_t len, ps;
	int fd;            /* -1 for the alloc region */
	uint64_t seed0;    /* the file's pattern (alloc: zeros) */
	uint64_t seed1;    /* what writes store */
	uint8_t *written;  /* a bit per word; byte j is owned by thread j % NTHREADS */
};

struct mixed {
	upager_t *p;
	struct region reg[NREG];
	unsigned nops;
	atomic_int running;
};

struct worker {
	pthread_t tid;
	struct mixed *x;
	unsigned id;
	uint64_t seed;
	uint64_t reads, writes, mismatches;
};

static uint64_t expected_word(const struct region *g, uint64_t w)
{
	if ((g->written[w / 8] >> (w % 8)) & 1)
		return t_pattern_u64(g->seed1, w * 8);
	return g->fd < 0 ? 0 : t_pattern_u64(g->seed0, w * 8);
}

static void *mixed_worker(void *arg)
{
	struct worker *wk = arg;
	struct mixed *x = wk->x;
	struct t_rng rng = { wk->seed };

	for (unsigned k = 0; k < x->nops; k++) {
		struct region *g = &x->reg[t_rand_below(&rng, NREG)];
		uint64_t nbytes = g->len / 64; /* bitmap bytes: 8 words each */
		/* a bitmap byte of this thread, then one of its 8 words */
		uint64_t byte = t_rand_below(&rng, nbytes / NTHREADS) * NTHREADS + wk->id;
		uint64_t w = byte * 8 + t_rand_below(&rng, 8);
		volatile uint64_t *q = (volatile uint64_t *)(g->m + w * 8);

		if (t_rand_below(&rng, 2)) {
			*q = t_pattern_u64(g->seed1, w * 8);
			g->written[byte] |= (uint8_t)(1u << (w % 8));
			wk->writes++;
		} else {
			wk->mismatches += *q != expected_word(g, w);
			wk->reads++;
		}
	}
	atomic_fetch_sub(&x->running, 1);
	return NULL;
}

struct sampler {
	pthread_t tid;
	struct mixed *x;
	uint64_t samples, over, max_bytes, limit, failed;
};

static void *mixed_sampler(void *arg)
{
	struct sampler *s = arg;

	while (atomic_load(&s->x->running) > 0) {
		struct upager_stats st;

		if (upager_stats(s->x->p, &st, sizeof(st)) != 0) {
			s->failed++;
			break;
		}
		s->samples++;
		s->limit = st.memory_limit;
		if (st.nr_resident_bytes > s->max_bytes)
			s->max_bytes = st.nr_resident_bytes;
		if (st.nr_resident_bytes > st.memory_limit || st.nr_resident_bytes_peak > st.memory_limit)
			s->over++;
		sched_yield();
	}
	return NULL;
}

static void test_mixed_sizes(void)
{
	static const size_t sizes[NREG] = { 4 * KiB, 16 * KiB, 64 * KiB, 2 * MiB, 64 * KiB };
	const size_t limit = 8 * MiB, len = 4 * MiB;
	struct upager_config c = t_config(16 * KiB, limit);
	struct mixed x;
	struct worker wk[NTHREADS];
	struct sampler smp;
	struct upager_stats st;
	uint64_t seed = t_seed();

	if (t_sys_page() > 4 * KiB)
		t_skip("the system page is %zu bytes: no 4 KiB regions here", t_sys_page());
	memset(&x, 0, sizeof(x));
	x.p = t_create(&c);
	x.nops = (unsigned)t_scale(8000, 150000);
	for (int i = 0; i < NREG; i++) {
		struct region *g = &x.reg[i];
		struct upager_region_params rp = params(sizes[i]);

		g->len = len;
		g->ps = sizes[i];
		g->seed0 = seed + 10 * (uint64_t)i;
		g->seed1 = seed + 10 * (uint64_t)i + 1;
		g->written = calloc(len / 64, 1);
		T_REQUIRE(g->written != NULL, "calloc");
		if (i < NREG - 1) {
			g->fd = t_make_file(len, g->seed0, NULL, 0);
			g->m = upager_map_params(x.p, g->fd, 0, len, PROT_READ | PROT_WRITE,
			                         UPAGER_SHARED, &rp, sizeof(rp));
		} else {
			g->fd = -1;
			g->m = upager_alloc_params(x.p, len, &rp, sizeof(rp));
		}
		T_REQUIRE(g->m != NULL, "region %d (page %zu): %s", i, sizes[i], strerror(errno));
		T_EQ((uintptr_t)g->m % sizes[i], 0);
		T_EQ(upager_region_page_size(x.p, g->m), sizes[i]);
		T_EQ(upager_region_page_size(x.p, g->m + len - 1), sizes[i]);
	}
	T_EQ(upager_page_size(x.p), 16 * KiB);

	atomic_store(&x.running, NTHREADS);
	memset(&smp, 0, sizeof(smp));
	smp.x = &x;
	T_REQUIRE(pthread_create(&smp.tid, NULL, mixed_sampler, &smp) == 0, "pthread_create");
	for (unsigned t = 0; t < NTHREADS; t++) {
		memset(&wk[t], 0, sizeof(wk[t]));
		wk[t].x = &x;
		wk[t].id = t;
		wk[t].seed = t_mix64(seed + 100 + t);
		T_REQUIRE(pthread_create(&wk[t].tid, NULL, mixed_worker, &wk[t]) == 0,
		          "pthread_create");
	}
	uint64_t reads = 0, writes = 0, bad = 0;
	for (unsigned t = 0; t < NTHREADS; t++) {
		pthread_join(wk[t].tid, NULL);
		reads += wk[t].reads;
		writes += wk[t].writes;
		bad += wk[t].mismatches;
	}
	pthread_join(smp.tid, NULL);
	T_EQ(bad, 0);
	T_EQ(smp.failed, 0);
	T_GE(smp.samples, 1);
	T_EQ(smp.over, 0);
	T_EQ(smp.limit, limit);

	t_stats(x.p, &st);
	T_LE(st.nr_resident_bytes_peak, limit);
	T_LE(st.nr_resident_bytes, st.nr_resident_bytes_peak);
	T_EQ(st.sigbus, 0);
	T_EQ(st.io_errors, 0);
	T_GE(st.pgsteal, 1); /* 20 MiB of data through 8 MiB: pages were evicted */
	T_EQ(st.memory_limit, limit);
	T_EQ(st.nr_frames, limit / (16 * KiB));

	/* Every word through the pointers, against the model. */
	for (int i = 0; i < NREG; i++) {
		struct region *g = &x.reg[i];
		uint64_t first_bad = UINT64_MAX;

		for (uint64_t w = 0; w < len / 8 && first_bad == UINT64_MAX; w++)
			if (*(volatile uint64_t *)(g->m + w * 8) != expected_word(g, w))
				first_bad = w * 8;
		T_CHECK(first_bad == UINT64_MAX, "region of %zu-byte pages: word at %llu differs",
		        g->ps, (unsigned long long)first_bad);
	}
	t_stats(x.p, &st);
	T_LE(st.nr_resident_bytes_peak, limit);
	T_EQ(st.sigbus, 0);

	/* Then the files after sync and unmap, word by word. */
	for (int i = 0; i < NREG; i++) {
		struct region *g = &x.reg[i];

		if (g->fd >= 0)
			T_RET(upager_sync(x.p, g->m, 0), 0);
		T_RET(upager_unmap(x.p, g->m), 0);
		if (g->fd < 0)
			continue;
		uint64_t *buf = malloc(len);
		T_REQUIRE(buf != NULL, "malloc");
		T_REQUIRE(pread(g->fd, buf, len, 0) == (ssize_t)len, "pread");
		uint64_t first_bad = UINT64_MAX;
		for (uint64_t w = 0; w < len / 8 && first_bad == UINT64_MAX; w++)
			if (buf[w] != expected_word(g, w))
				first_bad = w * 8;
		T_CHECK(first_bad == UINT64_MAX, "file of the %zu-byte region: word at %llu differs",
		        g->ps, (unsigned long long)first_bad);
		free(buf);
		close(g->fd);
	}
	t_stats(x.p, &st);
	T_EQ(st.nr_resident_bytes, 0);
	T_EQ(st.nr_resident, 0);
	T_RET(upager_destroy(x.p), 0);
	for (int i = 0; i < NREG; i++)
		free(x.reg[i].written);
	t_summary("4 KiB, 16 KiB, 64 KiB, 2 MiB file regions and a 64 KiB alloc region, 8 MiB "
	          "limit, %d threads: %llu reads %llu writes, 0 mismatches; %llu samples, "
	          "resident at most %llu of %zu bytes (peak %llu); pgsteal %llu, 0 SIGBUS; "
	          "memory and files word-exact",
	          NTHREADS, (unsigned long long)reads, (unsigned long long)writes,
	          (unsigned long long)smp.samples, (unsigned long long)smp.max_bytes, limit,
	          (unsigned long long)st.nr_resident_bytes_peak, (unsigned long long)st.pgsteal);
}

/* ---- pins in bytes --------------------------------------------------------- */

static void test_pins_in_bytes(void)
{
	const size_t limit = 8 * MiB;
	struct upager_config c = t_config(16 * KiB, limit);
	upager_t *p = t_create(&c);
	struct upager_region_params small = params(64 * KiB), huge = params(2 * MiB);
	int fd_small = t_make_file(8 * MiB, 0x5101, NULL, 0);
	int fd_huge = t_make_file(16 * MiB, 0x5102, NULL, 0);
	unsigned char *s = upager_map_params(p, fd_small, 0, 8 * MiB, PROT_READ, UPAGER_SHARED,
	                                     &small, sizeof(small));
	unsigned char *h = upager_map_params(p, fd_huge, 0, 16 * MiB, PROT_READ, UPAGER_SHARED,
	                                     &huge, sizeof(huge));
	struct upager_stats st;

	T_REQUIRE(s && h, "upager_map_params: %s", strerror(errno));
	/* Two 2 MiB pages (4 MiB) must stay unpinned: 4 MiB may be pinned. */
	T_RET(upager_pin(p, s, 4 * MiB), 0);
	T_RET(upager_pin(p, s + 4 * MiB, 64 * KiB), -ENOMEM);
	t_stats(p, &st);
	T_EQ(st.nr_pinned, 4 * MiB / (64 * KiB));
	T_EQ(st.nr_pinned_bytes, 4 * MiB);
	/* The 2 MiB region still pages through the other 4 MiB. */
	T_VERIFIED(t_verify_buf(h, 16 * MiB, 0x5102, 0, "2 MiB pages beside 4 MiB pinned"));
	T_VERIFIED(t_verify_buf(s, 4 * MiB, 0x5101, 0, "pinned 64 KiB pages"));
	t_stats(p, &st);
	T_LE(st.nr_resident_bytes_peak, limit);
	T_EQ(st.sigbus, 0);
	T_RET(upager_unpin(p, s, 4 * MiB), 0);
	t_stats(p, &st);
	T_EQ(st.nr_pinned_bytes, 0);
	T_RET(upager_destroy(p), 0);
	close(fd_small);
	close(fd_huge);
	t_summary("pins: 4 MiB of 64 KiB pages pinned under 8 MiB with a 2 MiB region (two of "
	          "its pages stay unpinned), one more page -ENOMEM; 2 MiB pages read beside them");
}

/* ---- read-ahead and advice per region ------------------------------------ */

static int resident(upager_t *p, const void *addr)
{
	long f = upager__page_state(p, addr);

	return f >= 0 && (f & UPAGER_PAGE_RESIDENT);
}

static void test_readahead_per_region(void)
{
	const size_t ps = 16 * KiB, len = 2 * MiB, npages = len / ps;
	struct upager_config c = t_config(ps, 16 * MiB); /* readahead 8 */
	upager_t *p = t_create(&c);
	struct upager_region_params off = params(0);
	int fd_a = t_make_file(len, 0x7a, NULL, 0), fd_b = t_make_file(len, 0x7b, NULL, 0);
	unsigned char *a, *b;
	struct upager_stats s0, s1;
	unsigned ahead_a = 0, ahead_b = 0;

	off.readahead = UPAGER_READAHEAD_OFF;
	a = upager_map_params(p, fd_a, 0, len, PROT_READ, UPAGER_SHARED, &off, sizeof(off));
	b = upager_map_params(p, fd_b, 0, len, PROT_READ, UPAGER_SHARED, NULL, 0);
	T_REQUIRE(a && b, "map: %s", strerror(errno));
	t_stats(p, &s0);
	/* In turns, page by page: before each touch, is the page resident
	 * already (read ahead)? */
	for (size_t i = 0; i < npages; i++) {
		ahead_a += resident(p, a + i * ps);
		T_EQ(*(volatile uint64_t *)(a + i * ps), t_pattern_u64(0x7a, i * ps));
		ahead_b += resident(p, b + i * ps);
		T_EQ(*(volatile uint64_t *)(b + i * ps), t_pattern_u64(0x7b, i * ps));
	}
	t_stats(p, &s1);
	T_EQ(ahead_a, 0);
	T_GE(ahead_b, npages / 2);
	T_GE(s1.readahead - s0.readahead, ahead_b);
	T_VERIFIED(t_verify_buf(a, len, 0x7a, 0, "readahead off"));
	T_VERIFIED(t_verify_buf(b, len, 0x7b, 0, "readahead on"));
	T_RET(upager_destroy(p), 0);
	close(fd_a);
	close(fd_b);
	t_summary("read-ahead per region: OFF region read 0 of %zu pages ahead, its neighbour %u "
	          "(touched in turns)", npages, ahead_b);
}

static void test_advice_at_map(void)
{
	const size_t ps = 16 * KiB, len = 2 * MiB, npages = len / ps;
	struct upager_config c = t_config(ps, 16 * MiB); /* readahead 8 */
	upager_t *p = t_create(&c);
	struct upager_region_params rnd = params(0), seq = params(0);
	int fd = t_make_file(len, 0xad, NULL, 0);
	unsigned char *r, *q;
	struct upager_stats s0, s1;
	unsigned ahead = 0;

	rnd.advice = UPAGER_ADV_RANDOM;
	seq.advice = UPAGER_ADV_SEQUENTIAL;
	r = upager_map_params(p, fd, 0, len, PROT_READ, UPAGER_PRIVATE, &rnd, sizeof(rnd));
	T_REQUIRE(r != NULL, "map RANDOM: %s", strerror(errno));
	t_stats(p, &s0);
	for (size_t i = 0; i < npages; i++) {
		ahead += resident(p, r + i * ps);
		T_EQ(*(volatile uint64_t *)(r + i * ps), t_pattern_u64(0xad, i * ps));
	}
	t_stats(p, &s1);
	T_EQ(ahead, 0);
	T_EQ(s1.readahead - s0.readahead, 0);
	T_EQ(s1.pgmajfault - s0.pgmajfault, npages);
	T_RET(upager_unmap(p, r), 0);

	q = upager_map_params(p, fd, 0, len, PROT_READ, UPAGER_PRIVATE, &seq, sizeof(seq));
	T_REQUIRE(q != NULL, "map SEQUENTIAL: %s", strerror(errno));
	T_EQ(*(volatile uint64_t *)q, t_pattern_u64(0xad, 0));
	/* The first fault read the full window: the pager's readahead (8)
	 * pages after the one touched. */
	for (size_t i = 1; i <= 8; i++)
		T_CHECK(resident(p, q + i * ps), "SEQUENTIAL: page %zu not read with page 0", i);
	T_CHECK(!resident(p, q + 9 * ps), "SEQUENTIAL: page 9 read beyond the window");
	T_VERIFIED(t_verify_buf(q, len, 0xad, 0, "SEQUENTIAL"));
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("advice at map time: RANDOM %zu major faults for %zu pages, no read-ahead; "
	          "SEQUENTIAL read 8 pages ahead on its first fault", npages, npages);
}

/*
 * The default read-ahead is bytes (UPAGER_DEFAULT_READAHEAD_BYTES, at
 * least 16 pages), and a region of another page size inherits the pager's
 * in bytes: a SEQUENTIAL region reads its whole window on its first fault,
 * so the pages resident after it show the window.
 */
static void test_readahead_in_bytes(void)
{
	const size_t sizes[] = { 64 * KiB, 2 * MiB };
	struct upager_config c = t_config(4 * KiB, 64 * MiB), out;
	upager_t *p;

	c.readahead = 0; /* the default */
	t_env_set("UPAGER_READAHEAD", NULL);
	T_RET(upager_config_resolve(&c, sizeof(c), &out, sizeof(out)), 0);
	T_EQ(out.readahead, UPAGER_DEFAULT_READAHEAD_BYTES / (4 * KiB));
	p = t_create(&c);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		const size_t ps = sizes[k], len = 4 * MiB + 32 * ps, npages = len / ps;
		size_t want = UPAGER_DEFAULT_READAHEAD_BYTES / ps ? UPAGER_DEFAULT_READAHEAD_BYTES / ps : 1;
		struct upager_region_params rp = params(ps);
		int fd = t_make_file(len, 0xb0 + k, NULL, 0);
		size_t ahead = 0;
		unsigned char *m;

		rp.advice = UPAGER_ADV_SEQUENTIAL;
		m = upager_map_params(p, fd, 0, len, PROT_READ, UPAGER_PRIVATE, &rp, sizeof(rp));
		T_REQUIRE(m != NULL, "map %zu KiB pages: %s", ps / KiB, strerror(errno));
		T_EQ(*(volatile uint64_t *)m, t_pattern_u64(0xb0 + k, 0));
		for (size_t i = 1; i < npages; i++)
			ahead += resident(p, m + i * ps);
		T_EQ(ahead, want);
		T_CHECK(resident(p, m + want * ps) && !resident(p, m + (want + 1) * ps),
		        "%zu KiB pages: the window is not pages 1..%zu", ps / KiB, want);
		T_VERIFIED(t_verify_buf(m, len, 0xb0 + k, 0, "SEQUENTIAL"));
		T_RET(upager_unmap(p, m), 0);
		close(fd);
	}
	T_RET(upager_destroy(p), 0);
	t_env_restore();
	t_summary("default read-ahead %u pages of 4 KiB; regions of 64 KiB and 2 MiB pages read "
	          "1 MiB ahead (16 pages) and 1 page", out.readahead);
}

/* ---- direct I/O per region ------------------------------------------------- */

static void direct_io_case(int pager_direct, uint32_t region_flags, int want_direct)
{
	const size_t ps = 16 * KiB, len = 1 * MiB;
	struct upager_config c = t_config(ps, 256 * KiB);
	struct upager_region_params rp = params(0);
	int fd = t_make_file(len, 0xd10 + region_flags, NULL, 0);
	upager_t *p;
	unsigned char *m;

	c.flags = pager_direct ? UPAGER_DIRECT_IO : 0;
	rp.flags = region_flags;
	p = t_create(&c);
	m = upager_map_params(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED, &rp,
	                      sizeof(rp));
	T_REQUIRE(m != NULL, "map: %s", strerror(errno));
	T_EQ(upager__region_direct_io(p, m), want_direct);
	/* Data through the region, both ways, 4 times the limit. */
	T_VERIFIED(t_verify_buf(m, len, 0xd10 + region_flags, 0, "direct I/O region"));
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(m + i) = t_pattern_u64(0xd20 + region_flags, i);
	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_unmap(p, m), 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, 0xd20 + region_flags));
	T_RET(upager_destroy(p), 0);
	close(fd);
}

static void test_direct_io_per_region(void)
{
	char path[4096];
	int fd = t_make_file(64 * KiB, 1, path, sizeof(path));
	int dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	close(fd);
	if (dfd < 0) {
		printf("  SKIP direct I/O per region: %s refuses O_DIRECT (%s)\n", t_tmpdir(),
		       strerror(errno));
		t_summary("direct I/O per region: skipped, O_DIRECT refused in %s", t_tmpdir());
		return;
	}
	close(dfd);
	direct_io_case(0, UPAGER_DIRECT_IO, 1);   /* forced on */
	direct_io_case(1, UPAGER_BUFFERED_IO, 0); /* forced off */
	direct_io_case(1, 0, 1);                  /* the pager's */
	direct_io_case(0, 0, 0);
	t_summary("direct I/O per region: DIRECT_IO on a buffered pager and BUFFERED_IO on a "
	          "direct one take effect; data read and written back byte-exact");
}

/* ---- errors ---------------------------------------------------------------- */

/* A caller built with a later, larger struct. */
struct params_later {
	struct upager_region_params rp;
	uint64_t more;
};

static void test_errors(void)
{
	const size_t ps = 16 * KiB, limit = 1 * MiB;
	struct upager_config c = t_config(ps, limit);
	upager_t *p = t_create(&c);
	int fd = t_make_file(4 * MiB, 0xe1, NULL, 0);
	size_t sys = t_sys_page();
	struct upager_region_params rp;
	struct params_later l;
	void *m;

	T_EQ(sizeof(struct upager_region_params), UPAGER_REGION_PARAMS_SIZE_VER0);

#define BAD(field, value, err)                                                                 \
	do {                                                                                   \
		rp = params(0);                                                                \
		rp.field = value;                                                              \
		T_FAILS(upager_map_params(p, fd, 0, MiB, PROT_READ, UPAGER_SHARED, &rp,      \
		                          sizeof(rp)),                                         \
		        err);                                                                  \
		T_FAILS(upager_alloc_params(p, MiB, &rp, sizeof(rp)), err);                    \
	} while (0)
	BAD(page_size, 3 * sys, EINVAL);            /* not a power of two */
	BAD(page_size, sys / 2, EINVAL);            /* below the system page */
	BAD(page_size, 4 * MiB, EINVAL);            /* above 2 MiB */
	BAD(page_size, 512 * KiB, EINVAL);          /* 2 pages of 512 KiB in 1 MiB */
	BAD(readahead, UPAGER_MAX_READAHEAD + 1, EINVAL);
	BAD(advice, UPAGER_ADV_WILLNEED, EINVAL);
	BAD(advice, -1, EINVAL);
	BAD(flags, 0x4, EINVAL);
	BAD(flags, UPAGER_DIRECT_IO | UPAGER_BUFFERED_IO, EINVAL);
	BAD(reserved0, 1, EINVAL);
#undef BAD
	/* Sizes: below 1.0, and a longer struct with a byte set past ours. */
	rp = params(0);
	T_FAILS(upager_map_params(p, fd, 0, MiB, PROT_READ, UPAGER_SHARED, &rp,
	                          UPAGER_REGION_PARAMS_SIZE_VER0 - 8),
	        EINVAL);
	T_FAILS(upager_alloc_params(p, MiB, &rp, 0), EINVAL);
	memset(&l, 0, sizeof(l));
	l.more = 1;
	T_FAILS(upager_map_params(p, fd, 0, MiB, PROT_READ, UPAGER_SHARED, &l.rp, sizeof(l)),
	        E2BIG);
	T_FAILS(upager_alloc_params(p, MiB, &l.rp, sizeof(l)), E2BIG);
	/* ... accepted when that byte is 0. */
	l.more = 0;
	l.rp.page_size = 64 * KiB;
	m = upager_map_params(p, fd, 0, MiB, PROT_READ, UPAGER_SHARED, &l.rp, sizeof(l));
	T_CHECK(m != NULL, "longer struct, zero past ours: %s", strerror(errno));
	if (m) {
		T_EQ(upager_region_page_size(p, m), 64 * KiB);
		T_VERIFIED(t_verify_buf(m, MiB, 0xe1, 0, "64 KiB region"));
		T_RET(upager_unmap(p, m), 0);
	}
	m = upager_alloc_params(p, MiB, &l.rp, sizeof(l));
	T_CHECK(m != NULL, "alloc, longer struct: %s", strerror(errno));
	if (m)
		T_RET(upager_unmap(p, m), 0);
	/* NULL params: the pager's settings, whatever the size says. */
	m = upager_map_params(p, fd, 0, MiB, PROT_READ, UPAGER_SHARED, NULL, 12345);
	T_CHECK(m != NULL, "NULL params: %s", strerror(errno));
	if (m) {
		T_EQ(upager_region_page_size(p, m), ps);
		T_RET(upager_unmap(p, m), 0);
	}

	/* The offset is checked against the region's page size. */
	rp = params(64 * KiB);
	T_FAILS(upager_map_params(p, fd, 16 * KiB, MiB, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp)),
	        EINVAL);
	m = upager_map_params(p, fd, 64 * KiB, MiB, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp));
	T_CHECK(m != NULL, "offset 64 KiB, page 64 KiB: %s", strerror(errno));
	if (m) {
		T_VERIFIED(t_verify_buf(m, MiB, 0xe1, 64 * KiB, "offset 64 KiB"));
		T_RET(upager_unmap(p, m), 0);
	}

	/* upager_map()'s own errors, with params. */
	rp = params(64 * KiB);
	T_FAILS(upager_map_params(NULL, fd, 0, MiB, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp)),
	        EINVAL);
	T_FAILS(upager_alloc_params(NULL, MiB, &rp, sizeof(rp)), EINVAL);
	T_FAILS(upager_map_params(p, fd, 0, 0, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp)), EINVAL);
	T_FAILS(upager_alloc_params(p, 0, &rp, sizeof(rp)), EINVAL);
	T_FAILS(upager_alloc_params(p, (size_t)UPAGER_MAX_REGION_BYTES + 1, &rp, sizeof(rp)),
	        EINVAL);
	T_FAILS(upager_map_params(p, fd, 0, MiB, PROT_WRITE, UPAGER_SHARED, &rp, sizeof(rp)),
	        EINVAL);
	T_FAILS(upager_map_params(p, fd, 0, MiB, PROT_READ, 0, &rp, sizeof(rp)), EINVAL);
	T_FAILS(upager_map_params(p, -1, 0, MiB, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp)), EBADF);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int rofd = open(path, O_RDONLY | O_CLOEXEC);
	T_REQUIRE(rofd >= 0, "reopen");
	T_FAILS(upager_map_params(p, rofd, 0, MiB, PROT_READ | PROT_WRITE, UPAGER_SHARED, &rp,
	                          sizeof(rp)),
	        EACCES);
	close(rofd);
	int mfd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	T_REQUIRE(mfd >= 0 && ftruncate(mfd, (off_t)MiB) == 0 &&
	                  fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE) == 0,
	          "sealed memfd");
	T_FAILS(upager_map_params(p, mfd, 0, MiB, PROT_READ | PROT_WRITE, UPAGER_SHARED, &rp,
	                          sizeof(rp)),
	        EPERM);
	close(mfd);
	/* EFBIG: the memfd may not grow past RLIMIT_FSIZE (checked before it
	 * grows, so no SIGXFSZ). */
	struct rlimit old, low;
	T_REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
	low = old;
	low.rlim_cur = 2 * MiB;
	T_REQUIRE(setrlimit(RLIMIT_FSIZE, &low) == 0, "setrlimit");
	T_FAILS(upager_alloc_params(p, 64 * MiB, &rp, sizeof(rp)), EFBIG);
	T_FAILS(upager_map_params(p, fd, 0, 4 * MiB, PROT_READ, UPAGER_SHARED, &rp, sizeof(rp)),
	        EFBIG);
	T_REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0, "setrlimit");

	/* upager_region_page_size(): 0 outside every region. */
	T_EQ(upager_region_page_size(NULL, &rp), 0);
	T_EQ(upager_region_page_size(p, NULL), 0);
	T_EQ(upager_region_page_size(p, &rp), 0);
	T_RET(upager_destroy(p), 0);
	close(fd);
	t_summary("errors: EINVAL for each bad field, size below 1.0, unaligned offset, and "
	          "upager_map's own; E2BIG for an unknown non-zero byte; EBADF, EACCES, EPERM, "
	          "EFBIG passed through; region page size 0 outside regions");
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "errors", test_errors },
		{ "readahead_per_region", test_readahead_per_region },
		{ "readahead_in_bytes", test_readahead_in_bytes },
		{ "advice_at_map", test_advice_at_map },
		{ "direct_io_per_region", test_direct_io_per_region },
		{ "pins_in_bytes", test_pins_in_bytes },
		{ "mixed_sizes", test_mixed_sizes },
		{ NULL, NULL },
	};

	t_init("test_region_params", 300);
	t_add_suite("region_params", tests);
	return t_run_suite();
}
