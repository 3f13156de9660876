/*
 * stats.c - counters, the fault-time and refault-distance histograms, the
 * working set estimate, and their text form.
 *
 * SIGNAL CONTEXT: upager__stat_resident(), upager__stat_dirty(),
 * upager__stat_pinned(), upager__stat_fault_time(), upager__stat_refault()
 * and upager__now_ns() run in the SIGSEGV handler: atomics and
 * clock_gettime (vDSO, async-signal-safe) only.
 *
 * Owns: the counters' arithmetic, the histograms, the working set
 * estimate and the thrashing verdict, their text form (upager_stats,
 * upager_print_stats), writing text to a descriptor.
 * Calls: nothing of upager's (the bottom layer).
 *
 * The working set estimate (workingset_bytes).  A refault's distance d
 * (workingset.c) is the number of pages evicted while the page was out:
 * an LRU memory of nr_frames + d frames would have kept it (the refault
 * distances are the stack distances of Mattson, Gecsei, Slutz and
 * Traiger, 1970, less the memory the pager has).  The estimate is the
 * memory that would have kept 9 in 10 of the pages that refaulted:
 * nr_frames + the 90th percentile of the distances, in pages, times the
 * page size.  The distances are kept since upager_create() in a
 * histogram of four buckets per power of two; the percentile is the mean
 * distance of the bucket that holds it (exact when the bucket's distances
 * are equal, as a loop's are; otherwise within the bucket, a quarter of
 * its power of two).  A pager with no refault never needed more than it
 * held: the estimate is then its peak of resident pages.  Evictions come
 * in runs of up to 16 pages (vmscan.c), so a distance may be off by up
 * to a run.  A distance counts evictions, not distinct pages: while one
 * page is away, another may leave and come back several times, and the
 * sum can pass the program's footprint.  So the estimate is at most the
 * pages ever paged in without a shadow (pgpgin + pgzerofill -
 * workingset_refault: the distinct pages used, unless pages dropped with
 * DONTNEED came back).
 *
 * Thrashing (upager_print_stats): more than THRASHING_PERCENT % of the
 * pages paged in (pgpgin + pgzerofill) were refaults, and at least
 * nr_frames pages refaulted (a memory's worth: a few pages evicted at a
 * change of phase and read again are not thrashing).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t upager__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/**
 * upager__write_all() - write @len bytes of @buf to @fd with write(2),
 * again after EINTR and after short writes.  errno is left as it was.
 *
 * Return: 0, the negative errno of write(2) (-EBADF, -EPIPE, -ENOSPC,
 * -EAGAIN for a full non-blocking descriptor, ...), or -EIO if write(2)
 * wrote nothing.
 */
int upager__write_all(int fd, const char *buf, size_t len)
{
	int saved = errno, rc = 0;

	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		buf += w;
		len -= (size_t)w;
	}
	errno = saved;
	return rc;
}

/* Raise *@peak to @now if it is higher. */
static void peak_update(_Atomic uint64_t *peak, int64_t now)
{
	uint64_t old = atomic_load_explicit(peak, memory_order_relaxed);

	while (now > 0 && (uint64_t)now > old &&
	       !atomic_compare_exchange_weak_explicit(peak, &old, (uint64_t)now,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

/* @pages pages of @units units each became resident (negative: went). */
void upager__stat_resident(struct upager *p, int64_t pages, uint32_t units)
{
	int64_t now = atomic_fetch_add_explicit(&p->stats.nr_resident, pages,
	                                        memory_order_relaxed) + pages;
	int64_t du = pages * (int64_t)units;
	int64_t now_units = atomic_fetch_add_explicit(&p->stats.resident_units, du,
	                                              memory_order_relaxed) + du;

	peak_update(&p->stats.nr_resident_peak, now);
	peak_update(&p->stats.resident_units_peak, now_units);
}

/* @pages pages of @units units each became dirty (negative: clean). */
void upager__stat_dirty(struct upager *p, int64_t pages, uint32_t units)
{
	atomic_fetch_add_explicit(&p->stats.nr_dirty, pages, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->stats.dirty_units, pages * (int64_t)units,
	                          memory_order_relaxed);
}

/* @pages pages of @units units each became pinned (negative: unpinned). */
void upager__stat_pinned(struct upager *p, int64_t pages, uint32_t units)
{
	atomic_fetch_add_explicit(&p->stats.nr_pinned, pages, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->stats.pinned_units, pages * (int64_t)units,
	                          memory_order_relaxed);
}

void upager__stat_fault_time(struct upager *p, uint64_t ns)
{
	unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;

	if (b >= UPAGER_HIST_BUCKETS)
		b = UPAGER_HIST_BUCKETS - 1;
	atomic_fetch_add_explicit(&p->stats.fault_ns_hist[b], 1, memory_order_relaxed);
}

/* Bucket of refault distance @d (UPAGER_REFAULT_BUCKETS): 0..7 exactly,
 * then four buckets per power of two. */
static unsigned refault_bucket(uint32_t d)
{
	unsigned e;

	if (d < 8)
		return d;
	e = 31u - (unsigned)__builtin_clz(d); /* 3..31 */
	return 8u + (e - 3u) * 4u + ((d >> (e - 2u)) & 3u);
}

void upager__stat_refault(struct upager *p, uint32_t distance)
{
	unsigned b = refault_bucket(distance);

	atomic_fetch_add_explicit(&p->stats.refault_hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->stats.refault_dist_sum[b], distance, memory_order_relaxed);
}

/* The bucket of @h[0..@n) that holds quantile @q (0..1) of its counts, or
 * -1 if it counts nothing. */
static int quantile_bucket(const uint64_t *h, unsigned n, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < n; i++)
		total += h[i];
	if (!total)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		seen += h[i];
		if (h[i] && (double)seen >= q * (double)total)
			return (int)i;
	}
	return -1;
}

#define THRASHING_PERCENT 50
#define WORKINGSET_QUANTILE 0.9

/* The working set estimate, in pages (see the top of this file), from the
 * histogram and the counters in @s. */
static uint64_t workingset_pages(struct upager *p, const struct upager_stats *s)
{
	uint64_t h[UPAGER_REFAULT_BUCKETS], sum, est, in = s->pgpgin + s->pgzerofill;
	uint64_t distinct = in > s->workingset_refault ? in - s->workingset_refault : 0;
	int b;

	for (unsigned i = 0; i < UPAGER_REFAULT_BUCKETS; i++)
		h[i] = atomic_load_explicit(&p->stats.refault_hist[i], memory_order_relaxed);
	b = quantile_bucket(h, UPAGER_REFAULT_BUCKETS, WORKINGSET_QUANTILE);
	if (b < 0)
		return s->nr_resident_peak;
	sum = atomic_load_explicit(&p->stats.refault_dist_sum[b], memory_order_relaxed);
	est = s->nr_frames + (sum + h[b] / 2) / h[b];
	/* The cap; never below the frames (counters read one at a time may
	 * disagree a little). */
	if (est > distinct)
		est = distinct > s->nr_frames ? distinct : s->nr_frames;
	return est;
}

static uint64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

/* The statistics at the library's size (upager_stats() copies them out). */
static void stats_read(struct upager *p, struct upager_stats *s)
{
	memset(s, 0, sizeof(*s));
#define X(name, help) s->name = atomic_load_explicit(&p->stats.name, memory_order_relaxed);
	UPAGER_COUNTERS(X)
#undef X
	s->nr_resident = nonneg(atomic_load(&p->stats.nr_resident));
	s->nr_resident_peak = atomic_load(&p->stats.nr_resident_peak);
	s->nr_dirty = nonneg(atomic_load(&p->stats.nr_dirty));
	s->nr_pinned = nonneg(atomic_load(&p->stats.nr_pinned));
	s->nr_frames = p->memory_limit / p->page_size;
	s->nr_resident_bytes = nonneg(atomic_load(&p->stats.resident_units)) << p->unit_shift;
	s->nr_resident_bytes_peak = atomic_load(&p->stats.resident_units_peak) << p->unit_shift;
	s->nr_dirty_bytes = nonneg(atomic_load(&p->stats.dirty_units)) << p->unit_shift;
	s->nr_pinned_bytes = nonneg(atomic_load(&p->stats.pinned_units)) << p->unit_shift;
	s->memory_limit = p->memory_limit;
	for (unsigned i = 0; i < UPAGER_HIST_BUCKETS; i++)
		s->fault_ns_hist[i] = atomic_load_explicit(&p->stats.fault_ns_hist[i],
		                                           memory_order_relaxed);
	s->workingset_bytes = workingset_pages(p, s) * p->page_size;
}

int upager_stats(upager_t *p, struct upager_stats *s, size_t size)
{
	struct upager_stats all;

	if (!pager_ok(p) || !s)
		return -EINVAL;
	if (size < UPAGER_STATS_SIZE_VER0)
		return -EINVAL;
	stats_read(p, &all);
	return upager__struct_out(s, size, &all, sizeof(all), UPAGER_STATS_SIZE_VER0);
}

/* Fault time below which @q (0..1) of the faults fall, from the histogram:
 * the upper edge of the bucket that holds the quantile. */
static uint64_t hist_quantile(const struct upager_stats *s, double q)
{
	int b = quantile_bucket(s->fault_ns_hist, UPAGER_HIST_BUCKETS, q);

	return b < 0 ? 0 : 2ull << b;
}

/* @bytes for people: "1.9 GiB", "256 KiB", "512 bytes". */
static const char *human_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	else if (v < 10.0 && v != (double)(uint64_t)v)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f %s", v, units[u]);
	return buf;
}

/* The working set in words (see the top of this file for the verdict). */
static int workingset_text(char *buf, size_t len, const struct upager_stats *s, size_t ps)
{
	uint64_t in = s->pgpgin + s->pgzerofill, rf = s->workingset_refault;
	unsigned pct = in ? (unsigned)(rf * 100 / in) : 0;
	char ws[32], limit[32];

	human_bytes(ws, sizeof(ws), s->workingset_bytes);
	human_bytes(limit, sizeof(limit), s->nr_frames * ps);
	if (rf >= s->nr_frames && rf * 100 > in * THRASHING_PERCENT)
		return snprintf(buf, len,
		                "thrashing: %u%% of the pages paged in were refaults (%llu of %llu); "
		                "the working set seems to want about %s, the memory limit is %s; "
		                "%llu%% of the refaulted pages would have stayed in twice the "
		                "memory\n",
		                pct, (unsigned long long)rf, (unsigned long long)in, ws, limit,
		                (unsigned long long)(s->workingset_activate * 100 / rf));
	if (!rf)
		return snprintf(buf, len,
		                "working set: about %s, the memory limit is %s; no refaults\n", ws,
		                limit);
	return snprintf(buf, len,
	                "working set: about %s, the memory limit is %s; %u%% of the pages paged in "
	                "were refaults (%llu of %llu)\n",
	                ws, limit, pct, (unsigned long long)rf, (unsigned long long)in);
}

int upager_print_stats(upager_t *p, int fd)
{
	struct upager_stats s;
	char buf[4096];
	int n = 0, rc;

	rc = upager_stats(p, &s, sizeof(s));
	if (rc < 0)
		return rc;
#define OUT(...) n += snprintf(buf + n, sizeof(buf) - (size_t)n, __VA_ARGS__)
	OUT("upager statistics (page size %zu bytes, %llu frames of it)\n", p->page_size,
	    (unsigned long long)s.nr_frames);
#define X(name, help) OUT("  %-20s %14llu  %s\n", #name, (unsigned long long)s.name, help);
	UPAGER_COUNTERS(X)
#undef X
	OUT("  %-20s %14llu  %s\n", "nr_resident", (unsigned long long)s.nr_resident,
	    "pages resident now");
	OUT("  %-20s %14llu  %s\n", "nr_resident_peak", (unsigned long long)s.nr_resident_peak,
	    "most pages resident at once");
	OUT("  %-20s %14llu  %s\n", "nr_dirty", (unsigned long long)s.nr_dirty,
	    "dirty pages now");
	OUT("  %-20s %14llu  %s\n", "nr_pinned", (unsigned long long)s.nr_pinned,
	    "pinned pages now");
	OUT("  %-20s %14llu  %s\n", "workingset_bytes", (unsigned long long)s.workingset_bytes,
	    "estimated working set, bytes");
	OUT("  %-20s %14llu  %s\n", "nr_resident_bytes", (unsigned long long)s.nr_resident_bytes,
	    "bytes resident now");
	OUT("  %-20s %14llu  %s\n", "nr_resident_bytes_peak",
	    (unsigned long long)s.nr_resident_bytes_peak, "most bytes resident at once");
	OUT("  %-20s %14llu  %s\n", "nr_dirty_bytes", (unsigned long long)s.nr_dirty_bytes,
	    "bytes of dirty pages now");
	OUT("  %-20s %14llu  %s\n", "nr_pinned_bytes", (unsigned long long)s.nr_pinned_bytes,
	    "bytes of pinned pages now");
	OUT("  %-20s %14llu  %s\n", "memory_limit", (unsigned long long)s.memory_limit,
	    "bytes");
	if (s.pgdirtied)
		OUT("  write amplification: %.2f pages written per page dirtied (pgpgout / "
		    "pgdirtied)\n",
		    (double)s.pgpgout / (double)s.pgdirtied);
	OUT("  fault time: p50 < %llu ns, p99 < %llu ns, max < %llu ns\n",
	    (unsigned long long)hist_quantile(&s, 0.5), (unsigned long long)hist_quantile(&s, 0.99),
	    (unsigned long long)hist_quantile(&s, 1.0));
	if (n < (int)sizeof(buf))
		n += workingset_text(buf + n, sizeof(buf) - (size_t)n, &s, p->page_size);
#undef OUT
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	return upager__write_all(fd, buf, (size_t)n);
}
