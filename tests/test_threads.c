/*
 * test_threads.c - concurrent faults.  8 threads read and write random
 * 8-byte words of one writable UPAGER_SHARED region under a tiny limit
 * (16 frames); thread t owns the words whose index % 8 == t (so every page
 * is shared by all threads) and keeps a reference copy of them in ordinary
 * memory.  Meanwhile the main thread calls upager_sync() and
 * upager_stats().  At the end every word is checked through the pointer
 * and, after sync and unmap, in the file with pread(2).  A second test has
 * 8 threads reading a read-only pattern region and checking every value.
 *
 * The quick tier runs a thousand-odd operations per thread (nearly every
 * one faults: the region is 32 to 64 times the limit); the soak tier
 * (UPAGER_SOAK=1) 13 to 20 times more.  Nothing depends on timing: the
 * workers stop halfway until the main thread has begun a sync, so at
 * least one sync runs between their stores whatever the scheduler does.
 *
 * CUnit is not thread-safe: the threads only count, the main thread
 * asserts.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define NTHREADS 8

struct worker {
	pthread_t tid;
	int id;
	unsigned char *m;
	size_t nwords; /* words of the region */
	uint64_t *ref; /* ref[j]: word j * NTHREADS + id */
	size_t nref;
	unsigned nops;
	uint64_t seed;
	pthread_barrier_t *start;
	/* results */
	uint64_t reads, writes, mismatches;
	int64_t first_bad_word;
	uint64_t first_bad_got, first_bad_want;
};

static atomic_int g_running;

/* The main thread's syncs begun; the workers wait at half their operations
 * until it is non-zero. */
static pthread_mutex_t g_sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_sync_cond = PTHREAD_COND_INITIALIZER;
static unsigned g_syncs_begun;

static void *rw_worker(void *arg)
{
	struct worker *w = arg;
	struct t_rng r = { w->seed };

	pthread_barrier_wait(w->start);
	for (unsigned k = 0; k < w->nops; k++) {
		if (k == w->nops / 2) {
			pthread_mutex_lock(&g_sync_lock);
			while (g_syncs_begun == 0)
				pthread_cond_wait(&g_sync_cond, &g_sync_lock);
			pthread_mutex_unlock(&g_sync_lock);
		}
		uint64_t x = t_rand(&r);
		size_t j = (size_t)(x >> 1) % w->nref;
		volatile uint64_t *word = (volatile uint64_t *)(w->m + (j * NTHREADS + (size_t)w->id) * 8);
		if (x & 1) {
			uint64_t v = *word;
			w->reads++;
			if (v != w->ref[j] && w->mismatches++ == 0) {
				w->first_bad_word = (int64_t)(j * NTHREADS + (size_t)w->id);
				w->first_bad_got = v;
				w->first_bad_want = w->ref[j];
			}
		} else {
			uint64_t v = t_rand(&r);
			*word = v;
			w->ref[j] = v;
			w->writes++;
		}
	}
	atomic_fetch_sub(&g_running, 1);
	return NULL;
}

static void threads_rw(size_t ps, size_t nframes, size_t len, unsigned nops, uint64_t seed)
{
	struct upager_config c = t_config(ps, nframes * ps);
	upager_t *p = t_create(&c);
	int fd = t_make_file(len, seed, NULL, 0);
	const size_t nwords = len / 8, nref = nwords / NTHREADS;
	struct worker w[NTHREADS];
	pthread_barrier_t start;
	struct upager_stats st;
	unsigned syncs = 0, sync_errors = 0, stat_errors = 0;
	int last_sync_err = 0;
	double t0 = t_now();

	T_REQUIRE(nwords % NTHREADS == 0, "length");
	unsigned char *m = upager_map(p, fd, 0, len, PROT_READ | PROT_WRITE, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	pthread_barrier_init(&start, NULL, NTHREADS + 1);
	atomic_store(&g_running, NTHREADS);
	g_syncs_begun = 0;
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].m = m;
		w[i].nwords = nwords;
		w[i].nref = nref;
		w[i].nops = nops;
		w[i].seed = seed * 131 + (uint64_t)i;
		w[i].start = &start;
		w[i].first_bad_word = -1;
		w[i].ref = malloc(nref * sizeof(uint64_t));
		T_REQUIRE(w[i].ref != NULL, "malloc");
		for (size_t j = 0; j < nref; j++)
			w[i].ref[j] = t_pattern_u64(seed, (j * NTHREADS + (size_t)i) * 8);
		int e = pthread_create(&w[i].tid, NULL, rw_worker, &w[i]);
		T_REQUIRE(e == 0, "pthread_create: %s", strerror(e));
	}
	pthread_barrier_wait(&start);
	/* the main thread syncs and reads the statistics meanwhile (the
	 * nap only spaces the syncs out; nothing waits on it) */
	do {
		pthread_mutex_lock(&g_sync_lock);
		g_syncs_begun++;
		pthread_cond_broadcast(&g_sync_cond);
		pthread_mutex_unlock(&g_sync_lock);
		int r = upager_sync(p, m, 0);
		syncs++;
		if (r) {
			sync_errors++;
			last_sync_err = r;
		}
		if (upager_stats(p, &st, sizeof(st)))
			stat_errors++;
		else if (st.nr_resident > st.nr_frames)
			stat_errors++;
		usleep(2000);
	} while (atomic_load(&g_running) > 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&start);
	T_CHECK(sync_errors == 0, "%u of %u concurrent upager_sync calls failed, last %d (%s)",
	        sync_errors, syncs, last_sync_err, upager_strerror(last_sync_err));
	T_EQ(stat_errors, 0);

	uint64_t reads = 0, writes = 0;
	for (int i = 0; i < NTHREADS; i++) {
		reads += w[i].reads;
		writes += w[i].writes;
		T_CHECK(w[i].mismatches == 0,
		        "thread %d: %llu of %llu reads wrong; first word %lld got %016llx want %016llx",
		        i, (unsigned long long)w[i].mismatches, (unsigned long long)w[i].reads,
		        (long long)w[i].first_bad_word, (unsigned long long)w[i].first_bad_got,
		        (unsigned long long)w[i].first_bad_want);
	}

	/* every word through the pointer */
	uint64_t bad = 0;
	int64_t first = -1;
	for (size_t k = 0; k < nwords; k++) {
		uint64_t v = *(volatile uint64_t *)(m + k * 8);
		if (v != w[k % NTHREADS].ref[k / NTHREADS] && bad++ == 0)
			first = (int64_t)k;
	}
	T_CHECK(bad == 0, "%llu words wrong through the pointer, first word %lld",
	        (unsigned long long)bad, (long long)first);
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_EQ(st.nr_frames, nframes);
	T_EQ(st.io_errors, 0);
	T_RET(upager_sync(p, m, 0), 0);
	T_RET(upager_unmap(p, m), 0);
	T_RET(upager_destroy(p), 0);

	/* every word in the file */
	uint64_t *buf = malloc(64 * KiB);
	T_REQUIRE(buf != NULL, "malloc");
	bad = 0;
	first = -1;
	for (size_t off = 0; off < len; off += 64 * KiB) {
		size_t n = len - off < 64 * KiB ? len - off : 64 * KiB;
		T_REQUIRE(pread(fd, buf, n, (off_t)off) == (ssize_t)n, "pread");
		for (size_t j = 0; j < n / 8; j++) {
			size_t k = off / 8 + j;
			if (buf[j] != w[k % NTHREADS].ref[k / NTHREADS] && bad++ == 0)
				first = (int64_t)k;
		}
	}
	T_CHECK(bad == 0, "%llu words wrong in the file, first word %lld", (unsigned long long)bad,
	        (long long)first);
	free(buf);
	for (int i = 0; i < NTHREADS; i++)
		free(w[i].ref);
	close(fd);
	t_summary("%d threads, page %zu, %zu frames, %zu KiB region: %llu reads and %llu "
	          "writes of owned words correct, %u concurrent syncs; every word through the "
	          "pointer and in the file (%.1f s)",
	          NTHREADS, ps, nframes, len / 1024, (unsigned long long)reads,
	          (unsigned long long)writes, syncs, t_now() - t0);
}

static void test_threads_rw_4k(void)
{
	threads_rw(4096, 16, 2 * MiB, (unsigned)t_scale(1500, 20000), 0x8100);
}

static void test_threads_rw_16k(void)
{
	threads_rw(16384, 16, 4 * MiB, (unsigned)t_scale(750, 10000), 0x8200);
}

/* ---------------------------------------------------- shared read-only */

struct reader {
	pthread_t tid;
	int id;
	const unsigned char *m;
	size_t len;
	uint64_t seed, pattern_seed;
	unsigned nops;
	pthread_barrier_t *start;
	uint64_t reads, mismatches;
	int64_t first_bad;
};

static void *ro_worker(void *arg)
{
	struct reader *r = arg;
	struct t_rng rng = { r->seed };
	const size_t nwords = r->len / 8;

	pthread_barrier_wait(r->start);
	/* random words */
	for (unsigned k = 0; k < r->nops; k++) {
		size_t w = (size_t)t_rand_below(&rng, nwords);
		uint64_t v = *(const volatile uint64_t *)(r->m + w * 8);
		r->reads++;
		if (v != t_pattern_u64(r->pattern_seed, w * 8) && r->mismatches++ == 0)
			r->first_bad = (int64_t)(w * 8);
	}
	/* a sequential sweep from a thread-specific start, one word per 512
	 * bytes, wrapping around */
	size_t start = (size_t)r->id * (r->len / NTHREADS);
	for (size_t i = 0; i < r->len; i += 512) {
		size_t o = (start + i) % r->len;
		uint64_t v = *(const volatile uint64_t *)(r->m + o);
		r->reads++;
		if (v != t_pattern_u64(r->pattern_seed, o) && r->mismatches++ == 0)
			r->first_bad = (int64_t)o;
	}
	return NULL;
}

static void test_threads_readonly(void)
{
	/* 32 (soak: 64) times the limit */
	const size_t ps = 4096, nframes = 16, len = t_scale(2, 4) * MiB;
	const uint64_t seed = 0x8300;
	struct upager_config c = t_config(ps, nframes * ps);
	upager_t *p = t_create(&c);
	int fd = t_make_file(len, seed, NULL, 0);
	struct reader r[NTHREADS];
	pthread_barrier_t start;
	struct upager_stats st;
	double t0 = t_now();

	const unsigned char *m = upager_map(p, fd, 0, len, PROT_READ, UPAGER_SHARED);
	T_REQUIRE(m != NULL, "upager_map: %s", strerror(errno));
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].id = i;
		r[i].m = m;
		r[i].len = len;
		r[i].seed = seed * 17 + (uint64_t)i;
		r[i].pattern_seed = seed;
		r[i].nops = (unsigned)t_scale(1000, 20000);
		r[i].start = &start;
		r[i].first_bad = -1;
		int e = pthread_create(&r[i].tid, NULL, ro_worker, &r[i]);
		T_REQUIRE(e == 0, "pthread_create: %s", strerror(e));
	}
	uint64_t reads = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(r[i].tid, NULL);
		reads += r[i].reads;
		T_CHECK(r[i].mismatches == 0, "reader %d: %llu of %llu values wrong, first at %lld", i,
		        (unsigned long long)r[i].mismatches, (unsigned long long)r[i].reads,
		        (long long)r[i].first_bad);
	}
	pthread_barrier_destroy(&start);
	/* every byte through the pointer, after the threads' evictions */
	T_VERIFIED(t_verify_buf(m, len, seed, 0, "read-only region after the readers"));
	t_stats(p, &st);
	T_LE(st.nr_resident_peak, st.nr_frames);
	T_EQ(st.nr_dirty, 0);
	T_EQ(st.pgpgout, 0);
	T_RET(upager_unmap(p, (void *)m), 0);
	T_RET(upager_destroy(p), 0);
	T_VERIFIED(t_verify_fd(fd, 0, len, seed));
	close(fd);
	t_summary("%d threads reading a read-only %zu KiB region under %zu frames: %llu values "
	          "all equal to the pattern, then every byte (%.1f s)",
	          NTHREADS, len / 1024, nframes, (unsigned long long)reads, t_now() - t0);
}

int main(void)
{
	static const struct t_test tests[] = {
		{ "8 threads read/write, 4 KiB pages, 16 frames", test_threads_rw_4k },
		{ "8 threads read/write, 16 KiB pages, 16 frames", test_threads_rw_16k },
		{ "8 threads read a read-only region", test_threads_readonly },
		{ NULL, NULL },
	};

	t_init("test_threads", 240);
	t_add_suite("threads", tests);
	return t_run_suite();
}
