/*
 * replacement.h - a trace-driven simulator of page replacement policies:
 * FIFO, LRU, Clock, CLOCK-Pro, CAR and OPT (Belady's MIN).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A trace is a sequence of page numbers, dense in [0, npages).  Memory is
 * a number of frames; every policy starts with all of them free and is
 * demand-paged: a reference to a page that is not resident is a miss (a
 * major fault), the page is then made resident, evicting one page if no
 * frame is free.  A hit is a reference to a resident page.  The sources of
 * the algorithms are named in replacement.c.
 *
 * The online policies (all but OPT) run one reference at a time
 * (repl_create, repl_access, repl_destroy); OPT needs the whole trace
 * (repl_next_use, repl_opt).  repl_run() runs any policy on a trace.
 * Nothing here is thread-safe: a struct repl belongs to one thread; the
 * functions are not async-signal-safe (they allocate).  Self-contained:
 * libc only, so tests compile this module directly.
 */
#ifndef UPAGER_BENCH_REPLACEMENT_H
#define UPAGER_BENCH_REPLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum repl_policy {
	REPL_FIFO,
	REPL_LRU,
	REPL_CLOCK,
	REPL_CLOCKPRO,
	REPL_CAR,
	REPL_OPT,
	REPL_NPOLICIES
};

/* "fifo", "lru", "clock", "clock-pro", "car", "opt" */
extern const char *const repl_names[REPL_NPOLICIES];

/* The policy named @name, or -EINVAL. */
int repl_policy_by_name(const char *name);

/* Largest number of pages a trace may have (page numbers are uint32_t). */
#define REPL_MAX_PAGES (1u << 28)

/* next-use value of a reference whose page is never referenced again */
#define REPL_NEVER UINT32_MAX

/* Largest trace length repl_next_use() and repl_opt() take. */
#define REPL_MAX_REFS ((size_t)UINT32_MAX - 1)

struct repl;

/*
 * repl_create() - the state of an online policy.
 * @out:    receives the state.
 * @policy: any policy but REPL_OPT.
 * @npages: pages of the traces to come, 1 .. REPL_MAX_PAGES.
 * @frames: memory in pages, >= 1.  More frames than pages are never used
 *          (nothing is ever evicted then); the state is sized for
 *          min(@frames, @npages).
 *
 * Return: 0; -EINVAL for a bad argument (REPL_OPT, 0 pages or frames, too
 * many pages); -ENOMEM.
 */
int repl_create(struct repl **out, enum repl_policy policy, uint32_t npages, uint64_t frames);

/* One reference to @page (< npages).  Return: true for a hit. */
bool repl_access(struct repl *r, uint32_t page);

/* Whether @page is resident now (a reference to it would hit). */
bool repl_resident(const struct repl *r, uint32_t page);

/* Resident pages now (never more than the frames). */
uint64_t repl_nresident(const struct repl *r);

/*
 * repl_check() - check the policy's internal invariants (list lengths
 * against its counters, resident pages against frames, CLOCK-Pro's and
 * CAR's size bounds).  O(npages): for tests.
 *
 * Return: NULL if they hold, else a static string naming the first that
 * does not.
 */
const char *repl_check(const struct repl *r);

void repl_destroy(struct repl *r);

/*
 * repl_next_use() - for each reference of a trace, the index of the next
 * reference to the same page, REPL_NEVER if none: OPT's input.
 * @trace:  @n page numbers, each < @npages.
 * @n:      at most REPL_MAX_REFS.
 * @npages: 1 .. REPL_MAX_PAGES.
 * @next:   receives a malloc'ed array of @n entries (free() it).
 *
 * Return: 0; -EINVAL (bad sizes, a page number out of range); -ENOMEM.
 */
int repl_next_use(const uint32_t *trace, size_t n, uint32_t npages, uint32_t **next);

/*
 * repl_opt() - Belady's MIN on a whole trace: on a miss with no free
 * frame, evict the resident page whose next reference is farthest (never
 * referenced again counts as farthest).  O(n log frames).
 * @trace, @n, @npages: as for repl_next_use().
 * @next:   the array repl_next_use() made for this trace.
 * @frames: >= 1.
 * @hits:   receives the number of hits.
 * @hit_bits: NULL, or (n + 63) / 64 words: bit i (word i / 64, bit
 *          i % 64) is set for a hit at reference i, cleared otherwise.
 *
 * Return: 0; -EINVAL; -ENOMEM.
 */
int repl_opt(const uint32_t *trace, const uint32_t *next, size_t n, uint32_t npages,
             uint64_t frames, uint64_t *hits, uint64_t *hit_bits);

/*
 * repl_run() - any policy on a whole trace, from empty memory.
 * @next: OPT only: repl_next_use()'s array, or NULL to have it computed
 *        (and freed) here.  Ignored by the other policies.
 * Other arguments as for repl_opt().
 *
 * Return: 0; -EINVAL; -ENOMEM.
 */
int repl_run(enum repl_policy policy, const uint32_t *trace, const uint32_t *next, size_t n,
             uint32_t npages, uint64_t frames, uint64_t *hits, uint64_t *hit_bits);

#endif /* UPAGER_BENCH_REPLACEMENT_H */
