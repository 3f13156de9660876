/*
 * gate.c - the region gate: keeps regions alive while faults use them.
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
 * Owns: the gate's reader count and writer flag.
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
