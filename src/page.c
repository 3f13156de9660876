/*
 * page.c - page locks, the Clock policy on one page's state, and that
 * state's public form.
 *
 * SIGNAL CONTEXT: everything here runs inside the SIGSEGV handler.  No
 * malloc, no pthread locks: the page lock is a bit in the page's flags word
 * and waiters sleep with futex(2), which is async-signal-safe.  The release
 * event (a futex word bumped when a page lock or a frame is released while
 * someone waits for a frame) lives here too, because the page unlock is one
 * of its sources.
 *
 * Calls: nothing of upager's (the bottom layer).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/**
 * upager__clock_action() - what the Clock hand does with a page.
 * @flags: the page's flags word as read by the hand.
 * @mode:  CLOCK_PLAIN, CLOCK_PRO or CLOCK_PRO_HOT (enum clock_mode).
 *
 * A page that is locked (someone is paging it), pinned or not resident is
 * passed over.  Plain Clock: a referenced page (accessible in the app
 * view) gets a second chance: the hand revokes its access, which clears
 * the reference bit.  An unreferenced page is evicted, after write-back if
 * dirty.
 *
 * CLOCK-Pro (S. Jiang, F. Chen and X. Zhang, USENIX ATC 2005; vmscan.c has
 * the whole policy): a cold page referenced in its test period turns hot;
 * a referenced cold page out of its test period loses its reference and
 * starts one; an unreferenced cold page is evicted as above.  Hot pages
 * are passed over while there are no more of them than their target
 * (CLOCK_PRO); past it (CLOCK_PRO_HOT) a referenced hot page loses its
 * reference and an unreferenced one turns cold.
 *
 * Return: the action.
 */
enum clock_action upager__clock_action(uint32_t flags, enum clock_mode mode)
{
	if (flags & PG_LOCKED)
		return CLOCK_SKIP;
	if (!(flags & PG_RESIDENT))
		return CLOCK_SKIP;
	if (page_pins(flags))
		return CLOCK_SKIP;
	if (mode != CLOCK_PLAIN && (flags & PG_HOT)) {
		if (mode == CLOCK_PRO)
			return CLOCK_SKIP;
		return (flags & PG_ACCESS) ? CLOCK_DEACTIVATE : CLOCK_DEMOTE;
	}
	if (flags & PG_ACCESS)
		return mode != CLOCK_PLAIN && (flags & PG_TEST) ? CLOCK_PROMOTE : CLOCK_DEACTIVATE;
	if (flags & PG_DIRTY)
		return CLOCK_WRITEBACK;
	return CLOCK_EVICT;
}

/**
 * upager__page_residency() - the public state of a page (the
 * UPAGER_PAGE_* bits of upager.h that upager_residency() reports).
 * @flags: the page's flags word, read once.
 *
 * The one place that maps PG_* flags to the public bits: referenced means
 * accessible in the app view (PG_READ or PG_WRITE), pinned a pin count
 * above 0; PG_WAITERS, PG_BACKED and PG_RA_MARK are not shown.
 *
 * Return: the UPAGER_PAGE_* bits.
 */
uint8_t upager__page_residency(uint32_t flags)
{
	uint8_t s = 0;

	if (flags & PG_RESIDENT)
		s |= UPAGER_PAGE_RESIDENT;
	if (flags & PG_ACCESS)
		s |= UPAGER_PAGE_REFERENCED;
	if (flags & PG_DIRTY)
		s |= UPAGER_PAGE_DIRTY;
	if (page_pins(flags))
		s |= UPAGER_PAGE_PINNED;
	if (flags & PG_LOCKED)
		s |= UPAGER_PAGE_LOCKED;
	if (flags & PG_WB_ERROR)
		s |= UPAGER_PAGE_WB_ERROR;
	if (flags & PG_READAHEAD)
		s |= UPAGER_PAGE_READAHEAD;
	return s;
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

/* futex(2) on a 32-bit word of this process: sleep while *@word == @val
 * (or spuriously), and wake every sleeper.  Async-signal-safe. */
void upager__futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void upager__futex_wake_all(_Atomic uint32_t *word)
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
	upager__futex_wait(&pg->flags, f);
}

void upager__page_lock(struct upager_page *pg)
{
	while (!upager__page_trylock(pg))
		upager__page_wait(pg, atomic_load_explicit(&pg->flags, memory_order_relaxed));
}

/*
 * Release events.  A thread that needs a frame and finds every frame busy
 * (its page locked for someone's I/O, or just taken) sleeps until something
 * is released: a page lock, or a frame.  The word is process-wide (a page
 * lock does not know its pager); it is bumped only while someone sleeps on
 * it, so an unlock with no frame waiter costs one extra load.
 *
 * No wakeup is lost: a waiter registers (waiters++), reads the word, looks
 * at the frames once more, and sleeps only if the word still holds what it
 * read.  A release either comes before the registration (then the last look
 * sees it) or sees the waiter and bumps the word.  Both sides order their
 * store before their load with a sequentially consistent operation.
 */
static _Atomic uint32_t release_seq;
static _Atomic uint32_t release_waiters;

void upager__release_event(void)
{
	if (atomic_load_explicit(&release_waiters, memory_order_seq_cst) == 0)
		return;
	atomic_fetch_add_explicit(&release_seq, 1, memory_order_seq_cst);
	upager__futex_wake_all(&release_seq);
}

uint32_t upager__release_wait_begin(void)
{
	atomic_fetch_add_explicit(&release_waiters, 1, memory_order_seq_cst);
	return atomic_load_explicit(&release_seq, memory_order_seq_cst);
}

void upager__release_wait(uint32_t seen)
{
	/* A bounded sleep, as a second line of defence: a change the word
	 * does not announce (a frame's owner changed between two looks) is
	 * still looked at again within a millisecond.  The wait is for an
	 * event, the timeout only bounds its latency. */
	struct timespec ts = { 0, 1000 * 1000 };

	syscall(SYS_futex, (uint32_t *)&release_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void upager__release_wait_end(void)
{
	atomic_fetch_sub_explicit(&release_waiters, 1, memory_order_seq_cst);
}

void upager__page_unlock(struct upager_page *pg)
{
	uint32_t old = atomic_fetch_and_explicit(&pg->flags, ~(PG_LOCKED | PG_WAITERS),
	                                         memory_order_seq_cst);
	if (old & PG_WAITERS)
		upager__futex_wake_all(&pg->flags);
	upager__release_event();
}
