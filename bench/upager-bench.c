/*
 * upager-bench - upager's benchmark harness.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Usage: upager-bench [--quick] [--workload LIST] [--sweep] ...  (--help).
 * Results go to stdout as tables and to a CSV file (--csv FILE, else
 * OUT-DIR/upager-bench-YYYYmmdd-HHMMSS.csv); progress goes to stderr.
 * bench/plot.gp draws PNGs from the CSV.
 *
 * The harness uses only upager's public API (upager.h) and links the
 * shared library, as users do.  The states some measurements need are made
 * and checked through it: resident pages whose references were cleared
 * come from upager_advise(UPAGER_ADV_COLD), checked with the counters of
 * upager_stats; whether the direct-I/O rows really used O_DIRECT is read
 * from outside (/proc/self/fd and fdinfo).
 *
 * Workloads (the table `workloads' near the end; one function each,
 * workload_*).  D is the data size (--data), L the memory limit (--limit),
 * T the thread count (--threads):
 *
 *   fault    the service time of one fault of each kind (see "Workload
 *            fault" below); upager only, CPU-pinned, one child process.
 *   seq      one sequential pass over the D bytes, summing 8-byte words.
 *            Throughput in MB/s (10^6 bytes per second).
 *   rand     uniform random 8-byte reads.  op/s.
 *   zipf     Zipf-distributed 8-byte reads, theta 0.99 (YCSB workload C).
 *   threads  rand and zipf with 1 thread and with max(2, T) threads;
 *            op/s and the ratio of the two (column "scaling").
 *   update   Zipf keys, half 8-byte reads, half read-modify-writes (an
 *            atomic fetch-and-add of 1) of 8-byte words (YCSB workload A);
 *            then the data is synced, and the sync is inside the timing:
 *            upager_sync(); msync(MS_SYNC) + fdatasync() for mmap; nothing
 *            for the in-RAM copy.  It runs last, because it changes the
 *            file (the checks of the other workloads use its contents).
 *
 * Systems (one function each, sys_*).  Every run of a system is a forked
 * child of its own, so that peak RSS is per run and a crash ends only that
 * run; the child sends its result back through a pipe.  Peak RSS is the
 * larger of VmHWM, read in the child at its end, and the most RSS a
 * sampler thread saw during the timed phase: the kernel updates VmHWM
 * only at munmap, exit and reclaim, so it misses pages that left through
 * upager's fallocate(PUNCH_HOLE) (see rss_sampler).  Both are in the CSV.
 * Every system runs on the same file (one unlinked file in $TMPDIR, else
 * /var/tmp, per data size) and the same key sequence:
 *
 *   upager         upager_map(UPAGER_SHARED), buffered backing I/O,
 *                  memory_limit = L, page size --page-size (default:
 *                  upager's, 16 KiB).
 *   upager-direct  the same with UPAGER_DIRECT_IO.  O_DIRECT reads go to
 *                  the device even when the file is in the page cache, so
 *                  its "hot" rows read the device too.
 *   mmap           mmap(MAP_SHARED) of the file, PROT_READ (PROT_READ |
 *                  PROT_WRITE for update), in a memory cgroup limited to L.
 *   pread          seq only: a pread(2) loop of 1 MiB reads into a buffer,
 *                  summing the buffer; same cgroup as mmap.
 *   ram            the in-RAM upper bound: a private anonymous copy of the
 *                  file, read with pread untimed, then the same loops.
 *                  Only where D < MemAvailable / 2; no cgroup; the page
 *                  cache is not dropped for it (the copy is untimed).
 * With --advise, mmap and upager are told the pattern (seq:
 * MADV_SEQUENTIAL / UPAGER_ADV_SEQUENTIAL, the others MADV_RANDOM /
 * UPAGER_ADV_RANDOM); by default neither is advised.
 *
 * Regimes (the "regime" column):
 *
 *   hot   the file is in the page cache before each run (read once, where
 *         mincore(2) says any of it is missing): what is measured is CPU
 *         overhead.  upager runs without a cgroup (its limit is its own).
 *         The kernel's mmap runs in the cgroup limited to L, but a page is
 *         charged to the cgroup that brought it into the page cache (here
 *         the harness's own), and cgroups v1 and v2 never recharge a page
 *         on mapping: so in the hot regime the cgroup limits only the
 *         child's anonymous memory and page tables, NOT the resident pages
 *         of the mapping.  The mmap child may map all D bytes (its peak RSS
 *         shows it); its hot rows are the kernel's fault-path cost with the
 *         cache unconstrained.  This is the only way to have the file
 *         cached and the kernel's cgroup in place at once.
 *   cold  the page cache is dropped (fdatasync of the file, then
 *         `echo 3 > /proc/sys/vm/drop_caches') before each run, so reads go
 *         to the device and, for mmap and pread, the file's pages are
 *         charged to the run's cgroup (limit L): the kernel's cache is
 *         bounded by L.  upager runs in a cgroup limited to L + 5% + 16 MiB,
 *         so that its page-cache use (buffered backing I/O fills the page
 *         cache besides upager's own L of frames) is bounded as the
 *         kernel's is; 5% + 16 MiB is the slack for upager's descriptors,
 *         rings, thread stacks and the harness's buffers.
 *
 * Cgroups: cgroup v1 (the memory controller's mount, usually
 * /sys/fs/cgroup/memory): mkdir upager-bench-PID at its root, write the
 * limit to memory.limit_in_bytes, the child writes its pid to cgroup.procs
 * first thing, and the parent removes the group after the child is reaped.
 * Else cgroup v2 (a group under the unified root with memory.max, if the
 * root delegates the memory controller).  Where no group can be made (not
 * root, no controller), the run is unconstrained and the table and CSV say
 * so (notes, column cgroup = "none").  The cgroup's peak usage (v1
 * memory.max_usage_in_bytes, v2 memory.peak) is in the CSV.  SIGINT and
 * SIGTERM kill the running child and remove its group.
 *
 * Keys.  A key is the index of an 8-byte word of the file.  The key
 * sequence of each distribution is generated once per data size into a
 * memfd (fixed seeds, so runs compare) and read by every system and by the
 * LRU simulator; the children read it in chunks of KEY_CHUNK keys with
 * pread, so the key array costs no RSS in the children.  Threads claim
 * chunks in order from an atomic counter; at the end of the time budget
 * the main thread raises a stop flag that the workers look at every
 * KEY_SLICE keys, and each worker reports where it stopped in its last
 * chunk.  So the keys a run consumed are known exactly (the chunks
 * claimed minus the unfinished tails), and with one thread they are
 * exactly a prefix of the sequence.
 *   - rand: uniform over the D / 8 words.
 *   - zipf (also update and threads' zipf): popularity by a scrambled
 *     Zipfian over the WORDS (not pages): the generator of Gray et al.,
 *     "Quickly generating billion-record synthetic databases" (SIGMOD
 *     1994), as YCSB's ZipfianGenerator, over N = D / 8 items with
 *     theta = 0.99 and zeta(N) precomputed once (summed exactly up to 2^22
 *     terms; for larger N, the first 2^20 terms exactly and the rest by
 *     Euler-Maclaurin to 4 terms, error far below double precision).  The
 *     rank is then scrambled over the words by a bijection (a keyed
 *     mixing permutation of [0, 2^k), cycle-walked into [0, N)), so the
 *     popular words are spread over the file, as YCSB's
 *     ScrambledZipfianGenerator spreads popular keys (YCSB hashes modulo
 *     N, which merges some ranks; the bijection keeps the distribution
 *     exactly Zipfian).  A page's popularity is the sum of its words'.
 *   - update: the same sequence; each key carries a second random bit
 *     choosing read or read-modify-write (half each).
 * The harness needs no libm: the build links none, so log, exp and pow are
 * computed here (m_log, m_exp, m_pow; within a few ulp).
 *
 * Operation counts.  seq does one pass of D bytes.  The key workloads run
 * until the key sequence is used up (--ops keys, default 32M, quick 8M)
 * or the time budget (--seconds per run, default 4, quick 1) has passed,
 * whichever comes first: fast systems do a fixed count, slow ones (cold
 * device reads) run for the budget.  Throughput is operations over the
 * timed wall time, which starts when the threads are released (pager,
 * mapping, copy and threads are made before) and ends when they are all
 * done (and, for update, the sync returned).
 *
 * Hit ratio (key workloads, upager rows): 1 - pgmajfault / accesses over
 * the timed phase, where an access is one 8-byte read or read-modify-write
 * (upager_stats before and after).  Next to it, the hit ratio of exact LRU
 * with the same number of frames (L / page size) on the same keys (the
 * same prefix of the sequence, as long as the run's accesses), from an
 * O(1) LRU simulator (arrays indexed by the dense page numbers: a doubly
 * linked list and a resident flag), starting empty as upager does.  With
 * more than one thread the run's keys are that prefix give or take the
 * unfinished tail of each thread's last chunk, and in another order, so
 * the LRU figure is then the single-stream reference.  Pages read ahead
 * by upager are not major faults, so read-ahead raises upager's ratio a
 * little; the CSV has the read-ahead counts.
 *
 * Checks (column "check"): every run returns the sum of the words it read.
 * The file's words are generated (word w holds word_value(w)), so the
 * harness knows the right answer without trusting any system: seq must
 * return the file's sum; rand and zipf must return the sum of the values
 * of the keys they consumed (prefix sums per chunk are kept); update must
 * leave the file (mmap, upager) or the copy (ram) summing to the old sum
 * plus the number of read-modify-writes (the file is read back after the
 * run), and its reads must be within what those increments allow.  A
 * failed check, like a failed or crashed run, fails the exit status.
 * Peak RSS is checked against L + 5% + 16 MiB for every upager run; a run
 * over it is flagged in the notes ("RSS>bound") but not failed.
 *
 * Sweep (--sweep): seq and zipf (those of them selected) at D = 2, 4, 8
 * and 16 L, for the throughput-against-D/L plots.
 *
 * Output: per workload, a table on stdout (workload, regime, system, D, L,
 * D/L, threads, throughput, hit ratio and LRU's, peak RSS, check and
 * notes: cgroup, page-cache state at the start, O_DIRECT, flags); one CSV
 * row per run with every counter (upager's over the timed phase, the
 * child's faults and storage reads from getrusage and /proc/self/io,
 * cgroup limit and peak) and, for the fault workload, the percentiles.
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
 *   minor   a read of a resident page whose reference was cleared
 *           (upager_advise(UPAGER_ADV_COLD), between the passes);
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
 * every reference is cleared with upager_advise(UPAGER_ADV_COLD).  The
 * counters (upager_stats) are checked around the timed sections: each case
 * must add exactly N to its own counter, N to pgfault, and nothing to
 * pgdeactivate or pgsteal.  The states the timed accesses need (resident
 * and unreferenced for minor; resident, referenced and clean for write)
 * are checked through the counters too: the references UPAGER_ADV_COLD
 * cleared (pgdeactivate), nr_resident, and the read faults of the
 * untimed pass that prepares the write case.
 * The write case then checks that every page reached the file exactly
 * once, by the pager's background write-back (which takes the dirty pages
 * of earlier rounds once they are unreferenced, possibly while a later
 * round is timed: the count is reported) or by upager_sync().  The whole
 * workload runs in a child process, like every other measurement.
 */
#define _GNU_SOURCE /* memfd_create, pipe2, mkostemp, CPU_SET, strsignal */

#include <upager.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h> /* NAN, INFINITY, isnan: macros only, no libm */
#include <mntent.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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
#include <sys/utsname.h>
#include <sys/wait.h>
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

#define MiB (1ull << 20)
#define FULL_LIMIT (256 * MiB)
#define QUICK_LIMIT (64 * MiB)
#define DATA_OVER_LIMIT 8u      /* default D = 8 L */
#define FULL_SECONDS 4.0        /* time budget of a key-workload run */
#define QUICK_SECONDS 1.0
#define FULL_MAX_OPS (32ull << 20) /* keys generated per distribution */
#define QUICK_MAX_OPS (8ull << 20)
#define KEY_CHUNK 1024u         /* keys a thread claims at once */
#define SEQ_CHUNK (1u << 20)    /* bytes a seq thread claims; pread size */
#define ZIPF_THETA 0.99
#define MAX_THREADS 64u
#define UPDATE_BIT (1ull << 63) /* in a key: read-modify-write, not read */
#define KEY_WORD (UPDATE_BIT - 1)
#define DATA_SEED 0x6461746173656564ull
#define CG_SLACK_FIXED (16 * MiB) /* upager cold cgroup: L + L/20 + this */

/* -------------------------------------------------------------------------
 * Options
 */

enum { REGIME_HOT, REGIME_COLD, NREGIMES };
static const char *const regime_names[NREGIMES] = { "hot", "cold" };

struct options {
	const char *workloads; /* comma-separated list; NULL: every workload */
	uint64_t page_size;    /* 0: the workload's default */
	uint64_t samples;      /* fault: per case */
	uint64_t round_pages;  /* fault: 0: half of upager's VMA budget */
	uint64_t data;         /* D; 0: DATA_OVER_LIMIT * L */
	uint64_t limit;        /* L; 0: FULL_LIMIT or QUICK_LIMIT */
	uint64_t threads;      /* 0: 1 */
	double seconds;        /* 0: FULL_SECONDS or QUICK_SECONDS */
	uint64_t max_ops;      /* 0: FULL_MAX_OPS or QUICK_MAX_OPS */
	unsigned regimes;      /* bit per regime */
	unsigned systems;      /* bit per system; 0: all */
	bool quick;
	bool sweep;
	bool advise;
	const char *csv;       /* NULL: OUT_DIR/upager-bench-DATE.csv */
	const char *out_dir;   /* "." */
};

enum {
	OPT_ROUND_PAGES = 256,
	OPT_SWEEP,
	OPT_REGIME,
	OPT_SYSTEMS,
	OPT_ADVISE,
	OPT_OPS,
	OPT_OUT_DIR,
};

static const struct option long_options[] = {
	{ "workload", required_argument, NULL, 'w' },
	{ "data", required_argument, NULL, 'd' },
	{ "limit", required_argument, NULL, 'l' },
	{ "threads", required_argument, NULL, 't' },
	{ "page-size", required_argument, NULL, 'p' },
	{ "seconds", required_argument, NULL, 's' },
	{ "ops", required_argument, NULL, OPT_OPS },
	{ "samples", required_argument, NULL, 'n' },
	{ "round-pages", required_argument, NULL, OPT_ROUND_PAGES },
	{ "regime", required_argument, NULL, OPT_REGIME },
	{ "systems", required_argument, NULL, OPT_SYSTEMS },
	{ "advise", no_argument, NULL, OPT_ADVISE },
	{ "sweep", no_argument, NULL, OPT_SWEEP },
	{ "quick", no_argument, NULL, 'q' },
	{ "csv", required_argument, NULL, 'c' },
	{ "out-dir", required_argument, NULL, OPT_OUT_DIR },
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
	uint64_t fault, maj, min, write, pgin, pgout, ra, deact, steal, bgwb;
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
	d->bgwb += b->writeback_background - a->writeback_background;
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

/* Clear the reference of every resident page of the mapping, evicting
 * nothing, as the Clock hand's visit does (untimed; see "Rounds" at the
 * top): the next touch of each is a minor fault.  Each reference cleared
 * counts in pgdeactivate. */
static void clear_references(struct report *rep, upager_t *p, void *base, size_t len)
{
	int rc = upager_advise(p, base, len, UPAGER_ADV_COLD);

	if (rc < 0)
		check(rep, false, "upager_advise COLD: %s", upager_strerror(rc));
}

/* Major faults, then minor faults on the same pages, in one pager. */
static int fault_major_minor(struct report *rep, size_t n, size_t ps, size_t round,
                             size_t *perm, uint64_t *ns, struct rng *g)
{
	struct upager_stats s0, s1, a, b, c;
	struct deltas dmaj, dmin;
	upager_t *p;
	char *base;
	size_t bad = 0, last_round, cleared;
	uint64_t left;
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

	/* Major: every touch reads its page. */
	progress(rep, "major: %zu faults, rounds of %zu pages", n, round);
	memset(&dmaj, 0, sizeof(dmaj));
	permutation(perm, n, g);
	stats_of(p, &s0);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		clear_references(rep, p, base, n * ps); /* untimed; see "Rounds" */
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

	/* Minor: clear every reference, then touch each page again.  The
	 * references set now are those of the last round's pages (each
	 * round began by clearing the ones before).  A second clearing must
	 * find none left: then every resident page is unreferenced. */
	last_round = n - (n - 1) / round * round;
	stats_of(p, &a);
	clear_references(rep, p, base, n * ps);
	stats_of(p, &b);
	clear_references(rep, p, base, n * ps);
	stats_of(p, &c);
	left = c.pgdeactivate - b.pgdeactivate;
	cleared = (size_t)(c.nr_resident - c.nr_pinned - left);
	check(rep, b.pgdeactivate - a.pgdeactivate == last_round && last_round > 0,
	      "minor: UPAGER_ADV_COLD cleared %" PRIu64 " references (%zu were set, "
	      "the last round's)",
	      b.pgdeactivate - a.pgdeactivate, last_round);
	check(rep, cleared == n && c.nr_resident == n,
	      "minor: before the pass %zu of %zu pages resident and unreferenced "
	      "(nr_resident %" PRIu64 ", references left %" PRIu64 ")",
	      cleared, n, c.nr_resident, left);

	progress(rep, "minor: %zu faults, rounds of %zu pages", n, round);
	memset(&dmin, 0, sizeof(dmin));
	bad = 0;
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;

		clear_references(rep, p, base, n * ps);
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

/* Of the @len pages of a round, those the untimed read pass (its counters
 * @d) did not leave resident, referenced and clean: each page must have
 * taken a read fault that made it resident (pgmajfault, which also grants
 * read access), and meanwhile no page may have been evicted (pgsteal),
 * had its reference cleared (pgdeactivate) or been written (pgwritefault). */
static size_t not_ready_pages(const struct deltas *d, size_t len)
{
	uint64_t ready = d->maj < len ? d->maj : len;
	uint64_t lost = d->steal + d->deact + d->write;

	return (size_t)(len - ready + (lost < ready ? lost : ready));
}

/* Write faults on clean resident pages, then sync and check the file. */
static int fault_write(struct report *rep, size_t n, size_t ps, size_t round, size_t *perm,
                       uint64_t *ns, struct rng *g)
{
	struct upager_stats s0, a, b;
	struct deltas dw, dprep;
	upager_t *p;
	char *base;
	size_t not_ready = 0, wrong = 0;
	uint64_t bg;
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

	progress(rep, "write: %zu faults, rounds of %zu pages", n, round);
	memset(&dw, 0, sizeof(dw));
	memset(&dprep, 0, sizeof(dprep));
	stats_of(p, &s0);
	permutation(perm, n, g);
	for (size_t first = 0; first < n; first += round) {
		size_t end = first + round < n ? first + round : n;
		struct deltas dround;
		uint64_t sink = 0;

		/* Untimed: clear the references of the rounds before (their
		 * pages stay resident and dirty), then read-touch this round's
		 * pages: each becomes resident, referenced and clean. */
		clear_references(rep, p, base, n * ps);
		stats_of(p, &a);
		for (size_t k = first; k < end; k++)
			sink += *(const volatile uint64_t *)(base + perm[k] * ps);
		stats_of(p, &b);
		deltas_add(&dprep, &a, &b);
		(void)sink;
		memset(&dround, 0, sizeof(dround));
		deltas_add(&dround, &a, &b);
		not_ready += not_ready_pages(&dround, end - first);
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
	/* Not a failure: the pager's background write-back (its own thread,
	 * which inherits the CPU pinning) may write the dirty pages of earlier
	 * rounds, which the untimed clear_references() left unreferenced,
	 * while a round's stores are timed. */
	check(rep, true,
	      "write: pages written back in the background while stores were timed: %" PRIu64
	      " (another thread, on the same pinned CPU)",
	      dw.bgwb);
	add_row(rep, "write: store to clean resident", ns, n);

	/* The stores must reach the file, each page written once: by the
	 * background write-back or by the sync. */
	stats_of(p, &a);
	bg = a.writeback_background - s0.writeback_background;
	check(rep, a.nr_dirty + bg == n,
	      "write: before sync %" PRIu64 " pages dirty + %" PRIu64
	      " written back in the background (expected %zu in all)",
	      a.nr_dirty, bg, n);
	rc = upager_sync(p, base, 0);
	stats_of(p, &b);
	check(rep, rc == 0, "write: upager_sync returned %d (%s)", rc, upager_strerror(rc));
	check(rep, b.pgpgout - a.pgpgout == a.nr_dirty && b.pgpgout - s0.pgpgout == n &&
	               b.nr_dirty == 0,
	      "write: sync wrote %" PRIu64 " pages (the %" PRIu64 " dirty), %" PRIu64
	      " written in all (expected %zu), nr_dirty now %" PRIu64,
	      b.pgpgout - a.pgpgout, a.nr_dirty, b.pgpgout - s0.pgpgout, n, b.nr_dirty);
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


/* =========================================================================
 * Throughput workloads: seq, rand, zipf, threads, update
 */

/* -------------------------------------------------------------------------
 * General helpers: messages, sizes, /proc, whole-buffer I/O
 */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line on stderr. */
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "2G", "256M", "1.5G", "4K", "100B". */
static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "BKMGT";
	double x = (double)v;
	unsigned i = 0;

	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	if (x == (double)(uint64_t)x)
		snprintf(buf, len, "%" PRIu64 "%c", (uint64_t)x, suffix[i]);
	else
		snprintf(buf, len, "%.1f%c", x, suffix[i]);
	return buf;
}

#define SZ(v) fmt_size((char[16]){ 0 }, 16, (v))

/* The number after @key in a "Key: value" file such as /proc/self/status
 * (kB there), or 0. */
static uint64_t proc_value(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			v = strtoull(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static uint64_t mem_available(void)
{
	return proc_value("/proc/meminfo", "MemAvailable:") * 1024;
}

/* pread/pwrite all of it, or -errno (-EIO on an unexpected end of file). */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}

/* Sum of @n words, four accumulators (the same code for every system). */
static uint64_t sum_words(const uint64_t *w, size_t n)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += w[i];
		s1 += w[i + 1];
		s2 += w[i + 2];
		s3 += w[i + 3];
	}
	for (; i < n; i++)
		s0 += w[i];
	return s0 + s1 + s2 + s3;
}

/* -------------------------------------------------------------------------
 * log, exp and pow without libm (the build links none)
 */

static const double LN2_HI = 6.93147180369123816490e-01; /* 32 low bits 0 */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double LN2 = 0.693147180559945309417;

/* x * 2^e */
static double scale2(double x, int e)
{
	union {
		double d;
		uint64_t u;
	} v;

	while (e > 1000) {
		x *= 0x1p1000;
		e -= 1000;
	}
	while (e < -1000) {
		x *= 0x1p-1000;
		e += 1000;
	}
	v.u = (uint64_t)(e + 1023) << 52;
	return x * v.d;
}

/* Natural logarithm of a positive finite x: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), log m = 2 atanh((m - 1) / (m + 1)) by its series. */
static double m_log(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { x };
	double m, s, s2, term, sum = 0;
	int e;

	if (!(x > 0))
		return -INFINITY;
	if (x < 0x1p-1000)
		return m_log(x * 0x1p200) - 200 * LN2;
	e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & ((1ull << 52) - 1)) | (1023ull << 52);
	m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	s = (m - 1) / (m + 1); /* |s| <= 0.1716 */
	s2 = s * s;
	term = s;
	for (int k = 1; k <= 41; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * LN2_LO + e * LN2_HI;
}

/* e^x: x = n ln 2 + r, |r| <= ln 2 / 2, Taylor series of e^r. */
static double m_exp(double x)
{
	double n, r, term = 1, sum = 1;

	if (x > 709.78)
		return INFINITY;
	if (x < -745.2)
		return 0;
	n = (double)(long long)(x / LN2 + (x >= 0 ? 0.5 : -0.5));
	r = (x - n * LN2_HI) - n * LN2_LO;
	for (int k = 1; k <= 24; k++) {
		term *= r / k;
		sum += term;
	}
	return scale2(sum, (int)n);
}

/* x^y for x > 0. */
static double m_pow(double x, double y)
{
	return x == 1 ? 1 : m_exp(y * m_log(x));
}

/* -------------------------------------------------------------------------
 * Key generators: Zipfian (Gray et al. / YCSB) and the scrambling bijection
 */

/* zeta(n, theta) = sum of i^-theta for i = 1..n.  Exact (smallest terms
 * first) up to 2^22 terms; beyond, 2^20 - 1 terms exactly and the rest,
 * i = M..n, by Euler-Maclaurin: the integral, the end-point mean and the
 * B2 and B4 derivative terms (the next term is below 1e-30 at M = 2^20). */
static double zeta(uint64_t n, double theta)
{
	const uint64_t M = 1u << 20;
	double s = 0, a, b, t = theta, ia, ib;

	if (n <= 4 * M) {
		for (uint64_t i = n; i >= 1; i--)
			s += m_pow((double)i, -t);
		return s;
	}
	for (uint64_t i = M - 1; i >= 1; i--)
		s += m_pow((double)i, -t);
	a = (double)M;
	b = (double)n;
	ia = m_pow(a, -t);
	ib = m_pow(b, -t);
	s += (m_pow(b, 1 - t) - m_pow(a, 1 - t)) / (1 - t); /* integral */
	s += (ia + ib) / 2;
	s += (-t * ib / b + t * ia / a) / 12;                 /* B2/2! (f'(b) - f'(a)) */
	s -= (-t * (t + 1) * (t + 2) * ib / (b * b * b) +     /* B4/4! (f'''(b) - f'''(a)) */
	      t * (t + 1) * (t + 2) * ia / (a * a * a)) / 720;
	return s;
}

struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = 1 + m_pow(0.5, theta);

	z->n = n;
	z->theta = theta;
	z->alpha = 1 / (1 - theta);
	z->zetan = zeta(n, theta);
	z->eta = (1 - m_pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / z->zetan);
	z->half_pow = zeta2; /* 1 + 0.5^theta */
}

/* Rank 0 (most popular) .. n-1, from a uniform u in [0, 1). */
static uint64_t zipf_next(const struct zipf *z, double u)
{
	double uz = u * z->zetan;
	uint64_t v;

	if (uz < 1)
		return 0;
	if (uz < z->half_pow)
		return 1;
	v = (uint64_t)((double)z->n * m_pow(z->eta * u - z->eta + 1, z->alpha));
	return v < z->n ? v : z->n - 1;
}

static double unit_double(struct rng *g)
{
	return (double)(rng_next(g) >> 11) * 0x1p-53;
}

/* A bijection of [0, n): a keyed mixing permutation of [0, 2^k) (adds,
 * multiplications by odd constants and xor-shifts, all modulo 2^k), walked
 * along its cycle until the value falls inside [0, n). */
struct scramble {
	uint64_t n, mask, k1, k2;
	unsigned shift;
};

static void scramble_init(struct scramble *s, uint64_t n, uint64_t seed)
{
	unsigned bits = 0;

	while (bits < 63 && (1ull << bits) < n)
		bits++;
	s->n = n;
	s->mask = bits ? (1ull << bits) - 1 : 0;
	s->shift = bits / 2 + 1;
	s->k1 = mix64(seed);
	s->k2 = mix64(seed + 1);
}

static uint64_t scramble(const struct scramble *s, uint64_t x)
{
	do {
		x = (x + s->k1) & s->mask;
		x = (x * 0x9e3779b97f4a7c15ull) & s->mask;
		x ^= x >> s->shift;
		x = (x * 0xbf58476d1ce4e5b9ull) & s->mask;
		x ^= x >> s->shift;
		x = (x + s->k2) & s->mask;
		x = (x * 0x94d049bb133111ebull) & s->mask;
		x ^= x >> s->shift;
	} while (x >= s->n);
	return x;
}

/* -------------------------------------------------------------------------
 * The data file and the key sequences
 */

/* Word @w of a data file (before any update run). */
static inline uint64_t word_value(uint64_t w)
{
	return mix64(DATA_SEED ^ w);
}

struct datafile {
	int fd;        /* O_RDWR, unlinked */
	uint64_t size;
	uint64_t sum;  /* sum of all words now */
	uint64_t incr; /* increments update runs added to it (total) */
};

enum dist { DIST_UNIFORM, DIST_ZIPF, NDISTS };
static const char *const dist_names[NDISTS] = { "rand", "zipf" };

struct keyset {
	enum dist dist;
	int fd;            /* memfd: n keys (uint64_t) */
	uint64_t n, nchunks, nwords;
	uint64_t *vsum;    /* [c]: sum of word_value() over the keys of chunks < c */
	uint64_t *nrmw;    /* [c]: keys with UPDATE_BIT in chunks < c */
	uint64_t *lru;     /* [c]: LRU hits in chunks < c, for lru_ps, lru_frames */
	uint64_t *lru_bits;/* bit i: key i was an LRU hit */
	uint64_t lru_ps, lru_frames;
	double zetan;
};

/* One data size: the file and its key sequences. */
struct dataset {
	uint64_t data, limit;
	uint64_t page_size; /* upager's page size, resolved */
	uint64_t frames;    /* limit / page_size */
	uint64_t max_ops;
	struct datafile file;
	struct keyset *keys[NDISTS];
};

/* A file of @size bytes (a multiple of 8), word w = word_value(w), written,
 * made durable and unlinked at once (so nothing is left behind whatever
 * happens).  Its pages stay in the page cache. */
static int make_data_file(struct datafile *df, uint64_t size)
{
	char path[4096];
	uint64_t *buf, sum = 0, t0 = now_ns();
	int fd, rc;

	memset(df, 0, sizeof(*df));
	df->fd = -1;
	if (snprintf(path, sizeof(path), "%s/" PROG "-data-XXXXXX", tmp_dir()) >=
	    (int)sizeof(path)) {
		say("temporary directory name too long");
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		say("mkstemp %s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	buf = malloc(SEQ_CHUNK);
	if (!buf) {
		close(fd);
		say("out of memory");
		return -1;
	}
	say("writing a %s data file in %s", SZ(size), tmp_dir());
	for (uint64_t off = 0; off < size; off += SEQ_CHUNK) {
		size_t len = size - off < SEQ_CHUNK ? (size_t)(size - off) : SEQ_CHUNK;
		uint64_t w0 = off / 8;

		for (size_t k = 0; k < len / 8; k++) {
			buf[k] = word_value(w0 + k);
			sum += buf[k];
		}
		rc = pwrite_full(fd, buf, len, off);
		if (rc < 0) {
			say("write %s: %s", path, strerror(-rc));
			goto fail;
		}
	}
	if (fdatasync(fd) != 0) {
		say("fdatasync %s: %s", path, strerror(errno));
		goto fail;
	}
	free(buf);
	df->fd = fd;
	df->size = size;
	df->sum = sum;
	say("data file written in %.1f s", (double)(now_ns() - t0) / 1e9);
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* Sum of every word of the file, read with pread (after an update run). */
static int file_sum(const struct datafile *df, uint64_t *sum)
{
	uint64_t *buf = malloc(SEQ_CHUNK), s = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < df->size && rc == 0; off += SEQ_CHUNK) {
		size_t len = df->size - off < SEQ_CHUNK ? (size_t)(df->size - off) : SEQ_CHUNK;
		rc = pread_full(df->fd, buf, len, off);
		if (rc == 0)
			s += sum_words(buf, len / 8);
	}
	free(buf);
	*sum = s;
	return rc;
}

static void free_keyset(struct keyset *ks)
{
	if (!ks)
		return;
	if (ks->fd >= 0)
		close(ks->fd);
	free(ks->vsum);
	free(ks->nrmw);
	free(ks->lru);
	free(ks->lru_bits);
	free(ks);
}

/* The key sequence of @dist for @ds: @n keys (a multiple of KEY_CHUNK) in a
 * memfd, with the per-chunk prefix sums the checks need. */
static struct keyset *make_keyset(const struct dataset *ds, enum dist dist, uint64_t n)
{
	struct keyset *ks = calloc(1, sizeof(*ks));
	struct rng g = { SEED ^ mix64(dist + 1) };
	struct scramble sc = { 0 };
	struct zipf z = { 0 };
	uint64_t buf[KEY_CHUNK], vs = 0, rmw = 0, t0 = now_ns();

	if (!ks)
		return NULL;
	ks->fd = -1;
	ks->dist = dist;
	ks->nwords = ds->data / 8;
	ks->nchunks = n / KEY_CHUNK;
	ks->n = ks->nchunks * KEY_CHUNK;
	ks->vsum = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->nrmw = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->fd = memfd_create(PROG "-keys", MFD_CLOEXEC);
	if (!ks->vsum || !ks->nrmw || ks->fd < 0) {
		say("keys: %s", ks->fd < 0 ? strerror(errno) : "out of memory");
		free_keyset(ks);
		return NULL;
	}
	if (dist == DIST_ZIPF) {
		zipf_init(&z, ks->nwords, ZIPF_THETA);
		scramble_init(&sc, ks->nwords, SEED ^ 0x7a697066ull);
		ks->zetan = z.zetan;
	}
	say("generating %" PRIu64 " %s keys over %" PRIu64 " words", ks->n, dist_names[dist],
	    ks->nwords);
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		int rc;

		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint64_t w, op = rng_next(&g) & 1;

			if (dist == DIST_UNIFORM)
				w = rng_next(&g) % ks->nwords;
			else
				w = scramble(&sc, zipf_next(&z, unit_double(&g)));
			buf[k] = w | (op ? UPDATE_BIT : 0);
			vs += word_value(w);
			rmw += op;
		}
		rc = pwrite_full(ks->fd, buf, sizeof(buf), c * sizeof(buf));
		if (rc < 0) {
			say("keys: write: %s", strerror(-rc));
			free_keyset(ks);
			return NULL;
		}
		ks->vsum[c + 1] = vs;
		ks->nrmw[c + 1] = rmw;
	}
	say("%s keys generated in %.1f s", dist_names[dist], (double)(now_ns() - t0) / 1e9);
	return ks;
}

/* Exact LRU over page numbers with @frames frames on the whole sequence,
 * recording the hits at every chunk boundary: an O(1) LRU (doubly linked
 * list over arrays indexed by page number, pages being dense). */
static int lru_simulate(struct keyset *ks, uint64_t ps, uint64_t frames)
{
	const uint32_t NIL = UINT32_MAX;
	uint64_t npages = (ks->nwords * 8 + ps - 1) / ps, count = 0, hits = 0, t0 = now_ns();
	unsigned shift = 0;
	uint32_t head = NIL, tail = NIL, *prev, *next;
	uint8_t *in;
	uint64_t buf[KEY_CHUNK];
	int rc = 0;

	if (ks->lru && ks->lru_ps == ps && ks->lru_frames == frames)
		return 0;
	while ((8ull << shift) < ps)
		shift++; /* page = word >> shift */
	if (npages >= NIL)
		return -EINVAL;
	free(ks->lru);
	free(ks->lru_bits);
	ks->lru = calloc(ks->nchunks + 1, sizeof(uint64_t));
	ks->lru_bits = calloc(ks->n / 64 + 1, sizeof(uint64_t));
	prev = malloc(npages * sizeof(uint32_t));
	next = malloc(npages * sizeof(uint32_t));
	in = calloc(npages, 1);
	if (!ks->lru || !ks->lru_bits || !prev || !next || !in) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t c = 0; c < ks->nchunks; c++) {
		rc = pread_full(ks->fd, buf, sizeof(buf), c * sizeof(buf));
		if (rc < 0)
			goto out;
		for (unsigned k = 0; k < KEY_CHUNK; k++) {
			uint32_t p = (uint32_t)((buf[k] & KEY_WORD) >> shift);

			if (in[p]) {
				uint64_t i = c * KEY_CHUNK + k;

				hits++;
				ks->lru_bits[i / 64] |= 1ull << (i % 64);
				if (p == head)
					continue;
				/* unlink p (it is not the head, so prev[p] != NIL) */
				next[prev[p]] = next[p];
				if (next[p] != NIL)
					prev[next[p]] = prev[p];
				else
					tail = prev[p];
			} else if (count == frames) {
				uint32_t t = tail; /* evict the least recently used */

				in[t] = 0;
				tail = prev[t];
				if (tail != NIL)
					next[tail] = NIL;
				else
					head = NIL;
			} else {
				count++;
			}
			in[p] = 1;
			prev[p] = NIL;
			next[p] = head;
			if (head != NIL)
				prev[head] = p;
			else
				tail = p;
			head = p;
		}
		ks->lru[c + 1] = hits;
	}
	ks->lru_ps = ps;
	ks->lru_frames = frames;
	say("LRU simulated on %" PRIu64 " %s keys (%" PRIu64 " frames of %s) in %.1f s: hit "
	    "ratio %.4f",
	    ks->n, dist_names[ks->dist], frames, SZ(ps), (double)(now_ns() - t0) / 1e9,
	    (double)hits / (double)ks->n);
out:
	if (rc < 0) {
		free(ks->lru);
		free(ks->lru_bits);
		ks->lru = NULL;
		ks->lru_bits = NULL;
	}
	free(prev);
	free(next);
	free(in);
	return rc;
}

/* LRU hits among the first @m keys. */
static uint64_t lru_hits(const struct keyset *ks, uint64_t m)
{
	uint64_t c = m / KEY_CHUNK, h = ks->lru[c];

	for (uint64_t i = c * KEY_CHUNK; i < m; i++)
		h += (ks->lru_bits[i / 64] >> (i % 64)) & 1;
	return h;
}

static struct keyset *dataset_keys(struct dataset *ds, enum dist dist)
{
	if (!ds->keys[dist]) {
		ds->keys[dist] = make_keyset(ds, dist, ds->max_ops);
		if (ds->keys[dist] && lru_simulate(ds->keys[dist], ds->page_size, ds->frames) < 0)
			say("LRU simulation failed; LRU hit ratios left out");
	}
	return ds->keys[dist];
}

/* -------------------------------------------------------------------------
 * Page cache: residency, warming, dropping
 */

/* Fraction of the file's system pages in the page cache (mincore). */
static double cached_fraction(const struct datafile *df)
{
	long sp = sysconf(_SC_PAGESIZE);
	size_t n = (size_t)((df->size + (uint64_t)sp - 1) / (uint64_t)sp), in = 0;
	unsigned char *vec;
	void *m;

	m = mmap(NULL, df->size, PROT_READ, MAP_SHARED, df->fd, 0);
	if (m == MAP_FAILED)
		return NAN;
	vec = malloc(n);
	if (vec && mincore(m, df->size, vec) == 0) {
		for (size_t i = 0; i < n; i++)
			in += vec[i] & 1;
	} else {
		in = SIZE_MAX;
	}
	free(vec);
	munmap(m, df->size);
	return in == SIZE_MAX ? NAN : (double)in / (double)n;
}

/* Hot regime: read the file once where any of it is not cached. */
static void warm_file(const struct datafile *df)
{
	double f = cached_fraction(df);
	uint64_t sum;

	if (f >= 1.0)
		return;
	posix_fadvise(df->fd, 0, (off_t)df->size, POSIX_FADV_WILLNEED);
	if (file_sum(df, &sum) < 0)
		say("warning: reading the file to warm the page cache failed");
}

/* Cold regime: the file's dirty pages written, then every clean page of
 * the page cache dropped.  0 or -errno. */
static int drop_caches(const struct datafile *df)
{
	fdatasync(df->fd);
	return write_file("/proc/sys/vm/drop_caches", "3");
}

/* -------------------------------------------------------------------------
 * Memory cgroups
 */

static char cg_v1_root[1024]; /* mount of the v1 memory controller */
static char cg_v2_root[1024]; /* mount of cgroup2 */

static void cg_find_roots(void)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!f)
		return;
	while ((m = getmntent(f)) != NULL) {
		if (!cg_v1_root[0] && strcmp(m->mnt_type, "cgroup") == 0 &&
		    hasmntopt(m, "memory"))
			snprintf(cg_v1_root, sizeof(cg_v1_root), "%s", m->mnt_dir);
		else if (!cg_v2_root[0] && strcmp(m->mnt_type, "cgroup2") == 0)
			snprintf(cg_v2_root, sizeof(cg_v2_root), "%s", m->mnt_dir);
	}
	endmntent(f);
}

struct cgroup {
	int version;          /* 1, 2; 0: none */
	char path[PATH_MAX];
	uint64_t limit;
	char why[160];        /* version 0: why there is none */
};

static int cg_file_write(const struct cgroup *cg, const char *file, const char *text)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", cg->path, file);
	return write_file(p, text);
}

static uint64_t cg_file_value(const struct cgroup *cg, const char *file, const char *key)
{
	char p[PATH_MAX + 64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", cg->path, file);
	if (!key)
		return proc_value(p, "");
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strlen(key);
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The group being used, for the signal handler; "" when none. */
static char cleanup_cg[PATH_MAX];
static volatile pid_t cleanup_pid;

/* Make the group upager-bench-PID with memory limit @limit.  0, or -1 with
 * @cg->why set (and version 0). */
static int cg_create(struct cgroup *cg, uint64_t limit)
{
	char val[32];
	int rc;

	memset(cg, 0, sizeof(*cg));
	cg->limit = limit;
	snprintf(val, sizeof(val), "%" PRIu64, limit);
	if (cg_v1_root[0]) {
		snprintf(cg->path, sizeof(cg->path), "%s/" PROG "-%d", cg_v1_root, (int)getpid());
		if (mkdir(cg->path, 0755) != 0 && errno != EEXIST) {
			snprintf(cg->why, sizeof(cg->why), "mkdir: %s", strerror(errno));
			goto none;
		}
		cg->version = 1;
		rc = cg_file_write(cg, "memory.limit_in_bytes", val);
		if (rc < 0) {
			snprintf(cg->why, sizeof(cg->why), "memory.limit_in_bytes: %s",
			         strerror(-rc));
			rmdir(cg->path);
			goto none;
		}
	} else if (cg_v2_root[0]) {
		char ctl[PATH_MAX + 32], line[512] = "";
		FILE *f;

		snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", cg_v2_root);
		f = fopen(ctl, "re");
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		if (!strstr(line, "memory")) {
			snprintf(cg->why, sizeof(cg->why),
			         "cgroup2 root does not delegate the memory controller");
			goto none;
		}
		snprintf(cg->path, sizeof(cg->path), "%s/" PROG "-%d", cg_v2_root, (int)getpid());
		if (mkdir(cg->path, 0755) != 0 && errno != EEXIST) {
			snprintf(cg->why, sizeof(cg->why), "mkdir: %s", strerror(errno));
			goto none;
		}
		cg->version = 2;
		rc = cg_file_write(cg, "memory.max", val);
		if (rc < 0) {
			snprintf(cg->why, sizeof(cg->why), "memory.max: %s", strerror(-rc));
			rmdir(cg->path);
			goto none;
		}
	} else {
		snprintf(cg->why, sizeof(cg->why), "no memory cgroup controller mounted");
		goto none;
	}
	snprintf(cleanup_cg, sizeof(cleanup_cg), "%s", cg->path);
	return 0;
none:
	cg->version = 0;
	cg->path[0] = '\0';
	return -1;
}

/* In the child: move ourselves into the group.  0 or -errno. */
static int cg_join(const struct cgroup *cg)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return cg_file_write(cg, "cgroup.procs", pid);
}

static uint64_t cg_peak(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cg_file_value(cg, "memory.max_usage_in_bytes", NULL);
	if (cg->version == 2)
		return cg_file_value(cg, "memory.peak", NULL);
	return 0;
}

static uint64_t cg_oom_kills(const struct cgroup *cg)
{
	if (cg->version == 1)
		return cg_file_value(cg, "memory.oom_control", "oom_kill");
	if (cg->version == 2)
		return cg_file_value(cg, "memory.events", "oom_kill");
	return 0;
}

/* Remove the group (its child has been reaped).  Retries for a while: the
 * kernel may take a moment to let go of a group whose last task exited. */
static void cg_remove(struct cgroup *cg)
{
	if (!cg->version)
		return;
	for (int i = 0; i < 200; i++) {
		if (rmdir(cg->path) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY) {
			say("warning: rmdir %s: %s", cg->path, strerror(errno));
			break;
		}
		usleep(10000);
	}
	cleanup_cg[0] = '\0';
	cg->version = 0;
}

/* SIGINT, SIGTERM, SIGHUP: kill the running child, remove its group, die. */
static void on_fatal_signal(int sig)
{
	pid_t pid = cleanup_pid;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (cleanup_cg[0]) {
		for (int i = 0; i < 100 && rmdir(cleanup_cg) != 0 && errno == EBUSY; i++) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* -------------------------------------------------------------------------
 * Children: fork, join the cgroup, run, send the result through a pipe
 */

struct child_hdr {
	int cg_rc;  /* cg_join(): 0 or -errno; 1: no group asked for */
	int rc;     /* the function's return value */
};

typedef int (*child_fn)(const void *arg, void *out);

/* Run @fn(@arg, out) in a forked child (in @cg if given) and copy its
 * @outsz-byte result to @out.  Returns 0 when the result arrived, -1
 * otherwise; either way @why says what happened if anything went wrong
 * ("" if not), and *@fn_rc is the function's return value. */
static int run_in_child(child_fn fn, const void *arg, void *out, size_t outsz,
                        const struct cgroup *cg, unsigned timeout_s, int *fn_rc, char *why,
                        size_t whylen)
{
	struct child_hdr hdr = { 1, 0 };
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
	size_t got = 0, total = sizeof(hdr) + outsz;
	char *buf = malloc(total);
	bool timed_out = false;
	int pfd[2], status = 0;
	pid_t pid;

	why[0] = '\0';
	*fn_rc = 0;
	if (!buf || pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "%s", buf ? strerror(errno) : "out of memory");
		free(buf);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(pfd[0]);
		if (cg && cg->version)
			hdr.cg_rc = cg_join(cg);
		memset(out, 0, outsz);
		hdr.rc = fn(arg, out);
		memcpy(buf, &hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), out, outsz);
		for (size_t done = 0; done < total;) {
			ssize_t n = write(pfd[1], buf + done, total - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(3);
			done += (size_t)n;
		}
		_exit(hdr.rc == 0 ? 0 : 1);
	}
	cleanup_pid = pid;
	close(pfd[1]);
	while (got < total) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		uint64_t now = now_ns();
		int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
		int pr = poll(&p, 1, ms);
		ssize_t n;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = read(pfd[0], buf + got, total - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cleanup_pid = 0;
	if (timed_out)
		snprintf(why, whylen, "timed out after %u s, killed", timeout_s);
	else if (WIFSIGNALED(status))
		snprintf(why, whylen, "child killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else if (got < total)
		snprintf(why, whylen, "child exited with status %d without a result",
		         WEXITSTATUS(status));
	if (got == total) {
		memcpy(&hdr, buf, sizeof(hdr));
		memcpy(out, buf + sizeof(hdr), outsz);
		*fn_rc = hdr.rc;
		if (hdr.cg_rc < 0)
			snprintf(why, whylen, "joining the cgroup failed: %s (ran unconstrained)",
			         strerror(-hdr.cg_rc));
	}
	free(buf);
	return got == total ? 0 : -1;
}

/* -------------------------------------------------------------------------
 * Jobs, results, and the timed loops (run in the children)
 */

enum access { ACC_SEQ, ACC_READ, ACC_UPDATE };

struct system;

/* One run: a workload on one system in one regime. */
struct job {
	const char *workload;       /* row label: "zipf", "threads:rand", ... */
	enum access acc;
	int regime;
	const struct system *sys;
	struct dataset *ds;
	struct keyset *keys;        /* NULL for seq */
	unsigned threads;
	double seconds;             /* time budget; 0: none (seq) */
	bool advise;
};

/* upager counters over the timed phase. */
struct upager_delta {
	uint64_t fault, maj, min, write, pgin, pgout, ra, ra_used, scan, deact, steal, wb_evict;
	uint64_t wb_background, io_errors, sigbus, resident_peak, frames;
};

/* What a child sends back. */
struct result {
	int rc;                /* 0, or -errno of the step that failed */
	char err[160];         /* that step */
	char info[96];         /* the system's own note */
	uint64_t ns, sync_ns;  /* timed phase; the sync part of it */
	uint64_t ops, rmw;     /* accesses (8-byte words), read-modify-writes */
	uint64_t chunks;       /* key chunks claimed: 0 .. chunks-1 */
	unsigned npartial;     /* claimed chunks left unfinished at the stop */
	struct {
		uint64_t chunk;
		uint32_t done;   /* keys 0 .. done-1 of it were done */
	} partial[MAX_THREADS];
	uint64_t bytes;        /* seq: bytes scanned */
	uint64_t sum;          /* sum of the words read (RMW: the old values) */
	uint64_t after_sum;    /* ram update: sum of the copy afterwards */
	bool have_after_sum;
	bool have_upager;
	struct upager_delta up;
	uint64_t minflt, majflt, read_bytes; /* timed phase, whole process */
	uint64_t rss_start_kb, hwm_kb;
	uint64_t rss_sampled_kb; /* most RSS seen by the sampler, timed phase */
};

static int fail(struct result *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the failed step in @r; returns @rc (a negative errno). */
static int fail(struct result *r, int rc, const char *fmt, ...)
{
	char what[120];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->rc == 0) {
		r->rc = rc;
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(-rc));
	}
	return rc;
}

enum run_kind { RUN_SEQ_MEM, RUN_SEQ_PREAD, RUN_KEYS_READ, RUN_KEYS_UPDATE };

/* Keys done between two looks at the stop flag. */
#define KEY_SLICE 8u

/*
 * The shared state of a timed run.  Workers claim chunks in order; the
 * main thread sleeps until every worker is done or the time budget is
 * spent, then raises @stop, which workers look at every KEY_SLICE keys.
 * So a run consumes chunks 0 .. next-1, all of them whole except at most
 * one per worker (the one it was in at the stop), whose progress the
 * worker records: with one thread, the keys done are exactly a prefix.
 */
struct runctx {
	enum run_kind kind;
	char *base;              /* the D bytes (memory kinds) */
	int fd;                  /* the file (RUN_SEQ_PREAD) */
	uint64_t len;            /* D */
	int keys_fd;
	uint64_t nchunks;        /* SEQ_CHUNK pieces of D, or key chunks */
	_Atomic uint64_t next;   /* next chunk to claim */
	_Atomic int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* go: workers wait for it */
	pthread_cond_t done_cond;/* a worker finished: main waits for it */
	bool go;
	unsigned done;           /* workers finished */
};

struct worker {
	struct runctx *c;
	char *buf;               /* RUN_SEQ_PREAD: SEQ_CHUNK bytes */
	uint64_t sum, ops, rmw;
	bool partial;            /* stopped inside chunk partial_chunk */
	uint64_t partial_chunk;
	uint32_t partial_done;
	int err;                 /* -errno */
};

static void runctx_init(struct runctx *c, const struct job *j, char *base)
{
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->fd = j->ds->file.fd;
	c->len = j->ds->data;
	if (j->acc == ACC_SEQ) {
		c->kind = base ? RUN_SEQ_MEM : RUN_SEQ_PREAD;
		c->nchunks = (c->len + SEQ_CHUNK - 1) / SEQ_CHUNK;
	} else {
		c->kind = j->acc == ACC_UPDATE ? RUN_KEYS_UPDATE : RUN_KEYS_READ;
		c->keys_fd = j->keys->fd;
		c->nchunks = j->keys->nchunks;
	}
}

static inline bool stopping(struct runctx *c)
{
	return atomic_load_explicit(&c->stop, memory_order_relaxed) != 0;
}

/* Claim the next chunk, or return false when there is none or the run is
 * stopping. */
static bool claim(struct runctx *c, uint64_t *ci)
{
	if (stopping(c))
		return false;
	*ci = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
	return *ci < c->nchunks;
}

static void work_seq(struct worker *w)
{
	struct runctx *c = w->c;
	uint64_t ci;

	while (claim(c, &ci)) {
		uint64_t off = ci * SEQ_CHUNK;
		size_t len = c->len - off < SEQ_CHUNK ? (size_t)(c->len - off) : SEQ_CHUNK;
		const uint64_t *p = (const uint64_t *)(c->base + off);

		if (c->kind == RUN_SEQ_PREAD) {
			int rc = pread_full(c->fd, w->buf, len, off);
			if (rc < 0) {
				w->err = rc;
				atomic_store(&c->stop, 1);
				return;
			}
			p = (const uint64_t *)w->buf;
		}
		w->sum += sum_words(p, len / 8);
		w->ops += len / 8;
	}
}

static void work_keys(struct worker *w)
{
	struct runctx *c = w->c;
	uint64_t keys[KEY_CHUNK], ci;
	uint64_t *words = (uint64_t *)c->base;
	bool update = c->kind == RUN_KEYS_UPDATE;

	while (claim(c, &ci)) {
		int rc = pread_full(c->keys_fd, keys, sizeof(keys), ci * sizeof(keys));
		uint64_t s = 0, rmw = 0;
		unsigned done = 0;

		if (rc < 0) {
			w->err = rc;
			atomic_store(&c->stop, 1);
			w->partial = true;
			w->partial_chunk = ci;
			w->partial_done = 0;
			return;
		}
		for (; done < KEY_CHUNK && !stopping(c); done += KEY_SLICE) {
			const uint64_t *k = keys + done;

			if (!update) {
				for (unsigned i = 0; i < KEY_SLICE; i++)
					s += words[k[i] & KEY_WORD];
				continue;
			}
			for (unsigned i = 0; i < KEY_SLICE; i++) {
				uint64_t *p = &words[k[i] & KEY_WORD];

				if (k[i] & UPDATE_BIT) {
					s += __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
					rmw++;
				} else {
					s += __atomic_load_n(p, __ATOMIC_RELAXED);
				}
			}
		}
		w->sum += s;
		w->rmw += rmw;
		w->ops += done;
		if (done < KEY_CHUNK) {
			w->partial = true;
			w->partial_chunk = ci;
			w->partial_done = done;
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct runctx *c = w->c;

	pthread_mutex_lock(&c->lock);
	while (!c->go)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (!stopping(c)) {
		if (c->kind == RUN_SEQ_MEM || c->kind == RUN_SEQ_PREAD)
			work_seq(w);
		else
			work_keys(w);
	}
	pthread_mutex_lock(&c->lock);
	c->done++;
	pthread_cond_signal(&c->done_cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct snapshot {
	uint64_t minflt, majflt, read_bytes;
};

static void snapshot_take(struct snapshot *s)
{
	struct rusage ru;

	memset(s, 0, sizeof(*s));
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		s->minflt = (uint64_t)ru.ru_minflt;
		s->majflt = (uint64_t)ru.ru_majflt;
	}
	s->read_bytes = proc_value("/proc/self/io", "read_bytes:");
}

/*
 * Peak RSS.  VmHWM is only brought up to date by the kernel when pages
 * leave a mapping through munmap, exit or reclaim; pages that leave
 * through fallocate(PUNCH_HOLE) (upager's eviction) or MADV_DONTNEED do
 * not update it.  So VmHWM read at the end is the RSS at teardown, or the
 * most at an earlier munmap, and can miss a peak during the run.  The
 * sampler thread reads /proc/self/statm every RSS_SAMPLE_NS during the
 * timed phase (about 10 us of CPU each time) and keeps the most.
 */
#define RSS_SAMPLE_NS 5000000u

struct rss_sampler {
	pthread_t th;
	_Atomic int stop;
	int fd;
	uint64_t max_kb;
};

static uint64_t statm_rss_kb(int fd)
{
	char buf[128];
	unsigned long size, res;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static void *rss_sampler_main(void *arg)
{
	struct rss_sampler *s = arg;
	struct timespec ts = { 0, RSS_SAMPLE_NS };

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t kb = statm_rss_kb(s->fd);
		if (kb > s->max_kb)
			s->max_kb = kb;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static bool rss_sampler_start(struct rss_sampler *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return false;
	if (pthread_create(&s->th, NULL, rss_sampler_main, s) != 0) {
		close(s->fd);
		return false;
	}
	return true;
}

/* Stop it and return the most it saw, the current RSS included. */
static uint64_t rss_sampler_stop(struct rss_sampler *s)
{
	uint64_t kb;

	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	kb = statm_rss_kb(s->fd);
	close(s->fd);
	return kb > s->max_kb ? kb : s->max_kb;
}

typedef int (*finish_fn)(void *arg);

/* Sleep until every worker is done or until @deadline (CLOCK_MONOTONIC,
 * ns), then tell them to stop.  Called with c->lock held. */
static void wait_workers(struct runctx *c, unsigned started, uint64_t deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };

	while (c->done < started) {
		if (pthread_cond_timedwait(&c->done_cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	atomic_store(&c->stop, 1);
}

/* The timed phase: @nthreads workers made and waiting first; the clock
 * starts when they are released and stops when they are all done (at the
 * latest @seconds later, if > 0) and @finish (the sync of update)
 * returned. */
static int timed_run(struct runctx *c, unsigned nthreads, double seconds, finish_fn finish,
                     void *farg, struct result *r)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_condattr_t ca;
	struct snapshot s0, s1;
	struct rss_sampler rs;
	bool sampling;
	unsigned started = 0;
	uint64_t t0, tmid, t1;
	int rc = 0;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].c = c;
		if (c->kind == RUN_SEQ_PREAD && posix_memalign((void **)&w[i].buf, 4096, SEQ_CHUNK)) {
			rc = fail(r, -ENOMEM, "buffer");
			break;
		}
		rc = -pthread_create(&th[i], NULL, worker_main, &w[i]);
		if (rc < 0) {
			fail(r, rc, "pthread_create");
			free(w[i].buf);
			break;
		}
		started++;
	}
	if (rc < 0)
		atomic_store(&c->stop, 1);
	sampling = rss_sampler_start(&rs);
	snapshot_take(&s0);
	t0 = now_ns();
	pthread_mutex_lock(&c->lock);
	c->go = true;
	pthread_cond_broadcast(&c->cond);
	if (seconds > 0)
		wait_workers(c, started, t0 + (uint64_t)(seconds * 1e9));
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	tmid = now_ns();
	if (rc == 0 && finish)
		rc = finish(farg);
	t1 = now_ns();
	snapshot_take(&s1);
	if (sampling)
		r->rss_sampled_kb = rss_sampler_stop(&rs);
	r->ns = t1 - t0;
	r->sync_ns = t1 - tmid;
	r->minflt = s1.minflt - s0.minflt;
	r->majflt = s1.majflt - s0.majflt;
	r->read_bytes = s1.read_bytes - s0.read_bytes;
	for (unsigned i = 0; i < started; i++) {
		r->sum += w[i].sum;
		r->ops += w[i].ops;
		r->rmw += w[i].rmw;
		if (w[i].partial && r->npartial < MAX_THREADS) {
			r->partial[r->npartial].chunk = w[i].partial_chunk;
			r->partial[r->npartial].done = w[i].partial_done;
			r->npartial++;
		}
		if (w[i].err < 0 && rc == 0)
			rc = fail(r, w[i].err, "read");
		free(w[i].buf);
	}
	r->chunks = atomic_load(&c->next);
	if (r->chunks > c->nchunks)
		r->chunks = c->nchunks;
	if (c->kind == RUN_SEQ_MEM || c->kind == RUN_SEQ_PREAD)
		r->bytes = r->ops * 8;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->done_cond);
	return rc;
}

/* -------------------------------------------------------------------------
 * Systems (each runs in its own child)
 */

struct upager_sync_arg {
	upager_t *p;
	void *base;
};

static int upager_finish(void *arg)
{
	struct upager_sync_arg *a = arg;

	return upager_sync(a->p, a->base, 0);
}

static void upager_delta_of(struct upager_delta *d, const struct upager_stats *a,
                            const struct upager_stats *b)
{
	d->fault = b->pgfault - a->pgfault;
	d->maj = b->pgmajfault - a->pgmajfault;
	d->min = b->pgminfault - a->pgminfault;
	d->write = b->pgwritefault - a->pgwritefault;
	d->pgin = b->pgpgin - a->pgpgin;
	d->pgout = b->pgpgout - a->pgpgout;
	d->ra = b->readahead - a->readahead;
	d->ra_used = b->readahead_used - a->readahead_used;
	d->scan = b->pgscan - a->pgscan;
	d->deact = b->pgdeactivate - a->pgdeactivate;
	d->steal = b->pgsteal - a->pgsteal;
	d->wb_evict = b->writeback_evict - a->writeback_evict;
	d->wb_background = b->writeback_background - a->writeback_background;
	d->io_errors = b->io_errors - a->io_errors;
	d->sigbus = b->sigbus - a->sigbus;
	d->resident_peak = b->nr_resident_peak;
	d->frames = b->nr_frames;
}

/* The O_DIRECT flag of descriptor @n, from /proc/self/fdinfo: 1, 0, or -1
 * if unreadable. */
static int fd_direct(int n)
{
	char path[64], line[128];
	unsigned long flags;
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", n);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "flags: %lo", &flags) == 1) {
			ret = (flags & O_DIRECT) != 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Whether the process holds a descriptor of @fd's file opened with
 * O_DIRECT (upager opens one per region where the file system allows
 * O_DIRECT): 1, 0, or -1 if /proc could not tell. */
static int file_open_direct(int fd)
{
	struct stat want, st;
	struct dirent *e;
	int ret = 0;
	DIR *d;

	if (fstat(fd, &want) != 0)
		return -1;
	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL && ret != 1) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (*end != '\0' || end == e->d_name || n == dirfd(d))
			continue;
		if (fstat((int)n, &st) != 0 || st.st_dev != want.st_dev ||
		    st.st_ino != want.st_ino)
			continue;
		switch (fd_direct((int)n)) {
		case 1:
			ret = 1;
			break;
		case -1:
			ret = -1;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* upager, with @flags (0 or UPAGER_DIRECT_IO). */
static int upager_system(const struct job *j, struct result *r, unsigned flags)
{
	struct upager_config cfg;
	struct upager_stats s0, s1;
	struct upager_sync_arg sa;
	struct runctx c;
	upager_t *p = NULL;
	char *base;
	int prot = j->acc == ACC_UPDATE ? PROT_READ | PROT_WRITE : PROT_READ;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.page_size = j->ds->page_size;
	cfg.memory_limit = j->ds->limit;
	cfg.flags = flags;
	rc = upager_create(&p, &cfg);
	if (rc < 0)
		return fail(r, rc, "upager_create");
	base = upager_map(p, j->ds->file.fd, 0, j->ds->data, prot, UPAGER_SHARED);
	if (!base) {
		rc = fail(r, -errno, "upager_map");
		upager_destroy(p);
		return rc;
	}
	if (j->advise) {
		rc = upager_advise(p, base, j->ds->data,
		                   j->acc == ACC_SEQ ? UPAGER_ADV_SEQUENTIAL : UPAGER_ADV_RANDOM);
		if (rc < 0)
			fail(r, rc, "upager_advise");
	}
	if (flags & UPAGER_DIRECT_IO) { /* untimed */
		int direct = file_open_direct(j->ds->file.fd);

		snprintf(r->info, sizeof(r->info), "%s",
		         direct > 0    ? "O_DIRECT"
		         : direct == 0 ? "O_DIRECT refused: buffered I/O"
		                       : "O_DIRECT: unknown (/proc unreadable)");
	}
	runctx_init(&c, j, base);
	sa.p = p;
	sa.base = base;
	upager_stats(p, &s0);
	if (r->rc == 0)
		timed_run(&c, j->threads, j->seconds, j->acc == ACC_UPDATE ? upager_finish : NULL,
		          &sa, r);
	upager_stats(p, &s1);
	upager_delta_of(&r->up, &s0, &s1);
	r->have_upager = true;
	rc = upager_unmap(p, base);
	if (rc < 0)
		fail(r, rc, "upager_unmap");
	rc = upager_destroy(p);
	if (rc < 0)
		fail(r, rc, "upager_destroy");
	return r->rc;
}

static int sys_upager(const struct job *j, struct result *r)
{
	return upager_system(j, r, 0);
}

static int sys_upager_direct(const struct job *j, struct result *r)
{
	return upager_system(j, r, UPAGER_DIRECT_IO);
}

struct mmap_sync_arg {
	void *base;
	size_t len;
	int fd;
};

static int mmap_finish(void *arg)
{
	struct mmap_sync_arg *a = arg;

	if (msync(a->base, a->len, MS_SYNC) != 0 || fdatasync(a->fd) != 0)
		return -errno;
	return 0;
}

static int sys_mmap(const struct job *j, struct result *r)
{
	int prot = j->acc == ACC_UPDATE ? PROT_READ | PROT_WRITE : PROT_READ;
	struct mmap_sync_arg sa;
	struct runctx c;
	char *base;
	int rc;

	base = mmap(NULL, j->ds->data, prot, MAP_SHARED, j->ds->file.fd, 0);
	if (base == MAP_FAILED)
		return fail(r, -errno, "mmap");
	if (j->advise &&
	    madvise(base, j->ds->data, j->acc == ACC_SEQ ? MADV_SEQUENTIAL : MADV_RANDOM) != 0)
		fail(r, -errno, "madvise");
	runctx_init(&c, j, base);
	sa.base = base;
	sa.len = j->ds->data;
	sa.fd = j->ds->file.fd;
	if (r->rc == 0) {
		rc = timed_run(&c, j->threads, j->seconds,
		               j->acc == ACC_UPDATE ? mmap_finish : NULL, &sa, r);
		if (rc < 0)
			fail(r, rc, "msync/fdatasync");
	}
	munmap(base, j->ds->data);
	return r->rc;
}

static int sys_pread(const struct job *j, struct result *r)
{
	struct runctx c;

	runctx_init(&c, j, NULL);
	timed_run(&c, j->threads, j->seconds, NULL, NULL, r);
	return r->rc;
}

static int sys_ram(const struct job *j, struct result *r)
{
	size_t len = j->ds->data;
	struct runctx c;
	char *buf;
	int rc;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail(r, -errno, "mmap %zu bytes", len);
	rc = pread_full(j->ds->file.fd, buf, len, 0); /* untimed copy */
	if (rc < 0) {
		munmap(buf, len);
		return fail(r, rc, "reading the copy");
	}
	runctx_init(&c, j, buf);
	timed_run(&c, j->threads, j->seconds, NULL, NULL, r);
	if (j->acc == ACC_UPDATE) {
		r->after_sum = sum_words((const uint64_t *)buf, len / 8);
		r->have_after_sum = true;
	}
	munmap(buf, len);
	return r->rc;
}

enum { SYS_UPAGER, SYS_UPAGER_DIRECT, SYS_MMAP, SYS_PREAD, SYS_RAM, NSYSTEMS };

enum cg_policy {
	CG_NEVER,      /* no group */
	CG_LIMIT,      /* L, both regimes */
	CG_COLD_SLACK, /* cold: L + 5% + 16 MiB; hot: no group */
};

struct system {
	const char *name;
	int (*run)(const struct job *j, struct result *r);
	enum cg_policy cg;
	bool seq_only;
	bool in_ram;   /* needs D of memory; page cache not dropped */
	bool upager;
};

static const struct system systems[NSYSTEMS] = {
	[SYS_UPAGER] = { "upager", sys_upager, CG_COLD_SLACK, false, false, true },
	[SYS_UPAGER_DIRECT] = { "upager-direct", sys_upager_direct, CG_COLD_SLACK, false, false,
	                        true },
	[SYS_MMAP] = { "mmap", sys_mmap, CG_LIMIT, false, false, false },
	[SYS_PREAD] = { "pread", sys_pread, CG_LIMIT, true, false, false },
	[SYS_RAM] = { "ram", sys_ram, CG_NEVER, false, true, false },
};

/* The child's body: the system, then its peak RSS. */
static int system_child(const void *arg, void *out)
{
	const struct job *j = arg;
	struct result *r = out;

	r->rss_start_kb = proc_value("/proc/self/status", "VmRSS:");
	j->sys->run(j, r);
	r->hwm_kb = proc_value("/proc/self/status", "VmHWM:");
	return r->rc;
}

/* -------------------------------------------------------------------------
 * Result rows, the table and the CSV
 */

struct trow {
	char workload[24], regime[8], system[24], kase[48];
	uint64_t data, limit, page_size;
	unsigned threads;
	bool measured;              /* false: skipped or failed */
	uint64_t ops, bytes;
	double secs, sync_secs, tput;
	const char *unit;           /* "MB/s", "op/s" */
	double hit, lru, scaling;   /* NAN: not defined */
	uint64_t hwm_kb, rss_sampled_kb, rss_start_kb, bound_kb;
	const char *cgroup;         /* "v1", "v2", "none" (wanted, not made), "-" */
	uint64_t cg_limit, cg_peak;
	double cached;              /* fraction cached at the start */
	uint64_t majflt, minflt, read_bytes;
	bool have_upager;
	struct upager_delta up;
	uint64_t sum;
	/* fault rows */
	size_t samples;
	uint64_t p50, p90, p99, max;
	double ratio;
	const char *check;          /* "ok", "FAILED", "-" */
	char notes[320];
};

struct bench {
	struct options opt;
	uint64_t limit, data, max_ops;
	unsigned threads;
	double seconds;
	uint64_t page_size;         /* upager's, resolved */
	FILE *csv;
	char csv_path[PATH_MAX];
	struct trow *rows;
	size_t nrows, cap;
	unsigned failures;
	int status;
};

static struct trow *new_row(struct bench *b)
{
	struct trow *r;

	if (b->nrows == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct trow *n = realloc(b->rows, cap * sizeof(*n));
		if (!n) {
			say("out of memory");
			exit(1);
		}
		b->rows = n;
		b->cap = cap;
	}
	r = &b->rows[b->nrows++];
	memset(r, 0, sizeof(*r));
	r->hit = r->lru = r->scaling = r->ratio = r->cached = NAN;
	r->cgroup = "-";
	r->check = "-";
	r->unit = "";
	return r;
}

/* Peak RSS of a run: the larger of VmHWM and the sampler's figure. */
static uint64_t peak_rss_kb(const struct trow *r)
{
	return r->hwm_kb > r->rss_sampled_kb ? r->hwm_kb : r->rss_sampled_kb;
}

static void note(struct trow *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append to the row's notes, "; "-separated. */
static void note(struct trow *r, const char *fmt, ...)
{
	size_t len = strlen(r->notes);
	va_list ap;

	if (len && len + 2 < sizeof(r->notes)) {
		memcpy(r->notes + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->notes + len, sizeof(r->notes) - len, fmt, ap);
	va_end(ap);
}

static void csv_header(FILE *f)
{
	fprintf(f, "workload,regime,system,case,data_bytes,limit_bytes,d_over_l,page_size,threads,"
	           "ops,seconds,sync_seconds,throughput,unit,hit_ratio,lru_hit_ratio,scaling,"
	           "peak_rss_kb,vmhwm_kb,rss_sampled_kb,rss_start_kb,rss_bound_kb,cgroup,"
	           "cgroup_limit_bytes,"
	           "cgroup_peak_bytes,cached_at_start,maj_faults,min_faults,read_bytes,"
	           "up_pgfault,up_pgmajfault,up_pgminfault,up_pgwritefault,up_pgpgin,up_pgpgout,"
	           "up_readahead,up_readahead_used,up_pgscan,up_pgdeactivate,up_pgsteal,"
	           "up_writeback_evict,up_writeback_background,up_resident_peak_pages,up_frames,"
	           "checksum,"
	           "samples,p50_ns,p90_ns,p99_ns,max_ns,p50_over_floor,check,notes\n");
}

/* A CSV field: empty when undefined; text without commas or quotes. */
static void csv_num(FILE *f, double v, const char *fmt)
{
	if (!isnan(v))
		fprintf(f, fmt, v);
	fputc(',', f);
}

static void csv_text(FILE *f, const char *s, bool last)
{
	for (; *s; s++)
		fputc(*s == ',' ? ';' : *s == '"' ? '\'' : *s, f);
	fputc(last ? '\n' : ',', f);
}

static void csv_row(FILE *f, const struct trow *r)
{
	bool fault = r->samples > 0;

	csv_text(f, r->workload, false);
	csv_text(f, r->regime, false);
	csv_text(f, r->system, false);
	csv_text(f, r->kase, false);
	if (fault) {
		fprintf(f, ",,,%" PRIu64 ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", r->page_size);
		fprintf(f, "%zu,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->samples,
		        r->p50, r->p90, r->p99, r->max);
		csv_num(f, r->ratio, "%.3f");
	} else {
		fprintf(f, "%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%u,", r->data, r->limit,
		        (double)r->data / (double)r->limit, r->page_size, r->threads);
		if (r->measured) {
			fprintf(f, "%" PRIu64 ",%.6f,%.6f,%.3f,%s,", r->ops, r->secs, r->sync_secs,
			        r->tput, r->unit);
		} else {
			fprintf(f, ",,,,%s,", r->unit);
		}
		csv_num(f, r->hit, "%.5f");
		csv_num(f, r->lru, "%.5f");
		csv_num(f, r->scaling, "%.3f");
		if (r->measured)
			fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", peak_rss_kb(r),
			        r->hwm_kb, r->rss_sampled_kb, r->rss_start_kb);
		else
			fprintf(f, ",,,,");
		if (r->bound_kb)
			fprintf(f, "%" PRIu64, r->bound_kb);
		fprintf(f, ",%s,", r->cgroup);
		if (r->cg_limit)
			fprintf(f, "%" PRIu64, r->cg_limit);
		fputc(',', f);
		if (r->cg_peak)
			fprintf(f, "%" PRIu64, r->cg_peak);
		fputc(',', f);
		csv_num(f, r->cached, "%.4f");
		if (r->measured)
			fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->majflt, r->minflt,
			        r->read_bytes);
		else
			fprintf(f, ",,,");
		if (r->have_upager) {
			const struct upager_delta *d = &r->up;
			fprintf(f,
			        "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			        ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
			        d->fault, d->maj, d->min, d->write, d->pgin, d->pgout, d->ra,
			        d->ra_used, d->scan, d->deact, d->steal, d->wb_evict,
			        d->wb_background, d->resident_peak, d->frames);
		} else {
			fprintf(f, ",,,,,,,,,,,,,,,");
		}
		if (r->measured)
			fprintf(f, "%016" PRIx64, r->sum);
		fprintf(f, ",,,,,,,");
	}
	csv_text(f, r->check, false);
	csv_text(f, r->notes, true);
}

static void print_rows_header(FILE *out)
{
	fprintf(out, "\n%-13s %-6s %-14s %6s %6s %5s %3s %18s %6s %6s %9s  %s\n", "workload",
	        "regime", "system", "D", "L", "D/L", "thr", "throughput", "hit", "LRU",
	        "peak RSS", "notes");
}

static void print_row(FILE *out, const struct trow *r)
{
	char tput[32], hit[16], lru[16], rss[16];

	if (!r->measured)
		snprintf(tput, sizeof(tput), "-");
	else if (strcmp(r->unit, "MB/s") == 0)
		snprintf(tput, sizeof(tput), "%.1f MB/s", r->tput);
	else
		snprintf(tput, sizeof(tput), "%.0f op/s", r->tput);
	if (isnan(r->hit))
		snprintf(hit, sizeof(hit), "-");
	else
		snprintf(hit, sizeof(hit), "%.4f", r->hit);
	if (isnan(r->lru))
		snprintf(lru, sizeof(lru), "-");
	else
		snprintf(lru, sizeof(lru), "%.4f", r->lru);
	if (r->measured)
		snprintf(rss, sizeof(rss), "%.1fM", (double)peak_rss_kb(r) / 1024);
	else
		snprintf(rss, sizeof(rss), "-");
	fprintf(out, "%-13s %-6s %-14s %6s %6s %5.1f %3u %18s %6s %6s %9s  ", r->workload,
	        r->regime, r->system, SZ(r->data), SZ(r->limit),
	        (double)r->data / (double)r->limit, r->threads, tput, hit, lru, rss);
	if (strcmp(r->check, "-") != 0)
		fprintf(out, "check %s%s", r->check, r->notes[0] ? "; " : "");
	fprintf(out, "%s\n", r->notes);
}

/* -------------------------------------------------------------------------
 * Running one job: page-cache state, cgroup, child, checks, row
 */

/* What an upager run may use: L + 5% + 16 MiB (its cold cgroup's limit,
 * and the RSS every upager run is checked against). */
static uint64_t rss_bound(uint64_t limit)
{
	return limit + limit / 20 + CG_SLACK_FIXED;
}

static uint64_t cgroup_limit(const struct job *j)
{
	switch (j->sys->cg) {
	case CG_LIMIT:
		return j->ds->limit;
	case CG_COLD_SLACK:
		return j->regime == REGIME_COLD ? rss_bound(j->ds->limit) : 0;
	case CG_NEVER:
		break;
	}
	return 0;
}

static unsigned child_timeout(const struct job *j)
{
	if (j->acc == ACC_SEQ)
		return 300 + (unsigned)(j->ds->data / (8 * MiB));
	return 300 + (unsigned)(4 * j->seconds);
}

/* After an update run we cannot vouch for: take the file as it is, and
 * allow every key's increment in later checks. */
static void file_resync(struct datafile *df, const struct keyset *ks)
{
	uint64_t s;

	if (file_sum(df, &s) == 0)
		df->sum = s;
	df->incr += ks ? ks->nrmw[ks->nchunks] : 0;
}

/* The keys a run claimed but did not do (the rest of the chunks it
 * stopped in): the sum of their values, their read-modify-writes, their
 * number. */
static int undone_keys(const struct keyset *ks, const struct result *r, uint64_t *vsum,
                       uint64_t *rmw, uint64_t *n)
{
	uint64_t keys[KEY_CHUNK];

	for (unsigned i = 0; i < r->npartial; i++) {
		int rc;

		if (r->partial[i].chunk >= ks->nchunks || r->partial[i].done > KEY_CHUNK)
			return -EINVAL;
		rc = pread_full(ks->fd, keys, sizeof(keys), r->partial[i].chunk * sizeof(keys));
		if (rc < 0)
			return rc;
		for (unsigned k = r->partial[i].done; k < KEY_CHUNK; k++) {
			*vsum += word_value(keys[k] & KEY_WORD);
			*rmw += !!(keys[k] & UPDATE_BIT);
			(*n)++;
		}
	}
	return 0;
}

/* Check a run's sums against the file's known contents (see the top of
 * the file); after an update run, update the file's bookkeeping. */
static bool check_result(const struct job *j, const struct result *r, struct trow *row)
{
	struct datafile *df = &j->ds->file;
	const struct keyset *ks = j->keys;
	uint64_t expect, ops, rmw, excess, after, undone_v = 0, undone_rmw = 0, undone_n = 0;
	bool ok;

	if (j->acc == ACC_SEQ) {
		ok = r->bytes == df->size && r->sum == df->sum;
		if (!ok)
			note(row, "sum %016" PRIx64 " over %" PRIu64 " bytes, file: %016" PRIx64
			          " over %" PRIu64,
			     r->sum, r->bytes, df->sum, df->size);
		return ok;
	}
	if (undone_keys(ks, r, &undone_v, &undone_rmw, &undone_n) < 0) {
		note(row, "reading the keys back failed");
		return false;
	}
	ops = r->chunks * KEY_CHUNK - undone_n;
	expect = ks->vsum[r->chunks] - undone_v;
	if (r->ops != ops) {
		note(row, "%" PRIu64 " operations but %" PRIu64 " key chunks claimed, %" PRIu64
		          " keys of them not done",
		     r->ops, r->chunks, undone_n);
		return false;
	}
	if (j->acc == ACC_READ) {
		/* Each read returns word_value(w) plus the increments earlier
		 * update runs made to w: exactly word_value if there were none. */
		excess = r->sum - expect;
		ok = df->incr == 0 ? excess == 0 : excess <= ops * df->incr;
		if (!ok)
			note(row, "sum of reads %016" PRIx64 ", expected %016" PRIx64 " (+ at most %" PRIu64
			          " x %" PRIu64 ")",
			     r->sum, expect, ops, df->incr);
		return ok;
	}
	rmw = ks->nrmw[r->chunks] - undone_rmw;
	if (r->rmw != rmw) {
		note(row, "%" PRIu64 " read-modify-writes, the keys have %" PRIu64, r->rmw, rmw);
		file_resync(df, ks);
		return false;
	}
	excess = r->sum - expect;
	ok = excess <= ops * (df->incr + rmw);
	if (!ok)
		note(row, "values read off by %" PRIu64 " (at most %" PRIu64 " x %" PRIu64
		          " allowed)",
		     excess, ops, df->incr + rmw);
	if (r->have_after_sum) { /* ram: the copy, the file is untouched */
		if (r->after_sum != df->sum + rmw) {
			note(row, "copy sums to %016" PRIx64 " after, expected %016" PRIx64,
			     r->after_sum, df->sum + rmw);
			ok = false;
		}
		return ok;
	}
	if (file_sum(df, &after) < 0) {
		note(row, "reading the file back failed");
		df->incr += rmw;
		return false;
	}
	if (after != df->sum + rmw) {
		note(row, "file sums to %016" PRIx64 " after sync, expected %016" PRIx64
		          " (old sum + %" PRIu64 " increments)",
		     after, df->sum + rmw, rmw);
		ok = false;
	}
	df->sum = after;
	df->incr += rmw;
	return ok;
}

/* Run @j: set the page cache up for the regime, make the cgroup, run the
 * system in a child, check, and add a row.  Returns the row's index. */
static size_t run_one(struct bench *b, struct job *j)
{
	const struct system *s = j->sys;
	struct dataset *ds = j->ds;
	size_t idx = b->nrows;
	struct trow *row = new_row(b);
	uint64_t want_cg = cgroup_limit(j), oom = 0;
	struct result r;
	struct cgroup cg;
	char why[256];
	int rc, fn_rc;

	snprintf(row->workload, sizeof(row->workload), "%s", j->workload);
	snprintf(row->regime, sizeof(row->regime), "%s", regime_names[j->regime]);
	snprintf(row->system, sizeof(row->system), "%s", s->name);
	row->data = ds->data;
	row->limit = ds->limit;
	row->page_size = s->upager ? ds->page_size : (uint64_t)sysconf(_SC_PAGESIZE);
	row->threads = j->threads;
	row->unit = j->acc == ACC_SEQ ? "MB/s" : "op/s";
	if (s->upager)
		row->bound_kb = rss_bound(ds->limit) / 1024;

	if (s->in_ram && ds->data >= mem_available() / 2) {
		note(row, "skipped: D >= MemAvailable / 2 (%s)", SZ(mem_available()));
		say("%s/%s/%s: skipped (D does not fit in memory)", j->workload,
		    regime_names[j->regime], s->name);
		return idx;
	}

	/* The page cache. */
	if (j->regime == REGIME_HOT) {
		warm_file(&ds->file);
	} else if (!s->in_ram) {
		rc = drop_caches(&ds->file);
		if (rc < 0)
			note(row, "page cache NOT dropped (%s)", strerror(-rc));
	}
	row->cached = cached_fraction(&ds->file);
	if (!isnan(row->cached))
		note(row, "cached %.0f%%", 100 * row->cached);

	/* The cgroup. */
	memset(&cg, 0, sizeof(cg));
	if (want_cg) {
		if (cg_create(&cg, want_cg) == 0) {
			row->cgroup = cg.version == 1 ? "v1" : "v2";
			row->cg_limit = want_cg;
			note(row, "cg %s", SZ(want_cg));
		} else {
			row->cgroup = "none";
			note(row, "NO CGROUP (%s): unconstrained", cg.why);
		}
	}

	say("%s/%s/%s: D %s, L %s, %u thread%s...", j->workload, regime_names[j->regime],
	    s->name, SZ(ds->data), SZ(ds->limit), j->threads, j->threads == 1 ? "" : "s");
	rc = run_in_child(system_child, j, &r, sizeof(r), cg.version ? &cg : NULL,
	                  child_timeout(j), &fn_rc, why, sizeof(why));
	if (cg.version) {
		row->cg_peak = cg_peak(&cg);
		oom = cg_oom_kills(&cg);
		cg_remove(&cg);
		if (oom)
			note(row, "OOM kills in the cgroup: %" PRIu64, oom);
	}
	if (why[0])
		note(row, "%s", why);
	if (rc < 0 || r.rc < 0) {
		if (rc == 0)
			note(row, "error: %s", r.err);
		row->check = "FAILED";
		b->failures++;
		if (j->acc == ACC_UPDATE && !s->in_ram)
			file_resync(&ds->file, j->keys);
		say("%s/%s/%s: FAILED: %s", j->workload, regime_names[j->regime], s->name,
		    rc < 0 ? why : r.err);
		return idx;
	}

	row->measured = true;
	row->ops = r.ops;
	row->bytes = r.bytes;
	row->secs = (double)r.ns / 1e9;
	row->sync_secs = (double)r.sync_ns / 1e9;
	row->tput = j->acc == ACC_SEQ ? (double)r.bytes / row->secs / 1e6
	                              : (double)r.ops / row->secs;
	row->hwm_kb = r.hwm_kb;
	row->rss_sampled_kb = r.rss_sampled_kb;
	row->rss_start_kb = r.rss_start_kb;
	row->majflt = r.majflt;
	row->minflt = r.minflt;
	row->read_bytes = r.read_bytes;
	row->sum = r.sum;
	row->have_upager = r.have_upager;
	row->up = r.up;
	if (s->upager && j->acc != ACC_SEQ && r.ops) {
		row->hit = 1 - (double)r.up.maj / (double)r.ops;
		if (j->keys->lru && j->keys->lru_ps == ds->page_size)
			row->lru = (double)lru_hits(j->keys, r.ops) / (double)r.ops;
	}
	if (r.info[0])
		note(row, "%s", r.info);
	if (j->acc == ACC_UPDATE)
		note(row, "sync %.2f s", row->sync_secs);
	if (j->regime == REGIME_HOT && s->cg == CG_LIMIT && row->cg_limit)
		note(row, "cg cannot limit the cached file pages");
	if (s->in_ram)
		note(row, "copy read untimed");
	if (row->bound_kb && peak_rss_kb(row) > row->bound_kb)
		note(row, "RSS>bound: %.1fM > L+5%%+16M = %.1fM", (double)peak_rss_kb(row) / 1024,
		     (double)row->bound_kb / 1024);
	if (row->rss_sampled_kb > row->hwm_kb + 1024)
		note(row, "VmHWM %.1fM missed the peak", (double)row->hwm_kb / 1024);
	if (r.up.io_errors || r.up.sigbus)
		note(row, "upager: %" PRIu64 " I/O errors, %" PRIu64 " SIGBUS", r.up.io_errors,
		     r.up.sigbus);
	if (check_result(j, &r, row)) {
		row->check = "ok";
	} else {
		row->check = "FAILED";
		b->failures++;
	}
	if (isnan(row->hit))
		say("%s/%s/%s: %.1f %s, peak RSS %.1fM, %.1f s, check %s", j->workload,
		    regime_names[j->regime], s->name, row->tput, row->unit,
		    (double)peak_rss_kb(row) / 1024, row->secs, row->check);
	else
		say("%s/%s/%s: %.0f %s, hit %.4f (LRU %.4f), peak RSS %.1fM, %.1f s, check %s",
		    j->workload, regime_names[j->regime], s->name, row->tput, row->unit, row->hit,
		    row->lru, (double)peak_rss_kb(row) / 1024, row->secs, row->check);
	return idx;
}

/* -------------------------------------------------------------------------
 * Workloads
 */

static bool system_wanted(const struct bench *b, int s, enum access acc)
{
	if (b->opt.systems && !(b->opt.systems & (1u << s)))
		return false;
	return !systems[s].seq_only || acc == ACC_SEQ;
}

static void job_init(struct job *j, const struct bench *b, struct dataset *ds,
                     const char *name, enum access acc, struct keyset *ks)
{
	memset(j, 0, sizeof(*j));
	j->workload = name;
	j->acc = acc;
	j->ds = ds;
	j->keys = ks;
	j->threads = b->threads;
	j->seconds = acc == ACC_SEQ ? 0 : b->seconds;
	j->advise = b->opt.advise;
}

/* Every wanted system in every wanted regime, hot first. */
static void run_systems(struct bench *b, struct job *j)
{
	for (int reg = 0; reg < NREGIMES; reg++) {
		if (!(b->opt.regimes & (1u << reg)))
			continue;
		j->regime = reg;
		for (int s = 0; s < NSYSTEMS; s++) {
			if (!system_wanted(b, s, j->acc))
				continue;
			j->sys = &systems[s];
			run_one(b, j);
		}
	}
}

static void workload_begin(const struct bench *b, const struct dataset *ds, const char *name,
                           const char *what)
{
	printf("\n== %s: %s ==\n", name, what);
	printf("D %s (%" PRIu64 " upager pages of %s), L %s (%" PRIu64 " frames), D/L %.1f",
	       SZ(ds->data), (ds->data + ds->page_size - 1) / ds->page_size, SZ(ds->page_size),
	       SZ(ds->limit), ds->frames, (double)ds->data / (double)ds->limit);
	if (strcmp(name, "seq") != 0)
		printf("; each run: %" PRIu64 " keys or %.1f s, whichever ends first",
		       ds->max_ops, b->seconds);
	printf("\n");
	fflush(stdout);
}

/* Print the rows [first, end) as a table and write them to the CSV. */
static void workload_end(struct bench *b, size_t first)
{
	print_rows_header(stdout);
	for (size_t i = first; i < b->nrows; i++)
		print_row(stdout, &b->rows[i]);
	fflush(stdout);
	if (b->csv) {
		for (size_t i = first; i < b->nrows; i++)
			csv_row(b->csv, &b->rows[i]);
		fflush(b->csv);
	}
}

static int workload_seq(struct bench *b, struct dataset *ds)
{
	size_t first = b->nrows;
	struct job j;

	workload_begin(b, ds, "seq",
	               "one sequential pass summing 8-byte words; MB/s = 10^6 bytes/s");
	job_init(&j, b, ds, "seq", ACC_SEQ, NULL);
	run_systems(b, &j);
	workload_end(b, first);
	return 0;
}

/* rand, zipf and update: the key sequence of @dist on every system. */
static int key_workload(struct bench *b, struct dataset *ds, const char *name, enum dist dist,
                        enum access acc, const char *what)
{
	struct keyset *ks = dataset_keys(ds, dist);
	size_t first = b->nrows;
	struct job j;

	if (!ks)
		return -1;
	workload_begin(b, ds, name, what);
	if (dist == DIST_ZIPF)
		printf("keys: Gray et al. zipfian, theta %.2f, over the %" PRIu64 " words "
		       "(zeta(N) = %.6f), scrambled over the file\n",
		       ZIPF_THETA, ks->nwords, ks->zetan);
	printf("hit = 1 - upager major faults / accesses; LRU = exact LRU, same keys, "
	       "%" PRIu64 " frames\n",
	       ds->frames);
	job_init(&j, b, ds, name, acc, ks);
	run_systems(b, &j);
	workload_end(b, first);
	return 0;
}

static int workload_rand(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "rand", DIST_UNIFORM, ACC_READ,
	                    "uniform random 8-byte reads; op/s");
}

static int workload_zipf(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "zipf", DIST_ZIPF, ACC_READ,
	                    "Zipf (theta 0.99) 8-byte reads, YCSB C; op/s");
}

static int workload_update(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "update", DIST_ZIPF, ACC_UPDATE,
	                    "Zipf keys, 50% reads, 50% read-modify-writes, then sync "
	                    "(timed), YCSB A; op/s");
}

/* rand and zipf with 1 and N threads, each system's two runs together. */
static int workload_threads(struct bench *b, struct dataset *ds)
{
	unsigned n = b->threads > 1 ? b->threads : 2;
	size_t first = b->nrows;
	char what[96];

	snprintf(what, sizeof(what), "rand and zipf reads with 1 and %u threads; op/s, "
	                             "scaling = N-thread / 1-thread",
	         n);
	workload_begin(b, ds, "threads", what);
	for (int d = 0; d < NDISTS; d++) {
		struct keyset *ks = dataset_keys(ds, (enum dist)d);
		struct job j;

		if (!ks)
			return -1;
		job_init(&j, b, ds, d == DIST_UNIFORM ? "threads:rand" : "threads:zipf", ACC_READ,
		         ks);
		for (int reg = 0; reg < NREGIMES; reg++) {
			if (!(b->opt.regimes & (1u << reg)))
				continue;
			j.regime = reg;
			for (int s = 0; s < NSYSTEMS; s++) {
				size_t one, many;

				if (!system_wanted(b, s, ACC_READ))
					continue;
				j.sys = &systems[s];
				j.threads = 1;
				one = run_one(b, &j);
				j.threads = n;
				many = run_one(b, &j);
				if (b->rows[one].measured && b->rows[many].measured) {
					b->rows[one].scaling = 1.0;
					b->rows[many].scaling = b->rows[many].tput / b->rows[one].tput;
					note(&b->rows[many], "%ux/1x = %.2f", n, b->rows[many].scaling);
				}
			}
		}
	}
	workload_end(b, first);
	return 0;
}

/* The fault workload, in a child; its report comes back through the pipe. */
static int fault_child(const void *arg, void *out)
{
	const struct options *opt = arg;
	struct report *rep = out;

	rep->workload = "fault";
	rep->baseline = -1;
	return workload_fault(opt, rep);
}

static int run_fault(struct bench *b, struct dataset *ds)
{
	struct report *rep = calloc(1, sizeof(*rep));
	uint64_t ps = b->opt.page_size ? b->opt.page_size : FAULT_DEFAULT_PAGE_SIZE;
	size_t first = b->nrows;
	char why[256];
	int rc, fn_rc;

	(void)ds;
	if (!rep)
		return -1;
	say("fault: running in a child process");
	rc = run_in_child(fault_child, &b->opt, rep, sizeof(*rep), NULL, 1800, &fn_rc, why,
	                  sizeof(why));
	if (rc < 0) {
		say("fault: %s", why);
		printf("\n== workload fault ==\nFAILED: %s\n", why);
		b->failures++;
		free(rep);
		return -1;
	}
	rep->workload = "fault";
	if (fn_rc != 0)
		say("fault: stopped by an error");
	if (fn_rc != 0 || rep->failures)
		b->status = 1;
	b->failures += rep->failures + (fn_rc != 0);
	print_report(rep, stdout);
	for (unsigned i = 0; i < rep->nrows && i < MAX_ROWS; i++) {
		const struct row *fr = &rep->rows[i];
		struct trow *t = new_row(b);

		snprintf(t->workload, sizeof(t->workload), "fault");
		snprintf(t->regime, sizeof(t->regime), "hot");
		snprintf(t->system, sizeof(t->system), "%s",
		         strncmp(fr->name, "timer", 5) == 0   ? "timer"
		         : strncmp(fr->name, "floor", 5) == 0 ? "floor"
		                                              : "upager");
		snprintf(t->kase, sizeof(t->kase), "%s", fr->name);
		t->page_size = strncmp(fr->name, "floor", 5) == 0 ? (uint64_t)sysconf(_SC_PAGESIZE)
		                                                  : ps;
		t->samples = fr->samples;
		t->p50 = fr->p50;
		t->p90 = fr->p90;
		t->p99 = fr->p99;
		t->max = fr->max;
		t->ratio = rep->baseline >= 0 ? row_ratio(rep, fr) : NAN;
		t->check = rep->failures || fn_rc ? "FAILED" : "ok";
	}
	if (b->csv) {
		for (size_t i = first; i < b->nrows; i++)
			csv_row(b->csv, &b->rows[i]);
		fflush(b->csv);
	}
	free(rep);
	return 0;
}

/* -------------------------------------------------------------------------
 * Workload table, options and main
 */

struct workload {
	const char *name;
	const char *help;
	int (*run)(struct bench *b, struct dataset *ds);
	bool needs_data; /* runs once per data size, on its file */
	bool sweep;      /* part of --sweep */
};

/* In the order they run: update changes the file, so it is last. */
static const struct workload workloads[] = {
	{ "fault", "service time of one major, minor and write fault, against the floor",
	  run_fault, false, false },
	{ "seq", "sequential scan of D bytes (MB/s)", workload_seq, true, true },
	{ "rand", "uniform random 8-byte reads (op/s)", workload_rand, true, false },
	{ "zipf", "Zipf 0.99 random 8-byte reads, YCSB C (op/s; hit ratio vs LRU)",
	  workload_zipf, true, true },
	{ "threads", "rand and zipf with 1 and 2 threads (op/s, scaling)", workload_threads,
	  true, false },
	{ "update", "Zipf, 50% reads 50% read-modify-writes, sync timed, YCSB A (op/s)",
	  workload_update, true, false },
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static const unsigned sweep_ratios[] = { 2, 4, 8, 16 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		"Measure upager against the kernel's mmap, a pread loop and an in-RAM copy.\n"
		"Tables go to stdout, a CSV file to --csv or --out-dir, progress to stderr;\n"
		"bench/plot.gp draws PNGs from the CSV.\n"
		"\n"
		"  -w, --workload LIST   comma-separated workloads to run (default: all)\n"
		"  -l, --limit SIZE      memory limit L (default %s, quick %s)\n"
		"  -d, --data SIZE       data size D, rounded down to whole MiB (default 8 L)\n"
		"      --sweep           seq and zipf at D = 2, 4, 8 and 16 L (not with --data)\n"
		"  -t, --threads N       threads of seq, rand, zipf and update (default 1);\n"
		"                        the threads workload runs 1 and max(2, N)\n"
		"  -p, --page-size SIZE  upager page size, a power of two from the system\n"
		"                        page size to 2M (default: upager's, 16K; fault: 4K)\n"
		"  -s, --seconds S       time budget of a key-workload run (default %.0f,\n"
		"                        quick %.0f)\n"
		"      --ops N           keys generated per distribution: the most\n"
		"                        operations of a run (default %lluM, quick %lluM)\n"
		"      --regime R        hot, cold or both (default both)\n"
		"      --systems LIST    comma-separated systems (default all): upager,\n"
		"                        upager-direct, mmap, pread, ram\n"
		"      --advise          advise the access pattern (madvise, upager_advise)\n"
		"  -q, --quick           smaller defaults: L %s, D 8 L, %.0f s, fault %u samples\n"
		"  -n, --samples N       fault: samples per case (default %u)\n"
		"      --round-pages N   fault: most pages touched per timed round (default:\n"
		"                        half of upager's VMA budget, vm.max_map_count / 8)\n"
		"  -c, --csv FILE        write the CSV to FILE\n"
		"      --out-dir DIR     else to DIR/" PROG "-YYYYmmdd-HHMMSS.csv (default .)\n"
		"  -h, --help            show this help and exit\n"
		"\n"
		"SIZE is a number of bytes with an optional K, M or G suffix.  Data files go\n"
		"to $TMPDIR, else /var/tmp, and are unlinked at once.  Cold runs drop the page\n"
		"cache and cgroups limit memory: both need root; without, the output says so.\n"
		"\n"
		"Workloads:\n",
		SZ(FULL_LIMIT), SZ(QUICK_LIMIT), FULL_SECONDS, QUICK_SECONDS,
		(unsigned long long)(FULL_MAX_OPS >> 20), (unsigned long long)(QUICK_MAX_OPS >> 20),
		SZ(QUICK_LIMIT), QUICK_SECONDS, QUICK_SAMPLES, DEFAULT_SAMPLES);
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

/* "123", "64K", "1M", "2G", "1T" (powers of 1024), as upager parses its
 * UPAGER_* variables: no leading sign, optional spaces around, one
 * optional suffix letter (K, M, G or T, either case), an optional
 * "B"/"iB".  0, or -EINVAL (empty, not a number, unknown suffix,
 * overflow). */
static int parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;
	bool digits = false;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		digits = true;
	}
	if (!digits)
		return -EINVAL;
	switch (toupper((unsigned char)*p)) {
	case 'K': mult = 1ull << 10; p++; break;
	case 'M': mult = 1ull << 20; p++; break;
	case 'G': mult = 1ull << 30; p++; break;
	case 'T': mult = 1ull << 40; p++; break;
	default: break;
	}
	if (mult > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'B' || *p == 'b')
		p++;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
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

/* Bits of the comma-separated @list's names in @names[0..n-1]. */
static unsigned parse_names(const char *opt, const char *list, const char *const *names,
                            size_t n)
{
	char *copy = strdup(list), *save = NULL, *tok;
	unsigned bits = 0;

	if (!copy)
		usage_error("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (strcmp(tok, "all") == 0) {
			bits |= (1u << n) - 1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == n)
			usage_error("%s: unknown name '%s'", opt, tok);
		bits |= 1u << i;
	}
	free(copy);
	if (!bits)
		usage_error("%s: empty list", opt);
	return bits;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	const char *wnames[NWORKLOADS], *snames[NSYSTEMS];
	long sys_page = sysconf(_SC_PAGESIZE);
	bool samples_given = false;
	char *end;
	int c;

	for (size_t i = 0; i < NWORKLOADS; i++)
		wnames[i] = workloads[i].name;
	for (size_t i = 0; i < NSYSTEMS; i++)
		snames[i] = systems[i].name;
	memset(opt, 0, sizeof(*opt));
	opt->regimes = (1u << NREGIMES) - 1;
	opt->out_dir = ".";
	while ((c = getopt_long(argc, argv, "w:d:l:t:p:s:n:qc:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt->workloads = optarg;
			parse_names("--workload", optarg, wnames, NWORKLOADS);
			break;
		case 'd':
			if (parse_size(optarg, &opt->data) < 0 || opt->data < MiB)
				usage_error("--data: '%s' is not a size of at least 1M", optarg);
			break;
		case 'l':
			if (parse_size(optarg, &opt->limit) < 0 || opt->limit < MiB)
				usage_error("--limit: '%s' is not a size of at least 1M", optarg);
			break;
		case 't':
			if (!parse_count(optarg, &opt->threads) || opt->threads == 0 ||
			    opt->threads > MAX_THREADS)
				usage_error("--threads: '%s' is not a count from 1 to %u", optarg,
				            MAX_THREADS);
			break;
		case 'p':
			if (parse_size(optarg, &opt->page_size) < 0 ||
			    (opt->page_size & (opt->page_size - 1)) != 0 ||
			    opt->page_size < (uint64_t)sys_page ||
			    opt->page_size > UPAGER_MAX_PAGE_SIZE)
				usage_error("--page-size: '%s' is not a power of two from %ld to 2M",
				            optarg, sys_page);
			break;
		case 's':
			errno = 0;
			opt->seconds = strtod(optarg, &end);
			if (errno || *end || !(opt->seconds > 0) || opt->seconds > 3600)
				usage_error("--seconds: '%s' is not a number of seconds from 0 to 3600",
				            optarg);
			break;
		case OPT_OPS:
			if (parse_size(optarg, &opt->max_ops) < 0 ||
			    opt->max_ops < KEY_CHUNK || opt->max_ops > (1ull << 32))
				usage_error("--ops: '%s' is not a count from %u to 4G", optarg,
				            KEY_CHUNK);
			break;
		case 'n':
			if (!parse_count(optarg, &opt->samples) || opt->samples == 0 ||
			    opt->samples > (1u << 24))
				usage_error("--samples: '%s' is not a count from 1 to %u", optarg,
				            1u << 24);
			samples_given = true;
			break;
		case OPT_ROUND_PAGES:
			if (!parse_count(optarg, &opt->round_pages) || opt->round_pages == 0)
				usage_error("--round-pages: '%s' is not a positive count", optarg);
			break;
		case OPT_REGIME:
			if (strcmp(optarg, "both") == 0)
				opt->regimes = (1u << NREGIMES) - 1;
			else
				opt->regimes = parse_names("--regime", optarg, regime_names, NREGIMES);
			break;
		case OPT_SYSTEMS:
			opt->systems = parse_names("--systems", optarg, snames, NSYSTEMS);
			break;
		case OPT_ADVISE:
			opt->advise = true;
			break;
		case OPT_SWEEP:
			opt->sweep = true;
			break;
		case 'q':
			opt->quick = true;
			break;
		case 'c':
			opt->csv = optarg;
			break;
		case OPT_OUT_DIR:
			opt->out_dir = optarg;
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
	if (opt->sweep && opt->data)
		usage_error("--sweep sets D itself: drop --data");
	if (!samples_given)
		opt->samples = opt->quick ? QUICK_SAMPLES : DEFAULT_SAMPLES;
}

static bool workload_wanted(const struct options *opt, size_t i)
{
	const char *wnames[NWORKLOADS];

	if (opt->sweep && !workloads[i].sweep)
		return false;
	if (!opt->workloads)
		return true;
	for (size_t k = 0; k < NWORKLOADS; k++)
		wnames[k] = workloads[k].name;
	return (parse_names("--workload", opt->workloads, wnames, NWORKLOADS) >> i) & 1;
}

static int dataset_init(struct dataset *ds, const struct bench *b, uint64_t data)
{
	memset(ds, 0, sizeof(*ds));
	ds->data = data;
	ds->limit = b->limit;
	ds->page_size = b->page_size;
	ds->frames = b->limit / b->page_size;
	ds->max_ops = b->max_ops;
	return make_data_file(&ds->file, data);
}

static void dataset_free(struct dataset *ds)
{
	for (int d = 0; d < NDISTS; d++)
		free_keyset(ds->keys[d]);
	if (ds->file.fd >= 0)
		close(ds->file.fd);
	memset(ds, 0, sizeof(*ds));
}

/* The 1-minute load average: other work on the machine skews results. */
static double load_average(void)
{
	double l = NAN;
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = NAN;
		fclose(f);
	}
	return l;
}

static void print_header(const struct bench *b)
{
	bool can_drop = access("/proc/sys/vm/drop_caches", W_OK) == 0;
	struct utsname u;

	if (uname(&u) != 0)
		snprintf(u.release, sizeof(u.release), "?");
	printf(PROG ": upager %s; Linux %s; %ld CPUs, load average %.2f; MemTotal %s, "
	       "MemAvailable %s; data files in %s\n",
	       upager_version(), u.release, sysconf(_SC_NPROCESSORS_ONLN), load_average(),
	       SZ(proc_value("/proc/meminfo", "MemTotal:") * 1024), SZ(mem_available()),
	       tmp_dir());
	printf("L %s; D %s; upager page size %s; %u thread%s; key workloads: %.1f s or %" PRIu64
	       " keys per run; advice: %s\n",
	       SZ(b->limit),
	       b->opt.sweep ? "2, 4, 8, 16 L (sweep)" : SZ(b->data), SZ(b->page_size), b->threads,
	       b->threads == 1 ? "" : "s", b->seconds, b->max_ops,
	       b->opt.advise ? "sequential/random" : "none");
	if (cg_v1_root[0])
		printf("cgroups: v1 memory controller at %s (group " PROG "-%d at its root, one "
		       "run at a time)\n",
		       cg_v1_root, (int)getpid());
	else if (cg_v2_root[0])
		printf("cgroups: v2 at %s (group " PROG "-%d with memory.max, if the root "
		       "delegates memory)\n",
		       cg_v2_root, (int)getpid());
	else
		printf("cgroups: NONE: mmap, pread and cold upager runs are unconstrained\n");
	printf("regimes: hot = file in the page cache before each run (mmap/pread cgroup L "
	       "cannot limit those already-charged pages); cold = page cache dropped before "
	       "each run%s, mmap/pread in cgroup L, upager in cgroup L+5%%+16M\n",
	       can_drop ? "" : " (NOT POSSIBLE: drop_caches not writable; cold = hot)");
	printf("every system runs in its own child; peak RSS = max(its VmHWM, RSS sampled "
	       "every 5 ms while timed); ram = in-RAM "
	       "copy (bound), only where D < MemAvailable/2\n");
	fflush(stdout);
}

static FILE *open_csv(struct bench *b)
{
	FILE *f;

	if (b->opt.csv) {
		snprintf(b->csv_path, sizeof(b->csv_path), "%s", b->opt.csv);
	} else {
		char stamp[32];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(b->csv_path, sizeof(b->csv_path), "%s/" PROG "-%s.csv", b->opt.out_dir,
		         stamp);
	}
	f = fopen(b->csv_path, "w");
	if (!f) {
		say("%s: %s", b->csv_path, strerror(errno));
		return NULL;
	}
	csv_header(f);
	return f;
}

int main(int argc, char **argv)
{
	struct upager_config in, out;
	struct sigaction sa;
	struct bench b;
	uint64_t sizes[sizeof(sweep_ratios) / sizeof(sweep_ratios[0])];
	size_t nsizes = 0, measured = 0;
	bool any_data = false;
	uint64_t t0 = now_ns();

	memset(&b, 0, sizeof(b));
	parse_options(argc, argv, &b.opt);
	b.limit = b.opt.limit ? b.opt.limit : b.opt.quick ? QUICK_LIMIT : FULL_LIMIT;
	b.data = b.opt.data ? b.opt.data : DATA_OVER_LIMIT * b.limit;
	b.data -= b.data % MiB;
	b.seconds = b.opt.seconds > 0 ? b.opt.seconds : b.opt.quick ? QUICK_SECONDS : FULL_SECONDS;
	b.max_ops = b.opt.max_ops ? b.opt.max_ops : b.opt.quick ? QUICK_MAX_OPS : FULL_MAX_OPS;
	b.max_ops -= b.max_ops % KEY_CHUNK;
	b.threads = b.opt.threads ? (unsigned)b.opt.threads : 1;
	memset(&in, 0, sizeof(in));
	in.page_size = b.opt.page_size;
	in.memory_limit = b.limit;
	if (upager_config_resolve(&in, &out) < 0)
		usage_error("--page-size/--limit (or UPAGER_* in the environment): upager refuses "
		            "page size %s with limit %s",
		            SZ(b.opt.page_size), SZ(b.limit));
	b.page_size = out.page_size;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cg_find_roots();

	b.csv = open_csv(&b);
	if (!b.csv)
		return 1;
	print_header(&b);

	for (size_t i = 0; i < NWORKLOADS; i++) {
		if (!workload_wanted(&b.opt, i))
			continue;
		if (!workloads[i].needs_data) {
			if (workloads[i].run(&b, NULL) < 0)
				b.status = 1;
		} else {
			any_data = true;
		}
	}
	if (any_data) {
		if (b.opt.sweep)
			for (size_t k = 0; k < sizeof(sweep_ratios) / sizeof(sweep_ratios[0]); k++)
				sizes[nsizes++] = sweep_ratios[k] * b.limit;
		else
			sizes[nsizes++] = b.data;
	}
	for (size_t k = 0; k < nsizes; k++) {
		struct dataset ds;

		if (dataset_init(&ds, &b, sizes[k]) < 0) {
			b.status = 1;
			break;
		}
		for (size_t i = 0; i < NWORKLOADS; i++) {
			if (!workloads[i].needs_data || !workload_wanted(&b.opt, i))
				continue;
			if (workloads[i].run(&b, &ds) < 0) {
				say("%s: stopped by an error", workloads[i].name);
				b.status = 1;
			}
		}
		dataset_free(&ds);
	}

	for (size_t i = 0; i < b.nrows; i++)
		measured += b.rows[i].measured || b.rows[i].samples;
	if (fclose(b.csv) != 0) {
		say("%s: %s", b.csv_path, strerror(errno));
		b.status = 1;
	}
	printf("\n%zu rows (%zu measured), %u failed run%s or check%s; wall time %.0f s; load "
	       "average now %.2f; CSV: %s\n",
	       b.nrows, measured, b.failures, b.failures == 1 ? "" : "s",
	       b.failures == 1 ? "" : "s", (double)(now_ns() - t0) / 1e9, load_average(),
	       b.csv_path);
	say("done in %.0f s; CSV: %s", (double)(now_ns() - t0) / 1e9, b.csv_path);
	free(b.rows);
	return b.failures || b.status ? 1 : 0;
}
