/*
 * dataset.c - one data size of upager-bench: its file, the file's state in
 * the page cache, and its key sequences.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: struct dataset and struct datafile: making the data file (word w
 * holds word_value(w), so the checks know every right answer), summing it
 * back, warming and dropping the page cache, and generating the key
 * sequences (with their LRU reference) the first time a workload asks.
 * Calls: keys.c, util.c, output.c (say), lib/units.
 *
 * Every system runs on the same file (one unlinked file in $TMPDIR, else
 * /var/tmp, per data size) and the same key sequence.  The regimes (job.c
 * chooses) set the page cache up before each run:
 *
 *   hot   the file is in the page cache before each run (read once, where
 *         mincore(2) says any of it is missing): warm_file().
 *   cold  the page cache is dropped (fdatasync of the file, then
 *         `echo 3 > /proc/sys/vm/drop_caches') before each run:
 *         drop_caches().
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h> /* NAN: a macro, no libm */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A file of @size bytes (a multiple of 8), word w = word_value(w), written,
 * made durable and unlinked at once (so nothing is left behind whatever
 * happens).  Its pages stay in the page cache. */
static int make_data_file(struct datafile *df, uint64_t size)
{
	char path[PATH_MAX];
	uint64_t *buf, sum = 0, t0 = now_ns();
	int fd, rc;

	memset(df, 0, sizeof(*df));
	df->fd = -1;
	fd = tmp_file("-data", path, sizeof(path));
	if (fd < 0)
		return -1;
	buf = malloc(SEQ_CHUNK);
	if (!buf) {
		close(fd);
		say("out of memory");
		return -1;
	}
	say("writing a %s data file in %s", UNITS_SHORT(size), tmp_dir());
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
int file_sum(const struct datafile *df, uint64_t *sum)
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

/* The data size @data with the run's L, page size and key count: its file
 * written.  0, or -1 (message printed). */
int dataset_init(struct dataset *ds, const struct bench *b, uint64_t data)
{
	memset(ds, 0, sizeof(*ds));
	ds->data = data;
	ds->limit = b->limit;
	ds->page_size = b->page_size;
	ds->frames = b->limit / b->page_size;
	ds->max_ops = b->max_ops;
	return make_data_file(&ds->file, data);
}

void dataset_free(struct dataset *ds)
{
	for (int d = 0; d < NDISTS; d++)
		free_keyset(ds->keys[d]);
	if (ds->file.fd >= 0)
		close(ds->file.fd);
	memset(ds, 0, sizeof(*ds));
}

/* The key sequence of @dist for @ds, made (and simulated under LRU) the
 * first time it is asked for; NULL if it could not be made. */
struct keyset *dataset_keys(struct dataset *ds, enum dist dist)
{
	if (!ds->keys[dist]) {
		ds->keys[dist] = make_keyset(ds->data / 8, dist, ds->max_ops);
		if (ds->keys[dist] && lru_simulate(ds->keys[dist], ds->page_size, ds->frames) < 0)
			say("LRU simulation failed; LRU hit ratios left out");
	}
	return ds->keys[dist];
}

/* -------------------------------------------------------------------------
 * Page cache: residency, warming, dropping
 */

/* Fraction of the file's system pages in the page cache (mincore). */
double cached_fraction(const struct datafile *df)
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
void warm_file(const struct datafile *df)
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
int drop_caches(const struct datafile *df)
{
	fdatasync(df->fd);
	return write_file("/proc/sys/vm/drop_caches", "3");
}
