/*
 * frame.c - the frame table and the memory budget: taking and releasing a
 * free slot, taking and returning free units.  No policy (which page to
 * evict for memory is vmscan.c's).
 *
 * SIGNAL CONTEXT: runs inside the SIGSEGV handler; atomics only.
 *
 * The budget is counted in units of the system page: nunits =
 * memory_limit / unit.  A resident page owns its region's r->units units
 * and one slot of the table, whatever its size; the table has one slot per
 * unit, so a thread that holds the units of a page always finds a free
 * slot for it (every owned slot stands for at least one unit that is not
 * free, and the slot is released before its units: upager__frame_free()).
 * Resident bytes therefore never exceed the limit however the regions'
 * page sizes mix (docs/design.md, "Frames and the budget in bytes").
 *
 * Owns: the owner word of each slot (0 free, else frame_owner() of its
 * page), the hint where the search for a free slot starts, the count of
 * free units, and CLOCK-Pro's hot map: a bit per slot that holds a hot
 * page, and the units of the hot pages (which pages are hot is
 * vmscan.c's policy; the map lets the hand pass over them a word at a
 * time).
 * Calls: page.c (a release wakes threads waiting for a frame).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

/* Take @n free units of the budget if there are that many.  All or none. */
bool upager__units_take(struct upager *p, uint64_t n)
{
	int64_t f = atomic_load_explicit(&p->free_units, memory_order_relaxed);

	while (f >= (int64_t)n)
		if (atomic_compare_exchange_weak(&p->free_units, &f, f - (int64_t)n))
			return true;
	return false;
}

/* Return @n units to the budget (units of an evicted page that its evictor
 * did not need, or of an allocation that gave up). */
void upager__units_put(struct upager *p, uint64_t n)
{
	atomic_fetch_add(&p->free_units, (int64_t)n);
	upager__release_event();
}

/*
 * Release slot @frame and return @units to the budget (0: the caller keeps
 * them, for a page of its own).  The slot is released first, so that
 * whoever takes the units finds a free slot.
 */
void upager__frame_free(struct upager *p, uint32_t frame, uint32_t units)
{
	atomic_store_explicit(&p->frames[frame].owner, 0, memory_order_seq_cst);
	if (units)
		atomic_fetch_add(&p->free_units, (int64_t)units);
	upager__release_event();
}

/*
 * Take a free slot for @owner, whose page already holds its units.  One
 * exists (see the top of this file); the search may miss it only while
 * other threads take and release slots, and then looks again.
 */
uint32_t upager__frame_claim(struct upager *p, uint64_t owner)
{
	for (;;) {
		uint64_t start = atomic_load_explicit(&p->free_hint, memory_order_relaxed);

		for (size_t k = 0; k < p->nframes; k++) {
			uint32_t fi = (uint32_t)((start + k) % p->nframes);
			uint64_t o = atomic_load_explicit(&p->frames[fi].owner, memory_order_relaxed);

			if (o == 0 && atomic_compare_exchange_strong(&p->frames[fi].owner, &o, owner)) {
				atomic_store_explicit(&p->free_hint, fi + 1, memory_order_relaxed);
				return fi;
			}
		}
	}
}

/* ---- the hot map ----------------------------------------------------- */

/* Slot @frame now holds a hot page of @units units. */
void upager__frame_heat(struct upager *p, uint32_t frame, uint32_t units)
{
	atomic_fetch_or_explicit(&p->hot_map[frame / 64], 1ull << (frame % 64),
	                         memory_order_relaxed);
	atomic_fetch_add_explicit(&p->hot_units, (int64_t)units, memory_order_relaxed);
}

/* The hot page of @units units in slot @frame turned cold or left. */
void upager__frame_cool(struct upager *p, uint32_t frame, uint32_t units)
{
	atomic_fetch_and_explicit(&p->hot_map[frame / 64], ~(1ull << (frame % 64)),
	                          memory_order_relaxed);
	atomic_fetch_sub_explicit(&p->hot_units, (int64_t)units, memory_order_relaxed);
}

/*
 * The first slot at or after @frame, wrapping round, whose page is not hot
 * (it may be free); @frame itself if every slot is hot.  Reads a word of
 * the map per 64 slots.
 */
uint32_t upager__frame_next_cold(const struct upager *p, uint32_t frame)
{
	size_t nwords = (p->nframes + 63) / 64, w = frame / 64;
	uint64_t cold = ~atomic_load_explicit(&p->hot_map[w], memory_order_relaxed) &
	                (~0ull << (frame % 64));

	for (size_t k = 0; k <= nwords; k++) {
		if (cold) {
			size_t fi = w * 64 + (size_t)__builtin_ctzll(cold);

			/* Bits past the last slot read as cold: wrap. */
			if (fi < p->nframes)
				return (uint32_t)fi;
			cold = 0;
		}
		w = w + 1 == nwords ? 0 : w + 1;
		cold = ~atomic_load_explicit(&p->hot_map[w], memory_order_relaxed);
	}
	return frame;
}
