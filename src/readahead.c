/*
 * readahead.c - the read-ahead window of a region.
 *
 * SIGNAL CONTEXT: called from the fault handler; atomics only.
 *
 * A major fault on the page a sequential stream reaches next (the page
 * after the last run read) grows the window: 4 pages, then doubling up to
 * the pager's readahead.  A fault elsewhere resets it to 0 (random access
 * reads just the page).  UPAGER_ADV_SEQUENTIAL starts at the full window,
 * UPAGER_ADV_RANDOM turns read-ahead off.
 *
 * A run is read with one request into the alias view and made readable
 * with one mprotect, except its last page, the marker, which stays
 * inaccessible: touching it is a minor fault that tells the stream goes on
 * and reads the next run before the application gets there (like the
 * kernel's PG_readahead), so a sequential scan takes one fault per run.
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
	unsigned max = r->pager->readahead, w;
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
