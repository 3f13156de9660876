/*
 * check.c - the checks of upager-bench: a run's results against what the
 * harness knows without trusting any system.
 *
 * Copyright (C) 2026 The upager authors.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns: check_result() (the "check" column of a run) with the data file's
 * bookkeeping after update runs, and check() (a line of the fault
 * report's checks).
 * Calls: dataset.c (file_sum), keys.c (the keys' prefix sums), output.c
 * (note), util.c.
 *
 * Checks (column "check"): every run returns the sum of the words it read.
 * The file's words are generated (word w holds word_value(w)), so the
 * harness knows the right answer without trusting any system: seq must
 * return the file's sum; rand and zipf must return the sum of the values
 * of the keys they consumed (prefix sums per chunk are kept); update must
 * leave the file (mmap, upager) or the copy (ram) summing to the old sum
 * plus the number of read-modify-writes (the file is read back after the
 * run), and its reads must be within what those increments allow.  The
 * scratch workload (no file) is checked against its key stream: the rmw
 * phase's reads must sum to exactly the filled values of the keys it
 * consumed plus, for each word, 0 + 1 + ... + (n - 1) where it was
 * updated n times (whatever the order of the threads: each update adds
 * 1 and reads what was there), and the scan to the filled sum plus the
 * number of updates; the fill is checked by those reads.  A
 * failed check, like a failed or crashed run, fails the exit status
 * (job.c counts it).  The fault workload checks upager's counters around
 * each timed pass (workload-fault.c) with check().
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

/* Record a check of the fault report: printed to stderr now and below
 * the table later. */
bool check(struct report *rep, bool ok, const char *fmt, ...)
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

/* After an update run we cannot vouch for: take the file as it is, and
 * allow every key's increment in later checks. */
void file_resync(struct datafile *df, const struct keyset *ks)
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
bool check_result(const struct job *j, const struct result *r, struct trow *row)
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


static int cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The keys the scratch run @r consumed (its rmw phase), masked, sorted,
 * in a new array of *@n; NULL if it could not be read. */
static uint64_t *consumed_keys(const struct keyset *ks, const struct result *r, uint64_t *n)
{
	uint64_t *keys, m = 0;

	if (r->chunks > ks->nchunks)
		return NULL;
	keys = malloc((r->chunks ? r->chunks : 1) * KEY_CHUNK * sizeof(uint64_t));
	if (!keys)
		return NULL;
	for (uint64_t c = 0; c < r->chunks; c++) {
		uint32_t done = KEY_CHUNK;

		if (pread_full(ks->fd, keys + m, KEY_CHUNK * sizeof(uint64_t),
		               c * KEY_CHUNK * sizeof(uint64_t)) < 0) {
			free(keys);
			return NULL;
		}
		for (unsigned i = 0; i < r->npartial; i++)
			if (r->partial[i].chunk == c && r->partial[i].done < done)
				done = r->partial[i].done;
		for (uint32_t k = 0; k < done; k++)
			keys[m + k] &= KEY_WORD;
		m += done;
	}
	qsort(keys, m, sizeof(*keys), cmp_key);
	*n = m;
	return keys;
}

/* Check the scratch run @r (rows[PH_FILL .. PH_SCAN] get their "check"
 * and notes); *@distinct_pages: the pages of rows' page size the rmw
 * phase dirtied (0 if unknown).  See the top of the file. */
bool check_scratch(const struct job *j, const struct result *r, struct trow *rows,
                   uint64_t *distinct_pages)
{
	uint64_t nwords = j->ds->data / 8, ps = rows[PH_RMW].page_size;
	uint64_t fill_sum = 0, expect = 0, n = 0, pages = 0, *keys;
	bool ok_fill, ok_rmw, ok_scan;

	*distinct_pages = 0;
	for (uint64_t w = 0; w < nwords; w++)
		fill_sum += word_value(w);
	keys = consumed_keys(j->keys, r, &n);
	if (!keys) {
		note(&rows[PH_RMW], "reading the keys back failed");
		ok_rmw = false;
	} else {
		for (uint64_t i = 0, run = 0; i < n; i++) {
			run = i > 0 && keys[i] == keys[i - 1] ? run + 1 : 0;
			expect += word_value(keys[i]) + run; /* the run-th update of it */
			if (i == 0 || keys[i] * 8 / ps != keys[i - 1] * 8 / ps)
				pages++;
		}
		free(keys);
		*distinct_pages = pages;
		ok_rmw = r->ops == n && r->rmw == n && r->sum == expect;
		if (!ok_rmw)
			note(&rows[PH_RMW], "%" PRIu64 " ops, %" PRIu64 " updates, read sum %016" PRIx64
			     "; the keys: %" PRIu64 ", expected %016" PRIx64, r->ops, r->rmw, r->sum,
			     n, expect);
	}
	ok_scan = r->phase[PH_SCAN].bytes == j->ds->data &&
	          r->phase[PH_SCAN].sum == fill_sum + r->rmw;
	if (!ok_scan)
		note(&rows[PH_SCAN], "sum %016" PRIx64 " over %" PRIu64 " bytes, expected %016" PRIx64
		     " (filled + %" PRIu64 " updates) over %" PRIu64,
		     r->phase[PH_SCAN].sum, r->phase[PH_SCAN].bytes, fill_sum + r->rmw, r->rmw,
		     j->ds->data);
	ok_fill = r->phase[PH_FILL].bytes == j->ds->data && ok_scan && ok_rmw;
	if (r->phase[PH_FILL].bytes != j->ds->data)
		note(&rows[PH_FILL], "filled %" PRIu64 " bytes of %" PRIu64, r->phase[PH_FILL].bytes,
		     j->ds->data);
	rows[PH_FILL].check = ok_fill ? "ok" : "FAILED";
	rows[PH_RMW].check = ok_rmw ? "ok" : "FAILED";
	rows[PH_SCAN].check = ok_scan ? "ok" : "FAILED";
	return ok_fill && ok_rmw && ok_scan;
}
