/*
 * stats.c - counters, the fault-time histogram, and their text form.
 *
 * SIGNAL CONTEXT: upager__stat_resident(), upager__stat_fault_time() and
 * upager__now_ns() run in the SIGSEGV handler: atomics and clock_gettime
 * (vDSO, async-signal-safe) only.
 *
 * Owns: the counters' arithmetic, the fault-time histogram, their text
 * form (upager_stats, upager_print_stats), writing text to a descriptor.
 * Calls: nothing of upager's (the bottom layer).
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

void upager__stat_resident(struct upager *p, int64_t delta)
{
	int64_t now = atomic_fetch_add_explicit(&p->stats.nr_resident, delta,
	                                        memory_order_relaxed) + delta;
	uint64_t peak = atomic_load_explicit(&p->stats.nr_resident_peak, memory_order_relaxed);

	while (now > 0 && (uint64_t)now > peak &&
	       !atomic_compare_exchange_weak_explicit(&p->stats.nr_resident_peak, &peak,
	                                              (uint64_t)now, memory_order_relaxed,
	                                              memory_order_relaxed))
		;
}

void upager__stat_fault_time(struct upager *p, uint64_t ns)
{
	unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;

	if (b >= UPAGER_HIST_BUCKETS)
		b = UPAGER_HIST_BUCKETS - 1;
	atomic_fetch_add_explicit(&p->stats.fault_ns_hist[b], 1, memory_order_relaxed);
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
	s->nr_frames = p->nframes;
	for (unsigned i = 0; i < UPAGER_HIST_BUCKETS; i++)
		s->fault_ns_hist[i] = atomic_load_explicit(&p->stats.fault_ns_hist[i],
		                                           memory_order_relaxed);
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
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < UPAGER_HIST_BUCKETS; i++)
		total += s->fault_ns_hist[i];
	if (!total)
		return 0;
	for (unsigned i = 0; i < UPAGER_HIST_BUCKETS; i++) {
		seen += s->fault_ns_hist[i];
		if ((double)seen >= q * (double)total)
			return 2ull << i;
	}
	return 0;
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
	OUT("upager statistics (page size %zu bytes, %llu frames)\n", p->page_size,
	    (unsigned long long)s.nr_frames);
#define X(name, help) OUT("  %-18s %14llu  %s\n", #name, (unsigned long long)s.name, help);
	UPAGER_COUNTERS(X)
#undef X
	OUT("  %-18s %14llu  %s\n", "nr_resident", (unsigned long long)s.nr_resident,
	    "pages resident now");
	OUT("  %-18s %14llu  %s\n", "nr_resident_peak", (unsigned long long)s.nr_resident_peak,
	    "most pages resident at once");
	OUT("  %-18s %14llu  %s\n", "nr_dirty", (unsigned long long)s.nr_dirty,
	    "dirty pages now");
	OUT("  %-18s %14llu  %s\n", "nr_pinned", (unsigned long long)s.nr_pinned,
	    "pinned pages now");
	OUT("  fault time: p50 < %llu ns, p99 < %llu ns, max < %llu ns\n",
	    (unsigned long long)hist_quantile(&s, 0.5), (unsigned long long)hist_quantile(&s, 0.99),
	    (unsigned long long)hist_quantile(&s, 1.0));
#undef OUT
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	return upager__write_all(fd, buf, (size_t)n);
}
