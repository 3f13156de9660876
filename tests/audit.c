/*
 * audit.c - the signal-safety audit, linked into every test program
 * (libthelpers).
 *
 * upager's fault handler runs inside a SIGSEGV handler, on whatever thread
 * touched the page, in the middle of whatever that thread was doing -- maybe
 * inside malloc, holding the allocator's lock.  So the handler must not call
 * malloc, calloc, realloc or free, and must not take a pthread mutex (see
 * docs/design.md, "Signal context").  This file checks that rule for the
 * whole test suite: it defines those functions in the test binary, which
 * interposes them for every caller in the process (the library objects,
 * which the tests link statically, and glibc, libsigsegv, liburing and CUnit
 * too), and each wrapper asks upager__in_fault() whether the calling thread
 * is inside upager's fault handler.  If it is, the wrapper writes a message
 * with write(2) and calls abort(), so the test that provoked it fails at the
 * spot (with UPAGER_AUDIT=count it only counts, to survey a whole run).
 *
 * The allocation functions forward to glibc's own entry points
 * (__libc_malloc and friends), which need no lookup and so work from the
 * very first allocation, before any constructor.  pthread_mutex_lock
 * forwards to the next definition (glibc's), found with
 * dlsym(RTLD_NEXT, ...) in a constructor that runs before the rest of the
 * program; dlsym may itself allocate, which is fine since malloc needs no
 * lookup.  A lock taken before the lookup (or if it ever failed) falls back
 * to spinning on pthread_mutex_trylock, which this file does not interpose.
 *
 * Under AddressSanitizer or ThreadSanitizer the sanitizer runtime interposes
 * these functions itself, and forwarding to glibc would bypass it: the
 * wrappers are left out of such builds, and the report says so.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "testhooks.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AUDIT_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define AUDIT_INTERPOSE 0
#endif
#endif
#ifndef AUDIT_INTERPOSE
#define AUDIT_INTERPOSE 1
#endif

static _Atomic long g_violations; /* calls inside the fault handler */
static _Atomic long g_calls;      /* calls checked */
static long g_reported = -1;      /* violations when last reported */
static int g_count_only;          /* UPAGER_AUDIT=count */

long t_audit_violations(void)
{
	return atomic_load(&g_violations);
}

long t_audit_calls(void)
{
	return atomic_load(&g_calls);
}

int t_audit_active(void)
{
	return AUDIT_INTERPOSE;
}

void t_audit_report(void)
{
	long v = atomic_load(&g_violations);

	if (AUDIT_INTERPOSE)
		printf("signal-safety audit: %ld calls of malloc/calloc/realloc/free/"
		       "pthread_mutex_lock checked, %ld inside upager's fault handler\n",
		       atomic_load(&g_calls), v);
	else
		printf("signal-safety audit: not in this build (a sanitizer interposes "
		       "malloc and pthread_mutex_lock)\n");
	fflush(stdout);
	g_reported = v;
}

#if AUDIT_INTERPOSE

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

typedef int (*mutex_lock_fn)(pthread_mutex_t *);
static mutex_lock_fn g_real_lock;

/* Async-signal-safe: a fixed message with write(2). */
static void say(const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void violation(const char *fn)
{
	atomic_fetch_add(&g_violations, 1);
	say("upager audit: ");
	say(fn);
	say("() called inside upager's fault handler (signal context)\n");
	if (!g_count_only)
		abort();
}

static inline void check(const char *fn)
{
	atomic_fetch_add_explicit(&g_calls, 1, memory_order_relaxed);
	if (__builtin_expect(upager__in_fault() != 0, 0))
		violation(fn);
}

void *malloc(size_t n)
{
	check("malloc");
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	check("calloc");
	return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t n)
{
	check("realloc");
	return __libc_realloc(ptr, n);
}

void free(void *ptr)
{
	if (!ptr)
		return; /* free(NULL) does nothing, even in a handler */
	check("free");
	__libc_free(ptr);
}

static void resolve_lock(void)
{
	void *f = dlsym(RTLD_NEXT, "pthread_mutex_lock");

	if (f && f != (void *)pthread_mutex_lock)
		g_real_lock = (mutex_lock_fn)f;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	mutex_lock_fn real = g_real_lock;
	int r;

	check("pthread_mutex_lock");
	if (real)
		return real(m);
	/* Before the constructor (or if the lookup failed): trylock, which
	 * is not interposed, until it succeeds. */
	while ((r = pthread_mutex_trylock(m)) == EBUSY)
		sched_yield();
	return r;
}

__attribute__((constructor(101))) static void audit_init(void)
{
	const char *s = getenv("UPAGER_AUDIT");

	g_count_only = s && strcmp(s, "count") == 0;
	resolve_lock();
}

#endif /* AUDIT_INTERPOSE */

/* At exit: report again only if something happened since the last report
 * (t_run_suite reports before its last line). */
__attribute__((destructor)) static void audit_fini(void)
{
	if (g_reported < 0 || atomic_load(&g_violations) != g_reported)
		t_audit_report();
}
