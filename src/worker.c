/*
 * worker.c - the pager's background thread: asynchronous page-in for
 * UPAGER_ADV_WILLNEED.
 *
 * The thread runs with every signal blocked.  It takes requests from a
 * fixed queue (a full queue drops new advice: it is a hint), and pages each
 * range in with the same code as a major fault, inside the region gate,
 * leaving the pages inaccessible and marked read-ahead, so the first touch
 * is a cheap minor fault.  It reads at most nframes - pin_reserve pages
 * per request, so it never evicts its own work.  upager_unmap() drains the
 * requests of a region before tearing it down.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <signal.h>

static void willneed(struct upager *p, const struct willneed_req *q)
{
	struct upager_region *r = q->region;
	uint64_t budget = p->nframes > p->pin_reserve ? p->nframes - p->pin_reserve : 1;

	upager__gate_read_enter();
	for (uint64_t idx = q->first; idx < q->first + q->count && budget > 0; idx++) {
		struct upager_page *pg = &r->pages[idx];
		uint64_t left = q->first + q->count - idx - 1;
		unsigned ra = left > p->readahead ? p->readahead : (unsigned)left;
		int n;

		if (p->wstop)
			break;
		if ((page_flags(pg) & PG_RESIDENT) || !upager__page_trylock(pg))
			continue;
		if (page_flags(pg) & PG_RESIDENT) {
			upager__page_unlock(pg);
			continue;
		}
		if (ra > budget - 1)
			ra = (unsigned)(budget - 1);
		n = upager__page_in_locked(r, idx, ra, 0);
		if (n > 0) {
			page_set(pg, PG_READAHEAD);
			STAT_INC(p, readahead);
			budget = budget > (uint64_t)n ? budget - (uint64_t)n : 0;
			idx += (uint64_t)n - 1;
		}
		upager__page_unlock(pg);
		if (n < 0)
			break;
	}
	upager__gate_read_exit();
}

static void *worker_main(void *arg)
{
	struct upager *p = arg;

	pthread_mutex_lock(&p->wlock);
	for (;;) {
		struct willneed_req q;

		while (!p->wstop && p->wq_len == 0)
			pthread_cond_wait(&p->wcond, &p->wlock);
		if (p->wstop)
			break;
		q = p->wq[p->wq_head];
		p->wq_head = (p->wq_head + 1) % WORKER_QUEUE;
		p->wq_len--;
		p->wbusy++;
		pthread_mutex_unlock(&p->wlock);
		willneed(p, &q);
		pthread_mutex_lock(&p->wlock);
		p->wbusy--;
		pthread_cond_broadcast(&p->widle);
	}
	pthread_mutex_unlock(&p->wlock);
	return NULL;
}

int upager__worker_start(struct upager *p)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->worker, NULL, worker_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	p->worker_started = true;
	return 0;
}

void upager__worker_stop(struct upager *p)
{
	if (!p->worker_started)
		return;
	pthread_mutex_lock(&p->wlock);
	p->wstop = true;
	pthread_cond_broadcast(&p->wcond);
	pthread_mutex_unlock(&p->wlock);
	pthread_join(p->worker, NULL);
	p->worker_started = false;
}

/* Queue a WILLNEED range; a full queue drops it (advice is a hint). */
int upager__worker_queue(struct upager *p, struct upager_region *r, uint64_t first,
                         uint64_t count)
{
	pthread_mutex_lock(&p->wlock);
	if (p->wq_len < WORKER_QUEUE) {
		struct willneed_req *q = &p->wq[(p->wq_head + p->wq_len) % WORKER_QUEUE];
		q->region = r;
		q->first = first;
		q->count = count;
		p->wq_len++;
		pthread_cond_signal(&p->wcond);
	}
	pthread_mutex_unlock(&p->wlock);
	return 0;
}

/* Remove @r's queued requests and wait until the worker is not using it. */
void upager__worker_drain(struct upager *p, struct upager_region *r)
{
	pthread_mutex_lock(&p->wlock);
	unsigned kept = 0;
	for (unsigned i = 0; i < p->wq_len; i++) {
		struct willneed_req q = p->wq[(p->wq_head + i) % WORKER_QUEUE];
		if (q.region != r)
			p->wq[(p->wq_head + kept++) % WORKER_QUEUE] = q;
	}
	p->wq_len = kept;
	while (p->wbusy)
		pthread_cond_wait(&p->widle, &p->wlock);
	pthread_mutex_unlock(&p->wlock);
}
