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
 * Owns: the Clock hand and its visits, frame allocation for a page
 * (upager__frame_alloc), and granting access within the VMA budget
 * (upager__grant_access).
 * Calls: writeback.c (batches of dirty pages), mprotect.c (protection
 * changes, the punch), clockpro.c (the mode, promotion and demotion,
 * shadows of evicted pages), frame.c (free slots and units, the hot map),
 * region.c (the region of a frame), page.c, stats.c, inject.c.
 *
 * Memory is a budget of units (system pages, frame.c): a resident page
 * owns its region's r->units of them and one slot of the frame table, so
 * resident bytes never exceed the limit whatever the regions' page sizes.
 * A page is given memory from the free units, or else from the pages the
 * Clock evicts for it, until their units add up to its own (a 2 MiB page
 * may take many 16 KiB victims; a 16 KiB page takes part of a 2 MiB
 * victim's units and leaves the rest free).  The Clock hand is an atomic
 * counter taken modulo the table size, so many threads can sweep at once,
 * each examining the slot it drew:
 *
 *   free slot                  -> pass on (its units are in the budget)
 *   page locked/pinned         -> pass on
 *   page referenced (R or RW)  -> revoke access (PROT_NONE): the reference
 *                                 bit is cleared, the next touch is a minor
 *                                 fault that sets it again
 *   unreferenced, dirty        -> lock, batch; the batch is written back in
 *                                 one submission, then those frames freed
 *   unreferenced, clean        -> evict: punch the page out of the memfd
 *                                 (frees its memory), take its units and,
 *                                 if they complete the page's, its frame
 *
 * Every page the hand evicts leaves a shadow (workingset.c, through
 * clockpro.c), so that its refault, if it comes, is recognised; flushes
 * that evict at the program's request (writeback.c) leave none.
 *
 * CLOCK-Pro is the default policy (clockpro.c has it: hot and cold pages,
 * test periods, m_c).  The hand's visit depends on the mode
 * (upager__clock_mode()): while hot pages fit their target it passes over
 * them, a word of the hot map (frame.c) at a time, and works on cold pages
 * only; past the target it visits hot pages too; the urgent turn, the VMA
 * budget's clearing and UPAGER_CLOCK=clock are plain Clock.
 *
 * A demanded page (a fault, a pin) never gives up while a frame can be
 * freed: after one turn, its turns revoke and evict a referenced page in
 * the same visit (a bounded second chance), and when every frame is busy
 * with other threads it sleeps on the release event (page.c).  It fails
 * only when two turns found so much memory pinned or holding pages whose
 * write-back failed that the page cannot fit in the rest.  See
 * upager__frame_alloc() and docs/design.md.
 *
 * Protections and the VMA bound: upager__grant_access() keeps the VMA
 * budget's measure (mprotect.c: legacy accessible pages, armed chunks,
 * runs of read-write pages) under upager__vma_budget() by clearing
 * references ahead of the hand when a grant would pass it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

/* The Clock's action on a page the caller has locked. */
static enum clock_action locked_action(struct upager_page *pg, enum clock_mode mode)
{
	return upager__clock_action(page_flags(pg) & ~(uint32_t)(PG_LOCKED | PG_WAITERS), mode);
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
 * CLOCK-Pro with hot pages within their target: move the hand to the next
 * slot that holds no hot page (the hot map, a word per 64 slots) and past
 * it; return that slot, and in @passed the slots the hand moved.
 */
static uint32_t hand_advance_cold(struct upager *p, size_t *passed)
{
	uint64_t h = atomic_load_explicit(&p->hand, memory_order_relaxed);

	for (;;) {
		uint32_t s = (uint32_t)(h % p->nframes), c = upager__frame_next_cold(p, s);
		uint64_t d = (c >= s ? c - s : c + p->nframes - s) + 1;

		if (atomic_compare_exchange_weak_explicit(&p->hand, &h, h + d, memory_order_relaxed,
		                                          memory_order_relaxed)) {
			*passed = d;
			return c;
		}
	}
}

/*
 * Pages the hand handles together with the one it found: the pages that
 * follow it in the region, sit in the frames the hand reaches next, and want
 * the same action.  A sequential stream leaves such runs; handling them in
 * one protection change or one punch, and moving the hand past them, is
 * exactly what the hand would have done slot by slot.
 *
 * Each revocation and each punch zaps page-table entries, and every zap
 * flushes the TLB, by IPI on the other CPUs that ran the process: on this
 * project's machine kind the flush, not the zap, was most of a cold scan
 * (59% of the faulting thread's samples at runs of 16 pages; bench/ seq
 * cold 0.15-0.25 GB/s at 16, 0.74-0.76 at 256).  Runs are therefore long,
 * up to CLOCK_RUN pages, but at most 1/64 of the frames (and at least
 * CLOCK_RUN_MIN), so that a small memory is not swept out at once.
 */
#define CLOCK_RUN 256u
#define CLOCK_RUN_MIN 16u

static unsigned run_max(const struct upager *p)
{
	size_t n = p->nframes / 64;

	return n < CLOCK_RUN_MIN ? CLOCK_RUN_MIN : n > CLOCK_RUN ? CLOCK_RUN : (unsigned)n;
}

/*
 * Extend a run from locked page @idx (in slot @fi) of @r to the following
 * pages in the following slots whose action is @want, locking them
 * (try-lock only).  Return the run's length.
 */
static unsigned lock_run(struct upager *p, struct upager_region *r, uint64_t idx, uint32_t fi,
                         enum clock_action want, enum clock_mode mode)
{
	unsigned n = 1, max = run_max(p);

	while (n < max && idx + n < r->npages) {
		struct upager_page *pg = &r->pages[idx + n];
		uint32_t next = (uint32_t)((fi + n) % p->nframes);

		if (upager__clock_action(page_flags(pg), mode) != want ||
		    !upager__page_trylock(pg))
			break;
		if (locked_action(pg, mode) != want || pg->frame != next) {
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
 * referenced pages after it: lock, check, revoke access with one protection
 * change.  In CLOCK-Pro's modes, the cold pages of the run start their
 * test period.
 * Return 1 if done, 0 if the page was busy or changed, -1 if the kernel
 * refused the protection change (not a transient state). */
static int deactivate_slot(struct upager *p, uint32_t fi, uint64_t o, struct upager_region *r,
                           uint64_t idx, struct upager_page *pg, enum clock_mode mode)
{
	int done = -1;
	unsigned n;

	if (!lock_frame_page(pg, fi, o, &p->frames[fi]))
		return 0;
	if (locked_action(pg, mode) != CLOCK_DEACTIVATE) {
		upager__page_unlock(pg);
		return 0;
	}
	n = lock_run(p, r, idx, fi, CLOCK_DEACTIVATE, mode);
	if (upager__set_access(r, idx, n, 0) == 0) {
		STAT_ADD(p, pgdeactivate, n);
		done = 1;
		for (unsigned k = 0; mode != CLOCK_PLAIN && k < n; k++)
			if (!(page_flags(&r->pages[idx + k]) & PG_HOT))
				page_set(&r->pages[idx + k], PG_TEST);
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
		if (upager__clock_action(page_flags(pg), CLOCK_PLAIN) == CLOCK_DEACTIVATE &&
		    deactivate_slot(p, fi, o, r, idx, pg, CLOCK_PLAIN) > 0)
			done++;
	}
	return done > 0;
}

/*
 * CLOCK-Pro: lock the page in slot @fi (owner @o) and, if @want
 * (CLOCK_PROMOTE or CLOCK_DEMOTE) is still its action, turn it hot or
 * cold (clockpro.c).
 * Return: true if done, false if the page was busy or changed.
 */
static bool set_temperature(struct upager *p, uint32_t fi, uint64_t o, struct upager_region *r,
                            struct upager_page *pg, enum clock_action want,
                            enum clock_mode mode)
{
	if (!lock_frame_page(pg, fi, o, &p->frames[fi]))
		return false;
	if (locked_action(pg, mode) != want) {
		upager__page_unlock(pg);
		return false;
	}
	if (want == CLOCK_PROMOTE)
		upager__clock_promote_locked(r, pg);
	else
		upager__clock_demote_locked(r, pg);
	upager__page_unlock(pg);
	return true;
}

struct wb_batch {
	struct upager_region *rs[UPAGER_WB_BATCH];
	uint64_t idxs[UPAGER_WB_BATCH];
	uint32_t frames[UPAGER_WB_BATCH];
	int results[UPAGER_WB_BATCH];
	unsigned n;
};

/*
 * An allocation under way: the page that wants memory, the units it still
 * lacks, and what the current turn of the hand found.  Units of the pages
 * its turns evict go to it (held) until it has the units of its page, so
 * that no other thread takes them in between: a demanded page of any size
 * gets the memory its own turns free.
 */
struct alloc {
	uint64_t owner;   /* frame_owner() of the page */
	uint32_t need;    /* units of the page */
	uint32_t held;    /* units taken from victims, not yet the page's */
	uint32_t frame;   /* the page's frame, once done */
	bool done;        /* the page has its units and its frame */
	/* what the current turn found */
	bool progress;    /* a reference cleared, or units gained */
	uint64_t stuck;   /* units of pinned pages, of pages whose protection
	                     cannot change, and of failed write-backs */
};

/* Victim frame @fi (still owned) was evicted and its @units are free: they
 * go to @a until it has enough, and the frame too when they complete it;
 * the rest to the budget. */
static void gain(struct upager *p, struct alloc *a, uint32_t fi, uint32_t units)
{
	if (!a || a->done) {
		upager__frame_free(p, fi, units);
		return;
	}
	a->progress = true;
	a->held += units;
	if (a->held < a->need) {
		upager__frame_free(p, fi, 0); /* the slot goes; the units are ours */
		return;
	}
	atomic_store(&p->frames[fi].owner, a->owner);
	if (a->held > a->need)
		upager__units_put(p, a->held - a->need);
	a->held = 0;
	a->frame = fi;
	a->done = true;
}

/* Complete @a from the free units if there are enough, and take a slot. */
static bool take_free(struct upager *p, struct alloc *a)
{
	if (a->done)
		return true;
	if (!upager__units_take(p, a->need - a->held))
		return false;
	a->held = 0;
	a->frame = upager__frame_claim(p, a->owner);
	a->done = true;
	return true;
}

/* Give the units @a holds back to the budget (it gives up, or waits). */
static void release_held(struct upager *p, struct alloc *a)
{
	if (a->held) {
		upager__units_put(p, a->held);
		a->held = 0;
	}
}

/*
 * Write back the batch of locked, unreferenced dirty pages, evict those
 * written, and unlock all.  The units of the pages freed go to @a (NULL:
 * to the budget) as gain() says.
 */
static void wb_flush(struct upager *p, struct wb_batch *b, struct alloc *a)
{
	if (!b->n)
		return;
	upager__writeback_locked(p, b->rs, b->idxs, b->n, b->results);
	for (unsigned i = 0; i < b->n; i++) {
		struct upager_region *r = b->rs[i];
		struct upager_page *pg = &r->pages[b->idxs[i]];

		if (b->results[i] == 0 && !(page_flags(pg) & (PG_DIRTY | PG_ACCESS))) {
			upager__evict_locked(r, b->idxs[i]);
			STAT_INC(p, writeback_evict);
			gain(p, a, b->frames[i], r->units);
			upager__clock_evicted(p, r, pg);
		} else if (a && b->results[i] != 0) {
			a->stuck += r->units;
		}
		upager__page_unlock(pg);
	}
	b->n = 0;
}


/* What a turn of the hand found: the caller's decision to retry, wait or
 * give up. */
enum sweep_result {
	SWEEP_TOOK,     /* the page has its frame */
	SWEEP_PROGRESS, /* a reference cleared or units gained: look again */
	SWEEP_BUSY,     /* the memory is with other threads: wait for them */
	SWEEP_STUCK,    /* what is pinned, cannot change protection or failed
	                   its write-back leaves less than the page needs */
};

/*
 * One visit of the hand to slot @fi for @a.  @urgent is the bounded second
 * chance: a referenced page loses its reference and, in the same visit, is
 * evicted (or batched for write-back) while the hand holds its lock, so no
 * other thread can re-reference it in between.  A free slot is passed:
 * its units are in the budget, or with an allocation under way.
 */
static void clock_visit(struct upager *p, uint32_t fi, struct alloc *a, bool urgent,
                        enum clock_mode mode, struct wb_batch *b)
{
	struct upager_frame *fr = &p->frames[fi];
	uint64_t o = atomic_load(&fr->owner), idx;
	struct upager_region *r;
	struct upager_page *pg;
	enum clock_action act;
	uint32_t f;

	if (o == 0 || !(pg = frame_page(p, o, &r, &idx)))
		return; /* free, or its region is being torn down */
	STAT_INC(p, pgscan);
	f = page_flags(pg);
	act = upager__clock_action(f, mode);
	if (act == CLOCK_SKIP) {
		if (page_pins(f) && !(f & PG_LOCKED))
			a->stuck += r->units;
		return; /* locked: busy with another thread; or hot */
	}
	if (act == CLOCK_PROMOTE || act == CLOCK_DEMOTE) {
		if (set_temperature(p, fi, o, r, pg, act, mode))
			a->progress = true;
		return;
	}
	if (act == CLOCK_DEACTIVATE && !urgent) {
		int rc = deactivate_slot(p, fi, o, r, idx, pg, mode);
		if (rc > 0)
			a->progress = true;
		else if (rc < 0)
			a->stuck += r->units;
		return;
	}
	if (!lock_frame_page(pg, fi, o, fr))
		return;
	act = locked_action(pg, mode);
	if (act == CLOCK_DEACTIVATE && urgent) {
		/* Bounded second chance: revoke and evict in this visit. */
		if (upager__set_access(r, idx, 1, 0) != 0) {
			upager__page_unlock(pg);
			a->stuck += r->units;
			return;
		}
		STAT_INC(p, pgdeactivate);
		act = locked_action(pg, mode);
	}
	switch (act) {
	case CLOCK_WRITEBACK:
		b->rs[b->n] = r;
		b->idxs[b->n] = idx;
		b->frames[b->n] = fi;
		b->n++;
		return;
	case CLOCK_EVICT: {
		/* Evict the run that starts here with one punch; its pages sit
		 * in slots fi, fi + 1, ... (lock_run). */
		unsigned n = lock_run(p, r, idx, fi, CLOCK_EVICT, mode);

		upager__evict_run_locked(r, idx, n);
		for (unsigned k = 0; k < n; k++)
			gain(p, a, (uint32_t)((fi + k) % p->nframes), r->units);
		/* Their shadows take the frame fields: after the frames went. */
		for (unsigned k = 0; k < n; k++)
			upager__clock_evicted(p, r, &r->pages[idx + k]);
		unlock_run(r, idx, n);
		return;
	}
	default:
		/* Changed between the look and the lock (pinned, touched). */
		upager__page_unlock(pg);
		return;
	}
}

/*
 * One turn of the hand (nframes slots) for @a.  Dirty unreferenced pages
 * are batched and written in one submission when the batch is full and at
 * the end of the turn; the units they free go to @a.  Between visits, @a
 * is completed from the free units as soon as they suffice.
 *
 * The shared hand gives each thread the next slot, so while many threads
 * sweep, nframes draws of one thread are not one visit of every frame.
 * The @urgent turn, whose result may end in a failed fault, therefore
 * visits every slot once in order from where the hand stands (and moves
 * the hand past them all), so that "stuck" means every frame was looked at.
 *
 * Return: SWEEP_TOOK, SWEEP_PROGRESS (@a keeps what it gained), else @a's
 * units go back to the budget and SWEEP_STUCK if the units stuck in pages
 * leave fewer than the page needs, SWEEP_BUSY if not (the rest is with
 * other threads: locked pages, allocations under way).
 */
static enum sweep_result clock_turn(struct upager *p, struct alloc *a, bool urgent)
{
	struct wb_batch b;
	uint64_t npages = p->memory_limit >> p->page_shift; /* of the pager's size */
	unsigned batch_max = npages / 8 ? (unsigned)(npages / 8) : 1;

	if (batch_max > UPAGER_WB_BATCH)
		batch_max = UPAGER_WB_BATCH;
	uint64_t start = urgent ? atomic_fetch_add_explicit(&p->hand, p->nframes,
	                                                    memory_order_relaxed) : 0;

	a->progress = false;
	a->stuck = 0;
	b.n = 0;
	for (size_t scanned = 0; scanned < p->nframes && !a->done;) {
		enum clock_mode mode = upager__clock_mode(p, urgent);
		size_t passed = 1;
		uint32_t fi = urgent               ? (uint32_t)((start + scanned) % p->nframes)
		              : mode == CLOCK_PRO ? hand_advance_cold(p, &passed)
		                                  : hand_advance(p);

		scanned += passed;
		clock_visit(p, fi, a, urgent, mode, &b);
		if (b.n >= batch_max)
			wb_flush(p, &b, a);
		if (!a->done && atomic_load_explicit(&p->free_units, memory_order_relaxed) >=
		                        (int64_t)(a->need - a->held))
			take_free(p, a);
	}
	wb_flush(p, &b, a);
	if (a->done)
		return SWEEP_TOOK;
	if (a->progress)
		return SWEEP_PROGRESS;
	release_held(p, a);
	return a->stuck + a->need > p->nunits ? SWEEP_STUCK : SWEEP_BUSY;
}

/**
 * upager__frame_alloc() - take the memory of a page: its units of the
 * budget and a frame, evicting with the Clock algorithm when the free
 * units do not suffice.
 * @p:      the pager.
 * @owner:  frame_owner() of the page that will hold it (locked by caller,
 *          not resident).
 * @units:  the page's units (its region's r->units).
 * @frame:  out: the slot.
 * @demand: the page was demanded by a fault, pin or sync: wait until its
 *          memory can be had.  Without it (read-ahead, WILLNEED), take free
 *          units or one turn's clean victims, never wait, and take nothing
 *          while a demanded page waits for memory.
 *
 * The demanded page's search, in order: the free units; one turn of the
 * Clock (referenced pages lose their reference, unreferenced ones are
 * evicted, dirty ones written back in a batch first), whose evictions give
 * their units to this page until it has enough; then turns with a bounded
 * second chance: a referenced page under the hand is revoked and evicted
 * in the same visit, so every unlocked, unpinned page is a victim and no
 * thread can starve while others re-reference pages.  A turn that gained
 * nothing gives its units back (so that threads that each hold part of
 * what they need cannot block each other) and, when the memory is with
 * other threads (pages locked for their I/O or eviction, allocations under
 * way), the thread sleeps until a page lock, a frame or units are released
 * (page.c, release events), then turns again.
 *
 * It gives up only when two turns in a row found so many units in pages
 * that are pinned or hold a dirty page whose write-back failed that fewer
 * than @units remain for anything else; the caller raises SIGBUS for a
 * fault (counted in sigbus_nomem) and the write error stays on the page
 * for upager_sync() to report.  With one page size that is "every frame".
 *
 * Waiting is safe: the caller holds only the lock of its own page, which
 * is not resident and owns no frame and (while it sleeps) no units, and
 * every page lock that makes a frame busy is held by a thread that does
 * not wait for frames while holding it (the Clock takes page locks with
 * try-lock only).
 *
 * Return: 0, -EAGAIN (not @demand: no memory without waiting), or -ENOMEM
 * (nothing can be evicted).
 */
int upager__frame_alloc(struct upager *p, uint64_t owner, uint32_t units, uint32_t *frame,
                        bool demand)
{
	struct alloc a = { .owner = owner, .need = units };
	enum sweep_result res;
	unsigned stuck = 0;
	bool waiting = false;
	int rc = 0;

	if (!demand && atomic_load_explicit(&p->frame_waiters, memory_order_relaxed))
		return -EAGAIN; /* the last frames are for the demanded page */
	if (take_free(p, &a))
		goto took;
	res = clock_turn(p, &a, false);
	if (res == SWEEP_TOOK)
		goto took;
	if (!demand) {
		release_held(p, &a);
		return -EAGAIN;
	}
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
		if (take_free(p, &a))
			break;
		res = clock_turn(p, &a, true);
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
	if (rc)
		return rc;
took:
	*frame = a.frame;
	return 0;
}

/**
 * upager__grant_access() - make locked pages [@idx, @idx + @n) of @r
 * accessible (@access PG_READ or PG_READ | PG_WRITE) within the VMA
 * budget: when the grant would pass it, or the kernel's VMA limit refuses
 * it, clear references ahead of the hand (which merges runs once the
 * budget is short: mprotect.c) and retry; a refusal first makes the idle
 * read-write pages of every armed chunk read-only (upager__access_tidy).
 * Read-write pages are mapped at once (upager__populate_write), so their
 * first store takes no fault in the kernel.
 *
 * Return: 0, or -ENOMEM when the kernel still refuses (flags unchanged).
 */
int upager__grant_access(struct upager_region *r, uint64_t idx, uint64_t n, uint32_t access)
{
	struct upager *p = r->pager;
	int64_t gained = upager__access_gain(r, idx, n, access);
	/* Enough batches to clear every reference once: with guard markers
	 * only the revocation of dirty pages (under pressure) merges VMAs. */
	size_t tries = 0, max_tries = 4 + p->nframes / 256;
	bool tidied = false;
	int rc;

	if (upager__access_over_budget(gained))
		upager__deactivate_some(p, (unsigned)gained + 16);
	while ((rc = upager__set_access(r, idx, n, access)) == -ENOMEM && ++tries <= max_tries) {
		/* Refused: first the pages left read-write while idle, once
		 * (mprotect.c), then references. */
		if (!tidied) {
			tidied = true;
			if (upager__access_tidy(p))
				continue;
		}
		if (!upager__deactivate_some(p, 256))
			break;
	}
	if (rc == 0 && (access & PG_WRITE))
		upager__populate_write(r, idx, n);
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
		if ((f & PG_RESIDENT) && pg->frame == fi && !page_pins(f) && (f & PG_HOT))
			upager__clock_demote_locked(r, pg);
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

