/*
 * vmscan.c - the Clock: which frame to take, clearing references, and
 * eviction with write-back (reclaim, after Linux mm/vmscan.c).
 *
 * SIGNAL CONTEXT: everything here runs inside the SIGSEGV handler (and in
 * API calls and on the pager's thread).  Only atomics, page locks taken
 * with try-lock (a page lock is never waited for here, so no cycle can
 * form with a thread that holds one and waits for a frame), the release
 * event's futex, system calls, and the caller's stack.  No malloc.
 *
 * Owns: the Clock hand and its policy, frame allocation for a page
 * (upager__frame_alloc), and granting access within the VMA budget
 * (upager__grant_access).
 * Calls: writeback.c (batches of dirty pages), mprotect.c (protection
 * changes, the punch), frame.c (free slots), region.c (the region of a
 * frame), workingset.c (shadows of evicted pages), page.c, stats.c,
 * inject.c.
 *
 * The frame table has memory_limit / page_size slots; a resident page owns
 * exactly one, so resident memory never exceeds the limit.  The Clock hand
 * is an atomic counter taken modulo the table size, so many threads can
 * sweep at once, each examining the slot it drew:
 *
 *   free slot                  -> claim it
 *   page locked/pinned         -> pass on
 *   page referenced (R or RW)  -> revoke access (PROT_NONE): the reference
 *                                 bit is cleared, the next touch is a minor
 *                                 fault that sets it again
 *   unreferenced, dirty        -> lock, batch; the batch is written back in
 *                                 one submission, then those frames freed
 *   unreferenced, clean        -> evict: punch the page out of the memfd
 *                                 (frees its memory) and take the frame
 *
 * Every page the hand evicts leaves a shadow (workingset.c), so that its
 * refault, if it comes, is recognised; flushes that evict at the
 * program's request (writeback.c) leave none.
 *
 * A demanded page (a fault, a pin) never gives up while a frame can be
 * freed: after one turn, its turns revoke and evict a referenced page in
 * the same visit (a bounded second chance), and when every frame is busy
 * with other threads it sleeps on the release event (page.c).  It fails
 * only when two turns found every frame pinned or holding a page whose
 * write-back failed.  See upager__frame_alloc() and docs/design.md.
 *
 * Protections and the VMA bound: upager__grant_access() keeps the number
 * of accessible pages in the process under upager__vma_budget() by clearing
 * references ahead of the hand when a grant would pass it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"








/* The Clock's action on a page the caller has locked. */
static enum clock_action locked_action(struct upager_page *pg)
{
	return upager__clock_action(page_flags(pg) & ~(uint32_t)(PG_LOCKED | PG_WAITERS));
}

/* The page a frame holds, if its region is still registered. */
static struct upager_page *frame_page(struct upager *p, uint64_t owner,
                                      struct upager_region **rp, uint64_t *idxp)
{
	struct upager_region *r = upager__region_get(owner_region_id(owner));

	if (!r || r->pager != p)
		return NULL;
	*rp = r;
	*idxp = owner_page(owner);
	return &r->pages[*idxp];
}

/* Lock the page of slot @fi if it still holds @owner and is resident there. */
static bool lock_frame_page(struct upager_page *pg, uint32_t fi, uint64_t owner,
                            struct upager_frame *fr)
{
	if (!upager__page_trylock(pg))
		return false;
	if (!(page_flags(pg) & PG_RESIDENT) || pg->frame != fi ||
	    atomic_load(&fr->owner) != owner) {
		upager__page_unlock(pg);
		return false;
	}
	return true;
}

/* Move the Clock hand one slot; return the slot it passed. */
static uint32_t hand_advance(struct upager *p)
{
	return (uint32_t)(atomic_fetch_add_explicit(&p->hand, 1, memory_order_relaxed) %
	                  p->nframes);
}

/*
 * Pages the hand handles together with the one it found: the pages that
 * follow it in the region, sit in the frames the hand reaches next, and want
 * the same action.  A sequential stream leaves such runs; handling them in
 * one mprotect or one punch, and moving the hand past them, is exactly what
 * the hand would have done slot by slot.
 */
#define CLOCK_RUN 16u

/*
 * Extend a run from locked page @idx (in slot @fi) of @r to the following
 * pages in the following slots whose action is @want, locking them
 * (try-lock only).  Return the run's length.
 */
static unsigned lock_run(struct upager *p, struct upager_region *r, uint64_t idx, uint32_t fi,
                         enum clock_action want)
{
	unsigned n = 1;

	while (n < CLOCK_RUN && idx + n < r->npages) {
		struct upager_page *pg = &r->pages[idx + n];
		uint32_t next = (uint32_t)((fi + n) % p->nframes);

		if (upager__clock_action(page_flags(pg)) != want || !upager__page_trylock(pg))
			break;
		if (locked_action(pg) != want || pg->frame != next) {
			upager__page_unlock(pg);
			break;
		}
		n++;
	}
	if (n > 1) {
		atomic_fetch_add_explicit(&p->hand, n - 1, memory_order_relaxed);
		STAT_ADD(p, pgscan, n - 1);
	}
	return n;
}

static void unlock_run(struct upager_region *r, uint64_t idx, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		upager__page_unlock(&r->pages[idx + k]);
}

/* Clear the reference of the page in slot @fi (owner @o) and of the run of
 * referenced pages after it: lock, check, revoke access with one mprotect.
 * Return 1 if done, 0 if the page was busy or changed, -1 if the kernel
 * refused the protection change (not a transient state). */
static int deactivate_slot(struct upager *p, uint32_t fi, uint64_t o, struct upager_region *r,
                           uint64_t idx, struct upager_page *pg)
{
	int done = -1;
	unsigned n;

	if (!lock_frame_page(pg, fi, o, &p->frames[fi]))
		return 0;
	if (locked_action(pg) != CLOCK_DEACTIVATE) {
		upager__page_unlock(pg);
		return 0;
	}
	n = lock_run(p, r, idx, fi, CLOCK_DEACTIVATE);
	if (upager__set_access(r, idx, n, 0) == 0) {
		STAT_ADD(p, pgdeactivate, n);
		done = 1;
		/* Test builds: another thread takes the reference back. */
		if (upager__rereference_injected())
			upager__set_access(r, idx, n, PG_READ);
	}
	unlock_run(r, idx, n);
	return done;
}

/**
 * upager__deactivate_some() - clear up to @want references ahead of need.
 * Sweeps at most one turn of the hand.
 *
 * Return: true if at least one reference was cleared.
 */
bool upager__deactivate_some(struct upager *p, unsigned want)
{
	unsigned done = 0;

	for (size_t scanned = 0; scanned < p->nframes && done < want; scanned++) {
		uint32_t fi = hand_advance(p);
		uint64_t o = atomic_load(&p->frames[fi].owner), idx;
		struct upager_region *r;
		struct upager_page *pg;

		if (!o || !(pg = frame_page(p, o, &r, &idx)))
			continue;
		if (upager__clock_action(page_flags(pg)) == CLOCK_DEACTIVATE &&
		    deactivate_slot(p, fi, o, r, idx, pg) > 0)
			done++;
	}
	return done > 0;
}

struct wb_batch {
	struct upager_region *rs[UPAGER_WB_BATCH];
	uint64_t idxs[UPAGER_WB_BATCH];
	uint32_t frames[UPAGER_WB_BATCH];
	int results[UPAGER_WB_BATCH];
	unsigned n;
};

/*
 * Write back the batch of locked, unreferenced dirty pages, evict those
 * written, and unlock all.  If @owner is non-zero, the first frame freed
 * goes to @owner (returned in *@got, true); the others become free slots.
 */
static bool wb_flush(struct upager *p, struct wb_batch *b, uint64_t owner, uint32_t *got)
{
	bool taken = false;

	if (!b->n)
		return false;
	upager__writeback_locked(p, b->rs, b->idxs, b->n, b->results);
	for (unsigned i = 0; i < b->n; i++) {
		struct upager_region *r = b->rs[i];
		struct upager_page *pg = &r->pages[b->idxs[i]];

		if (b->results[i] == 0 && !(page_flags(pg) & (PG_DIRTY | PG_ACCESS))) {
			upager__evict_locked(r, b->idxs[i]);
			STAT_INC(p, writeback_evict);
			if (owner && !taken) {
				atomic_store(&p->frames[b->frames[i]].owner, owner);
				*got = b->frames[i];
				taken = true;
			} else {
				upager__frame_free(p, b->frames[i]);
			}
			upager__workingset_eviction(p, pg);
		}
		upager__page_unlock(pg);
	}
	b->n = 0;
	return taken;
}


/* What a visit of the hand, or a turn, found: the caller's decision to
 * retry, wait or give up.  Ordered from best to worst. */
enum sweep_result {
	SWEEP_TOOK,     /* a frame was taken */
	SWEEP_PROGRESS, /* a reference cleared: look again */
	SWEEP_BUSY,     /* the frame is busy with another thread: wait for it */
	SWEEP_STUCK,    /* pinned, or its protection cannot change, or (a
	                   batch) every write-back failed */
	SWEEP_QUEUED,   /* (a visit) batched for write-back: judged by the
	                   write's result */
};

/*
 * One visit of the hand to slot @fi.  @urgent is the bounded second chance:
 * a referenced page loses its reference and, in the same visit, is evicted
 * (or batched for write-back) while the hand holds its lock, so no other
 * thread can re-reference it in between.
 */
static enum sweep_result clock_visit(struct upager *p, uint32_t fi, uint64_t owner, bool urgent,
                                     struct wb_batch *b, uint32_t *frame)
{
	struct upager_frame *fr = &p->frames[fi];
	uint64_t o = atomic_load(&fr->owner), idx;
	struct upager_region *r;
	struct upager_page *pg;
	enum clock_action act;
	uint32_t f;

	if (o == 0) {
		if (atomic_compare_exchange_strong(&fr->owner, &o, owner)) {
			atomic_fetch_sub(&p->nfree, 1);
			*frame = fi;
			return SWEEP_TOOK;
		}
		return SWEEP_BUSY; /* another thread took it: it is progressing */
	}
	if (!(pg = frame_page(p, o, &r, &idx)))
		return SWEEP_BUSY; /* its region is being torn down */
	STAT_INC(p, pgscan);
	f = page_flags(pg);
	act = upager__clock_action(f);
	if (act == CLOCK_SKIP)
		return page_pins(f) && !(f & PG_LOCKED) ? SWEEP_STUCK : SWEEP_BUSY;
	if (act == CLOCK_DEACTIVATE && !urgent) {
		int rc = deactivate_slot(p, fi, o, r, idx, pg);
		return rc > 0 ? SWEEP_PROGRESS : rc == 0 ? SWEEP_BUSY : SWEEP_STUCK;
	}
	if (!lock_frame_page(pg, fi, o, fr))
		return SWEEP_BUSY;
	act = locked_action(pg);
	if (act == CLOCK_DEACTIVATE && urgent) {
		/* Bounded second chance: revoke and evict in this visit. */
		if (upager__set_access(r, idx, 1, 0) != 0) {
			upager__page_unlock(pg);
			return SWEEP_STUCK;
		}
		STAT_INC(p, pgdeactivate);
		act = locked_action(pg);
	}
	switch (act) {
	case CLOCK_WRITEBACK:
		b->rs[b->n] = r;
		b->idxs[b->n] = idx;
		b->frames[b->n] = fi;
		b->n++;
		return SWEEP_QUEUED;
	case CLOCK_EVICT: {
		/* Evict the run that starts here: one punch; this frame is
		 * ours, the others go free. */
		unsigned n = lock_run(p, r, idx, fi, CLOCK_EVICT);

		upager__evict_run_locked(r, idx, n);
		for (unsigned k = 1; k < n; k++)
			upager__frame_free(p, r->pages[idx + k].frame);
		/* Their shadows take the frame fields: after the frees. */
		for (unsigned k = 0; k < n; k++)
			upager__workingset_eviction(p, &r->pages[idx + k]);
		atomic_store(&fr->owner, owner);
		unlock_run(r, idx, n);
		*frame = fi;
		return SWEEP_TOOK;
	}
	default:
		/* Changed between the look and the lock (pinned, touched). */
		upager__page_unlock(pg);
		return SWEEP_BUSY;
	}
}

/*
 * One turn of the hand (nframes slots) for @owner.  Dirty unreferenced
 * pages are batched and written in one submission when the batch is full
 * and at the end of the turn; the first frame a batch frees goes to @owner.
 * Return the best result of the turn.
 *
 * The shared hand gives each thread the next slot, so while many threads
 * sweep, nframes draws of one thread are not one visit of every frame.
 * The @urgent turn, whose result may end in a failed fault, therefore
 * visits every slot once in order from where the hand stands (and moves
 * the hand past them all), so that "stuck" means every frame was looked at.
 */
static enum sweep_result clock_turn(struct upager *p, uint64_t owner, bool urgent,
                                    uint32_t *frame)
{
	struct wb_batch b;
	unsigned batch_max = p->nframes / 8 ? (unsigned)(p->nframes / 8) : 1;
	enum sweep_result best = SWEEP_STUCK;

	if (batch_max > UPAGER_WB_BATCH)
		batch_max = UPAGER_WB_BATCH;
	uint64_t start = urgent ? atomic_fetch_add_explicit(&p->hand, p->nframes,
	                                                    memory_order_relaxed) : 0;

	b.n = 0;
	for (size_t scanned = 0; scanned < p->nframes; scanned++) {
		uint32_t fi = urgent ? (uint32_t)((start + scanned) % p->nframes) : hand_advance(p);
		enum sweep_result res = clock_visit(p, fi, owner, urgent, &b, frame);

		if (res == SWEEP_TOOK) {
			wb_flush(p, &b, 0, NULL);
			return SWEEP_TOOK;
		}
		if (res == SWEEP_QUEUED) {
			if (b.n < batch_max)
				continue;
			if (wb_flush(p, &b, owner, frame))
				return SWEEP_TOOK;
			res = SWEEP_STUCK; /* every write of the batch failed */
		}
		if (res < best)
			best = res;
	}
	if (wb_flush(p, &b, owner, frame))
		return SWEEP_TOOK;
	return best;
}

/**
 * upager__frame_alloc() - take a frame for the page @owner, evicting with
 * the Clock algorithm when none is free.
 * @p:      the pager.
 * @owner:  frame_owner() of the page that will hold it (locked by caller,
 *          not resident).
 * @frame:  out: the slot.
 * @demand: the page was demanded by a fault, pin or sync: wait until a
 *          frame can be had.  Without it (read-ahead, WILLNEED), take a free
 *          frame or one turn's clean victim, never wait, and take nothing
 *          while a demanded page waits for a frame.
 *
 * The demanded page's search, in order: a free frame; one turn of the
 * Clock (referenced pages lose their reference, unreferenced ones are
 * evicted, dirty ones written back in a batch first); then turns with a
 * bounded second chance: a referenced page under the hand is revoked and
 * evicted in the same visit, so every unlocked, unpinned page is a victim
 * and no thread can starve while others re-reference pages.  When a turn
 * finds every frame busy (its page locked by another thread's I/O or
 * eviction), the thread sleeps until a page lock or a frame is released
 * (page.c, release events), then turns again.
 *
 * It gives up only when two turns in a row found every frame it could use
 * pinned or holding a dirty page whose write-back failed; the caller raises
 * SIGBUS for a fault (counted in sigbus_nomem) and the write error stays
 * on the page for upager_sync() to report.
 *
 * Waiting is safe: the caller holds only the lock of its own page, which
 * is not resident and owns no frame, and every page lock that makes a frame
 * busy is held by a thread that does not wait for frames while holding it
 * (the Clock takes page locks with try-lock only).
 *
 * Return: 0, -EAGAIN (not @demand: no frame without waiting), or -ENOMEM
 * (nothing can be evicted).
 */
int upager__frame_alloc(struct upager *p, uint64_t owner, uint32_t *frame, bool demand)
{
	enum sweep_result res;
	unsigned stuck = 0;
	bool waiting = false;
	int rc = 0;

	if (!demand && atomic_load_explicit(&p->frame_waiters, memory_order_relaxed))
		return -EAGAIN; /* the last frames are for the demanded page */
	if (upager__frame_take_free(p, owner, frame))
		return 0;
	res = clock_turn(p, owner, false, frame);
	if (res == SWEEP_TOOK)
		return 0;
	if (!demand)
		return -EAGAIN;
	for (;;) {
		uint32_t seen = 0;
		bool armed = false; /* seen was read before this look */

		if (res == SWEEP_BUSY && !waiting) {
			/* Register before the last look (page.c). */
			atomic_fetch_add(&p->frame_waiters, 1);
			waiting = true;
			seen = upager__release_wait_begin();
			armed = true;
		} else if (res == SWEEP_BUSY) {
			upager__release_wait_end();
			seen = upager__release_wait_begin();
			armed = true;
		}
		if (upager__frame_take_free(p, owner, frame))
			break;
		res = clock_turn(p, owner, true, frame);
		if (res == SWEEP_TOOK)
			break;
		if (res == SWEEP_STUCK) {
			if (++stuck >= 2) {
				rc = -ENOMEM;
				break;
			}
			continue;
		}
		stuck = 0;
		if (res == SWEEP_BUSY && armed)
			upager__release_wait(seen);
	}
	if (waiting) {
		upager__release_wait_end();
		atomic_fetch_sub(&p->frame_waiters, 1);
	}
	return rc;
}

/**
 * upager__grant_access() - make locked pages [@idx, @idx + @n) of @r
 * accessible (@access PG_READ or PG_READ | PG_WRITE) within the VMA
 * budget: when the grant would pass it, or the kernel's VMA limit refuses
 * it, clear references ahead of the hand (which merges runs) and retry.
 *
 * Return: 0, or -ENOMEM when the kernel still refuses (flags unchanged).
 */
int upager__grant_access(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	struct upager *p = r->pager;
	int64_t gained = upager__access_gain(r, idx, n, access);
	int tries = 0, rc;

	if (upager__access_over_budget(gained))
		upager__deactivate_some(p, (unsigned)gained + 16);
	while ((rc = upager__set_access(r, idx, n, access)) == -ENOMEM && ++tries <= 4 &&
	       upager__deactivate_some(p, 256))
		;
	return rc;
}

/**
 * upager__deactivate_range() - clear the references of the resident pages
 * [@first, @last] of @r, as the hand's visit does, evicting nothing
 * (UPAGER_ADV_COLD).  Pinned pages keep theirs.  API context: may wait for
 * page locks.  Walks the frame table, so the cost follows what is resident.
 *
 * Return: pages whose reference was cleared, or -ENOMEM if the kernel
 * refused a protection change.
 */
long upager__deactivate_range(struct upager_region *r, uint64_t first, uint64_t last)
{
	struct upager *p = r->pager;
	long n = 0;

	for (size_t fi = 0; fi < p->nframes; fi++) {
		uint64_t o = atomic_load(&p->frames[fi].owner), idx = owner_page(o);
		struct upager_page *pg;
		uint32_t f;

		if (!o || owner_region_id(o) != r->id || idx < first || idx > last)
			continue;
		pg = &r->pages[idx];
		upager__page_lock(pg);
		f = page_flags(pg);
		if ((f & PG_RESIDENT) && pg->frame == fi && (f & PG_ACCESS) && !page_pins(f)) {
			if (upager__set_access(r, idx, 1, 0) != 0) {
				upager__page_unlock(pg);
				return -ENOMEM;
			}
			STAT_INC(p, pgdeactivate);
			n++;
		}
		upager__page_unlock(pg);
	}
	return n;
}

