/*
 * clockpro.c - CLOCK-Pro's state: hot and cold pages, test periods, m_c
 * (the cold pages' target), and how a page enters and leaves it.
 *
 * SIGNAL CONTEXT: everything here runs inside the SIGSEGV handler (the
 * Clock and page-ins run in faults), in API calls and on the pager's
 * thread.  Atomics on the pager's counts and the page's own descriptor,
 * which the caller has locked; no locks, no malloc.
 *
 * CLOCK-Pro (S. Jiang, F. Chen and X. Zhang, "CLOCK-Pro: An Effective
 * Improvement of the CLOCK Replacement", USENIX ATC 2005; NetBSD's
 * uvm_pdpolicy_clockpro.c is another kernel's version) is the default
 * policy; bench/'s simulator chose it (docs/design.md, "Replacement
 * policy").  Pages are hot (PG_HOT) or cold; a cold page may be in its
 * test period (PG_TEST).  The paper's three hands become one, the shared
 * hand of vmscan.c, whose visit depends on the mode (upager__clock_mode();
 * the action per page state is page.c's):
 *
 *   CLOCK_PRO      hot pages hold at most memory - m_c: the hand passes
 *                  over them (the hot map, frame.c, skips 64 slots a
 *                  word) and visits only cold pages (HAND_cold):
 *                    referenced, in test    -> promoted to hot, m_c + 1
 *                    referenced, not in test -> reference cleared, test
 *                                              starts
 *                    unreferenced           -> evicted (written back
 *                                              first if dirty); in test,
 *                                              its shadow stays in test
 *   CLOCK_PRO_HOT  more hot pages than that: hot pages are visited too
 *                  (HAND_hot): a referenced one loses its reference, an
 *                  unreferenced one is demoted to cold
 *   CLOCK_PLAIN    the urgent turn (every page is a victim), the VMA
 *                  budget's clearing, and UPAGER_CLOCK=clock
 *
 * HAND_test's work is the refault distance: an evicted page stays in its
 * test period while fewer pages than the memory holds have been evicted
 * since (the paper bounds its non-resident pages by the memory), so a page
 * that comes back within that distance enters hot (upager__clock_admit()).
 * m_c, the cold pages' target, grows by one page per re-use in test and
 * shrinks by one per test period that ends unused, between 1/32 of the
 * memory and all but 1/32.  Where this departs from the paper, and why:
 * new pages enter cold out of test (the fault's own reference is not a
 * re-use; the first visit clears it and starts the test), a promoted page
 * keeps its reference, and nothing enters hot just because memory is not
 * yet full.  Hot pages are visited only when a promotion pushes them past
 * their target, so a page the program keeps using is revoked far less
 * often than by Clock's every turn: fewer minor faults, and fewer TLB
 * flushes of the other CPUs (docs/design.md, "Two threads").
 *
 * Owns: m_c and its adaptation, the hand's mode, the hot and test bits of
 * a page (PG_HOT, PG_TEST) as they change.
 * Calls: frame.c (the hot map and the hot units), workingset.c (shadows
 * and refault distances), page.c, stats.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

/*
 * CLOCK-Pro's adaptation (Jiang, Chen and Zhang, section 3.2): m_c, the
 * cold pages' target, grows by a page when a cold page is re-used within
 * its test period (a larger cold allocation would have kept it) and
 * shrinks by one when a test period ends without re-use, within
 * [cold_min, cold_max].  @delta in units.
 */
static void cold_adjust(struct upager *p, int64_t delta)
{
	int64_t t = atomic_load_explicit(&p->cold_target, memory_order_relaxed), n;

	do {
		n = t + delta;
		if (n < p->cold_min)
			n = p->cold_min;
		if (n > p->cold_max)
			n = p->cold_max;
		if (n == t)
			return;
	} while (!atomic_compare_exchange_weak_explicit(&p->cold_target, &t, n,
	                                                memory_order_relaxed,
	                                                memory_order_relaxed));
}

/* How the hand looks at pages now: plain Clock for the urgent turn (every
 * page is a victim) and for pagers without CLOCK-Pro; CLOCK_PRO_HOT while
 * the hot pages hold more than memory minus m_c. */
enum clock_mode upager__clock_mode(struct upager *p, bool urgent)
{
	if (urgent || !p->clockpro)
		return CLOCK_PLAIN;
	return atomic_load_explicit(&p->hot_units, memory_order_relaxed) >
	                       (int64_t)p->nunits -
	                               atomic_load_explicit(&p->cold_target, memory_order_relaxed)
	               ? CLOCK_PRO_HOT
	               : CLOCK_PRO;
}

/*
 * The Clock evicted page @pg of @r (locked, its frame gone): leave its
 * shadow (workingset.c).  A cold page evicted in its test period stays in
 * it, as CLOCK-Pro's non-resident cold page, for as long as its refault
 * distance stays within the memory (upager__clock_admit()).  m_c shrinks
 * now, as if the test ended unused; a refault within it gives that back.
 */
void upager__clock_evicted(struct upager *p, struct upager_region *r, struct upager_page *pg)
{
	upager__workingset_eviction(p, pg);
	if (page_flags(pg) & PG_TEST)
		cold_adjust(p, -(int64_t)r->units);
}

/*
 * The hand found locked page @pg of @r (resident, cold) referenced in its
 * test period: it turns hot and m_c grows.  Its reference is left as it
 * is: a promoted page keeps the access it had, so promotion costs no
 * fault, and the hand's next visit in CLOCK_PRO_HOT mode clears it.
 */
void upager__clock_promote_locked(struct upager_region *r, struct upager_page *pg)
{
	struct upager *p = r->pager;

	page_clear(pg, PG_TEST);
	page_set(pg, PG_HOT);
	upager__frame_heat(p, pg->frame, r->units);
	cold_adjust(p, r->units);
	STAT_INC(p, pgpromote);
}

/*
 * Locked page @pg of @r (resident, hot) turns cold, out of test: the hand
 * found it unreferenced while the hot pages outgrew their target, or
 * UPAGER_ADV_COLD asked.
 */
void upager__clock_demote_locked(struct upager_region *r, struct upager_page *pg)
{
	page_clear(pg, PG_HOT | PG_TEST);
	upager__frame_cool(r->pager, pg->frame, r->units);
	STAT_INC(r->pager, pgdemote);
}

/**
 * upager__clock_admit() - page @pg of @r (locked, not resident, its frame
 * just taken) is being paged in: consume its shadow and count the refault
 * (workingset.c, from @age, the clock of evictions read before the frame
 * was sought), and choose how it enters CLOCK-Pro.
 *
 * A page evicted in its test period whose refault distance is at most the
 * memory is CLOCK-Pro's non-resident cold page re-used within its test: it
 * enters hot, and m_c grows (by two pages: one undoes the shrink its
 * eviction made, upager__clock_evicted()).  Every other page enters cold, out of
 * test: its first reference is the fault that brings it in, so the hand's
 * first visit only clears that reference and starts the test; a page
 * referenced again before the next visit turns hot.  (The paper's pages
 * enter cold in test, and hot while memory is not yet full; here memory
 * that fills with one scan would otherwise hold that scan as hot pages
 * until promotions elsewhere demote them, page by page.)
 */
void upager__clock_admit(struct upager *p, struct upager_region *r, struct upager_page *pg,
                         uint32_t age)
{
	bool in_test = page_flags(pg) & PG_TEST;
	bool recent = upager__workingset_refault(p, pg, age);

	page_clear(pg, PG_HOT | PG_TEST);
	if (p->clockpro && recent && in_test) {
		cold_adjust(p, 2 * (int64_t)r->units);
		page_set(pg, PG_HOT);
		STAT_INC(p, pgpromote);
	}
}
