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
 *   sort      qsort(3) over the mapping, in place (see "Keeping qsort in
 *             place" below for why that needs help with glibc);
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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate(2), mkostemp(3) */
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "upager.h"

#define PROG "upager-sort"
#define SORT_PAGE_SIZE ((uint64_t)64 << 10) /* default page size, see setup_pager */

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)

#define EXIT_USAGE 2

/* upager's limits, from upager.h: largest page, largest mapping, and the
 * fewest frames a pager works with. */
#define UPAGER_MAX_PAGE (2 * MiB)
#define UPAGER_MAX_MAP TiB
#define UPAGER_MIN_FRAMES 4

#define DEFAULT_SIZE GiB          /* --size */
#define DEFAULT_SEED 1            /* --seed: fixed, so runs are comparable */
#define GEN_CHUNK MiB             /* generation writes this much per write(2) */
#define PASS_CHUNK (MiB / 8)      /* keys per progress update in a pass */
#define PROGRESS_PERIOD 2         /* seconds between progress lines */

/* -------------------------------------------------------------------------
 * Options
 */

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

static const struct option long_options[] = {
	{ "memory-limit", required_argument, NULL, 'm' },
	{ "page-size", required_argument, NULL, 'p' },
	{ "size", required_argument, NULL, 's' },
	{ "keep", no_argument, NULL, 'k' },
	{ "seed", required_argument, NULL, 'S' },
	{ "tmpdir", required_argument, NULL, 'T' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] [FILE]\n"
		"Sort FILE, an array of little-endian uint64 keys, in place with qsort(3)\n"
		"through one upager mapping under a memory limit, then verify it.\n"
		"Without FILE, sort a generated file of random keys and remove it.\n"
		"\n"
		"  -m, --memory-limit SIZE  bytes of the file resident at once\n"
		"                           (default: 1/8 of the file, at least 4 pages)\n"
		"  -p, --page-size SIZE     upager page size, a power of two from the\n"
		"                           system page size to 2M (default 64K, or\n"
		"                           upager's for limits below 4M)\n"
		"  -s, --size SIZE          size of the generated file (default 1G)\n"
		"  -k, --keep               keep the generated file\n"
		"      --seed N             seed of the generated keys (default %d)\n"
		"      --tmpdir DIR         where to generate the file (default\n"
		"                           $UPAGER_TMPDIR, $TMPDIR, /var/tmp)\n"
		"  -q, --quiet              no progress or statistics on stderr\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"SIZE is a number of bytes with an optional K, M, G or T suffix (powers\n"
		"of 1024).  Exit status: 0 sorted and verified, 1 verification failed\n"
		"or an error, 2 bad usage.\n",
		DEFAULT_SEED);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry '" PROG " --help' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

/* "123", "64K", "512M", "1G", "2T", also "64KiB", "64KB", "100B".
 * Returns false on anything else, including overflow and a sign. */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift != 0 && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
		end += 2;
	else if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0')
		return false;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Human-readable size: "1 GiB", "96 MiB", "12345 bytes". */
static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	static const unsigned shifts[] = { 40, 30, 20, 10 };

	for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		uint64_t unit = (uint64_t)1 << shifts[i];

		if (v >= unit && v % unit == 0) {
			snprintf(buf, len, "%" PRIu64 " %s", v / unit, units[i]);
			return buf;
		}
		if (v >= unit * 10) {
			snprintf(buf, len, "%.1f %s", (double)v / (double)unit, units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 " bytes", v);
	return buf;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	long sys_page = sysconf(_SC_PAGESIZE);
	int c;

	memset(o, 0, sizeof(*o));
	o->size = DEFAULT_SIZE;
	o->seed = DEFAULT_SEED;

	while ((c = getopt_long(argc, argv, "m:p:s:kqhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!parse_size(optarg, &o->memory_limit) || o->memory_limit == 0)
				usage_error("invalid --memory-limit '%s': expected a size "
				            "above 0 such as 64M or 1G", optarg);
			break;
		case 'p':
			if (!parse_size(optarg, &o->page_size))
				usage_error("invalid --page-size '%s': expected a size "
				            "such as 4K or 64K", optarg);
			if (!is_pow2(o->page_size) || o->page_size < (uint64_t)sys_page ||
			    o->page_size > UPAGER_MAX_PAGE)
				usage_error("invalid --page-size '%s': must be a power of two "
				            "from %ld to %" PRIu64 " bytes",
				            optarg, sys_page, UPAGER_MAX_PAGE);
			break;
		case 's':
			if (!parse_size(optarg, &o->size))
				usage_error("invalid --size '%s': expected a size such as "
				            "256M or 4G", optarg);
			if (o->size == 0 || o->size % 8 != 0)
				usage_error("invalid --size '%s': must be a positive multiple "
				            "of 8 bytes (one key)", optarg);
			if (o->size > UPAGER_MAX_MAP || o->size > SIZE_MAX)
				usage_error("invalid --size '%s': upager maps at most 1 TiB",
				            optarg);
			break;
		case 'k':
			o->keep = true;
			break;
		case 'S':
			if (!parse_u64(optarg, &o->seed))
				usage_error("invalid --seed '%s': expected an unsigned "
				            "64-bit integer", optarg);
			break;
		case 'T':
			if (*optarg == '\0')
				usage_error("invalid --tmpdir '': empty directory name");
			o->tmpdir = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf(PROG " (upager) %s\nlibupager %s\n", UPAGER_VERSION_STRING,
			       upager_version());
			exit(EXIT_SUCCESS);
		default: /* getopt_long has printed the problem */
			fputs("Try '" PROG " --help' for more information.\n", stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		usage_error("too many arguments: '%s' (at most one FILE)", argv[optind]);
}

/* -------------------------------------------------------------------------
 * Small helpers: time, /proc/self/status, errors
 */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The value in kB of a "Name:   1234 kB" line of /proc/self/status, or -1. */
static long long status_kib(const char *name)
{
	size_t len = strlen(name);
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
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
 * The generated file, and signals
 *
 * The generated file is removed at exit unless --keep, also when the run
 * is interrupted (SIGINT, SIGTERM, SIGHUP) or killed by SIGBUS (upager's
 * answer to a page it cannot read): the handlers only unlink(2) and write(2),
 * which are async-signal-safe.
 */

static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_path_remove; /* unlink tmp_path at exit */

static void remove_tmp_file(void)
{
	if (tmp_path_remove) {
		tmp_path_remove = 0;
		unlink(tmp_path);
	}
}

static void on_fatal_signal(int sig)
{
	if (tmp_path_remove)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_sigbus(int sig) __attribute__((noreturn));

static void on_sigbus(int sig)
{
	static const char msg[] = PROG ": SIGBUS: upager could not read or "
	                          "write a page of the file (I/O error?)\n";
	ssize_t n;

	(void)sig;
	if (tmp_path_remove)
		unlink(tmp_path);
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	_exit(EXIT_FAILURE);
}

static void install_signal_handlers(void)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	sa.sa_handler = on_fatal_signal;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction old;

		/* Leave a signal ignored if it was ignored (nohup). */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(fatal[i], &sa, NULL);
	}
}

static const char *tmp_dir(const struct options *o)
{
	const char *d = o->tmpdir;

	if (d == NULL || *d == '\0')
		d = getenv("UPAGER_TMPDIR");
	if (d == NULL || *d == '\0')
		d = getenv("TMPDIR");
	if (d == NULL || *d == '\0')
		d = "/var/tmp";
	return d;
}

/* -------------------------------------------------------------------------
 * Progress: a timer thread
 *
 * qsort gives no callback, so a thread wakes every PROGRESS_PERIOD seconds
 * and prints the elapsed time of the current phase, the pager's major-fault
 * count and, for sequential passes, how far the pass got.  It touches no
 * managed memory: upager_stats() is safe from any thread at any time.
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

static void progress_report(struct progress *pg)
{
	struct timespec t;
	double elapsed;
	char pct[16] = "";
	char faults[48] = "";

	clock_gettime(CLOCK_MONOTONIC, &t);
	elapsed = (double)(t.tv_sec - pg->start.tv_sec) +
	          (double)(t.tv_nsec - pg->start.tv_nsec) * 1e-9;
	if (pg->total != 0) {
		uint64_t done = atomic_load_explicit(&pg->done, memory_order_relaxed);

		snprintf(pct, sizeof(pct), " %3.0f%%,", 100.0 * (double)done / (double)pg->total);
	}
	if (pg->pager != NULL) {
		struct upager_stats st;

		if (upager_stats(pg->pager, &st) == 0)
			snprintf(faults, sizeof(faults), ", %" PRIu64 " major faults",
			         st.pgmajfault);
	}
	fprintf(stderr, "  %s:%s %.0f s%s\n", pg->phase, pct, elapsed, faults);
}

static void *progress_main(void *arg)
{
	struct progress *pg = arg;
	struct timespec next = { 0, 0 };
	unsigned seen = 0;

	pthread_mutex_lock(&pg->lock);
	while (!pg->stop) {
		int rc;

		if (pg->gen != seen) {
			seen = pg->gen;
			next = pg->start;
			next.tv_sec += PROGRESS_PERIOD;
		}
		if (pg->phase == NULL) {
			pthread_cond_wait(&pg->cond, &pg->lock);
			continue;
		}
		rc = pthread_cond_timedwait(&pg->cond, &pg->lock, &next);
		if (rc != ETIMEDOUT || pg->stop || pg->gen != seen)
			continue;
		progress_report(pg);
		next.tv_sec += PROGRESS_PERIOD;
	}
	pthread_mutex_unlock(&pg->lock);
	return NULL;
}

static void progress_init(struct progress *pg, bool enabled)
{
	pthread_condattr_t ca;
	int rc;

	memset(pg, 0, sizeof(*pg));
	atomic_init(&pg->done, 0);
	pthread_mutex_init(&pg->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pg->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!enabled)
		return;
	rc = pthread_create(&pg->thread, NULL, progress_main, pg);
	if (rc != 0)
		fprintf(stderr, PROG ": no progress reports: pthread_create: %s\n", strerror(rc));
	else
		pg->running = true;
}

/* Start reporting on a phase; total 0: report no percentage. */
static void progress_phase(struct progress *pg, const char *phase, uint64_t total)
{
	pthread_mutex_lock(&pg->lock);
	pg->phase = phase;
	pg->total = total;
	atomic_store_explicit(&pg->done, 0, memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &pg->start);
	pg->gen++;
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
}

static void progress_advance(struct progress *pg, uint64_t done)
{
	atomic_store_explicit(&pg->done, done, memory_order_relaxed);
}

/* Set or clear (NULL, before upager_destroy) the pager whose faults are
 * reported; returns once the thread no longer uses the old one. */
static void progress_pager(struct progress *pg, upager_t *pager)
{
	pthread_mutex_lock(&pg->lock);
	pg->pager = pager;
	pthread_mutex_unlock(&pg->lock);
}

static void progress_stop(struct progress *pg)
{
	pthread_mutex_lock(&pg->lock);
	pg->stop = true;
	pg->phase = NULL;
	pg->pager = NULL;
	pthread_cond_signal(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	if (pg->running) {
		pthread_join(pg->thread, NULL);
		pg->running = false;
	}
}

/* -------------------------------------------------------------------------
 * Keys: generation, comparison, checksum
 */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A bijective 64-bit mixer (splitmix64's finalizer). */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Keys are stored little-endian; this is their numeric value. */
static inline uint64_t key_value(uint64_t stored)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(stored);
#else
	return stored;
#endif
}

/* Numeric key -> how it is stored (the same swap). */
static inline uint64_t key_stored(uint64_t value)
{
	return key_value(value);
}

static int compare_keys(const void *pa, const void *pb)
{
	uint64_t a, b;

	memcpy(&a, pa, sizeof(a));
	memcpy(&b, pb, sizeof(b));
	a = key_value(a);
	b = key_value(b);
	return (a > b) - (a < b);
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

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Create tmp_path in @dir, fill it with @size bytes of keys.  Returns an
 * O_RDWR descriptor, or -1 after a message. */
static int generate_file(const char *dir, uint64_t size, uint64_t seed, bool keep,
                         struct progress *pg)
{
	uint64_t state = seed, done = 0;
	uint64_t *buf;
	int fd, n;

	n = snprintf(tmp_path, sizeof(tmp_path), "%s/upager-sort.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		fprintf(stderr, PROG ": temporary directory name too long: %s\n", dir);
		return -1;
	}
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file in %s: %s\n", dir, strerror(errno));
		return -1;
	}
	tmp_path_remove = !keep;

	/* Reserve the space first: a full disk fails now, not after minutes. */
	if (fallocate(fd, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
		fprintf(stderr, PROG ": %s: cannot allocate %" PRIu64 " bytes: %s\n", tmp_path,
		        size, strerror(errno));
		goto fail;
	}
	buf = malloc(GEN_CHUNK);
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		goto fail;
	}
	while (done < size) {
		size_t len = size - done < GEN_CHUNK ? (size_t)(size - done) : GEN_CHUNK;

		for (size_t i = 0; i < len / 8; i++)
			buf[i] = key_stored(splitmix64(&state));
		if (!write_all(fd, buf, len)) {
			fprintf(stderr, PROG ": %s: write: %s\n", tmp_path, strerror(errno));
			free(buf);
			goto fail;
		}
		done += len;
		progress_advance(pg, done);
	}
	free(buf);
	return fd;

fail:
	close(fd);
	remove_tmp_file();
	return -1;
}

/* Open the user's FILE read-write and check it holds whole keys. */
static int open_file(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, PROG ": cannot open %s for reading and writing: %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, PROG ": %s: stat: %s\n", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, PROG ": %s: not a regular file\n", path);
		goto fail;
	}
	if (st.st_size == 0) {
		fprintf(stderr, PROG ": %s: file is empty, nothing to sort\n", path);
		goto fail;
	}
	if (st.st_size % 8 != 0) {
		fprintf(stderr, PROG ": %s: size %lld is not a multiple of 8 bytes "
		        "(the file must hold whole uint64 keys)\n", path, (long long)st.st_size);
		goto fail;
	}
	if ((uint64_t)st.st_size > UPAGER_MAX_MAP || (uint64_t)st.st_size > SIZE_MAX) {
		fprintf(stderr, PROG ": %s: size %lld is above upager's 1 TiB mapping limit\n",
		        path, (long long)st.st_size);
		goto fail;
	}
	*size = (uint64_t)st.st_size;
	return fd;

fail:
	close(fd);
	return -1;
}

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

/* -------------------------------------------------------------------------
 * Keeping qsort in place
 *
 * glibc's qsort (2.36, Debian 12) is a merge sort that first copies the
 * array into a malloc'd buffer of the array's size whenever that size is
 * below a quarter of physical memory; only when the malloc fails does it
 * fall back to its in-place quicksort.  The copy would put the whole file
 * into anonymous memory, outside upager, and make the memory limit a
 * fiction.  So, for the duration of qsort only, the soft RLIMIT_DATA is
 * lowered to the data segment in use now (VmData in /proc/self/status) plus
 * a margin smaller than the file: the file-sized malloc fails with ENOMEM
 * and glibc sorts in place, through the mapping.  The margin leaves room for
 * ordinary small allocations (of upager's threads, say).  upager's own
 * memory (MAP_SHARED frames, PROT_NONE reservations) does not count toward
 * RLIMIT_DATA, which since Linux 4.7 covers private writable mappings and
 * the heap only.  The kernel may log once "VmData ... exceed data ulimit":
 * that is this refusal, and expected.
 *
 * A file smaller than DATA_MARGIN_MIN bytes may still be copied (it is that
 * small); newer glibc versions that sort in place need none of this, and it
 * does them no harm.
 */

#define DATA_MARGIN_MAX (64 * MiB)
#define DATA_MARGIN_MIN MiB

/*
 * Under AddressSanitizer (configure --enable-sanitizers), malloc is ASan's,
 * and by default ASan aborts the process when an allocation fails instead
 * of returning NULL, so glibc's qsort would never reach its fallback.  Ask
 * for NULL; ASAN_OPTIONS in the environment still takes precedence.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UPAGER_SORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UPAGER_SORT_ASAN 1
#endif
#endif

#ifdef UPAGER_SORT_ASAN
const char *__asan_default_options(void);

__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

struct data_guard {
	bool lowered;
	struct rlimit saved;
};

static void data_guard_lower(struct data_guard *g, uint64_t file_bytes, bool quiet)
{
	uint64_t margin = file_bytes / 2;
	struct rlimit lim;
	long long vmdata;
	uint64_t target;

	g->lowered = false;
	if (margin > DATA_MARGIN_MAX)
		margin = DATA_MARGIN_MAX;
	if (margin < DATA_MARGIN_MIN)
		margin = DATA_MARGIN_MIN;
	vmdata = status_kib("VmData");
	if (vmdata < 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: no VmData in /proc/self/status; "
			        "qsort may copy the file to the heap\n");
		return;
	}
	if (getrlimit(RLIMIT_DATA, &g->saved) != 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: getrlimit(RLIMIT_DATA): %s\n",
			        strerror(errno));
		return;
	}
	target = (uint64_t)vmdata * KiB + margin;
	if (g->saved.rlim_cur != RLIM_INFINITY && g->saved.rlim_cur <= target)
		return; /* already at least as tight */
	lim.rlim_cur = target;
	lim.rlim_max = g->saved.rlim_max;
	if (setrlimit(RLIMIT_DATA, &lim) != 0) {
		if (!quiet)
			fprintf(stderr, PROG ": warning: setrlimit(RLIMIT_DATA): %s; "
			        "qsort may copy the file to the heap\n", strerror(errno));
		return;
	}
	g->lowered = true;
}

static void data_guard_restore(struct data_guard *g)
{
	if (g->lowered && setrlimit(RLIMIT_DATA, &g->saved) != 0)
		fprintf(stderr, PROG ": warning: cannot restore RLIMIT_DATA: %s\n",
		        strerror(errno));
	g->lowered = false;
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

/*
 * Learn the page size upager will use when --page-size is not given (it
 * then comes from $UPAGER_PAGE_SIZE or upager's default), with a throwaway
 * pager whose memory limit is valid for any page size.  Needed only when
 * the memory limit might be below UPAGER_MIN_FRAMES pages.
 */
static int probe_page_size(size_t *page_size)
{
	struct upager_config cfg = { .memory_limit = UPAGER_MIN_FRAMES * UPAGER_MAX_PAGE };
	upager_t *p = NULL;
	int err = upager_create(&p, &cfg);

	if (err != 0) {
		upager_create_fail(err);
		return err;
	}
	*page_size = upager_page_size(p);
	err = upager_destroy(p);
	if (err != 0) {
		upager_fail("upager_destroy", err);
		return err;
	}
	return 0;
}

/* Choose the memory limit and create the pager.  Returns 0, 1 (error,
 * reported) or EXIT_USAGE. */
static int setup_pager(struct run *r)
{
	struct upager_config cfg;
	struct upager_stats st;
	char b1[32], b2[32], b3[32];
	size_t ps = (size_t)r->opt.page_size;
	uint64_t limit = r->opt.memory_limit ? r->opt.memory_limit : r->size / 8;
	int err;

	/*
	 * qsort's partitioning sweeps the array from both ends, so most of its
	 * page-ins are sequential, and larger pages than upager's default
	 * (chosen for random access) serve it better: 64 KiB sorted 1 GiB
	 * under 128 MiB in 31 s, 16 KiB in 47 s.  The user's --page-size or
	 * UPAGER_PAGE_SIZE wins; small limits keep upager's default.
	 */
	if (ps == 0 && !getenv("UPAGER_PAGE_SIZE") && limit >= 64 * SORT_PAGE_SIZE)
		ps = SORT_PAGE_SIZE;
	r->opt.page_size = ps;

	if (ps == 0 && limit < UPAGER_MIN_FRAMES * UPAGER_MAX_PAGE && probe_page_size(&ps) != 0)
		return EXIT_FAILURE;
	if (ps != 0 && limit < UPAGER_MIN_FRAMES * (uint64_t)ps) {
		if (r->opt.memory_limit != 0) {
			fprintf(stderr, PROG ": invalid --memory-limit %s: below %d pages of "
			        "%s (%s)\n", fmt_size(b1, sizeof(b1), limit), UPAGER_MIN_FRAMES,
			        fmt_size(b2, sizeof(b2), ps),
			        fmt_size(b3, sizeof(b3), UPAGER_MIN_FRAMES * (uint64_t)ps));
			return EXIT_USAGE;
		}
		limit = UPAGER_MIN_FRAMES * (uint64_t)ps;
	}
	if (limit > SIZE_MAX)
		limit = SIZE_MAX;

	memset(&cfg, 0, sizeof(cfg));
	cfg.page_size = r->opt.page_size;
	cfg.memory_limit = (size_t)limit;
	err = upager_create(&r->pager, &cfg);
	if (err != 0) {
		r->pager = NULL;
		upager_create_fail(err);
		return EXIT_FAILURE;
	}
	r->page_size = upager_page_size(r->pager);
	err = upager_stats(r->pager, &st);
	if (err != 0) {
		upager_fail("upager_stats", err);
		return EXIT_FAILURE;
	}
	r->frames = st.nr_frames;
	r->limit = st.nr_frames * r->page_size;
	return 0;
}

/* Generate or open the file.  Returns 0 or EXIT_FAILURE. */
static int setup_file(struct run *r)
{
	if (r->opt.file != NULL) {
		r->fd = open_file(r->opt.file, &r->size);
		r->path = r->opt.file;
		return r->fd < 0 ? EXIT_FAILURE : 0;
	}
	r->size = r->opt.size;
	return 0;
}

static int generate(struct run *r)
{
	const char *dir = tmp_dir(&r->opt);
	char b1[32];
	double t0 = now();

	say(r, "generate: %s of keys (seed %" PRIu64 ") in %s",
	    fmt_size(b1, sizeof(b1), r->size), r->opt.seed, dir);
	progress_phase(&r->pg, "generate", r->size);
	r->fd = generate_file(dir, r->size, r->opt.seed, r->opt.keep, &r->pg);
	progress_phase(&r->pg, NULL, 0);
	if (r->fd < 0)
		return EXIT_FAILURE;
	r->path = tmp_path;
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

/* Map, checksum, sort, verify, sync, unmap.  Returns 0 or EXIT_FAILURE;
 * r->sorted and r->sum_ok tell the verdict. */
static int sort_file(struct run *r)
{
	struct checksum before, after;
	struct data_guard guard;
	uint64_t unused_descents;
	size_t unused_first;
	char b1[32], b2[32], b3[32];
	double t0;
	int err;

	r->map = upager_map(r->pager, r->fd, 0, (size_t)r->size, PROT_READ | PROT_WRITE,
	                    UPAGER_SHARED);
	if (r->map == NULL) {
		upager_fail("upager_map", -errno);
		return EXIT_FAILURE;
	}
	progress_pager(&r->pg, r->pager);
	say(r, "map: %s, memory limit %s (%" PRIu64 " pages of %s)",
	    fmt_size(b1, sizeof(b1), r->size), fmt_size(b2, sizeof(b2), r->limit), r->frames,
	    fmt_size(b3, sizeof(b3), r->page_size));

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
	err = upager_stats(r->pager, &r->st);
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
	char b1[32], b2[32], b3[32];

	printf("file          %s%s\n", r->path ? r->path : "(none)",
	       r->opt.file ? "" : r->opt.keep ? " (generated, kept)" : " (generated, removed)");
	printf("size          %" PRIu64 " bytes (%s), %zu keys\n", r->size,
	       fmt_size(b1, sizeof(b1), r->size), r->nkeys);
	printf("memory limit  %" PRIu64 " bytes (%s, %" PRIu64 " pages of %s)\n", r->limit,
	       fmt_size(b2, sizeof(b2), r->limit), r->frames,
	       fmt_size(b3, sizeof(b3), r->page_size));
	for (int i = 0; i < PH_COUNT; i++)
		if (r->t[i] >= 0)
			printf("%-13s %.3f s\n", phase_names[i], r->t[i]);
	printf("total         %.3f s\n", now() - r->t_start);
	if (r->have_stats) {
		printf("major faults  %" PRIu64 "\n", r->st.pgmajfault);
		printf("pages in/out  %" PRIu64 " / %" PRIu64 "\n", r->st.pgpgin, r->st.pgpgout);
		printf("resident peak %" PRIu64 " pages (%s)\n", r->st.nr_resident_peak,
		       fmt_size(b1, sizeof(b1), r->st.nr_resident_peak * r->page_size));
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
	install_signal_handlers();

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
			say(&r, "keeping %s", tmp_path);
	}
	status = sort_file(&r);
	pass = status == 0 && r.sorted && r.sum_ok;

out:
	progress_stop(&r.pg);
	if (teardown_pager(&r) != 0)
		status = EXIT_FAILURE;
	if (r.fd >= 0)
		close(r.fd);
	remove_tmp_file();
	if (status == EXIT_USAGE)
		return EXIT_USAGE;
	if (status == 0)
		print_summary(&r, pass);
	return pass && status == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
