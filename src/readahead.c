/*
 * readahead.c - read-ahead: the window of a region, the marker, and the
 * next run (after Linux mm/readahead.c).
 *
 * SIGNAL CONTEXT: called from the fault handler; atomics, page try-locks,
 * the pager's event word (a futex wake) and page-in (filemap.c) only.
 * upager__readahead_async() runs on the pager's thread.
 *
 * A major fault on the page a sequential stream reaches next (the page
 * after the last run read, or after resident pages that follow it) grows
 * the window: 4 pages, then doubling up to
 * the region's readahead (the pager's unless upager_map_params() set one).
 * A fault elsewhere resets it to 0 (random access
 * reads just the page).  UPAGER_ADV_SEQUENTIAL starts at the full window,
 * UPAGER_ADV_RANDOM turns read-ahead off.
 *
 * A run is read with one request and made readable with one protection
 * change (mprotect.c), except its first read-ahead page, the marker, which
 * stays inaccessible: the page after the demanded one, or the first page
 * of a run read without demand.  Touching the marker is a minor fault that
 * tells the stream goes on, like the kernel's PG_readahead: it posts the
 * next run (the pages after the last run read) to the pager's thread and
 * returns, so the next run is read while the application works through
 * this one, and a sequential scan takes one fault per run and waits for
 * I/O only when it outruns the disk.  The pager's thread reads posted runs
 * with the same page-in as a fault, without waiting for frames; with every
 * slot taken (UPAGER_RA_ASYNC streams at once), the faulting thread reads
 * the run itself.  A run may also be read by a fault that gets there
 * first: page locks decide, and each page is read once.
 *
 * Owns: the window, the read-ahead and marker bits' meaning, the posted
 * runs (struct upager's ra_async).
 * Calls: filemap.c, writeback.c (the pager's event word), gate.c,
 * region.c, page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

/*
 * Whether a fault at @idx continues @r's stream: it is the page after the
 * last run read, or every page between is resident (a scan over data
 * partly in memory: pages kept from before, or faulted in by other
 * accesses), up to UPAGER_RA_GAP pages of them.  Without the second case
 * each resident page in a scan's way reset the window, and a scan of
 * upager_alloc memory after random read-modify-writes took a fault per 6
 * pages.  Flags are read without locks: it only sizes the window.
 */
static bool continues_stream(struct upager_region *r, uint64_t idx)
{
	uint64_t next = atomic_load_explicit(&r->ra_next, memory_order_relaxed);

	if (!idx || idx < next || idx - next > UPAGER_RA_GAP)
		return false;
	for (uint64_t i = next; i < idx; i++)
		if (!(page_flags(&r->pages[i]) & PG_RESIDENT))
			return false;
	return true;
}

/**
 * upager__ra_window() - pages to read ahead of a major fault at @idx.
 * @r:   the region.
 * @idx: the faulting page.
 *
 * Return: pages to read after @idx (0 for none).
 */
unsigned upager__ra_window(struct upager_region *r, uint64_t idx)
{
	unsigned max = r->readahead, w;
	int advice = atomic_load_explicit(&r->advice, memory_order_relaxed);

	if (max == 0 || advice == UPAGER_ADV_RANDOM)
		return 0;
	if (advice == UPAGER_ADV_SEQUENTIAL) {
		w = max;
	} else if (continues_stream(r, idx)) {
		w = atomic_load_explicit(&r->ra_window, memory_order_relaxed);
		w = w ? 2 * w : 4;
		if (w > max)
			w = max;
	} else {
		w = 0;
	}
	atomic_store_explicit(&r->ra_window, w, memory_order_relaxed);
	return w;
}

/* A read-ahead page was touched: count it, and at the marker count the run
 * before it and read the next run. */
void upager__readahead_hit(struct upager_region *r, uint64_t idx, uint32_t f)
{
	struct upager *p = r->pager;

	if (f & PG_READAHEAD) {
		page_clear(&r->pages[idx], PG_READAHEAD);
		STAT_INC(p, readahead_used);
	}
	if (!(f & PG_RA_MARK))
		return;
	page_clear(&r->pages[idx], PG_RA_MARK);
	for (uint64_t j = idx; j-- > 0 && idx - j <= r->readahead;) {
		uint32_t old = atomic_fetch_and(&r->pages[j].flags, ~(uint32_t)PG_READAHEAD);
		if (!(old & PG_READAHEAD))
			break;
		STAT_INC(p, readahead_used);
	}
}

/* Read the run that starts at page @next of @r (locked by nobody yet):
 * its first page is a read-ahead page and the marker. */
static void read_run(struct upager_region *r, uint64_t next)
{
	struct upager_page *pg = &r->pages[next];
	unsigned w;

	if ((page_flags(pg) & PG_RESIDENT) || !upager__page_trylock(pg))
		return;
	if (!(page_flags(pg) & PG_RESIDENT)) {
		/* A stream of stores gets its zero-filled runs writable. */
		uint32_t access = atomic_load_explicit(&r->ra_write, memory_order_relaxed)
		                          ? PG_READ | PG_WRITE
		                          : PG_READ;

		w = upager__ra_window(r, next);
		if (w && upager__page_in_locked(r, next, w, access, false, NULL) > 0) {
			page_set(pg, PG_READAHEAD);
			STAT_INC(r->pager, readahead);
		}
	}
	upager__page_unlock(pg);
}

/* Post the run at @next of @r for the pager's thread; false if every slot
 * is taken.  Async-signal-safe: atomics and a futex wake. */
static bool post_run(struct upager_region *r, uint64_t next)
{
	struct upager *p = r->pager;
	uint64_t o = frame_owner(r, next);

	for (unsigned i = 0; i < UPAGER_RA_ASYNC; i++)
		if (atomic_load_explicit(&p->ra_async[i], memory_order_relaxed) == o)
			return true; /* posted already */
	for (unsigned i = 0; i < UPAGER_RA_ASYNC; i++) {
		uint64_t empty = 0;

		if (atomic_compare_exchange_strong(&p->ra_async[i], &empty, o)) {
			upager__kick_thread(p);
			return true;
		}
	}
	return false;
}

/**
 * upager__readahead_next() - the marker @marker of @r was touched (its
 * page is unlocked now), by a store if @store: have the next run read, the
 * pages after the last run read, by the pager's thread, or by this thread
 * when no slot is free.  A run that is zero-filled (new upager_alloc
 * memory) comes read-write and dirty after a store (filemap.c), so a
 * sequential writer takes one fault per run.
 */
void upager__readahead_next(struct upager_region *r, uint64_t marker, bool store)
{
	uint64_t next = atomic_load_explicit(&r->ra_next, memory_order_relaxed);

	atomic_store_explicit(&r->ra_write, store && r->writable, memory_order_relaxed);
	if (next <= marker || next >= r->npages)
		return;
	/* The run starts after the pages already resident (as many as
	 * continues_stream() passes over). */
	for (unsigned gap = 0; gap < UPAGER_RA_GAP && next + 1 < r->npages &&
	                       (page_flags(&r->pages[next]) & PG_RESIDENT);
	     gap++)
		next++;
	if (page_flags(&r->pages[next]) & (PG_RESIDENT | PG_LOCKED))
		return;
	if (!post_run(r, next))
		read_run(r, next);
}

/**
 * upager__readahead_async() - read the runs posted to the pager's thread.
 * @p: the pager; called on its thread.
 *
 * Each run's region is looked up by id inside the region gate, so a
 * region unmapped since the post is skipped (a region that took its id
 * meanwhile gets a harmless read-ahead).
 *
 * Return: true if a run was taken.
 */
bool upager__readahead_async(struct upager *p)
{
	bool any = false;

	for (unsigned i = 0; i < UPAGER_RA_ASYNC; i++) {
		uint64_t o = atomic_exchange(&p->ra_async[i], 0);
		struct upager_region *r;

		if (!o)
			continue;
		any = true;
		upager__gate_read_enter();
		r = upager__region_get(owner_region_id(o));
		if (r && r->pager == p && owner_page(o) < r->npages)
			read_run(r, owner_page(o));
		upager__gate_read_exit();
	}
	return any;
}
