/*
 * upager-bench - upager's benchmark harness.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each workload is a function in the table `workloads' below; it takes the
 * parsed options, fills a report (one row per measured case, plus the
 * outcome of its checks), and main() prints the reports as a table on
 * stdout and, with --csv, as CSV.  Progress goes to stderr.
 *
 * The harness links upager statically (libupager_core) and includes
 * src/internal.h: some measurements need a state that no public call
 * produces, e.g. resident pages whose references were cleared.  Those
 * hooks are only ever called outside the timed sections.
 *
 * Workload `fault': the service time of one fault of each kind.  Every
 * sample is one access, timed with clock_gettime(CLOCK_MONOTONIC) just
 * before and just after it; the timer's own cost is not subtracted but
 * reported as a row of its own.  The cases:
 *
 *   timer   two clock_gettime calls back to back;
 *   floor   a bare SIGSEGV -> mprotect(PROT_READ) -> return round trip,
 *           without upager: a PROT_NONE anonymous mapping and a handler of
 *           our own (installed only for this case, the previous handler
 *           restored afterwards).  The pages are populated before they are
 *           protected, so the retried access takes no kernel page fault:
 *           this is the least a protection-based pager can cost;
 *   major   a read of a non-resident page of a file that is hot in the
 *           page cache (read-ahead off: UPAGER_ADV_RANDOM);
 *   minor   a read of a resident page whose reference the Clock hand
 *           cleared (upager__deactivate_some(), between the passes);
 *   write   an 8-byte store to a clean, resident, referenced (PROT_READ)
 *           page of a writable UPAGER_SHARED mapping.
 *
 * Pages are touched in a random order (a shuffled index array, fixed seed)
 * so that neither upager nor the kernel sees a sequential pattern.
 *
 * Rounds.  upager keeps the number of accessible pages in the process under
 * a budget (vm.max_map_count / 4, see docs/design.md, "The VMA bound"); a
 * grant that would pass it first clears references with the Clock hand,
 * inside the fault.  So that every timed access is exactly one fault of the
 * kind measured and pays for nothing else, the samples are taken in rounds
 * of at most half the budget (--round-pages), and between rounds, untimed,
 * every reference is cleared with upager__deactivate_some().  The counters
 * are checked around the timed sections: each case must add exactly N to
 * its own counter, N to pgfault, and nothing to pgdeactivate or pgsteal.
 */
#include "internal.h" /* config.h first: _GNU_SOURCE */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "upager-bench"

#define EXIT_USAGE 2

#define DEFAULT_SAMPLES 20000u
#define QUICK_SAMPLES 5000u
#define FAULT_DEFAULT_PAGE_SIZE 4096u
#define EXTRA_FRAMES 64u /* memory_limit = N + EXTRA_FRAMES pages */
#define PIN_CPU 0
#define SEED 0x75706167657262ull /* "upagerb": fixed, so runs compare */

/* -------------------------------------------------------------------------
 * Options
 */

struct options {
	const char *workload; /* NULL: every workload */
	uint64_t page_size;   /* 0: the workload's default */
	uint64_t samples;     /* per case */
	uint64_t round_pages; /* 0: half of upager's VMA budget */
	bool quick;
	const char *csv;      /* NULL: no CSV */
};

static const struct option long_options[] = {
	{ "workload", required_argument, NULL, 'w' },
	{ "page-size", required_argument, NULL, 'p' },
	{ "samples", required_argument, NULL, 'n' },
	{ "round-pages", required_argument, NULL, 'r' },
	{ "quick", no_argument, NULL, 'q' },
	{ "csv", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* -------------------------------------------------------------------------
 * Reports
 */

#define MAX_ROWS 16
#define MAX_NOTES 48
#define NOTE_LEN 256

struct row {
	char name[48];
	size_t samples;
	uint64_t p50, p90, p99, max;
};

struct report {
	const char *workload;
	char header[4][NOTE_LEN]; /* lines printed above the table */
	unsigned nheader;
	struct row rows[MAX_ROWS];
	unsigned nrows;
	int baseline;             /* row the p50 ratio refers to, or -1 */
	char notes[MAX_NOTES][NOTE_LEN]; /* check results, printed below */
	unsigned nnotes;
	unsigned failures;        /* failed checks */
};

static void report_header(struct report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report_header(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->nheader >= sizeof(rep->header) / sizeof(rep->header[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(rep->header[rep->nheader++], NOTE_LEN, fmt, ap);
	va_end(ap);
}

/* Record a check: printed to stderr now and below the table later. */
static bool check(struct report *rep, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool check(struct report *rep, bool ok, const char *fmt, ...)
{
	char msg[NOTE_LEN - 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		rep->failures++;
	fprintf(stderr, PROG ": %s: check %s: %s\n", rep->workload, ok ? "ok" : "FAILED", msg);
	if (rep->nnotes < MAX_NOTES)
		snprintf(rep->notes[rep->nnotes++], NOTE_LEN, "%s %s", ok ? "ok    " : "FAILED",
		         msg);
	return ok;
}

static void progress(const struct report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct report *rep, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", rep->workload);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @s[0..n-1], n >= 1. */
static uint64_t percentile(const uint64_t *s, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return s[rank ? rank - 1 : 0];
}

/* Sort @ns[0..n-1] and add it as a row. */
static void add_row(struct report *rep, const char *name, uint64_t *ns, size_t n)
{
	struct row *r;

	if (rep->nrows >= MAX_ROWS || n == 0)
		return;
	r = &rep->rows[rep->nrows++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	qsort(ns, n, sizeof(*ns), cmp_u64);
	r->samples = n;
	r->p50 = percentile(ns, n, 50);
	r->p90 = percentile(ns, n, 90);
	r->p99 = percentile(ns, n, 99);
	r->max = ns[n - 1];
	progress(rep, "%s: p50 %" PRIu64 " ns, p99 %" PRIu64 " ns", name, r->p50, r->p99);
}

static double row_ratio(const struct report *rep, const struct row *r)
{
	if (rep->baseline < 0 || rep->rows[rep->baseline].p50 == 0)
		return 0;
	return (double)r->p50 / (double)rep->rows[rep->baseline].p50;
}

static void print_report(const struct report *rep, FILE *out)
{
	const char *base = rep->baseline >= 0 ? rep->rows[rep->baseline].name : NULL;

	fprintf(out, "\n== workload %s ==\n", rep->workload);
	for (unsigned i = 0; i < rep->nheader; i++)
		fprintf(out, "%s\n", rep->header[i]);
	fprintf(out, "\n%-32s %8s %9s %9s %9s %11s %9s\n", "case", "samples", "p50 ns",
	        "p90 ns", "p99 ns", "max ns", "p50/floor");
	for (unsigned i = 0; i < rep->nrows; i++) {
		const struct row *r = &rep->rows[i];
		fprintf(out, "%-32s %8zu %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %11" PRIu64,
		        r->name, r->samples, r->p50, r->p90, r->p99, r->max);
		if (base)
			fprintf(out, " %9.2f\n", row_ratio(rep, r));
		else
			fprintf(out, " %9s\n", "-");
	}
	if (base)
		fprintf(out, "(p50/floor: p50 of the case over p50 of \"%s\")\n", base);
	if (rep->nnotes) {
		fprintf(out, "\nchecks:\n");
		for (unsigned i = 0; i < rep->nnotes; i++)
			fprintf(out, "  %s\n", rep->notes[i]);
	}
	fprintf(out, "%s: %u check%s failed\n", rep->workload, rep->failures,
	        rep->failures == 1 ? "" : "s");
}

static void csv_header(FILE *f)
{
	fprintf(f, "workload,case,samples,p50_ns,p90_ns,p99_ns,max_ns,p50_over_floor\n");
}

static void csv_report(const struct report *rep, FILE *f)
{
	for (unsigned i = 0; i < rep->nrows; i++) {
		const struct row *r = &rep->rows[i];
		fprintf(f, "%s,\"%s\",%zu,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
		        rep->workload, r->name, r->samples, r->p50, r->p90, r->p99, r->max);
		if (rep->baseline >= 0)
			fprintf(f, "%.3f\n", row_ratio(rep, r));
		else
			fprintf(f, "\n");
	}
}

/* -------------------------------------------------------------------------
 * Helpers: time, randomness, CPU pinning, files
 */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One 8-byte load at @addr, timed. */
static inline uint64_t timed_load(const void *addr, uint64_t *ns)
{
	uint64_t t0, t1, v;

	t0 = now_ns();
	__asm__ __volatile__("" ::: "memory");
	v = *(const volatile uint64_t *)addr;
	__asm__ __volatile__("" ::: "memory");
	t1 = now_ns();
	*ns = t1 - t0;
	return v;
}

/* One 8-byte store of @v at @addr, timed. */
static inline uint64_t timed_store(void *addr, uint64_t v)
{
	uint64_t t0, t1;

	t0 = now_ns();
	__asm__ __volatile__("" ::: "memory");
	*(volatile uint64_t *)addr = v;
	__asm__ __volatile__("" ::: "memory");
	t1 = now_ns();
	return t1 - t0;
}

/* splitmix64 finaliser: a bijection, used for page tags and the shuffle. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The word at offset 0 of page @i of a generated file, and the word the
 * write case stores at offset 8. */
static uint64_t page_tag(uint64_t i)
{
	return mix64(SEED ^ (i * 2 + 1));
}
static uint64_t store_tag(uint64_t i)
{
	return mix64(SEED ^ (i * 2 + 2)) | 1; /* never 0, the file's value */
}

struct rng {
	uint64_t state;
};

static uint64_t rng_next(struct rng *g)
{
	g->state += 0x9e3779b97f4a7c15ull;
	return mix64(g->state);
}

/* Fisher-Yates over @a[0..n-1]. */
static void shuffle(size_t *a, size_t n, struct rng *g)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(g) % i), t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* A random permutation of 0..n-1. */
static void permutation(size_t *a, size_t n, struct rng *g)
{
	for (size_t i = 0; i < n; i++)
		a[i] = i;
	shuffle(a, n, g);
}

struct pin {
	cpu_set_t old;
	bool pinned;
	char what[96];
};

/* Pin the calling thread (threads it creates inherit the mask) to CPU 0. */
static void pin_cpu(struct pin *pin)
{
	cpu_set_t set;

	pin->pinned = false;
	if (sched_getaffinity(0, sizeof(pin->old), &pin->old) != 0) {
		snprintf(pin->what, sizeof(pin->what), "not pinned (sched_getaffinity: %s)",
		         strerror(errno));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(PIN_CPU, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		snprintf(pin->what, sizeof(pin->what), "not pinned (sched_setaffinity CPU %d: %s)",
		         PIN_CPU, strerror(errno));
		return;
	}
	pin->pinned = true;
	snprintf(pin->what, sizeof(pin->what), "process pinned to CPU %d during timing", PIN_CPU);
}

static void unpin_cpu(struct pin *pin)
{
	if (pin->pinned)
		sched_setaffinity(0, sizeof(pin->old), &pin->old);
	pin->pinned = false;
}

static long max_map_count(void)
{
	long v = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1 || v < 1024)
			v = 65530;
		fclose(f);
	}
	return v;
}

static const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/var/tmp";
}

/*
 * A file of @npages pages of @ps bytes in the temporary directory, unlinked
 * at once (so nothing is left behind, whatever happens), page i starting
 * with page_tag(i).  It is written, made durable (so no write-back runs
 * during the measurements), then read once with read(2) so that it is hot
 * in the page cache.  Returns an O_RDWR descriptor, or -1 (message printed).
 */
static int make_file(const struct report *rep, size_t npages, size_t ps)
{
	char path[4096];
	size_t chunk_pages = ps >= (1u << 20) ? 1 : (1u << 20) / ps;
	size_t bufsize = chunk_pages * ps;
	char *buf;
	int fd;

	if (snprintf(path, sizeof(path), "%s/" PROG "-XXXXXX", tmp_dir()) >= (int)sizeof(path)) {
		fprintf(stderr, PROG ": temporary directory name too long\n");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": mkstemp %s: %s\n", path, strerror(errno));
		return -1;
	}
	unlink(path);
	buf = calloc(1, bufsize);
	if (!buf) {
		fprintf(stderr, PROG ": out of memory\n");
		close(fd);
		return -1;
	}
	progress(rep, "writing a %zu-page file of %zu-byte pages in %s (%zu MiB)", npages, ps,
	         tmp_dir(), (npages * ps) >> 20);
	for (size_t first = 0; first < npages; first += chunk_pages) {
		size_t n = npages - first < chunk_pages ? npages - first : chunk_pages;
		size_t len = n * ps, done = 0;

		for (size_t k = 0; k < n; k++) {
			uint64_t tag = page_tag(first + k);
			memcpy(buf + k * ps, &tag, sizeof(tag));
		}
		while (done < len) {
			ssize_t w = pwrite(fd, buf + done, len - done, (off_t)(first * ps + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, PROG ": write %s: %s\n", path,
				        w < 0 ? strerror(errno) : "short write");
				goto fail;
			}
			done += (size_t)w;
		}
	}
	if (fdatasync(fd) != 0) {
		fprintf(stderr, PROG ": fdatasync %s: %s\n", path, strerror(errno));
		goto fail;
	}
	/* One read(2) pass: the file is in the page cache afterwards. */
	if (lseek(fd, 0, SEEK_SET) != 0) {
		fprintf(stderr, PROG ": lseek %s: %s\n", path, strerror(errno));
		goto fail;
	}
	for (size_t total = 0; total < npages * ps;) {
		ssize_t r = read(fd, buf, bufsize);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, PROG ": read %s: %s\n", path,
			        r < 0 ? strerror(errno) : "unexpected end of file");
			goto fail;
		}
		total += (size_t)r;
	}
	free(buf);
	return fd;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* -------------------------------------------------------------------------
 * Internal hooks (never called inside a timed section)
 */

/* The pager's only region. */
static struct upager_region *only_region(upager_t *p)
{
	return p->regions;
}

/* Clear every reference with the Clock hand: one full turn, so the hand
 * ends where it started (in front of the free frames: the next major
 * fault takes a free frame and evicts nothing).  API context, as upager's
 * own calls: signals blocked, inside the region gate. */
static void clear_references(upager_t *p)
{
	sigset_t old;

	upager__block_signals(&old);
	upager__gate_read_enter();
	upager__deactivate_some(p, p->nframes > UINT_MAX ? UINT_MAX : (unsigned)p->nframes);
	upager__gate_read_exit();
	upager__restore_signals(&old);
}

/* Pages of @r whose flags have all of @all and none of @none. */
static size_t count_pages(struct upager_region *r, const size_t *idx, size_t n, uint32_t all,
                          uint32_t none)
{
	size_t c = 0;

	for (size_t k = 0; k < n; k++) {
		uint32_t f = page_flags(&r->pages[idx ? idx[k] : k]);
		if ((f & all) == all && !(f & none))
			c++;
	}
	return c;
}

/* -------------------------------------------------------------------------
 * Workload "fault"
 */

static char *floor_base;
static size_t floor_len, floor_page;

static void floor_handler(int sig, siginfo_t *si, void *uctx)
{
	uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)floor_base;
	static const char msg[] = PROG ": floor: mprotect failed in the handler\n";

	(void)sig;
	(void)uctx;
	if (a < base || a - base >= floor_len) {
		/* Not ours: let the retried access die as it would have. */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &dfl, NULL);
		return;
	}
	if (mprotect((void *)(a & ~(uintptr_t)(floor_page - 1)), floor_page, PROT_READ) != 0) {
		if (write(2, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(1);
	}
}

/* The floor: SIGSEGV -> mprotect(PROT_READ) -> return, no pager. */
static int fault_floor(struct report *rep, size_t n, size_t round, size_t *perm,
                       uint64_t *ns, struct rng *g)
{
	struct sigaction sa, old;
	size_t bad = 0;

	floor_page = (size_t)sysconf(_SC_PAGESIZE);
	floor_len = n * floor_page;
	floor_base = mmap(NULL, floor_len, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (floor_base == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap %zu bytes: %s\n", floor_len, strerror(errno));
		floor_base = NULL;
		return -1;
	}
	/* Populated and tagged first: the retried access then finds its page
	 * table entry and takes no kernel fault of its own. */
	for (size_t i = 0; i < n; i++)
		*(uint64_t *)(floor_base + i * floor_page) = page_tag(i);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = floor_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old) != 0) {
		fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
		munmap(floor_base, floor_len);
		return -1;
	}
	progress(rep, "floor: %zu faults on %zu-byte pages", n, floor_page);
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		/* Untimed: every page inaccessible again (merges the VMAs). */
		if (mprotect(floor_base, floor_len, PROT_NONE) != 0) {
			fprintf(stderr, PROG ": mprotect: %s\n", strerror(errno));
			sigaction(SIGSEGV, &old, NULL);
			munmap(floor_base, floor_len);
			floor_base = NULL;
			return -1;
		}
		for (size_t k = first; k < end; k++) {
			uint64_t v = timed_load(floor_base + perm[k] * floor_page, &ns[k]);
			bad += v != page_tag(perm[k]);
		}
	}
	sigaction(SIGSEGV, &old, NULL); /* restore the previous handler */
	munmap(floor_base, floor_len);
	floor_base = NULL;
	check(rep, bad == 0, "floor: every page read back its tag (%zu wrong)", bad);
	add_row(rep, "floor: SIGSEGV+mprotect+return", ns, n);
	return 0;
}

/* Counter differences. */
struct deltas {
	uint64_t fault, maj, min, write, pgin, pgout, ra, deact, steal;
};

static void deltas_add(struct deltas *d, const struct upager_stats *a,
                       const struct upager_stats *b)
{
	d->fault += b->pgfault - a->pgfault;
	d->maj += b->pgmajfault - a->pgmajfault;
	d->min += b->pgminfault - a->pgminfault;
	d->write += b->pgwritefault - a->pgwritefault;
	d->pgin += b->pgpgin - a->pgpgin;
	d->pgout += b->pgpgout - a->pgpgout;
	d->ra += b->readahead - a->readahead;
	d->deact += b->pgdeactivate - a->pgdeactivate;
	d->steal += b->pgsteal - a->pgsteal;
}

static void stats_of(upager_t *p, struct upager_stats *s)
{
	upager_stats(p, s);
}

/* The counters of a timed pass of @n faults meant to be all of one kind
 * (@got of them counted as such, @others the count of the other two
 * kinds): exactly n faults, all of that kind, and no other work inside. */
static void check_pass(struct report *rep, const char *name, const char *counter,
                       uint64_t got, uint64_t others, size_t n, const struct deltas *d)
{
	check(rep, got == n, "%s: %s grew by %" PRIu64 " (expected %zu)", name, counter, got, n);
	check(rep, d->fault == n && others == 0,
	      "%s: pgfault grew by %" PRIu64 " (expected %zu), of them major %" PRIu64
	      ", minor %" PRIu64 ", write %" PRIu64,
	      name, d->fault, n, d->maj, d->min, d->write);
	check(rep, d->deact == 0 && d->steal == 0 && d->ra == 0,
	      "%s: no Clock or read-ahead work inside the timed faults (pgdeactivate +%" PRIu64
	      ", pgsteal +%" PRIu64 ", readahead +%" PRIu64 ")",
	      name, d->deact, d->steal, d->ra);
}

static upager_t *make_pager(size_t ps, size_t n)
{
	struct upager_config cfg;
	upager_t *p = NULL;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.page_size = ps;
	cfg.memory_limit = (n + EXTRA_FRAMES) * ps;
	rc = upager_create(&p, &cfg);
	if (rc < 0) {
		fprintf(stderr, PROG ": upager_create: %s\n", upager_strerror(rc));
		return NULL;
	}
	return p;
}

static char *map_file(upager_t *p, int fd, size_t len, int prot)
{
	char *base = upager_map(p, fd, 0, len, prot, UPAGER_SHARED);
	int rc;

	if (!base) {
		fprintf(stderr, PROG ": upager_map: %s\n", strerror(errno));
		return NULL;
	}
	rc = upager_advise(p, base, len, UPAGER_ADV_RANDOM);
	if (rc < 0) {
		fprintf(stderr, PROG ": upager_advise RANDOM: %s\n", upager_strerror(rc));
		upager_unmap(p, base);
		return NULL;
	}
	return base;
}

/* Major faults, then minor faults on the same pages, in one pager. */
static int fault_major_minor(struct report *rep, size_t n, size_t ps, size_t round,
                             size_t *perm, uint64_t *ns, struct rng *g)
{
	struct upager_stats s0, s1, a, b;
	struct deltas dmaj, dmin;
	struct upager_region *r;
	upager_t *p;
	char *base;
	size_t bad = 0, referenced, cleared;
	int fd, rc, ret = -1;

	fd = make_file(rep, n, ps);
	if (fd < 0)
		return -1;
	p = make_pager(ps, n);
	if (!p)
		goto out_fd;
	base = map_file(p, fd, n * ps, PROT_READ);
	if (!base)
		goto out_pager;
	r = only_region(p);

	/* Major: every touch reads its page. */
	progress(rep, "major: %zu faults, rounds of %zu pages", n, round);
	memset(&dmaj, 0, sizeof(dmaj));
	permutation(perm, n, g);
	stats_of(p, &s0);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		clear_references(p); /* untimed; see "Rounds" at the top */
		stats_of(p, &a);
		for (size_t k = first; k < end; k++) {
			uint64_t v = timed_load(base + perm[k] * ps, &ns[k]);
			bad += v != page_tag(perm[k]);
		}
		stats_of(p, &b);
		deltas_add(&dmaj, &a, &b);
	}
	stats_of(p, &s1);
	check(rep, bad == 0, "major: every page read back its tag (%zu wrong)", bad);
	check(rep, s1.pgmajfault - s0.pgmajfault == n && s1.pgpgin - s0.pgpgin == n,
	      "major: pgmajfault +%" PRIu64 ", pgpgin +%" PRIu64 " over the pass (expected %zu)",
	      s1.pgmajfault - s0.pgmajfault, s1.pgpgin - s0.pgpgin, n);
	check_pass(rep, "major", "pgmajfault", dmaj.maj, dmaj.min + dmaj.write, n, &dmaj);
	add_row(rep, "major: page-cache-hot file", ns, n);

	/* Minor: clear every reference, then touch each page again. */
	referenced = count_pages(r, NULL, n, PG_RESIDENT, 0) -
	             count_pages(r, NULL, n, PG_RESIDENT, PG_ACCESS);
	stats_of(p, &a);
	clear_references(p);
	stats_of(p, &b);
	cleared = count_pages(r, NULL, n, PG_RESIDENT, PG_ACCESS);
	check(rep, b.pgdeactivate - a.pgdeactivate == referenced && referenced > 0,
	      "minor: upager__deactivate_some cleared %" PRIu64 " references (%zu were set)",
	      b.pgdeactivate - a.pgdeactivate, referenced);
	check(rep, cleared == n && b.nr_resident == n,
	      "minor: before the pass %zu of %zu pages resident and unreferenced "
	      "(nr_resident %" PRIu64 ")",
	      cleared, n, b.nr_resident);

	progress(rep, "minor: %zu faults, rounds of %zu pages", n, round);
	memset(&dmin, 0, sizeof(dmin));
	bad = 0;
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		clear_references(p);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++) {
			uint64_t v = timed_load(base + perm[k] * ps, &ns[k]);
			bad += v != page_tag(perm[k]);
		}
		stats_of(p, &b);
		deltas_add(&dmin, &a, &b);
	}
	check(rep, bad == 0, "minor: every page read back its tag (%zu wrong)", bad);
	check_pass(rep, "minor", "pgminfault", dmin.min, dmin.maj + dmin.write, n, &dmin);
	check(rep, dmin.maj == 0 && dmin.pgin == 0,
	      "minor: no page was read again (pgmajfault +%" PRIu64 ", pgpgin +%" PRIu64 ")",
	      dmin.maj, dmin.pgin);
	add_row(rep, "minor: reference fault", ns, n);
	ret = 0;

	rc = upager_unmap(p, base);
	if (rc < 0)
		check(rep, false, "upager_unmap: %s", upager_strerror(rc));
out_pager:
	rc = upager_destroy(p);
	if (rc < 0)
		check(rep, false, "upager_destroy: %s", upager_strerror(rc));
out_fd:
	close(fd);
	return ret;
}

/* Write faults on clean resident pages, then sync and check the file. */
static int fault_write(struct report *rep, size_t n, size_t ps, size_t round, size_t *perm,
                       uint64_t *ns, struct rng *g)
{
	struct upager_stats a, b;
	struct deltas dw, dprep;
	struct upager_region *r;
	upager_t *p;
	char *base;
	size_t not_ready = 0, wrong = 0;
	int fd, rc, ret = -1;

	fd = make_file(rep, n, ps);
	if (fd < 0)
		return -1;
	p = make_pager(ps, n);
	if (!p)
		goto out_fd;
	base = map_file(p, fd, n * ps, PROT_READ | PROT_WRITE);
	if (!base)
		goto out_pager;
	r = only_region(p);

	progress(rep, "write: %zu faults, rounds of %zu pages", n, round);
	memset(&dw, 0, sizeof(dw));
	memset(&dprep, 0, sizeof(dprep));
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;
		uint64_t sink = 0;

		/* Untimed: clear the references of the rounds before (their
		 * pages stay resident and dirty), then read-touch this round's
		 * pages: each becomes resident, referenced and clean. */
		clear_references(p);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++)
			sink += *(const volatile uint64_t *)(base + perm[k] * ps);
		stats_of(p, &b);
		deltas_add(&dprep, &a, &b);
		(void)sink;
		not_ready += (end - first) - count_pages(r, perm + first, end - first,
		                                         PG_RESIDENT | PG_READ,
		                                         PG_WRITE | PG_DIRTY);
		/* Timed: one store per page, in another random order. */
		shuffle(perm + first, end - first, g);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++)
			ns[k] = timed_store(base + perm[k] * ps + 8, store_tag(perm[k]));
		stats_of(p, &b);
		deltas_add(&dw, &a, &b);
	}
	check(rep, dprep.maj == n,
	      "write: the untimed read pass took %" PRIu64 " major faults (expected %zu)",
	      dprep.maj, n);
	check(rep, not_ready == 0,
	      "write: before its store every page was resident, referenced, clean "
	      "(%zu were not)",
	      not_ready);
	check_pass(rep, "write", "pgwritefault", dw.write, dw.maj + dw.min, n, &dw);
	add_row(rep, "write: store to clean resident", ns, n);

	/* The stores must reach the file. */
	stats_of(p, &a);
	check(rep, a.nr_dirty == n, "write: nr_dirty %" PRIu64 " before sync (expected %zu)",
	      a.nr_dirty, n);
	rc = upager_sync(p, base, 0);
	stats_of(p, &b);
	check(rep, rc == 0, "write: upager_sync returned %d (%s)", rc, upager_strerror(rc));
	check(rep, b.pgpgout - a.pgpgout == n && b.nr_dirty == 0,
	      "write: sync wrote %" PRIu64 " pages (expected %zu), nr_dirty now %" PRIu64,
	      b.pgpgout - a.pgpgout, n, b.nr_dirty);
	for (size_t i = 0; i < n; i++) {
		uint64_t w[2];
		ssize_t got = pread(fd, w, sizeof(w), (off_t)(i * ps));
		if (got != (ssize_t)sizeof(w) || w[0] != page_tag(i) || w[1] != store_tag(i))
			wrong++;
	}
	check(rep, wrong == 0,
	      "write: read(2) of the file after sync: %zu of %zu pages hold the stored word "
	      "and their original tag (%zu do not)",
	      n - wrong, n, wrong);
	ret = 0;

	rc = upager_unmap(p, base);
	if (rc < 0)
		check(rep, false, "upager_unmap: %s", upager_strerror(rc));
out_pager:
	rc = upager_destroy(p);
	if (rc < 0)
		check(rep, false, "upager_destroy: %s", upager_strerror(rc));
out_fd:
	close(fd);
	return ret;
}

static int workload_fault(const struct options *opt, struct report *rep)
{
	size_t n = (size_t)opt->samples;
	size_t ps = opt->page_size ? (size_t)opt->page_size : FAULT_DEFAULT_PAGE_SIZE;
	size_t round = (size_t)opt->round_pages;
	uint64_t *ns = calloc(n, sizeof(*ns));
	size_t *perm = calloc(n, sizeof(*perm));
	struct rng g = { SEED };
	struct pin pin;
	int ret = -1;

	if (!ns || !perm) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	/* Half of upager's budget of accessible pages (vm.max_map_count / 4,
	 * as region.c computes it); rounds never pass the budget. */
	if (round == 0)
		round = (size_t)max_map_count() / 8;
	if (round == 0)
		round = 1;
	pin_cpu(&pin);
	report_header(rep, "upager %s; page size %zu B (floor: system page %ld B); "
	              "%zu samples per case",
	              upager_version(), ps, sysconf(_SC_PAGESIZE), n);
	report_header(rep, "%s; each sample is one access between two "
	              "clock_gettime(CLOCK_MONOTONIC) calls, timer cost not subtracted",
	              pin.what);
	report_header(rep, "pages touched in random order, in rounds of at most %zu pages "
	              "(references cleared untimed between rounds; vm.max_map_count %ld)",
	              round, max_map_count());
	report_header(rep, "files in %s, hot in the page cache; memory_limit = N + %u pages; "
	              "UPAGER_ADV_RANDOM (no read-ahead)",
	              tmp_dir(), EXTRA_FRAMES);
	rep->baseline = 1; /* the floor row */

	/* The timer itself. */
	for (size_t k = 0; k < n; k++) {
		uint64_t t0 = now_ns();
		__asm__ __volatile__("" ::: "memory");
		uint64_t t1 = now_ns();
		ns[k] = t1 - t0;
	}
	add_row(rep, "timer: clock_gettime pair", ns, n);

	/* Before any pager exists, so the handler we replace is the default
	 * one (and restored with sigaction either way). */
	if (fault_floor(rep, n, round, perm, ns, &g) < 0)
		goto out_unpin;
	if (fault_major_minor(rep, n, ps, round, perm, ns, &g) < 0)
		goto out_unpin;
	if (fault_write(rep, n, ps, round, perm, ns, &g) < 0)
		goto out_unpin;
	ret = 0;
out_unpin:
	unpin_cpu(&pin);
out:
	free(ns);
	free(perm);
	return ret;
}

/* -------------------------------------------------------------------------
 * Workloads and main
 */

struct workload {
	const char *name;
	const char *help;
	int (*run)(const struct options *opt, struct report *rep);
};

static const struct workload workloads[] = {
	{ "fault", "service time of one major, minor and write fault, against the floor",
	  workload_fault },
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		"Measure upager.  Results go to stdout as a table, progress to stderr.\n"
		"\n"
		"  -w, --workload NAME   run only this workload (default: all)\n"
		"  -p, --page-size SIZE  upager page size, a power of two from the system\n"
		"                        page size to 2M (default: the workload's; fault: 4K)\n"
		"  -n, --samples N       samples per case (default %u)\n"
		"  -q, --quick           %u samples per case (unless --samples is given)\n"
		"      --round-pages N   most pages touched per timed round (default: half\n"
		"                        of upager's VMA budget, vm.max_map_count / 8); with\n"
		"                        more, the budget clears references inside timed\n"
		"                        faults and the checks say so\n"
		"  -c, --csv FILE        also write the results as CSV to FILE\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"SIZE is a number of bytes with an optional K, M or G suffix.  Temporary\n"
		"files go to $TMPDIR, else /var/tmp.\n"
		"\n"
		"Workloads:\n",
		DEFAULT_SAMPLES, QUICK_SAMPLES);
	for (size_t i = 0; i < NWORKLOADS; i++)
		fprintf(out, "  %-8s %s\n", workloads[i].name, workloads[i].help);
	fprintf(out, "\nExit status: 0 done and every check passed, 1 a check failed or an\n"
	             "error, 2 bad usage.\n");
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

static bool parse_count(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	long sys_page = sysconf(_SC_PAGESIZE);
	bool samples_given = false;
	int c;

	memset(opt, 0, sizeof(*opt));
	while ((c = getopt_long(argc, argv, "w:p:n:qc:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt->workload = optarg;
			break;
		case 'p':
			if (upager__parse_size(optarg, &opt->page_size) < 0 ||
			    (opt->page_size & (opt->page_size - 1)) != 0 ||
			    opt->page_size < (uint64_t)sys_page ||
			    opt->page_size > UPAGER_MAX_PAGE_SIZE)
				usage_error("--page-size: '%s' is not a power of two from %ld to 2M",
				            optarg, sys_page);
			break;
		case 'n':
			if (!parse_count(optarg, &opt->samples) || opt->samples == 0 ||
			    opt->samples > (1u << 24))
				usage_error("--samples: '%s' is not a count from 1 to %u", optarg,
				            1u << 24);
			samples_given = true;
			break;
		case 'r':
			if (!parse_count(optarg, &opt->round_pages) || opt->round_pages == 0)
				usage_error("--round-pages: '%s' is not a positive count", optarg);
			break;
		case 'q':
			opt->quick = true;
			break;
		case 'c':
			opt->csv = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default: /* getopt_long has said what is wrong */
			fputs("Try '" PROG " --help' for more information.\n", stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!samples_given)
		opt->samples = opt->quick ? QUICK_SAMPLES : DEFAULT_SAMPLES;
	if (opt->workload && strcmp(opt->workload, "all") != 0) {
		size_t i;
		for (i = 0; i < NWORKLOADS; i++)
			if (strcmp(opt->workload, workloads[i].name) == 0)
				break;
		if (i == NWORKLOADS)
			usage_error("--workload: unknown workload '%s'", opt->workload);
	} else {
		opt->workload = NULL;
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	struct report *rep;
	FILE *csv = NULL;
	int status = 0;

	parse_options(argc, argv, &opt);
	if (opt.csv) {
		csv = fopen(opt.csv, "w");
		if (!csv) {
			fprintf(stderr, PROG ": %s: %s\n", opt.csv, strerror(errno));
			return 1;
		}
		csv_header(csv);
	}
	rep = malloc(sizeof(*rep));
	if (!rep) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < NWORKLOADS; i++) {
		const struct workload *w = &workloads[i];

		if (opt.workload && strcmp(opt.workload, w->name) != 0)
			continue;
		memset(rep, 0, sizeof(*rep));
		rep->workload = w->name;
		rep->baseline = -1;
		if (w->run(&opt, rep) < 0) {
			fprintf(stderr, PROG ": %s: stopped by an error\n", w->name);
			status = 1;
		}
		if (rep->failures)
			status = 1;
		print_report(rep, stdout);
		fflush(stdout);
		if (csv)
			csv_report(rep, csv);
	}
	free(rep);
	if (csv && fclose(csv) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", opt.csv, strerror(errno));
		status = 1;
	}
	return status;
}
