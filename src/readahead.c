/*
 * readahead.c - read-ahead: the window of a region, the marker, and the
 * next run (after Linux mm/readahead.c).
 *
 * SIGNAL CONTEXT: called from the fault handler; atomics, page try-locks
 * and page-in (filemap.c) only.
 *
 * A major fault on the page a sequential stream reaches next (the page
 * after the last run read) grows the window: 4 pages, then doubling up to
 * the region's readahead (the pager's unless upager_map_params() set one).
 * A fault elsewhere resets it to 0 (random access
 * reads just the page).  UPAGER_ADV_SEQUENTIAL starts at the full window,
 * UPAGER_ADV_RANDOM turns read-ahead off.
 *
 * A run is read with one request and made readable with one protection
 * change (mprotect.c), except its last page, the marker, which stays
 * inaccessible: touching it is a minor fault that tells the stream goes on
 * and reads the next run before the application gets there (like the
 * kernel's PG_readahead), so a sequential scan takes one fault per run.
 * The next run never waits for frames (filemap.c without demand).
 *
 * Owns: the window, the read-ahead and marker bits' meaning.
 * Calls: filemap.c, page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

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
	} else if (idx == atomic_load_explicit(&r->ra_next, memory_order_relaxed) && idx) {
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

/* After a marker hit on @idx (unlocked now): read the next run. */
void upager__readahead_next(struct upager_region *r, uint64_t next)
{
	struct upager_page *pg;
	unsigned w;

	if (next >= r->npages)
		return;
	pg = &r->pages[next];
	if ((page_flags(pg) & PG_RESIDENT) || !upager__page_trylock(pg))
		return;
	if (!(page_flags(pg) & PG_RESIDENT)) {
		w = upager__ra_window(r, next);
		if (w && upager__page_in_locked(r, next, w, PG_READ, false, NULL) > 0) {
			page_set(pg, PG_READAHEAD);
			STAT_INC(r->pager, readahead);
		}
	}
	upager__page_unlock(pg);
}
