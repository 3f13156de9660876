/*
 * gate.c - the region gate, which keeps regions alive while faults use
 * them; and the API lock, which API calls that work on pages hold with the
 * catchable signals blocked.
 *
 * SIGNAL CONTEXT: the reader side runs inside the SIGSEGV handler.  It uses
 * only atomics, a thread-local nesting depth (initial-exec TLS, no
 * allocation) and sched_yield(2).  The writer side runs in API calls only.
 *
 * Why: libsigsegv's dispatcher keeps its areas in a tree that
 * sigsegv_register() and sigsegv_unregister() rebuild, and a region's
 * descriptors are unmapped when it goes away.  A fault handler on another
 * thread must never walk that tree or those descriptors mid-change.  Writers
 * are rare (map, unmap) and short; readers (faults) are frequent, so the
 * gate is a reader count that writers drain, with writer preference so that
 * a stream of faults cannot starve a map.
 *
 * API calls (mmap.c, range.c, pager.c) hold the pager's lock and block
 * every catchable signal (upager__api_enter) while they work on pages, so
 * that an application signal handler that touches managed memory cannot
 * interrupt one while it holds a page lock and then wait for that lock.
 * SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP stay deliverable (a
 * synchronous fault must never be blocked).
 *
 * Owns: the gate's reader count and writer flag; the API lock's protocol
 * (the lock itself is struct upager's).
 * Calls: nothing of upager's (the bottom layer).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "internal.h"

#include <sched.h>

static _Atomic long gate_readers;
static _Atomic int gate_writer;
static pthread_mutex_t gate_writers = PTHREAD_MUTEX_INITIALIZER;
static __thread unsigned gate_depth __attribute__((tls_model("initial-exec")));

void upager__gate_read_enter(void)
{
	if (gate_depth++ > 0)
		return;
	for (;;) {
		while (atomic_load(&gate_writer))
			sched_yield();
		atomic_fetch_add(&gate_readers, 1);
		if (!atomic_load(&gate_writer))
			return;
		atomic_fetch_sub(&gate_readers, 1);
	}
}

void upager__gate_read_exit(void)
{
	if (--gate_depth > 0)
		return;
	atomic_fetch_sub(&gate_readers, 1);
}

/* In a forked child only the forking thread exists: nobody is inside. */
void upager__gate_reset(void)
{
	atomic_store(&gate_readers, 0);
	atomic_store(&gate_writer, 0);
	pthread_mutex_init(&gate_writers, NULL);
	gate_depth = 0;
}

/*
 * The writer must not be inside the gate as a reader on its own thread:
 * API calls enter as readers only around page work, never around map or
 * unmap's registration step.
 */
void upager__gate_write_enter(void)
{
	pthread_mutex_lock(&gate_writers);
	atomic_store(&gate_writer, 1);
	while (atomic_load(&gate_readers) > 0)
		sched_yield();
}

void upager__gate_write_exit(void)
{
	atomic_store(&gate_writer, 0);
	pthread_mutex_unlock(&gate_writers);
}

/* ---- the API lock and signal blocking --------------------------------- */

void upager__block_signals(sigset_t *old)
{
	sigset_t set;

	sigfillset(&set);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void upager__restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Enter an API call that works on pages: signals blocked, pager locked. */
void upager__api_enter(struct upager *p, sigset_t *old)
{
	upager__block_signals(old);
	pthread_mutex_lock(&p->lock);
}

void upager__api_exit(struct upager *p, const sigset_t *old)
{
	pthread_mutex_unlock(&p->lock);
	upager__restore_signals(old);
}
