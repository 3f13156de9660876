/*
 * upager-sort - sort a file of 64-bit keys in place, under a memory limit,
 * through one upager mapping and plain qsort(3).
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * This is upager's "main job": a program that knows nothing about paging
 * hands a pointer to a file larger than its memory budget to an unmodified
 * library routine (qsort) and gets a correct result, while the pager keeps
 * at most --memory-limit bytes of the file resident.
 *
 * The run, one phase after the other:
 *
 *   generate  (only without FILE) write --size bytes of pseudo-random keys
 *             with write(2) into a new file in the temporary directory;
 *   checksum  one sequential pass over the mapping: an order-independent
 *             checksum of the keys;
 *   sort      qsort(3) over the mapping, in place (glibc needs help for
 *             that: see sort-memory.c);
 *   verify    one sequential pass: keys non-decreasing, checksum unchanged;
 *   sync      upager_sync(): write back dirty pages, fdatasync;
 *   unmap     upager_unmap(), then the statistics.
 *
 * Keys are little-endian uint64 values.  Progress goes to stderr, one line
 * per phase plus a line every 2 seconds from a timer thread (qsort cannot
 * report its own progress); the summary (phase times, peak RSS, PASS or
 * FAIL) goes to stdout.
 *
 * Exit status: 0 sorted and checksum unchanged; 1 verification failed or a
 * run-time error; 2 bad usage.
 *
 * This file is the job: the pager, the mapping, the passes, the summary.
 * The command line, the cleanup of the generated file, the progress thread,
 * the keys and the RLIMIT_DATA guard are in the files upager-sort.h lists;
 * sizes are parsed and printed by lib/units.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* environ */
#endif

#include "upager-sort.h"
#include "cli.h"
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SORT_PAGE_SIZE (64 * KiB) /* default page size, see setup_pager */
#define PASS_CHUNK (MiB / 8)      /* keys per progress update in a pass */

/* -------------------------------------------------------------------------
 * Small helpers: time, errors
 */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void upager_fail(const char *call, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", call, upager_strerror(err));
}

/* upager_create() also returns -EINVAL for an unparsable UPAGER_* variable. */
static void upager_create_fail(int err)
{
	upager_fail("upager_create", err);
	if (err != -EINVAL)
		return;
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "UPAGER_", 7) == 0)
			fprintf(stderr, PROG ": (check the environment: %s)\n", *e);
}

/* -------------------------------------------------------------------------
 * The run
 */

enum phase { PH_GENERATE, PH_CHECKSUM, PH_SORT, PH_VERIFY, PH_SYNC, PH_UNMAP, PH_COUNT };

static const char *const phase_names[PH_COUNT] = {
	"generate", "checksum", "sort", "verify", "sync", "unmap",
};

struct run {
	struct options opt;
	struct progress pg;
	const char *path;        /* the file sorted */
	uint64_t size;           /* its bytes */
	size_t nkeys;
	int fd;
	upager_t *pager;
	void *map;
	size_t page_size;
	uint64_t limit;          /* effective memory limit, bytes */
	uint64_t frames;
	double t[PH_COUNT];      /* seconds; < 0: phase not run */
	double t_start;
	struct upager_stats st;  /* after unmap */
	bool have_stats;
	bool sorted, sum_ok;
	uint64_t descents;
	size_t first_descent;
};

static void say(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->opt.quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Choose the page size and memory limit, and create the pager.  Returns 0,
 * 1 (error, reported) or CLI_EXIT_USAGE. */
static int setup_pager(struct run *r)
{
	struct upager_config cfg = { .page_size = (size_t)r->opt.page_size };
	struct upager_config resolved;
	struct upager_stats st;
	uint64_t limit = r->opt.memory_limit ? r->opt.memory_limit : r->size / 8;
	uint64_t least;
	int err;

	/*
	 * qsort's partitioning sweeps the array from both ends, so most of its
	 * page-ins are sequential, and larger pages than upager's default
	 * (chosen for random access) serve it better: 64 KiB sorted 1 GiB
	 * under 128 MiB in 31 s, 16 KiB in 47 s.  The user's --page-size or
	 * UPAGER_PAGE_SIZE wins; small limits keep upager's default.
	 */
	if (cfg.page_size == 0 && !getenv("UPAGER_PAGE_SIZE") && limit >= 64 * SORT_PAGE_SIZE)
		cfg.page_size = SORT_PAGE_SIZE;

	/*
	 * The limit must hold UPAGER_MIN_FRAMES pages of the size the pager
	 * will get (ours, else $UPAGER_PAGE_SIZE or upager's default): raise
	 * the default limit, refuse a --memory-limit below.  Resolve with a
	 * limit valid for any page size.  If that fails (a bad UPAGER_*
	 * variable), upager_create() below fails the same way and says why.
	 */
	resolved = cfg;
	resolved.memory_limit = UPAGER_MIN_FRAMES * UPAGER_MAX_PAGE_SIZE;
	if (upager_config_resolve(&resolved, sizeof(resolved), &resolved, sizeof(resolved)) != 0)
		resolved.page_size = cfg.page_size; /* 0: unknown */
	least = UPAGER_MIN_FRAMES * (uint64_t)resolved.page_size;
	if (limit < least && r->opt.memory_limit != 0) {
		fprintf(stderr, PROG ": invalid --memory-limit %s: below %u pages of %s (%s)\n",
		        UNITS_STR(limit), UPAGER_MIN_FRAMES, UNITS_STR(resolved.page_size),
		        UNITS_STR(least));
		return CLI_EXIT_USAGE;
	}
	if (limit < least)
		limit = least;
	cfg.memory_limit = limit > SIZE_MAX ? SIZE_MAX : (size_t)limit;

	err = upager_create(&r->pager, &cfg, sizeof(cfg));
	if (err != 0) {
		r->pager = NULL;
		upager_create_fail(err);
		return EXIT_FAILURE;
	}
	r->page_size = upager_page_size(r->pager);
	err = upager_stats(r->pager, &st, sizeof(st));
	if (err != 0) {
		upager_fail("upager_stats", err);
		return EXIT_FAILURE;
	}
	r->frames = st.nr_frames;
	r->limit = st.nr_frames * r->page_size;
	return 0;
}

/* Open the user's FILE, or take the size of the one to generate.  Returns
 * 0 or EXIT_FAILURE. */
static int setup_file(struct run *r)
{
	if (r->opt.file != NULL) {
		r->fd = keys_open(r->opt.file, &r->size);
		r->path = r->opt.file;
		return r->fd < 0 ? EXIT_FAILURE : 0;
	}
	r->size = r->opt.size;
	return 0;
}

/* Write a new file of random keys.  Returns 0 or EXIT_FAILURE. */
static int generate(struct run *r)
{
	const char *dir = options_tmpdir(&r->opt);
	double t0 = now();
	int err;

	say(r, "generate: %s of keys (seed %" PRIu64 ") in %s", UNITS_STR(r->size),
	    r->opt.seed, dir);
	r->fd = cleanup_create_file(dir, r->opt.keep);
	if (r->fd < 0)
		return EXIT_FAILURE;
	r->path = cleanup_file_path();
	progress_phase(&r->pg, "generate", r->size);
	err = keys_generate(r->fd, r->path, r->size, r->opt.seed, &r->pg);
	progress_phase(&r->pg, NULL, 0);
	if (err != 0)
		return EXIT_FAILURE;
	r->t[PH_GENERATE] = now() - t0;
	return 0;
}

static int advise(struct run *r, int advice, const char *name)
{
	int err = upager_advise(r->pager, r->map, (size_t)r->size, advice);

	if (err != 0) {
		fprintf(stderr, PROG ": upager_advise(%s): %s\n", name, upager_strerror(err));
		return EXIT_FAILURE;
	}
	return 0;
}

#define ADVISE(r, a) advise((r), (a), #a)

/* One sequential pass: checksum; if @order, also count descents and note
 * the first one (index of the key that is smaller than its predecessor). */
static void scan_keys(const uint64_t *keys, size_t n, struct checksum *c, bool order,
                      uint64_t *descents, size_t *first_descent, struct progress *pg)
{
	uint64_t prev = 0;

	memset(c, 0, sizeof(*c));
	*descents = 0;
	*first_descent = 0;
	for (size_t base = 0; base < n; base += PASS_CHUNK) {
		size_t end = n - base < PASS_CHUNK ? n : base + PASS_CHUNK;

		for (size_t i = base; i < end; i++) {
			uint64_t k = key_value(keys[i]);

			checksum_add(c, k);
			if (order && i > 0 && k < prev) {
				if ((*descents)++ == 0)
					*first_descent = i;
			}
			prev = k;
		}
		progress_advance(pg, end);
	}
}

/* Map, checksum, sort, verify, sync, unmap.  Returns 0 or EXIT_FAILURE;
 * r->sorted and r->sum_ok tell the verdict. */
static int sort_file(struct run *r)
{
	struct checksum before, after;
	struct data_guard guard;
	uint64_t unused_descents;
	size_t unused_first;
	double t0;
	int err;

	r->map = upager_map(r->pager, r->fd, 0, (size_t)r->size, PROT_READ | PROT_WRITE,
	                    UPAGER_SHARED);
	if (r->map == NULL) {
		upager_fail("upager_map", -errno);
		return EXIT_FAILURE;
	}
	progress_pager(&r->pg, r->pager);
	say(r, "map: %s, memory limit %s (%" PRIu64 " pages of %s)", UNITS_STR(r->size),
	    UNITS_STR(r->limit), r->frames, UNITS_STR(r->page_size));

	/* checksum */
	say(r, "checksum: %zu keys", r->nkeys);
	if (ADVISE(r, UPAGER_ADV_SEQUENTIAL) != 0)
		return EXIT_FAILURE;
	t0 = now();
	progress_phase(&r->pg, "checksum", r->nkeys);
	scan_keys(r->map, r->nkeys, &before, false, &unused_descents, &unused_first, &r->pg);
	r->t[PH_CHECKSUM] = now() - t0;

	/* sort */
	say(r, "sort: qsort in place");
	if (ADVISE(r, UPAGER_ADV_NORMAL) != 0)
		return EXIT_FAILURE;
	t0 = now();
	progress_phase(&r->pg, "sort", 0);
	data_guard_lower(&guard, r->size, r->opt.quiet);
	qsort(r->map, r->nkeys, sizeof(uint64_t), compare_keys);
	data_guard_restore(&guard);
	r->t[PH_SORT] = now() - t0;

	/* verify */
	say(r, "verify: order and checksum");
	if (ADVISE(r, UPAGER_ADV_SEQUENTIAL) != 0)
		return EXIT_FAILURE;
	t0 = now();
	progress_phase(&r->pg, "verify", r->nkeys);
	scan_keys(r->map, r->nkeys, &after, true, &r->descents, &r->first_descent, &r->pg);
	r->t[PH_VERIFY] = now() - t0;
	r->sorted = r->descents == 0;
	r->sum_ok = before.sum == after.sum && before.xor == after.xor;
	if (!r->sorted)
		fprintf(stderr, PROG ": FAIL: %" PRIu64 " keys out of order, the first at "
		        "index %zu\n", r->descents, r->first_descent);
	if (!r->sum_ok)
		fprintf(stderr, PROG ": FAIL: checksum changed: keys were lost or altered "
		        "(%016" PRIx64 ":%016" PRIx64 " -> %016" PRIx64 ":%016" PRIx64 ")\n",
		        before.sum, before.xor, after.sum, after.xor);

	/* sync */
	say(r, "sync");
	t0 = now();
	progress_phase(&r->pg, "sync", 0);
	err = upager_sync(r->pager, r->map, 0);
	progress_phase(&r->pg, NULL, 0);
	if (err != 0) {
		upager_fail("upager_sync", err);
		return EXIT_FAILURE;
	}
	r->t[PH_SYNC] = now() - t0;

	/* unmap */
	t0 = now();
	err = upager_unmap(r->pager, r->map);
	if (err != 0) {
		upager_fail("upager_unmap", err);
		return EXIT_FAILURE;
	}
	r->map = NULL;
	r->t[PH_UNMAP] = now() - t0;
	return 0;
}

/* Unmap (if still mapped), print the statistics, destroy the pager. */
static int teardown_pager(struct run *r)
{
	int status = 0, err;

	progress_pager(&r->pg, NULL);
	if (r->pager == NULL)
		return 0;
	if (r->map != NULL) {
		err = upager_unmap(r->pager, r->map);
		if (err != 0) {
			upager_fail("upager_unmap", err);
			status = EXIT_FAILURE;
		}
		r->map = NULL;
	}
	err = upager_stats(r->pager, &r->st, sizeof(r->st));
	if (err == 0)
		r->have_stats = true;
	else
		upager_fail("upager_stats", err);
	if (!r->opt.quiet) {
		fflush(stderr);
		err = upager_print_stats(r->pager, STDERR_FILENO);
		if (err != 0) {
			upager_fail("upager_print_stats", err);
			status = EXIT_FAILURE;
		}
	}
	err = upager_destroy(r->pager);
	r->pager = NULL;
	if (err != 0) {
		upager_fail("upager_destroy", err);
		status = EXIT_FAILURE;
	}
	return status;
}

static void print_summary(const struct run *r, bool pass)
{
	struct rusage ru;
	long long hwm = status_kib("VmHWM");

	printf("file          %s%s\n", r->path ? r->path : "(none)",
	       r->opt.file ? "" : r->opt.keep ? " (generated, kept)" : " (generated, removed)");
	printf("size          %" PRIu64 " bytes (%s), %zu keys\n", r->size, UNITS_STR(r->size),
	       r->nkeys);
	printf("memory limit  %" PRIu64 " bytes (%s, %" PRIu64 " pages of %s)\n", r->limit,
	       UNITS_STR(r->limit), r->frames, UNITS_STR(r->page_size));
	for (int i = 0; i < PH_COUNT; i++)
		if (r->t[i] >= 0)
			printf("%-13s %.3f s\n", phase_names[i], r->t[i]);
	printf("total         %.3f s\n", now() - r->t_start);
	if (r->have_stats) {
		printf("major faults  %" PRIu64 "\n", r->st.pgmajfault);
		printf("pages in/out  %" PRIu64 " / %" PRIu64 "\n", r->st.pgpgin, r->st.pgpgout);
		printf("resident peak %" PRIu64 " pages (%s)\n", r->st.nr_resident_peak,
		       UNITS_STR(r->st.nr_resident_peak * r->page_size));
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("peak rss      %ld KiB (ru_maxrss)\n", ru.ru_maxrss);
	if (hwm >= 0)
		printf("peak rss      %lld KiB (VmHWM)\n", hwm);
	printf("result        %s\n", pass ? "PASS" : "FAIL");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct run r;
	bool pass = false;
	int status;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.t_start = now();
	for (int i = 0; i < PH_COUNT; i++)
		r.t[i] = -1;
	parse_options(argc, argv, &r.opt);
	cleanup_install_signal_handlers();

	status = setup_file(&r);
	if (status != 0)
		return status;
	r.nkeys = (size_t)(r.size / 8);
	/* The progress thread exists before the sort lowers RLIMIT_DATA (its
	 * stack is counted in VmData then, not taken from the margin). */
	progress_init(&r.pg, !r.opt.quiet);
	status = setup_pager(&r);
	if (status != 0)
		goto out;

	if (r.opt.file == NULL) {
		status = generate(&r);
		if (status != 0)
			goto out;
		if (r.opt.keep)
			say(&r, "keeping %s", r.path);
	}
	status = sort_file(&r);
	pass = status == 0 && r.sorted && r.sum_ok;

out:
	progress_stop(&r.pg);
	if (teardown_pager(&r) != 0)
		status = EXIT_FAILURE;
	if (r.fd >= 0)
		close(r.fd);
	cleanup_remove_file();
	if (status == CLI_EXIT_USAGE)
		return CLI_EXIT_USAGE;
	if (status == 0)
		print_summary(&r, pass);
	return pass && status == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
