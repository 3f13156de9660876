/*
 * inject.c - error injection for upager's own tests (test builds only:
 * compiled with UPAGER_TEST_HOOKS into libupager_test.la; the library that
 * is installed has none of it).
 *
 * SIGNAL CONTEXT: upager__inject() and the flags below run inside the
 * SIGSEGV handler (below the I/O layer, around mprotect, in the Clock);
 * atomics only.
 *
 * Owns: the injection points' state (errors, paused background write-back,
 * re-references, I/O forced through the ring).
 * Calls: nothing of upager's (the bottom layer).  The test hooks that
 * inspect a pager are in testhooks.c, at the top.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#ifdef UPAGER_TEST_HOOKS

static _Atomic unsigned inject_ops;
static _Atomic long inject_countdown;
static _Atomic int inject_result;
static _Atomic int inject_persistent;
static _Atomic long inject_hits;
static _Atomic long inject_seen;

void upager__inject_io(unsigned ops, long nth, int result, int persistent)
{
	atomic_store(&inject_ops, 0);
	atomic_store(&inject_countdown, nth);
	atomic_store(&inject_result, result);
	atomic_store(&inject_persistent, persistent);
	atomic_store(&inject_hits, 0);
	atomic_store(&inject_seen, 0);
	atomic_store(&inject_ops, ops);
}

void upager__inject_clear(void)
{
	atomic_store(&inject_ops, 0);
}

long upager__inject_count(void)
{
	return atomic_load(&inject_hits);
}

long upager__inject_seen(void)
{
	return atomic_load(&inject_seen);
}

long upager__inject(unsigned op, long res)
{
	unsigned ops = atomic_load_explicit(&inject_ops, memory_order_relaxed);
	long left;
	int result;

	if (!(ops & op))
		return res;
	atomic_fetch_add(&inject_seen, 1);
	left = atomic_fetch_sub(&inject_countdown, 1) - 1;
	if (left > 0)
		return res;
	if (left < 0 && !atomic_load(&inject_persistent))
		return res;
	atomic_fetch_add(&inject_hits, 1);
	result = atomic_load(&inject_result);
	if (result == UPAGER_INJECT_SHORT)
		return res > 1 ? res / 2 : res;
	if (result == UPAGER_INJECT_LOST)
		return -ETIME;
	return result;
}

static _Atomic int rereference;

void upager__inject_rereference(int on)
{
	atomic_store(&rereference, on != 0);
}

bool upager__rereference_injected(void)
{
	return atomic_load_explicit(&rereference, memory_order_relaxed);
}

static _Atomic int ring_forced;

void upager__io_force_ring(int on)
{
	atomic_store(&ring_forced, on != 0);
}

bool upager__io_ring_forced(void)
{
	return atomic_load_explicit(&ring_forced, memory_order_relaxed);
}

static _Atomic long ring_injected;

long upager__inject_ring(unsigned op, long res)
{
	long hits = atomic_load(&inject_hits);
	long out = upager__inject(op, res);

	/* Fired (a short result may equal the real one: a read at EOF). */
	if (atomic_load(&inject_hits) != hits)
		atomic_fetch_add_explicit(&ring_injected, 1, memory_order_relaxed);
	return out;
}

long upager__io_ring_injected(void)
{
	return atomic_load_explicit(&ring_injected, memory_order_relaxed);
}

static _Atomic int writeback_paused;

void upager__pause_background_writeback(int pause)
{
	atomic_store(&writeback_paused, pause != 0);
}

bool upager__writeback_paused(void)
{
	return atomic_load_explicit(&writeback_paused, memory_order_relaxed);
}



#endif /* UPAGER_TEST_HOOKS */
