/*
 * worker.c - the pager's background thread: asynchronous page-in for
 * read-ahead runs that faults post (readahead.c) and for
 * UPAGER_ADV_WILLNEED, and background write-back.
 *
 * Not signal context: everything here runs on the thread or in API calls.
 * The fault handler wakes the thread through writeback.c's event word.
 *
 * The thread runs with every signal blocked.  It takes requests from a
 * fixed queue (a full queue drops new advice: it is a hint), and pages each
 * range in with the same code as a major fault, inside the region gate,
 * leaving the pages inaccessible and marked read-ahead, so the first touch
 * is a cheap minor fault.  It reads at most the unpinned memory less the
 * pin reserve per request, so it never evicts its own work, and never waits for
 * a frame (upager__frame_alloc without demand).  upager_unmap() drains the
 * requests of a region before tearing it down.
 *
 * Owns: the pager's thread, its WILLNEED queue, background write-back's
 * own hand.  It sleeps on the event word that writeback.c's
 * upager__kick_thread() bumps; nothing below calls into this file.
 * Calls: readahead.c (posted runs), filemap.c (page-in), writeback.c
 * (write-back, the kick), region.c,
 * gate.c, page.c, inject.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void willneed(struct upager *p, const struct willneed_req *q)
{
	struct upager_region *r = q->region;
	int64_t pinned = atomic_load(&p->stats.pinned_units);
	uint64_t used = (uint64_t)(pinned > 0 ? pinned : 0) + p->pin_reserve;
	uint64_t budget = (p->nunits > used ? p->nunits - used : 0) / r->units; /* pages */

	upager__gate_read_enter();
	for (uint64_t idx = q->first; idx < q->first + q->count && budget > 0; idx++) {
		struct upager_page *pg = &r->pages[idx];
		uint64_t left = q->first + q->count - idx - 1;
		unsigned ra = left > r->readahead ? r->readahead : (unsigned)left;
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
		n = upager__page_in_locked(r, idx, ra, 0, false, NULL);
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

/*
 * Background write-back: write dirty pages that the Clock hand already
 * found unreferenced (PROT_NONE), so that eviction finds clean frames and a
 * fault does not wait for a write.  Referenced dirty pages are left alone:
 * the application is still writing them, and write-protecting them would
 * cost it a write fault and the page a second write (measured: a sort
 * through a 1/8 limit wrote 45% more and ran 70% longer when referenced
 * pages were taken too).  Pages are written in batches of contiguous
 * requests, one submission each, and stay resident.
 *
 * Left alone as well: pages whose last write-back failed (PG_WB_ERROR:
 * sync, unmap and eviction retry them and report the error; this thread
 * must not hammer a failing device, nor clear an error that a failed sync
 * has just reported), and regions that upager_sync(), DONTNEED or unmap
 * are flushing (r->flushing): that call writes their pages and reports.
 * The test hook upager__pause_background_writeback() stops the thread's
 * write-back, so that a test's I/O numbering is deterministic.
 *
 * Which frames: those the Clock hand reaches next (a quarter of the
 * frames at most, catching up when the hand passes), which hold the pages
 * it will evict next and that have gone unreferenced longest, as the
 * kernel's reclaim writes the dirty pages at the tail of its inactive
 * list.  Until 2026-12-01 it swept the whole frame table from a hand of
 * its own and so wrote pages the hand had only just cleared, which a hot
 * page's next store dirtied again: on the scratch rmw of bench/ (zipf
 * read-modify-writes of 1 GiB under 256 MiB) that wrote 1.43-1.56 pages
 * per page to write, 1.21-1.22 now.
 */
static bool background_candidate(uint32_t f)
{
	return (f & (PG_LOCKED | PG_RESIDENT | PG_DIRTY | PG_ACCESS | PG_WB_ERROR)) ==
	               (PG_RESIDENT | PG_DIRTY) &&
	       !page_pins(f);
}

static unsigned background_writeback(struct upager *p)
{
	unsigned written = 0;
	struct upager_region *rs[UPAGER_IO_BATCH];
	uint64_t idxs[UPAGER_IO_BATCH];
	int results[UPAGER_IO_BATCH];
	size_t scanned = 0;
	/* The frames the hand reaches next, a quarter of them at most. */
	size_t window = p->nframes / 4 > 4 * UPAGER_IO_BATCH ? p->nframes / 4 : p->nframes;
	uint64_t cursor = atomic_load_explicit(&p->hand, memory_order_relaxed);

	while (scanned < window && !p->wstop && !upager__writeback_paused() &&
	       atomic_load(&p->stats.dirty_units) > (int64_t)p->dirty_low) {
		uint64_t hand = atomic_load_explicit(&p->hand, memory_order_relaxed);
		unsigned n = 0;

		/* Behind the hand is what it just passed: catch up. */
		if ((int64_t)(hand - cursor) > 0)
			cursor = hand;
		upager__gate_read_enter();
		for (; scanned < window && n < UPAGER_IO_BATCH; scanned++) {
			uint32_t fi = (uint32_t)(cursor++ % p->nframes);
			uint64_t o = atomic_load(&p->frames[fi].owner), idx;
			struct upager_region *r;
			struct upager_page *pg;
			uint32_t f;

			if (!o || !(r = upager__region_get(owner_region_id(o))) || r->pager != p ||
			    atomic_load(&r->flushing))
				continue;
			idx = owner_page(o);
			pg = &r->pages[idx];
			f = page_flags(pg);
			if (!background_candidate(f))
				continue;
			if (!upager__page_trylock(pg))
				continue;
			f = page_flags(pg);
			if (!background_candidate(f & ~(uint32_t)(PG_LOCKED | PG_WAITERS)) ||
			    pg->frame != fi || atomic_load(&r->flushing)) {
				upager__page_unlock(pg);
				continue;
			}
			rs[n] = r;
			idxs[n] = idx;
			n++;
		}
		if (n) {
			upager__writeback_locked(p, rs, idxs, n, results);
			for (unsigned k = 0; k < n; k++) {
				if (!results[k]) {
					STAT_INC(p, writeback_background);
					written++;
				}
				upager__page_unlock(&rs[k]->pages[idxs[k]]);
			}
		}
		upager__gate_read_exit();
	}
	return written;
}

/* Sleep until kicked (a queued request, dirty pages past dirty_high, stop)
 * or for at most @ms milliseconds. */
static void worker_sleep(struct upager *p, uint32_t seen, long ms)
{
	struct timespec ts = { 0, ms * 1000 * 1000 };

	syscall(SYS_futex, (uint32_t *)&p->wkick, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void *worker_main(void *arg)
{
	struct upager *p = arg;

	for (;;) {
		uint32_t seen = atomic_load(&p->wkick);
		struct willneed_req q;
		bool have = false;

		/* Read-ahead runs first: a scan is waiting for them. */
		if (!atomic_load(&p->wstop) && upager__readahead_async(p))
			continue;
		pthread_mutex_lock(&p->wlock);
		if (p->wstop) {
			pthread_mutex_unlock(&p->wlock);
			break;
		}
		if (p->wq_len) {
			q = p->wq[p->wq_head];
			p->wq_head = (p->wq_head + 1) % WORKER_QUEUE;
			p->wq_len--;
			p->wbusy++;
			have = true;
		}
		pthread_mutex_unlock(&p->wlock);
		if (have) {
			willneed(p, &q);
			pthread_mutex_lock(&p->wlock);
			p->wbusy--;
			pthread_cond_broadcast(&p->widle);
			pthread_mutex_unlock(&p->wlock);
			continue;
		}
		/* Write back while that makes progress.  When the frames ahead
		 * of the hand hold no page to write (every dirty page there is
		 * still referenced), the faults' kicks stay off for a tick of
		 * UPAGER_WB_IDLE_MS: a fault that dirties a page past
		 * dirty_high would otherwise wake this thread for another
		 * fruitless sweep, a futex wake and a sweep per fault (40,000
		 * wakes in a 30,000-miss run of random read-modify-writes). */
		if (atomic_load(&p->stats.dirty_units) > (int64_t)p->dirty_high) {
			if (background_writeback(p) > 0)
				continue;
			atomic_store(&p->wb_kicked, 1);
			worker_sleep(p, seen, UPAGER_WB_IDLE_MS);
			atomic_store(&p->wb_kicked, 0);
			continue;
		}
		atomic_store(&p->wb_kicked, 0);
		worker_sleep(p, seen, 100);
	}
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
	pthread_mutex_unlock(&p->wlock);
	upager__kick_thread(p);
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
	}
	pthread_mutex_unlock(&p->wlock);
	upager__kick_thread(p);
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
