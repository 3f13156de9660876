/*
 * workloads.c - the throughput workloads of upager-bench: seq, rand, zipf,
 * threads, update and scratch.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: what each throughput workload asks of the systems: its access
 * kind, its keys, its table's title lines (main.c holds the table of
 * workloads: names, help lines, the order they run in).
 * Calls: job.c (run_one, run_systems), dataset.c (dataset_keys), keys.c
 * (scratch's keys), output.c, lib/units.  The fault workload is workload-fault.c.
 *
 * Workloads (D is the data size, --data; L the memory limit, --limit; T
 * the thread count, --threads):
 *
 *   fault    the service time of one fault of each kind (see
 *            workload-fault.c); upager only, CPU-pinned, one child process.
 *   seq      one sequential pass over the D bytes, summing 8-byte words.
 *            Throughput in MB/s (10^6 bytes per second).
 *   rand     uniform random 8-byte reads.  op/s.
 *   zipf     Zipf-distributed 8-byte reads, theta 0.99 (YCSB workload C).
 *   threads  rand and zipf with 1 thread and with max(2, T) threads;
 *            op/s and the ratio of the two (column "scaling").
 *   scratch  scratch memory of S = --data, else 4 L, bytes under L:
 *            upager_alloc() against anonymous memory swapped by the
 *            kernel (system "swap", in a cgroup of L): a sequential fill,
 *            Zipf read-modify-writes for the time budget, a sequential
 *            scan, each timed alone, one row each, with the pages each
 *            wrote (upager's pgpgout; the system's pswpout) and, for
 *            rmw, pages written per op and per distinct page dirtied.
 *            Not in the default list (--workload scratch).
 *   update   Zipf keys, half 8-byte reads, half read-modify-writes (an
 *            atomic fetch-and-add of 1) of 8-byte words (YCSB workload A);
 *            then the data is synced, and the sync is inside the timing:
 *            upager_sync(); msync(MS_SYNC) + fdatasync() for mmap; nothing
 *            for the in-RAM copy.  It runs last, because it changes the
 *            file (the checks of the other workloads use its contents).
 *
 * Sweep (--sweep): seq and zipf (those of them selected) at D = 2, 4, 8
 * and 16 L, for the throughput-against-D/L plots (main.c).
 */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void workload_begin(const struct bench *b, const struct dataset *ds, const char *name,
                           const char *what)
{
	printf("\n== %s: %s ==\n", name, what);
	printf("D %s (%" PRIu64 " upager pages of %s), L %s (%" PRIu64 " frames), D/L %.1f",
	       UNITS_SHORT(ds->data), (ds->data + ds->page_size - 1) / ds->page_size, UNITS_SHORT(ds->page_size),
	       UNITS_SHORT(ds->limit), ds->frames, (double)ds->data / (double)ds->limit);
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
	print_ratios(stdout, b->rows + first, b->nrows - first);
	fflush(stdout);
	if (b->csv) {
		for (size_t i = first; i < b->nrows; i++)
			csv_row(b->csv, &b->rows[i]);
		fflush(b->csv);
	}
}

int workload_seq(struct bench *b, struct dataset *ds)
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

int workload_rand(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "rand", DIST_UNIFORM, ACC_READ,
	                    "uniform random 8-byte reads; op/s");
}

int workload_zipf(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "zipf", DIST_ZIPF, ACC_READ,
	                    "Zipf (theta 0.99) 8-byte reads, YCSB C; op/s");
}

int workload_update(struct bench *b, struct dataset *ds)
{
	return key_workload(b, ds, "update", DIST_ZIPF, ACC_UPDATE,
	                    "Zipf keys, 50% reads, 50% read-modify-writes, then sync "
	                    "(timed), YCSB A; op/s");
}

/* rand and zipf with 1 and N threads, each system's two runs together. */
int workload_threads(struct bench *b, struct dataset *ds)
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
				j.sys = engines[s];
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

/*
 * scratch: upager_alloc() memory against anonymous memory the kernel
 * swaps (engine-swap.c), S = --data, else 4 L, under L.  No data file: a
 * dataset of its own, with zipf keys over the S / 8 words.  One run per
 * system, three rows: fill, rmw, scan.
 */
int workload_scratch(struct bench *b, struct dataset *unused)
{
	struct dataset sd;
	size_t first = b->nrows;
	struct job j;

	(void)unused;
	memset(&sd, 0, sizeof(sd));
	sd.data = b->opt.data ? b->data : SCRATCH_OVER_LIMIT * b->limit;
	sd.limit = b->limit;
	sd.page_size = b->page_size;
	sd.frames = b->limit / b->page_size;
	sd.max_ops = b->max_ops;
	sd.file.fd = -1;
	sd.keys[DIST_ZIPF] = make_keyset(sd.data / 8, DIST_ZIPF, sd.max_ops);
	if (!sd.keys[DIST_ZIPF])
		return -1;
	workload_begin(b, &sd, "scratch",
	               "fill, Zipf read-modify-writes, scan of scratch memory; MB/s, op/s");
	printf("S %s of scratch memory under L %s: upager_alloc (upager's limit L, cgroup "
	       "L+5%%+16M) against anonymous memory in a cgroup of L swapped by the kernel\n"
	       "fill: word w = f(w), sequential; rmw: every key an 8-byte read-modify-write "
	       "(zipf keys, theta %.2f); scan: sum of every word; each phase timed alone\n",
	       UNITS_SHORT(sd.data), UNITS_SHORT(sd.limit), ZIPF_THETA);
	job_init(&j, b, &sd, "scratch", ACC_SCRATCH, sd.keys[DIST_ZIPF]);
	j.regime = REGIME_COLD; /* the cgroups of the cold regime */
	for (int s = 0; s < NSYSTEMS; s++) {
		if (!system_wanted(b, s, ACC_SCRATCH))
			continue;
		j.sys = engines[s];
		run_one(b, &j);
	}
	workload_end(b, first);
	free_keyset(sd.keys[DIST_ZIPF]);
	return 0;
}
