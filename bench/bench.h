/*
 * bench.h - the declarations the files of upager-bench share.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: the harness's constants and shared types, and the prototypes of
 * every function one of its files offers another.  Grouped by file,
 * bottom up, so that it reads as the map of the harness: a file calls only
 * files above it in this header (and upager.h, lib/'s units.h and cli.h,
 * libc).
 *
 *   util.c          time, randomness, CPU pinning, /proc, whole-buffer I/O
 *   output.c        progress lines, the fault report, the run table, CSV
 *   keygen.c        the key generators: uniform, Zipfian (scrambled)
 *   keys.c          the key sequences in a memfd, their LRU hit record
 *   dataset.c       the data file, the page cache, one data size's keys
 *   runner.c        memory cgroups and the forked child a run lives in
 *   timed.c         the timed phase inside the child: workers, RSS sampler
 *   engine-*.c      the systems under test, one struct engine each (swap:
 *                   the scratch workload's kernel swap, and its swap file)
 *   engine.c        the engine table and the child's body around an engine
 *   check.c         checks of a run's sums, and the fault report's checks
 *   job.c           one run: page cache, cgroup, child, checks, table row
 *   workloads.c     seq, rand, zipf, threads, update, scratch
 *   workload-fault.c  the fault service-time workload
 *   main.c          options, the table of workloads, main
 *
 * The harness uses only upager's public API (upager.h).  Each file's
 * opening comment says what it owns and what it may call.
 *
 * replacement.c, clockpro.c and opt.c (replacement.h: libc only)
 * simulate page replacement policies on traces: keys.c takes their LRU;
 * upager-mrc (mrc.c, which uses keygen.c and them) draws miss-ratio curves
 * with all of them.
 */
#ifndef UPAGER_BENCH_H
#define UPAGER_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, pipe2, mkostemp, CPU_SET, strsignal */
#endif

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <upager.h>

#include "cgroup.h" /* lib/: struct cgroup, cgroup_make() ... */
#include "units.h" /* lib/: MiB, UNITS_SHORT(), units_parse_size() */

#define PROG "upager-bench"

#define DEFAULT_SAMPLES 20000u
#define QUICK_SAMPLES 5000u
#define FAULT_DEFAULT_PAGE_SIZE 4096u
#define EXTRA_FRAMES 64u /* memory_limit = N + EXTRA_FRAMES pages */
#define PIN_CPU 0
#define SEED 0x75706167657262ull /* "upagerb": fixed, so runs compare */

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
#define SCRATCH_OVER_LIMIT 4u   /* scratch: S = 4 L unless --data */

enum { REGIME_HOT, REGIME_COLD, NREGIMES };

/* The options as given (main.c parses them). */
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
	const char *umap;      /* UMap's install prefix; NULL: none */
};

/* -------------------------------------------------------------------------
 * util.c: time, randomness, CPU pinning, /proc, files
 */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64 finaliser: a bijection, used for page tags and the shuffle. */
static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct rng *g)
{
	g->state += 0x9e3779b97f4a7c15ull;
	return mix64(g->state);
}

/* Sum of @n words, four accumulators (the same code for every system). */
static inline uint64_t sum_words(const uint64_t *w, size_t n)
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

void shuffle(size_t *a, size_t n, struct rng *g);
void permutation(size_t *a, size_t n, struct rng *g);

struct pin {
	cpu_set_t old;
	bool pinned;
	char what[96];
};

void pin_cpu(struct pin *pin);
void unpin_cpu(struct pin *pin);
long max_map_count(void);
const char *tmp_dir(void);
uint64_t proc_value(const char *path, const char *key);
uint64_t mem_available(void);
double load_average(void);
int pread_full(int fd, void *buf, size_t len, uint64_t off);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int write_file(const char *path, const char *text);
int tmp_file(const char *infix, char *path, size_t len);

/* -------------------------------------------------------------------------
 * output.c: progress, the fault report, the run table and the CSV
 */

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define MAX_ROWS 16
#define MAX_NOTES 48
#define NOTE_LEN 256

/* One case of the fault workload: percentiles of its samples. */
struct row {
	char name[48];
	size_t samples;
	uint64_t p50, p90, p99, max;
};

/* The fault workload's report (made in a child, sent back whole). */
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

void report_header(struct report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void progress(const struct report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void add_row(struct report *rep, const char *name, uint64_t *ns, size_t n);
double row_ratio(const struct report *rep, const struct row *r);
void print_report(const struct report *rep, FILE *out);

/* upager counters over the timed phase. */
struct upager_delta {
	uint64_t fault, maj, min, write, pgin, pgout, ra, ra_used, scan, deact, steal, wb_evict;
	uint64_t wb_background, io_errors, sigbus, resident_peak, frames;
	uint64_t dirtied, predicted; /* pgdirtied, pgdirty_predicted */
	uint64_t dirty_start, dirty_end; /* nr_dirty (pages) at each end */
};

/* One row of the table and the CSV: a run, or a case of the fault
 * workload. */
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

/* The whole run: settings, the rows so far, the CSV. */
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

struct trow *new_row(struct bench *b);
uint64_t peak_rss_kb(const struct trow *r);
void note(struct trow *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FILE *open_csv(struct bench *b);
void csv_row(FILE *f, const struct trow *r);
void print_rows_header(FILE *out);
void print_row(FILE *out, const struct trow *r);
void print_ratios(FILE *out, const struct trow *rows, size_t n);

/* -------------------------------------------------------------------------
 * keygen.c: key generators
 */

enum dist { DIST_UNIFORM, DIST_ZIPF, NDISTS };

/* Zipfian ranks (Gray et al.). */
struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};

/* A keyed bijection of [0, n). */
struct scramble {
	uint64_t n, mask, k1, k2;
	unsigned shift;
};

/* One key sequence: keys in [0, n), each with UPDATE_BIT set or clear. */
struct keygen {
	enum dist dist;
	uint64_t n;
	struct rng g;
	struct zipf z;
	struct scramble sc;
};

void keygen_init(struct keygen *kg, enum dist dist, uint64_t n);
uint64_t keygen_next(struct keygen *kg);

/* -------------------------------------------------------------------------
 * keys.c: key sequences and their LRU hit record
 */

/* Word @w of a data file (before any update run). */
static inline uint64_t word_value(uint64_t w)
{
	return mix64(DATA_SEED ^ w);
}

extern const char *const dist_names[NDISTS];

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

struct keyset *make_keyset(uint64_t nwords, enum dist dist, uint64_t n);
void free_keyset(struct keyset *ks);
int lru_simulate(struct keyset *ks, uint64_t ps, uint64_t frames);
uint64_t lru_hits(const struct keyset *ks, uint64_t m);

/* -------------------------------------------------------------------------
 * dataset.c: the data file, the page cache, one data size
 */

struct datafile {
	int fd;        /* O_RDWR, unlinked */
	uint64_t size;
	uint64_t sum;  /* sum of all words now */
	uint64_t incr; /* increments update runs added to it (total) */
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

int dataset_init(struct dataset *ds, const struct bench *b, uint64_t data);
void dataset_free(struct dataset *ds);
struct keyset *dataset_keys(struct dataset *ds, enum dist dist);
int file_sum(const struct datafile *df, uint64_t *sum);
double cached_fraction(const struct datafile *df);
void warm_file(const struct datafile *df);
int drop_caches(const struct datafile *df);

/* -------------------------------------------------------------------------
 * runner.c: memory cgroups, the child process
 */

/* The mounts found by cg_find_roots() (lib/cgroup.h). */
extern struct cgroup_mounts cg_mounts;

void cg_find_roots(void);
int cg_create(struct cgroup *cg, uint64_t limit);
uint64_t cg_peak(const struct cgroup *cg);
uint64_t cg_oom_kills(const struct cgroup *cg);
void cg_remove(struct cgroup *cg);
void install_fatal_signal_handlers(void);
void on_fatal_cleanup(void (*fn)(void));

typedef int (*child_fn)(const void *arg, void *out);

int run_in_child(child_fn fn, const void *arg, void *out, size_t outsz,
                 const struct cgroup *cg, unsigned timeout_s, int *fn_rc, char *why,
                 size_t whylen);

/* -------------------------------------------------------------------------
 * timed.c: the timed phase (in the child)
 */

enum access { ACC_SEQ, ACC_READ, ACC_UPDATE, ACC_SCRATCH };

/* The phases of the scratch workload, one row each. */
enum { PH_FILL, PH_RMW, PH_SCAN, NPHASES };

struct engine;

/* One run: a workload on one system in one regime. */
struct job {
	const char *workload;       /* row label: "zipf", "threads:rand", ... */
	enum access acc;
	int regime;
	const struct engine *sys;
	struct dataset *ds;
	struct keyset *keys;        /* NULL for seq */
	unsigned threads;
	double seconds;             /* time budget; 0: none (seq) */
	bool advise;
	const char *umap;           /* UMap's install prefix, or NULL */
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
	/* scratch: each phase (ops, rmw, sum, chunks, partial above: rmw's) */
	struct {
		uint64_t ns, ops, bytes, sum;
		uint64_t minflt, majflt;
		struct upager_delta up; /* the engine's counters over the phase */
	} phase[NPHASES];
};

int fail(struct result *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef int (*finish_fn)(void *arg);
/* An engine's counters so far (absolute: upager's, or swap's pages). */
typedef void (*counters_fn)(void *arg, struct upager_delta *abs);

int timed_run(const struct job *j, char *base, finish_fn finish, void *farg,
              struct result *r);
int timed_scratch(const struct job *j, char *base, counters_fn counters, void *carg,
                  struct result *r);

/* -------------------------------------------------------------------------
 * engine-*.c: the systems under test; engine.c: their table and driver
 */

enum cg_policy {
	CG_NEVER,      /* no group */
	CG_LIMIT,      /* L, both regimes */
	CG_COLD_SLACK, /* cold: L + 5% + 16 MiB; hot: no group */
};

/* What an engine keeps between its calls, in the child. */
struct engine_ctx {
	char *base;    /* the D bytes the workers read; NULL: pread the file */
	void *priv;    /* the engine's own state */
};

/*
 * A system under test.  In the parent, job.c calls prepare first, if
 * any (after making the run's cgroup): when it returns -1 the row is
 * skipped with its reason; release, if any, is called after every run
 * that prepare allowed.  In its child, engine.c calls setup (untimed: map
 * or copy the data, set ctx->base), then the timed phase, whose clock
 * includes finish (update runs only: make the writes durable), then
 * teardown (untimed: counters, unmap).  setup returns -errno, with the
 * step recorded by fail(), when there is nothing to tear down; it returns
 * 0 when there is, even if a later step failed (then r->rc says so and
 * the timed phase is skipped).  Any of the three may be NULL: no setup
 * leaves ctx->base NULL, and the timed phase then preads the file.
 */
struct engine {
	const char *name;
	enum cg_policy cg;
	bool seq_only;
	bool in_ram;   /* needs D of memory; page cache not dropped */
	bool upager;
	bool own_pages; /* pages of upager's page size (UMap), not the system's */
	bool scratch;      /* runs the scratch workload (setup: S bytes of memory) */
	bool scratch_only; /* and nothing else */
	int (*prepare)(const struct job *j, const struct cgroup *cg, char *why, size_t len);
	void (*release)(void);
	int (*setup)(struct engine_ctx *ctx, const struct job *j, struct result *r);
	int (*finish)(void *priv);  /* NULL: nothing to make durable */
	const char *finish_what;     /* its name, for the error */
	void (*teardown)(struct engine_ctx *ctx, const struct job *j, struct result *r);
	void (*counters)(void *priv, struct upager_delta *abs); /* scratch; may be NULL */
};

extern const struct engine engine_upager, engine_upager_direct, engine_mmap, engine_umap,
	engine_pread, engine_ram, engine_swap;

enum { SYS_UPAGER, SYS_UPAGER_DIRECT, SYS_MMAP, SYS_UMAP, SYS_PREAD, SYS_RAM, SYS_SWAP,
       NSYSTEMS };
extern const struct engine *const engines[NSYSTEMS];

int engine_child(const void *arg, void *out);

/* -------------------------------------------------------------------------
 * check.c: checks
 */

bool check(struct report *rep, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool check_result(const struct job *j, const struct result *r, struct trow *row);
bool check_scratch(const struct job *j, const struct result *r, struct trow *rows,
                   uint64_t *distinct_pages);
void file_resync(struct datafile *df, const struct keyset *ks);

/* -------------------------------------------------------------------------
 * job.c: one run, every system of a workload
 */

extern const char *const regime_names[NREGIMES];

uint64_t rss_bound(uint64_t limit);
void job_init(struct job *j, const struct bench *b, struct dataset *ds, const char *name,
              enum access acc, struct keyset *ks);
bool system_wanted(const struct bench *b, int s, enum access acc);
size_t run_one(struct bench *b, struct job *j);
void run_systems(struct bench *b, struct job *j);

/* -------------------------------------------------------------------------
 * workloads.c, workload-fault.c: the workloads
 */

int workload_seq(struct bench *b, struct dataset *ds);
int workload_rand(struct bench *b, struct dataset *ds);
int workload_zipf(struct bench *b, struct dataset *ds);
int workload_threads(struct bench *b, struct dataset *ds);
int workload_update(struct bench *b, struct dataset *ds);
int workload_scratch(struct bench *b, struct dataset *ds);
int run_fault(struct bench *b, struct dataset *ds);

#endif /* UPAGER_BENCH_H */
