/*
 * workingset.c - workingset detection: shadows of evicted pages, and the
 * refault distance of a page that comes back (after Linux mm/workingset.c).
 *
 * SIGNAL CONTEXT: everything here runs inside the SIGSEGV handler (the
 * Clock evicts and page-ins run in faults), in API calls and on the
 * pager's thread.  Atomics on the pager's clock and on the page's own
 * descriptor only; no locks, no malloc.
 *
 * The idea is Johannes Weiner's (mm/workingset.c, "Workingset detection",
 * 2013).  The pager keeps a clock, nonresident_age, that every eviction by
 * the Clock advances by one.  An evicted page keeps the clock's value at
 * its eviction, its shadow, in its descriptor (the frame field, unused
 * while the page is not resident; PG_SHADOW says it holds one).  When the
 * page is paged in again, that is a refault, and
 *
 *   refault distance = nonresident_age now - shadow   (mod 2^32)
 *
 * is the number of pages evicted since it left.  As workingset.c's header
 * comment argues for its inactive list, the distance is how many frames
 * the memory lacked to keep the page: with nr_frames + distance frames,
 * an LRU would have kept it, and so the distances of the refaults are the
 * part of the pages' re-use distances that did not fit (Mattson, Gecsei,
 * Slutz and Traiger, "Evaluation techniques for storage hierarchies", IBM
 * Systems Journal 9(2), 1970: stack distances give the misses at every
 * memory size).  workingset.c compares the distance with the size of the
 * workingset ("refault_distance <= workingset_size", its active list;
 * workingset_test_recent()) and activates the pages that pass; upager has
 * no active list and compares it with the number of frames: a page that
 * passes would have stayed in a memory at most twice as large.
 *
 * Counted as the kernel counts in /proc/vmstat: workingset_refault every
 * page-in of a page that had a shadow, workingset_activate those whose
 * distance is at most nr_frames (the kernel's workingset_refault_file and
 * workingset_activate_file).  The distances go to a histogram (stats.c),
 * from which upager_stats() estimates the size of the working set.
 *
 * Only the Clock's evictions leave shadows, as only reclaim does in the
 * kernel: a page dropped at the program's request (UPAGER_ADV_DONTNEED,
 * sync with eviction) did not leave because memory was short.  A page
 * paged in consumes its shadow (counted or not: a page-in that fails
 * after its frame was taken has been counted, as the kernel counts a
 * refault when the page enters the page cache, before its read).  The
 * clock wraps at 2^32 evictions; a shadow older than that reads as a
 * shorter distance, as the kernel's truncated eviction counters do.
 *
 * Owns: the clock of evictions, shadows, refault counting.
 * Calls: stats.c (counters and the distance histogram).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

/**
 * upager__workingset_eviction() - the Clock evicted page @pg (locked, no
 * longer resident, its frame slot already released or handed on): leave
 * its shadow.  Advances the pager's clock by one.
 */
void upager__workingset_eviction(struct upager *p, struct upager_page *pg)
{
	/* As the kernel's workingset_eviction(): the stamp is the clock
	 * before this eviction advances it. */
	pg->frame = atomic_fetch_add_explicit(&p->nonresident_age, 1, memory_order_relaxed);
	page_set(pg, PG_SHADOW);
}

/**
 * upager__workingset_age() - the pager's clock of evictions now.  A
 * page-in reads it before it seeks the page's frame, so that the eviction
 * that frame may cost is not part of the page's own distance.
 */
uint32_t upager__workingset_age(struct upager *p)
{
	return atomic_load_explicit(&p->nonresident_age, memory_order_relaxed);
}

/**
 * upager__workingset_refault() - page @pg (locked, not resident) is being
 * paged in; it has a frame, not yet stored in @pg->frame.  If it has a
 * shadow, count the refault and its distance from @age (the clock read
 * before its frame was sought), and consume the shadow.
 *
 * Return: true if it had a shadow and its distance is at most the memory
 * in pages (counted in workingset_activate): a memory twice as large would
 * have kept it.  CLOCK-Pro (vmscan.c) takes that as the end of its test
 * period: such a page was evicted within its test.
 */
bool upager__workingset_refault(struct upager *p, struct upager_page *pg, uint32_t age)
{
	uint32_t distance;
	bool recent;

	if (!(page_flags(pg) & PG_SHADOW))
		return false;
	distance = age - pg->frame; /* mod 2^32: right across a wrap */
	page_clear(pg, PG_SHADOW);
	STAT_INC(p, workingset_refault);
	/* The memory in pages of the pager's size (p->nframes counts units);
	 * with regions of other page sizes, a page of any size counts one. */
	recent = distance <= p->memory_limit >> p->page_shift;
	if (recent)
		STAT_INC(p, workingset_activate);
	upager__stat_refault(p, distance);
	return recent;
}
