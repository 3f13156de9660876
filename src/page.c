/*
 * page.c - page locks and the Clock policy on one page's state.
 *
 * SIGNAL CONTEXT: everything here runs inside the SIGSEGV handler.  No
 * malloc, no pthread locks: the page lock is a bit in the page's flags word
 * and waiters sleep with futex(2), which is async-signal-safe.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/**
 * upager__clock_action() - what the Clock hand does with a page.
 * @flags: the page's flags word as read by the hand.
 *
 * A page that is locked (someone is paging it), pinned or not resident is
 * passed over.  A referenced page (accessible in the app view) gets a second
 * chance: the hand revokes its access, which clears the reference bit.  An
 * unreferenced page is evicted, after write-back if dirty.
 *
 * Return: the action.
 */
enum clock_action upager__clock_action(uint32_t flags)
{
	if (flags & PG_LOCKED)
		return CLOCK_SKIP;
	if (!(flags & PG_RESIDENT))
		return CLOCK_SKIP;
	if (page_pins(flags))
		return CLOCK_SKIP;
	if (flags & PG_ACCESS)
		return CLOCK_DEACTIVATE;
	if (flags & PG_DIRTY)
		return CLOCK_WRITEBACK;
	return CLOCK_EVICT;
}

bool upager__page_trylock(struct upager_page *pg)
{
	uint32_t f = atomic_load_explicit(&pg->flags, memory_order_relaxed);

	while (!(f & PG_LOCKED)) {
		if (atomic_compare_exchange_weak_explicit(&pg->flags, &f, f | PG_LOCKED,
		                                          memory_order_acquire,
		                                          memory_order_relaxed))
			return true;
	}
	return false;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/**
 * upager__page_wait() - sleep until the page lock is released.
 * @pg:   the page.
 * @seen: a flags value the caller saw with PG_LOCKED set.
 *
 * Returns when the lock was released (or spuriously); the caller re-reads.
 */
void upager__page_wait(struct upager_page *pg, uint32_t seen)
{
	uint32_t f = seen;

	if (!(f & PG_LOCKED))
		return;
	if (!(f & PG_WAITERS)) {
		if (!atomic_compare_exchange_strong_explicit(&pg->flags, &f, f | PG_WAITERS,
		                                             memory_order_relaxed,
		                                             memory_order_relaxed))
			return; /* changed under us: let the caller look again */
		f |= PG_WAITERS;
	}
	futex_wait(&pg->flags, f);
}

void upager__page_lock(struct upager_page *pg)
{
	while (!upager__page_trylock(pg))
		upager__page_wait(pg, atomic_load_explicit(&pg->flags, memory_order_relaxed));
}

void upager__page_unlock(struct upager_page *pg)
{
	uint32_t old = atomic_fetch_and_explicit(&pg->flags, ~(PG_LOCKED | PG_WAITERS),
	                                         memory_order_release);
	if (old & PG_WAITERS)
		futex_wake_all(&pg->flags);
}
