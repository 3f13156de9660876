/*
 * upager-sort.h - the parts of upager-sort(1), one section per file.
 *
 * upager-sort.c holds the job: map the file, checksum it, qsort it in
 * place, verify it, sync it.  Everything incidental to that lives in a file
 * of its own, declared here:
 *
 *   sort-options.c   the command line (sizes parsed by lib/units.c)
 *   sort-cleanup.c   the generated file, removed at exit and on signals
 *   sort-progress.c  the thread that reports progress while qsort runs
 *   sort-keys.c      the keys: order, checksum; generating and opening a file
 *   sort-memory.c    keeping glibc's qsort in place (RLIMIT_DATA), and
 *                    figures of /proc/self/status
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UPAGER_SORT_H
#define UPAGER_SORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "upager.h"

#define PROG "upager-sort"

/* -------------------------------------------------------- sort-options.c */

struct options {
	uint64_t memory_limit;   /* 0: not given */
	uint64_t page_size;      /* 0: not given (upager's default applies) */
	uint64_t size;           /* generated file size */
	uint64_t seed;
	const char *tmpdir;      /* NULL: not given */
	const char *file;        /* NULL: generate one */
	bool keep;
	bool quiet;
};

/* Fill @o from the command line.  Exits after --help or --version (0) and
 * on bad usage (CLI_EXIT_USAGE, 2, after a message). */
void parse_options(int argc, char **argv, struct options *o);

/* Where to generate the file: --tmpdir, else $UPAGER_TMPDIR, $TMPDIR,
 * /var/tmp. */
const char *options_tmpdir(const struct options *o);

/* -------------------------------------------------------- sort-cleanup.c */

/* Remove the generated file (unless kept) when SIGINT, SIGTERM or SIGHUP
 * ends the run or upager raises SIGBUS. */
void cleanup_install_signal_handlers(void);

/* Create the file to generate in @dir: its descriptor (O_RDWR), or -1
 * after a message.  cleanup_remove_file() and the signals remove it,
 * unless @keep. */
int cleanup_create_file(const char *dir, bool keep);

/* Its path ("" before cleanup_create_file()). */
const char *cleanup_file_path(void);

/* Remove it now unless kept; later calls do nothing. */
void cleanup_remove_file(void);

/* ------------------------------------------------------- sort-progress.c */

/*
 * A thread that prints, every 2 seconds, the elapsed time of the current
 * phase, the pager's major faults and, for sequential passes, how far the
 * pass got (qsort has no callback).  It touches no managed memory.
 */
struct progress {
	bool running;              /* the thread exists */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* CLOCK_MONOTONIC */
	/* Under lock: */
	bool stop;
	unsigned gen;              /* bumped at each phase change */
	const char *phase;         /* NULL: nothing to report */
	struct timespec start;     /* of the phase */
	uint64_t total;            /* units of the phase, 0: no percentage */
	upager_t *pager;           /* NULL: no fault count */
	/* Lock-free, written by the main thread: */
	_Atomic uint64_t done;
};

/* Set up @pg; start the thread only if @enabled. */
void progress_init(struct progress *pg, bool enabled);

/* Start reporting on @phase (NULL: stop reporting); @total units, 0: report
 * no percentage. */
void progress_phase(struct progress *pg, const char *phase, uint64_t total);

/* @done units of the phase are done. */
void progress_advance(struct progress *pg, uint64_t done);

/* Set or clear (NULL, before upager_destroy) the pager whose faults are
 * reported; returns once the thread no longer uses the old one. */
void progress_pager(struct progress *pg, upager_t *pager);

/* Stop and join the thread. */
void progress_stop(struct progress *pg);

/* ----------------------------------------------------------- sort-keys.c */

/* Keys are stored little-endian; this is their numeric value. */
static inline uint64_t key_value(uint64_t stored)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(stored);
#else
	return stored;
#endif
}

/* qsort(3) comparison of two stored keys. */
int compare_keys(const void *pa, const void *pb);

/* A bijective 64-bit mixer (splitmix64's finalizer). */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Order-independent: a permutation of the keys has the same checksum. */
struct checksum {
	uint64_t sum; /* sum of mix64(k) mod 2^64 */
	uint64_t xor; /* xor of mix64(k ^ c) */
};

static inline void checksum_add(struct checksum *c, uint64_t k)
{
	c->sum += mix64(k);
	c->xor ^= mix64(k ^ UINT64_C(0x5851f42d4c957f2d));
}

/* Fill @fd (named @path in messages) with @size bytes of keys from @seed,
 * reporting progress in bytes to @pg.  Returns 0, or -1 after a message. */
int keys_generate(int fd, const char *path, uint64_t size, uint64_t seed,
                  struct progress *pg);

/* Open the user's FILE read-write and check it holds whole keys: its
 * descriptor and size, or -1 after a message. */
int keys_open(const char *path, uint64_t *size);

/* --------------------------------------------------------- sort-memory.c */

/* The soft RLIMIT_DATA lowered for qsort, and the limit to restore. */
struct data_guard {
	bool lowered;
	struct rlimit saved;
};

/* Lower RLIMIT_DATA so that glibc's qsort of @file_bytes cannot copy the
 * array to the heap and sorts in place; warns (unless @quiet) if it cannot. */
void data_guard_lower(struct data_guard *g, uint64_t file_bytes, bool quiet);

/* Put the saved limit back. */
void data_guard_restore(struct data_guard *g);

/* The value in kB of a "Name:   1234 kB" line of /proc/self/status, or -1. */
long long status_kib(const char *name);

#endif /* UPAGER_SORT_H */
