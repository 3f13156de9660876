/*
 * sort-progress.c - upager-sort's progress reports: a timer thread.
 *
 * qsort gives no callback, so a thread wakes every PROGRESS_PERIOD seconds
 * and prints the elapsed time of the current phase, the pager's major-fault
 * count and, for sequential passes, how far the pass got.  It touches no
 * managed memory: upager_stats() is safe from any thread at any time.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "upager-sort.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PROGRESS_PERIOD 2         /* seconds between progress lines */

static void progress_report(struct progress *pg)
{
	struct timespec t;
	double elapsed;
	char pct[16] = "";
	char faults[48] = "";

	clock_gettime(CLOCK_MONOTONIC, &t);
	elapsed = (double)(t.tv_sec - pg->start.tv_sec) +
	          (double)(t.tv_nsec - pg->start.tv_nsec) * 1e-9;
	if (pg->total != 0) {
		uint64_t done = atomic_load_explicit(&pg->done, memory_order_relaxed);

		snprintf(pct, sizeof(pct), " %3.0f%%,", 100.0 * (double)done / (double)pg->total);
	}
	if (pg->pager != NULL) {
		struct upager_stats st;

		if (upager_stats(pg->pager, &st, sizeof(st)) == 0)
			snprintf(faults, sizeof(faults), ", %" PRIu64 " major faults",
			         st.pgmajfault);
	}
	fprintf(stderr, "  %s:%s %.0f s%s\n", pg->phase, pct, elapsed, faults);
}

static void *progress_main(void *arg)
{
	struct progress *pg = arg;
	struct timespec next = { 0, 0 };
	unsigned seen = 0;

	pthread_mutex_lock(&pg->lock);
	while (!pg->stop) {
		int rc;

		if (pg->gen != seen) {
			seen = pg->gen;
			next = pg->start;
			next.tv_sec += PROGRESS_PERIOD;
		}
		if (pg->phase == NULL) {
			pthread_cond_wait(&pg->cond, &pg->lock);
			continue;
		}
		rc = pthread_cond_timedwait(&pg->cond, &pg->lock, &next);
		if (rc != ETIMEDOUT || pg->stop || pg->gen != seen)
			continue;
		progress_report(pg);
		next.tv_sec += PROGRESS_PERIOD;
	}
	pthread_mutex_unlock(&pg->lock);
	return NULL;
}

void progress_init(struct progress *pg, bool enabled)
{
	pthread_condattr_t ca;
	int rc;

	memset(pg, 0, sizeof(*pg));
	atomic_init(&pg->done, 0);
	pthread_mutex_init(&pg->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pg->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!enabled)
		return;
	rc = pthread_create(&pg->thread, NULL, progress_main, pg);
	if (rc != 0)
		fprintf(stderr, PROG ": no progress reports: pthread_create: %s\n", strerror(rc));
	else
		pg->running = true;
}

void progress_phase(struct progress *pg, const char *phase, uint64_t total)
{
	pthread_mutex_lock(&pg->lock);
	pg->phase = phase;
	pg->total = total;
	atomic_store_explicit(&pg->done, 0, memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &pg->start);
	pg->gen++;
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
}

void progress_advance(struct progress *pg, uint64_t done)
{
	atomic_store_explicit(&pg->done, done, memory_order_relaxed);
}

void progress_pager(struct progress *pg, upager_t *pager)
{
	pthread_mutex_lock(&pg->lock);
	pg->pager = pager;
	pthread_mutex_unlock(&pg->lock);
}

void progress_stop(struct progress *pg)
{
	pthread_mutex_lock(&pg->lock);
	pg->stop = true;
	pg->phase = NULL;
	pg->pager = NULL;
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	if (pg->running) {
		pthread_join(pg->thread, NULL);
		pg->running = false;
	}
}
