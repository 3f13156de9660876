/*
 * frame.c - the frame table: taking a free slot and releasing one.  No
 * policy (which page to evict for a frame is vmscan.c's).
 *
 * SIGNAL CONTEXT: runs inside the SIGSEGV handler; atomics only.
 *
 * Owns: the owner word of each slot (0 free, else frame_owner() of its
 * page), the free count and the hint where the search for a free slot
 * starts.
 * Calls: page.c (a release wakes threads waiting for a frame).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

void upager__frame_free(struct upager *p, uint32_t frame)
{
	atomic_store_explicit(&p->frames[frame].owner, 0, memory_order_seq_cst);
	atomic_fetch_add(&p->nfree, 1);
	upager__release_event();
}

/* Take a free frame for @owner, if the free count says there is one. */
bool upager__frame_take_free(struct upager *p, uint64_t owner, uint32_t *frame)
{
	while (atomic_load_explicit(&p->nfree, memory_order_relaxed) > 0) {
		uint64_t start = atomic_load_explicit(&p->free_hint, memory_order_relaxed);
		bool raced = false;

		for (size_t k = 0; k < p->nframes; k++) {
			uint32_t fi = (uint32_t)((start + k) % p->nframes);
			uint64_t o = atomic_load_explicit(&p->frames[fi].owner, memory_order_relaxed);

			if (o != 0)
				continue;
			if (atomic_compare_exchange_strong(&p->frames[fi].owner, &o, owner)) {
				atomic_fetch_sub(&p->nfree, 1);
				atomic_store_explicit(&p->free_hint, fi + 1, memory_order_relaxed);
				*frame = fi;
				return true;
			}
			raced = true;
		}
		if (!raced)
			break; /* nfree was stale: the frames were taken meanwhile */
	}
	return false;
}
