/*
 * timed.c - the timed phase of a run of upager-bench, inside its child:
 * the worker threads and their loops, the clock, the RSS sampler.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: struct result's measurements (time, operations, sums, faults,
 * RSS), the seq and key loops (the same code for every system: they read
 * the D bytes at a base address, or pread the file), the scratch
 * workload's three phases (fill, rmw, scan: the same loops, the first
 * writing, each timed alone), and fail().
 * Calls: util.c, libc, pthreads.  Engines call it with their base address
 * and their finish step (the sync of update).
 *
 * Operation counts.  seq does one pass of D bytes.  The key workloads run
 * until the key sequence is used up (--ops keys, default 32M, quick 8M)
 * or the time budget (--seconds per run, default 4, quick 1) has passed,
 * whichever comes first: fast systems do a fixed count, slow ones (cold
 * device reads) run for the budget.  Throughput is operations over the
 * timed wall time, which starts when the threads are released (pager,
 * mapping, copy and threads are made before) and ends when they are all
 * done (and, for update, the sync returned).
 *
 * Threads claim key chunks in order from an atomic counter; at the end of
 * the time budget the main thread raises a stop flag that the workers
 * look at every KEY_SLICE keys, and each worker reports where it stopped
 * in its last chunk.  So the keys a run consumed are known exactly (the
 * chunks claimed minus the unfinished tails), and with one thread they
 * are exactly a prefix of the sequence.
 *
 * Peak RSS is the larger of VmHWM, read in the child at its end
 * (engine.c), and the most RSS a sampler thread saw during the timed
 * phase: the kernel updates VmHWM only at munmap, exit and reclaim, so it
 * misses pages that left through upager's fallocate(PUNCH_HOLE) (see
 * rss_sampler below).  Both are in the CSV.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Record the failed step in @r; returns @rc (a negative errno). */
int fail(struct result *r, int rc, const char *fmt, ...)
{
	char what[120];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->rc == 0) {
		r->rc = rc;
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(-rc));
	}
	return rc;
}

enum run_kind { RUN_SEQ_MEM, RUN_SEQ_PREAD, RUN_KEYS_READ, RUN_KEYS_UPDATE, RUN_FILL,
                RUN_KEYS_RMW };

/* Keys done between two looks at the stop flag. */
#define KEY_SLICE 8u

/*
 * The shared state of a timed run.  Workers claim chunks in order; the
 * main thread sleeps until every worker is done or the time budget is
 * spent, then raises @stop, which workers look at every KEY_SLICE keys.
 * So a run consumes chunks 0 .. next-1, all of them whole except at most
 * one per worker (the one it was in at the stop), whose progress the
 * worker records: with one thread, the keys done are exactly a prefix.
 */
struct runctx {
	enum run_kind kind;
	char *base;              /* the D bytes (memory kinds) */
	int fd;                  /* the file (RUN_SEQ_PREAD) */
	uint64_t len;            /* D */
	int keys_fd;
	uint64_t nchunks;        /* SEQ_CHUNK pieces of D, or key chunks */
	_Atomic uint64_t next;   /* next chunk to claim */
	_Atomic int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* go: workers wait for it */
	pthread_cond_t done_cond;/* a worker finished: main waits for it */
	bool go;
	unsigned done;           /* workers finished */
};

struct worker {
	struct runctx *c;
	char *buf;               /* RUN_SEQ_PREAD: SEQ_CHUNK bytes */
	uint64_t sum, ops, rmw;
	bool partial;            /* stopped inside chunk partial_chunk */
	uint64_t partial_chunk;
	uint32_t partial_done;
	int err;                 /* -errno */
};

static void runctx_init(struct runctx *c, const struct job *j, char *base)
{
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->fd = j->ds->file.fd;
	c->len = j->ds->data;
	if (j->acc == ACC_SEQ) {
		c->kind = base ? RUN_SEQ_MEM : RUN_SEQ_PREAD;
		c->nchunks = (c->len + SEQ_CHUNK - 1) / SEQ_CHUNK;
	} else {
		c->kind = j->acc == ACC_UPDATE ? RUN_KEYS_UPDATE : RUN_KEYS_READ;
		c->keys_fd = j->keys->fd;
		c->nchunks = j->keys->nchunks;
	}
}

static inline bool stopping(struct runctx *c)
{
	return atomic_load_explicit(&c->stop, memory_order_relaxed) != 0;
}

/* Claim the next chunk, or return false when there is none or the run is
 * stopping. */
static bool claim(struct runctx *c, uint64_t *ci)
{
	if (stopping(c))
		return false;
	*ci = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
	return *ci < c->nchunks;
}

static void work_seq(struct worker *w)
{
	struct runctx *c = w->c;
	uint64_t ci;

	while (claim(c, &ci)) {
		uint64_t off = ci * SEQ_CHUNK;
		size_t len = c->len - off < SEQ_CHUNK ? (size_t)(c->len - off) : SEQ_CHUNK;
		const uint64_t *p = (const uint64_t *)(c->base + off);

		if (c->kind == RUN_FILL) { /* scratch: word w = word_value(w) */
			uint64_t *q = (uint64_t *)(c->base + off), w0 = off / 8;

			for (size_t k = 0; k < len / 8; k++)
				q[k] = word_value(w0 + k);
			w->ops += len / 8;
			continue;
		}
		if (c->kind == RUN_SEQ_PREAD) {
			int rc = pread_full(c->fd, w->buf, len, off);
			if (rc < 0) {
				w->err = rc;
				atomic_store(&c->stop, 1);
				return;
			}
			p = (const uint64_t *)w->buf;
		}
		w->sum += sum_words(p, len / 8);
		w->ops += len / 8;
	}
}

static void work_keys(struct worker *w)
{
	struct runctx *c = w->c;
	uint64_t keys[KEY_CHUNK], ci;
	uint64_t *words = (uint64_t *)c->base;
	bool all_rmw = c->kind == RUN_KEYS_RMW; /* scratch: every key */
	bool update = c->kind == RUN_KEYS_UPDATE || all_rmw;

	while (claim(c, &ci)) {
		int rc = pread_full(c->keys_fd, keys, sizeof(keys), ci * sizeof(keys));
		uint64_t s = 0, rmw = 0;
		unsigned done = 0;

		if (rc < 0) {
			w->err = rc;
			atomic_store(&c->stop, 1);
			w->partial = true;
			w->partial_chunk = ci;
			w->partial_done = 0;
			return;
		}
		for (; done < KEY_CHUNK && !stopping(c); done += KEY_SLICE) {
			const uint64_t *k = keys + done;

			if (!update) {
				for (unsigned i = 0; i < KEY_SLICE; i++)
					s += words[k[i] & KEY_WORD];
				continue;
			}
			for (unsigned i = 0; i < KEY_SLICE; i++) {
				uint64_t *p = &words[k[i] & KEY_WORD];

				if (all_rmw || (k[i] & UPDATE_BIT)) {
					s += __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
					rmw++;
				} else {
					s += __atomic_load_n(p, __ATOMIC_RELAXED);
				}
			}
		}
		w->sum += s;
		w->rmw += rmw;
		w->ops += done;
		if (done < KEY_CHUNK) {
			w->partial = true;
			w->partial_chunk = ci;
			w->partial_done = done;
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct runctx *c = w->c;

	pthread_mutex_lock(&c->lock);
	while (!c->go)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (!stopping(c)) {
		if (c->kind == RUN_SEQ_MEM || c->kind == RUN_SEQ_PREAD || c->kind == RUN_FILL)
			work_seq(w);
		else
			work_keys(w);
	}
	pthread_mutex_lock(&c->lock);
	c->done++;
	pthread_cond_signal(&c->done_cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct snapshot {
	uint64_t minflt, majflt, read_bytes;
};

static void snapshot_take(struct snapshot *s)
{
	struct rusage ru;

	memset(s, 0, sizeof(*s));
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		s->minflt = (uint64_t)ru.ru_minflt;
		s->majflt = (uint64_t)ru.ru_majflt;
	}
	s->read_bytes = proc_value("/proc/self/io", "read_bytes:");
}

/*
 * Peak RSS.  VmHWM is only brought up to date by the kernel when pages
 * leave a mapping through munmap, exit or reclaim; pages that leave
 * through fallocate(PUNCH_HOLE) (upager's eviction) or MADV_DONTNEED do
 * not update it.  So VmHWM read at the end is the RSS at teardown, or the
 * most at an earlier munmap, and can miss a peak during the run.  The
 * sampler thread reads /proc/self/statm every RSS_SAMPLE_NS during the
 * timed phase (about 10 us of CPU each time) and keeps the most.
 */
#define RSS_SAMPLE_NS 5000000u

struct rss_sampler {
	pthread_t th;
	_Atomic int stop;
	int fd;
	uint64_t max_kb;
};

static uint64_t statm_rss_kb(int fd)
{
	char buf[128];
	unsigned long size, res;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static void *rss_sampler_main(void *arg)
{
	struct rss_sampler *s = arg;
	struct timespec ts = { 0, RSS_SAMPLE_NS };

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t kb = statm_rss_kb(s->fd);
		if (kb > s->max_kb)
			s->max_kb = kb;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static bool rss_sampler_start(struct rss_sampler *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return false;
	if (pthread_create(&s->th, NULL, rss_sampler_main, s) != 0) {
		close(s->fd);
		return false;
	}
	return true;
}

/* Stop it and return the most it saw, the current RSS included. */
static uint64_t rss_sampler_stop(struct rss_sampler *s)
{
	uint64_t kb;

	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	kb = statm_rss_kb(s->fd);
	close(s->fd);
	return kb > s->max_kb ? kb : s->max_kb;
}

/* Sleep until every worker is done or until @deadline (CLOCK_MONOTONIC,
 * ns), then tell them to stop.  Called with c->lock held. */
static void wait_workers(struct runctx *c, unsigned started, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };

	while (c->done < started) {
		if (pthread_cond_timedwait(&c->done_cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	atomic_store(&c->stop, 1);
}

/* The timed phase: @nthreads workers made and waiting first; the clock
 * starts when they are released and stops when they are all done (at the
 * latest @seconds later, if > 0) and @finish (the sync of update)
 * returned. */
static int timed_loop(struct runctx *c, unsigned nthreads, double seconds, finish_fn finish,
                      void *farg, struct result *r)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_condattr_t ca;
	struct snapshot s0, s1;
	struct rss_sampler rs;
	bool sampling;
	unsigned started = 0;
	uint64_t t0, tmid, t1;
	int rc = 0;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].c = c;
		if (c->kind == RUN_SEQ_PREAD && posix_memalign((void **)&w[i].buf, 4096, SEQ_CHUNK)) {
			rc = fail(r, -ENOMEM, "buffer");
			break;
		}
		rc = -pthread_create(&th[i], NULL, worker_main, &w[i]);
		if (rc < 0) {
			fail(r, rc, "pthread_create");
			free(w[i].buf);
			break;
		}
		started++;
	}
	if (rc < 0)
		atomic_store(&c->stop, 1);
	sampling = rss_sampler_start(&rs);
	snapshot_take(&s0);
	t0 = now_ns();
	pthread_mutex_lock(&c->lock);
	c->go = true;
	pthread_cond_broadcast(&c->cond);
	if (seconds > 0)
		wait_workers(c, started, t0 + (uint64_t)(seconds * 1e9));
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	tmid = now_ns();
	if (rc == 0 && finish)
		rc = finish(farg);
	t1 = now_ns();
	snapshot_take(&s1);
	if (sampling)
		r->rss_sampled_kb = rss_sampler_stop(&rs);
	r->ns = t1 - t0;
	r->sync_ns = t1 - tmid;
	r->minflt = s1.minflt - s0.minflt;
	r->majflt = s1.majflt - s0.majflt;
	r->read_bytes = s1.read_bytes - s0.read_bytes;
	for (unsigned i = 0; i < started; i++) {
		r->sum += w[i].sum;
		r->ops += w[i].ops;
		r->rmw += w[i].rmw;
		if (w[i].partial && r->npartial < MAX_THREADS) {
			r->partial[r->npartial].chunk = w[i].partial_chunk;
			r->partial[r->npartial].done = w[i].partial_done;
			r->npartial++;
		}
		if (w[i].err < 0 && rc == 0)
			rc = fail(r, w[i].err, "read");
		free(w[i].buf);
	}
	r->chunks = atomic_load(&c->next);
	if (r->chunks > c->nchunks)
		r->chunks = c->nchunks;
	if (c->kind == RUN_SEQ_MEM || c->kind == RUN_SEQ_PREAD || c->kind == RUN_FILL)
		r->bytes = r->ops * 8;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->done_cond);
	return rc;
}

/* The timed phase of @j on the D bytes at @base (NULL: pread the file):
 * see timed_loop().  Returns 0 or the -errno of the failure (recorded in
 * @r, except a failure of @finish: the caller names that step). */
int timed_run(const struct job *j, char *base, finish_fn finish, void *farg,
              struct result *r)
{
	struct runctx c;

	runctx_init(&c, j, base);
	return timed_loop(&c, j->threads, j->seconds, finish, farg, r);
}

/* Subtract the counters @a from @b into @d (frames and peak: @b's). */
static void delta(struct upager_delta *d, const struct upager_delta *a,
                  const struct upager_delta *b)
{
	uint64_t *dw = (uint64_t *)d;
	const uint64_t *aw = (const uint64_t *)a, *bw = (const uint64_t *)b;

	for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
		dw[i] = bw[i] - aw[i];
	d->resident_peak = b->resident_peak;
	d->frames = b->frames;
	/* Gauges: the dirty pages at each end (@a and @b are absolute). */
	d->dirty_start = a->dirty_end;
	d->dirty_end = b->dirty_end;
}

/*
 * The scratch workload's timed phases on the S bytes at @base, one after
 * the other, each timed alone: fill (word w = word_value(w), in
 * SEQ_CHUNK pieces), rmw (every key of the run's sequence a
 * read-modify-write, for the time budget) and scan (a sum of every word).
 * @counters (may be NULL) is read around each phase.  r->phase[] holds
 * each; r's own figures are rmw's, whose keys the check needs, except
 * RSS (the whole run).  Returns 0 or the -errno of the failure (recorded).
 */
int timed_scratch(const struct job *j, char *base, counters_fn counters, void *carg,
                  struct result *r)
{
	static const enum run_kind kinds[NPHASES] = { RUN_FILL, RUN_KEYS_RMW, RUN_SEQ_MEM };
	struct upager_delta c0, c1;
	struct result *pr = malloc(sizeof(*pr));
	int rc = 0;

	if (!pr)
		return fail(r, -ENOMEM, "scratch");
	for (int ph = 0; ph < NPHASES && rc == 0; ph++) {
		struct runctx c;

		memset(&c, 0, sizeof(c));
		memset(pr, 0, sizeof(*pr));
		c.kind = kinds[ph];
		c.base = base;
		c.fd = -1;
		c.len = j->ds->data;
		if (ph == PH_RMW) {
			c.keys_fd = j->keys->fd;
			c.nchunks = j->keys->nchunks;
		} else {
			c.nchunks = (c.len + SEQ_CHUNK - 1) / SEQ_CHUNK;
		}
		memset(&c0, 0, sizeof(c0));
		memset(&c1, 0, sizeof(c1));
		if (counters)
			counters(carg, &c0);
		rc = timed_loop(&c, j->threads, ph == PH_RMW ? j->seconds : 0, NULL, NULL, pr);
		if (counters)
			counters(carg, &c1);
		if (rc < 0)
			fail(r, rc, "scratch: %s", ph == PH_FILL ? "fill" : ph == PH_RMW ? "rmw" : "scan");
		r->phase[ph].ns = pr->ns;
		r->phase[ph].ops = pr->ops;
		r->phase[ph].bytes = pr->bytes;
		r->phase[ph].sum = pr->sum;
		r->phase[ph].minflt = pr->minflt;
		r->phase[ph].majflt = pr->majflt;
		delta(&r->phase[ph].up, &c0, &c1);
		if (pr->rss_sampled_kb > r->rss_sampled_kb)
			r->rss_sampled_kb = pr->rss_sampled_kb;
		if (ph == PH_RMW) {
			r->ns = pr->ns;
			r->ops = pr->ops;
			r->rmw = pr->rmw;
			r->sum = pr->sum;
			r->chunks = pr->chunks;
			r->npartial = pr->npartial;
			memcpy(r->partial, pr->partial, sizeof(r->partial));
			r->minflt = pr->minflt;
			r->majflt = pr->majflt;
			r->read_bytes = pr->read_bytes;
		}
	}
	free(pr);
	return rc;
}
